"""gc.from_onnx: ONNX models in, forward checked against onnxruntime, gradients against
finite differences and PyTorch autograd."""
import sys

import numpy as np
import pytest

import gcompile as gc
from gcompile.testing import check_grads

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx import helper  # noqa: E402
from onnx_models import export_torch, model, rand, run_ort, torch_models, RNG  # noqa: E402

N = helper.make_node
X = rand(2, 3)

# (name, nodes, graph inputs, initializers): one or two ONNX ops each, output "y"
OP_MODELS = [
    ("gemm", [N("Gemm", ["x", "W", "b"], ["y"])], {"x": X}, {"W": rand(3, 4), "b": rand(4)}),
    ("gemm_all_attrs", [N("Gemm", ["x", "W", "b"], ["y"], transA=1, transB=1, alpha=0.7, beta=-1.3)],
     {"x": rand(3, 2)}, {"W": rand(4, 3), "b": rand(2, 4)}),
    ("gemm_no_c", [N("Gemm", ["x", "W"], ["y"], alpha=2.0)], {"x": X}, {"W": rand(3, 4)}),
    ("matmul", [N("MatMul", ["x", "W"], ["y"])], {"x": X}, {"W": rand(3, 2)}),
    ("matmul_batched", [N("MatMul", ["x", "W"], ["y"])], {"x": rand(2, 4, 3)}, {"W": rand(2, 3, 5)}),
    ("matmul_broadcast", [N("MatMul", ["x", "W"], ["y"])], {"x": rand(2, 4, 3)}, {"W": rand(3, 5)}),
    ("arith", [N("Add", ["x", "a"], ["s"]), N("Sub", ["s", "x"], ["d"]), N("Mul", ["d", "x"], ["m"]),
               N("Div", ["m", "a"], ["y"])], {"x": X}, {"a": rand(3, low=0.5, high=2)}),
    ("unary", [N("Neg", ["x"], ["n"]), N("Exp", ["n"], ["e"]), N("Log", ["e"], ["l"]),
               N("Abs", ["l"], ["a"]), N("Sqrt", ["a"], ["s"]), N("Tanh", ["s"], ["t"]),
               N("Sigmoid", ["t"], ["y"])], {"x": X}, {}),
    ("pow", [N("Abs", ["x"], ["a"]), N("Pow", ["a", "p"], ["y"])], {"x": X},
     {"p": np.array([1.5, 2.0, 3.0], np.float32)}),
    ("relu_leaky", [N("Relu", ["x"], ["r"]), N("LeakyRelu", ["x"], ["l"], alpha=0.2),
                    N("Add", ["r", "l"], ["y"])], {"x": X}, {}),
    ("softmax", [N("Softmax", ["x"], ["y"], axis=0)], {"x": X}, {}),
    ("log_softmax", [N("LogSoftmax", ["x"], ["y"])], {"x": X}, {}),
    ("reduce_attr", [N("ReduceSum", ["x"], ["y"], axes=[1], keepdims=0)], {"x": rand(2, 3, 4)}, {},
     11),
    ("reduce_input", [N("ReduceSum", ["x", "ax"], ["s"], keepdims=1),
                      N("ReduceMean", ["s", "ax2"], ["y"], keepdims=0)],
     {"x": rand(2, 3, 4)}, {"ax": np.array([0, 2]), "ax2": np.array([-1])}, 18),
    ("reduce_max", [N("ReduceMax", ["x"], ["y"], axes=[0], keepdims=1)], {"x": rand(3, 4)}, {}, 13),
    ("reduce_all", [N("ReduceMean", ["x"], ["y"], keepdims=0)], {"x": rand(3, 4)}, {}, 13),
    ("shapes", [N("Reshape", ["x", "shp"], ["r"]), N("Transpose", ["r"], ["t"], perm=[2, 0, 1]),
                N("Flatten", ["t"], ["f"], axis=2), N("Unsqueeze", ["f", "ax"], ["u"]),
                N("Squeeze", ["u", "ax"], ["y"])],
     {"x": rand(2, 6)}, {"shp": np.array([0, 3, -1]), "ax": np.array([0])}),
    ("squeeze_attr", [N("Unsqueeze", ["x"], ["u"], axes=[1]), N("Squeeze", ["u"], ["y"])],
     {"x": X}, {}, 11),
    ("concat_identity", [N("Identity", ["x"], ["i"]), N("Dropout", ["i"], ["d"]),
                         N("Concat", ["x", "d", "c"], ["y"], axis=-1)], {"x": X},
     {"c": rand(2, 1)}),
    ("constant", [N("Constant", [], ["k"], value=helper.make_tensor("k", 1, [3], [1.0, -2.0, 0.5])),
                  N("Mul", ["x", "k"], ["y"])], {"x": X}, {}),
    ("shape_arithmetic", [N("Shape", ["x"], ["s"]), N("Gather", ["s", "i0"], ["n"]),
                          N("Unsqueeze", ["n", "ax"], ["n1"]), N("Concat", ["n1", "m1"], ["shp"], axis=0),
                          N("Reshape", ["x", "shp"], ["y"])],
     {"x": rand(2, 3, 2)}, {"i0": np.array(0), "ax": np.array([0]), "m1": np.array([-1])}),
    ("cast_constant", [N("Constant", [], ["k"], value=helper.make_tensor("k", 7, [3], [1, -2, 3])),
                       N("Cast", ["k"], ["kf"], to=1), N("Mul", ["x", "kf"], ["y"])], {"x": X}, {}),
    ("gather", [N("Gather", ["E", "idx"], ["g"]), N("ReduceMean", ["g"], ["y"], axes=[1])],
     {"idx": np.array([[0, 3, 3], [1, 4, 0]])}, {"E": rand(5, 2)}, 13),
    ("gather_axis1", [N("Gather", ["x", "idx"], ["y"], axis=1)], {"x": rand(2, 4)},
     {"idx": np.array([3, 0, -1])}),
    ("conv", [N("Conv", ["x", "W", "b"], ["y"], strides=[2, 1], pads=[1, 0, 1, 1],
                dilations=[1, 2])], {"x": rand(2, 3, 6, 7)}, {"W": rand(4, 3, 3, 2), "b": rand(4)}),
    ("conv_groups", [N("Conv", ["x", "W"], ["y"], group=2, pads=[1, 1, 1, 1])],
     {"x": rand(1, 4, 5, 5)}, {"W": rand(6, 2, 3, 3)}),
    ("pools", [N("MaxPool", ["x"], ["m"], kernel_shape=[2, 2], strides=[2, 2]),
               N("AveragePool", ["x"], ["a"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]),
               N("Add", ["m", "a"], ["s"]), N("GlobalAveragePool", ["s"], ["y"])],
     {"x": rand(2, 2, 6, 6)}, {}),
    ("avgpool_include_pad", [N("AveragePool", ["x"], ["y"], kernel_shape=[2, 3], pads=[1, 0, 0, 1],
                               count_include_pad=1)], {"x": rand(1, 2, 4, 5)}, {}),
    ("batchnorm", [N("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-3)],
     {"x": rand(2, 3, 4, 4)}, {"s": rand(3), "b": rand(3), "m": rand(3),
                               "v": rand(3, low=0.5, high=2.0)}),
]


def _build(case):
    name, nodes, inputs, inits, *opset = case
    return model(nodes, inputs, inits, opset=opset[0] if opset else 17), inputs


@pytest.mark.parametrize("case", OP_MODELS, ids=[c[0] for c in OP_MODELS])
def test_forward_equals_onnxruntime(case):
    m, inputs = _build(case)
    g = gc.from_onnx(m)
    ours = gc.evaluate(g, inputs)["y"]
    np.testing.assert_allclose(ours, run_ort(m, inputs)["y"], rtol=1e-5, atol=1e-6)
    assert np.asarray(ours).dtype == np.float32  # float32 models stay float32


@pytest.mark.parametrize("case", OP_MODELS, ids=[c[0] for c in OP_MODELS])
def test_gradients_match_finite_differences(case):
    m, _ = _build(case)
    g = gc.from_onnx(m)
    feeds = {}
    for v, data in g.nodes(data=True):
        if data["op"] == "input":
            value = data.get("value", case[2].get(v))
            feeds[v] = value.astype(np.float64) if value.dtype.kind == "f" else value
    if case[0] == "pools":  # distinct values: no ties for max
        feeds["x"] = RNG.permutation(np.linspace(-2, 2, 144)).reshape(2, 2, 6, 6)
    wrt = [v for v, x in feeds.items() if x.dtype.kind == "f"]
    assert check_grads(g, feeds, "y", wrt, rtol=1e-5, atol=1e-7)


def test_graph_keys_attributes_and_outputs():
    m, _ = _build(OP_MODELS[0])
    m.graph.node[0].name = "fc"
    g = gc.from_onnx(m)
    assert g.nodes["W"]["op"] == "input" and g.nodes["W"]["value"].shape == (3, 4)
    assert g.nodes["x"] == {"op": "input", "shape": (2, 3)}
    assert g.nodes["y"]["onnx_op"] == "Gemm" and g.nodes["y"]["onnx_node"] == "fc"
    assert g.graph["outputs"] == ["y"] and g.graph["output"] == "y"
    assert g.graph["wrt"] == ["W", "b"]


def test_initializers_can_be_overridden_by_feeds():
    m, inputs = _build(OP_MODELS[3])
    g = gc.from_onnx(m)
    W = np.eye(3, 2, dtype=np.float32)
    np.testing.assert_allclose(gc.evaluate(g, {**inputs, "W": W})["y"], inputs["x"] @ W)


def test_dynamic_shapes_come_from_the_shapes_argument():
    m = model([N("Flatten", ["x"], ["y"])], {"x": rand(2, 3, 2)})
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    with pytest.raises(gc.GraphError, match=r"needs the static shape of 'x'.*shapes="):
        gc.from_onnx(m)
    g = gc.from_onnx(m, shapes={"x": (5, 3, 2)})
    assert gc.evaluate(g, {"x": np.ones((5, 3, 2))})["y"].shape == (5, 6)


def test_unsupported_op_names_the_op_node_and_supported_set():
    m = model([N("Erf", ["x"], ["y"], name="my_erf")], {"x": X})
    with pytest.raises(gc.GraphError, match=r"'my_erf': unsupported op type 'Erf' \(supported: "
                                            r"Abs, Add, .*Conv.*\)"):
        gc.from_onnx(m)


def test_bad_arguments_and_files(tmp_path):
    with pytest.raises(gc.GraphError, match="from_onnx needs a .onnx path"):
        gc.from_onnx({"not": "a model"})
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00garbage\xff")
    with pytest.raises(gc.GraphError, match="cannot read ONNX model"):
        gc.from_onnx(bad)
    with pytest.raises(gc.GraphError, match="cannot read ONNX model"):
        gc.from_onnx(tmp_path / "missing.onnx")


def test_missing_extra_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(gc.GraphError, match=r"pip install gcompile\[onnx\]"):
        gc.from_onnx("model.onnx")


def test_model_file_round_trip_and_load(tmp_path):
    m, inputs = _build(OP_MODELS[0])
    path = tmp_path / "gemm.onnx"
    path.write_bytes(m.SerializeToString())
    for g in (gc.from_onnx(path), gc.from_onnx(str(path)), gc.load(path)):
        np.testing.assert_allclose(gc.evaluate(g, inputs)["y"], run_ort(m, inputs)["y"], rtol=1e-6)


# ------------------------------------------------------------ PyTorch models
torch = pytest.importorskip("torch")


def _torch_grads(module, inputs, c, dtype):
    module = module.to(dtype)
    params = dict(module.named_parameters())
    args = [torch.tensor(v, dtype=dtype if v.dtype.kind == "f" else None, requires_grad=v.dtype.kind == "f")
            for v in inputs.values()]
    out = module(*args)
    (out * torch.as_tensor(c, dtype=dtype)).sum().backward()
    grads = {k: p.grad.numpy() for k, p in params.items()}
    grads.update({k: a.grad.numpy() for k, a in zip(inputs, args) if a.grad is not None})
    return out.detach().numpy(), grads


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-5)])
@pytest.mark.parametrize("which", ["mlp", "cnn", "embed"])
def test_torch_models_forward_and_gradients(which, dtype, tol):
    name, module, inputs = next(m for m in torch_models() if m[0] == which)
    m = export_torch(module, tuple(torch.as_tensor(v) for v in inputs.values()), inputs)
    g = gc.from_onnx(m)
    np.testing.assert_allclose(gc.evaluate(g, inputs)["y"], run_ort(m, inputs)["y"],
                               rtol=1e-5, atol=1e-6)
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    feeds = {k: (v.astype(dtype) if v.dtype.kind == "f" else v) for k, v in inputs.items()}
    feeds.update({k: v.detach().numpy().astype(dtype) for k, v in module.state_dict().items()
                  if k in g and v.is_floating_point()})
    c = RNG.uniform(0.5, 1.5, size=gc.evaluate(g, feeds)["y"].shape).astype(dtype)
    out, expected = _torch_grads(module, inputs, c, tdtype)
    np.testing.assert_allclose(gc.evaluate(g, feeds)["y"], out, rtol=tol, atol=tol)
    wrt = sorted(expected)
    assert set(wrt) - {"x"} <= set(g.graph["wrt"])  # (plus BN running statistics)
    got = gc.gradients(g, feeds, "y", wrt, seed=c)
    for k in wrt:
        assert np.asarray(got[k]).dtype == dtype, k
        np.testing.assert_allclose(got[k], expected[k], rtol=tol, atol=tol, err_msg=k)


def test_cli_reads_onnx_files(tmp_path, capsys):
    from gcompile.cli import main

    m, inputs = _build(OP_MODELS[0])
    path = tmp_path / "gemm.onnx"
    path.write_bytes(m.SerializeToString())
    x = "x=" + str(inputs["x"].tolist())
    assert main(["grad", str(path), "--feed", x, "-o", str(tmp_path / "out"), "--format", "dot"]) in (0, None)
    assert (tmp_path / "out" / "gemm_backward.json").exists()
    text = capsys.readouterr().out
    assert "d y / d" in text and "W" in text
    assert main(["eval", str(path), "--feed", x]) in (0, None)
    assert "y/AB" in capsys.readouterr().out


def test_the_model_passed_in_is_not_mutated():
    m, inputs = _build(OP_MODELS[-1])
    before = m.SerializeToString()
    g = gc.from_onnx(m)
    gc.to_onnx(g, feeds=inputs)
    assert m.SerializeToString() == before
