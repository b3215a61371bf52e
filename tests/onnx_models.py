"""Small ONNX models for the tests: built with onnx.helper, or exported from PyTorch."""
import io
import warnings

import numpy as np

onnx = __import__("pytest").importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

RNG = np.random.default_rng(2024)
ELEM = {np.dtype("float32"): TensorProto.FLOAT, np.dtype("float64"): TensorProto.DOUBLE,
        np.dtype("int64"): TensorProto.INT64}


def rand(*shape, dtype=np.float32, low=-1.5, high=1.5):
    return RNG.uniform(low, high, size=shape).astype(dtype)


def model(nodes, inputs, inits=None, outputs=("y",), opset=17):
    """A model of ``nodes``; ``inputs``/``inits`` map names to example arrays."""
    inits = inits or {}
    graph = helper.make_graph(
        nodes, "test",
        [helper.make_tensor_value_info(k, ELEM[v.dtype], v.shape) for k, v in inputs.items()],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    m = onnx.shape_inference.infer_shapes(m)  # the checker wants the outputs' shapes
    onnx.checker.check_model(m)
    return m


def run_ort(m, feeds):
    """The model's outputs computed by onnxruntime, by name."""
    import onnxruntime as ort

    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, feeds)))


def export_torch(module, args, names):
    """``module`` exported by torch's TorchScript-based exporter (needs no onnxscript)."""
    import torch

    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, f, dynamo=False, do_constant_folding=False,
                          input_names=list(names), output_names=["y"])
    return onnx.load_from_string(f.getvalue())


def torch_models():
    """(name, module, example inputs by name): an MLP, a small CNN, an embedding classifier."""
    import torch

    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(0)

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(4, 8), nn.Linear(8, 3)

        def forward(self, x):
            return F.log_softmax(self.fc2(torch.tanh(self.fc1(x))), dim=-1)

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(4)
            self.conv2 = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
            self.fc = nn.Linear(12, 3)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
            x = F.avg_pool2d(torch.sigmoid(self.conv2(x)), 2, stride=1, padding=1)
            x = torch.cat([F.adaptive_avg_pool2d(x, 1), x.amax(dim=(2, 3), keepdim=True)], dim=1)
            return self.fc(torch.flatten(x, 1))

    class Embed(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.fc = nn.Embedding(10, 5), nn.Linear(5, 3)

        def forward(self, idx):
            return F.softmax(self.fc(self.emb(idx).mean(dim=1)), dim=-1)

    cnn = CNN()
    with torch.no_grad():  # distinct BN statistics (equal buffers get merged by the exporter)
        cnn.bn1.weight.uniform_(0.5, 1.5)
        cnn.bn1.bias.uniform_(-0.5, 0.5)
        cnn.bn1.running_mean.uniform_(-0.2, 0.2)
        cnn.bn1.running_var.uniform_(0.5, 2.0)
    models = [("mlp", MLP(), {"x": rand(5, 4)}),
              ("cnn", cnn, {"x": rand(2, 1, 8, 8)}),
              ("embed", Embed(), {"idx": RNG.integers(0, 10, size=(3, 6))})]
    for _, module, _ in models:
        module.eval()
    return models
