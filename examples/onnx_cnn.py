"""A small CNN as an ONNX model: import it, differentiate it, draw it, run its gradient in onnxruntime.

The model is built right here with ``onnx.helper`` (no download): Conv (3x3,
padding 1) -> BatchNormalization -> Relu -> MaxPool 2x2 -> Conv (stride 2,
2 groups) -> GlobalAveragePool -> Flatten -> Gemm, written to ``cnn.onnx``.
gcompile imports it (initializers become differentiable inputs keyed by their
ONNX names), puts a softmax cross-entropy loss on its logits, checks the
backward graph against central finite differences, draws both graphs, and
exports forward + backward as one ONNX model, ``cnn_grad.onnx``, that
onnxruntime runs without gcompile.

Needs the onnx extra:  pip install gcompile[onnx]
Run:  python examples/onnx_cnn.py [OUT_DIR]      (default ./out)
"""
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import gcompile as gc

BATCH, CLASSES = 2, 3


def make_model(seed=0):
    """The CNN as an ``onnx.ModelProto`` with random float32 weights."""
    rng = np.random.default_rng(seed)

    def init(name, *shape, scale=0.5, low=None):
        value = rng.uniform(low, 1.5, size=shape) if low is not None else scale * rng.normal(size=shape)
        return numpy_helper.from_array(value.astype(np.float32), name)

    N = helper.make_node
    nodes = [
        N("Conv", ["image", "conv1.weight", "conv1.bias"], ["conv1"], pads=[1, 1, 1, 1], name="conv1"),
        N("BatchNormalization", ["conv1", "bn.scale", "bn.bias", "bn.mean", "bn.var"], ["bn"],
          name="bn"),
        N("Relu", ["bn"], ["relu"], name="relu"),
        N("MaxPool", ["relu"], ["pool"], kernel_shape=[2, 2], strides=[2, 2], name="pool"),
        N("Conv", ["pool", "conv2.weight"], ["conv2"], strides=[2, 2], group=2, name="conv2"),
        N("GlobalAveragePool", ["conv2"], ["gap"], name="gap"),
        N("Flatten", ["gap"], ["features"], name="flatten"),
        N("Gemm", ["features", "fc.weight", "fc.bias"], ["logits"], transB=1, name="fc"),
    ]
    inits = [init("conv1.weight", 4, 1, 3, 3), init("conv1.bias", 4),
             init("bn.scale", 4, low=0.5), init("bn.bias", 4), init("bn.mean", 4, scale=0.1),
             init("bn.var", 4, low=0.5), init("conv2.weight", 6, 2, 3, 3),
             init("fc.weight", CLASSES, 6), init("fc.bias", CLASSES)]
    graph = helper.make_graph(
        nodes, "cnn", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [BATCH, 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [BATCH, CLASSES])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


def with_loss(g):
    """The imported graph plus ``loss = softmax_cross_entropy(logits, labels)``."""
    g = g.copy()
    g.add_node("labels", op="input", shape=(BATCH,))
    g.add_node("loss", op="softmax_cross_entropy", group="loss")
    g.add_edge("logits", "loss", arg=0)
    g.add_edge("labels", "loss", arg=1)
    g.graph["output"] = "loss"
    return g


def max_fd_error(g, feeds, wrt, eps=1e-6, samples=5):
    """Largest |backprop - central difference| over a few entries of each parameter (float64)."""
    grads = gc.gradients(g, feeds, "loss", wrt)
    rng = np.random.default_rng(1)
    worst = 0.0
    for w in wrt:
        for _ in range(samples):
            i = tuple(rng.integers(0, d) for d in feeds[w].shape)
            plus, minus = feeds[w].copy(), feeds[w].copy()
            plus[i] += eps
            minus[i] -= eps
            fd = (gc.evaluate(g, {**feeds, w: plus})["loss"]
                  - gc.evaluate(g, {**feeds, w: minus})["loss"]) / (2 * eps)
            worst = max(worst, abs(float(grads[w][i]) - float(fd)))
    return worst


def main(out_dir="out"):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "cnn.onnx"
    onnx.save(make_model(), path)
    print(f"wrote {path}")

    g = with_loss(gc.from_onnx(path))
    rng = np.random.default_rng(2)
    feeds = {"image": rng.normal(size=(BATCH, 1, 8, 8)).astype(np.float32),
             "labels": np.array([0, 2])}
    params = list(g.graph["wrt"])
    print("parameters:", ", ".join(params))

    # float64 copies of everything for the finite-difference check
    f64 = {v: d["value"].astype(np.float64) for v, d in g.nodes(data=True) if d["op"] == "input" and "value" in d}
    f64.update(image=feeds["image"].astype(np.float64), labels=feeds["labels"])
    print(f"max |backprop - finite differences| = {max_fd_error(g, f64, params):.2e}")

    values = gc.evaluate(g, feeds)
    bwd = gc.grad(g, "loss", params, shapes=feeds)
    for name, graph, shown in (("forward", g, values), ("backward", bwd, None)):
        print(f"wrote {gc.render(graph, out / f'onnx_cnn_{name}.svg', shown)}")

    grad_path = out / "cnn_grad.onnx"
    model = gc.to_onnx(gc.joint_graph(g, bwd), grad_path, feeds=feeds)
    print(f"wrote {grad_path} ({len(model.graph.node)} ONNX nodes)")
    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime is not installed: skipped running the gradient model")
        return
    sess = ort.InferenceSession(str(grad_path), providers=["CPUExecutionProvider"])
    got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
    ours = gc.gradients(g, feeds, "loss", params)
    worst = max(float(np.max(np.abs(got[str(bwd.graph["grads"][w])] - ours[w]))) for w in params)
    print(f"max |onnxruntime - gcompile| over the gradients = {worst:.2e}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
