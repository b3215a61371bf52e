"""gc.to_onnx: every op of the table, forward and backward graphs, run by onnxruntime."""
import sys

import networkx as nx
import numpy as np
import pytest

import gcompile as gc
from helpers import op_graph

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx_models import export_torch, run_ort, torch_models  # noqa: E402
from test_optable import CASES, NON_DIFFERENTIABLE  # noqa: E402

RNG = np.random.default_rng(5)
ALL = [(n, k) for n in sorted(CASES) for k in range(len(CASES[n]))]


# onnxruntime's CPU kernels of Conv, ConvTranspose and AveragePool are float32 only
FLOAT32_ONLY = {"conv2d", "conv2d_grad_input", "conv2d_grad_weight", "avg_pool2d", "avgpool_scatter"}


def _ort_feeds(model, values):
    feeds = {}
    for i in model.graph.input:
        value = np.asarray(values[i.name])
        if i.type.tensor_type.elem_type == onnx.TensorProto.FLOAT:
            value = value.astype(np.float32)
        feeds[i.name] = value
    return feeds


def _tol(name):
    return dict(rtol=1e-5, atol=1e-5) if name in FLOAT32_ONLY else dict(rtol=1e-10, atol=1e-12)


def _dtype(name):
    return np.float32 if name in FLOAT32_ONLY else None


def test_every_op_has_a_lowering():
    from gcompile.onnx_lower import LOWER

    builtin = {n for n, op in gc.registered_ops().items()
               if op.forward.__module__.startswith("gcompile.optable")}
    assert builtin <= set(LOWER)


@pytest.mark.parametrize("name, k", ALL + [(n, 0) for n in sorted(NON_DIFFERENTIABLE)])
def test_forward_of_every_op_runs_in_onnxruntime(name, k):
    operands, params = CASES[name][k] if name in CASES else NON_DIFFERENTIABLE[name]
    g = op_graph(name, gc.lookup(name).arity, **params)
    feeds = {f"a{i}": np.asarray(v) for i, v in enumerate(operands)}
    model = gc.to_onnx(g, feeds=feeds, outputs=["out"], dtype=_dtype(name))
    got = run_ort(model, _ort_feeds(model, feeds))["out"]
    np.testing.assert_allclose(got, gc.evaluate(g, feeds)["out"], **_tol(name))


def _loss_graph(name, params, operands):
    """loss = sum(op(a0, a1, ...) * c): a scalar whose gradient exercises every VJP."""
    g = op_graph(name, gc.lookup(name).arity, **params)
    feeds = {f"a{i}": np.asarray(v) for i, v in enumerate(operands)}
    shape = np.shape(gc.evaluate(g, feeds)["out"])
    g.add_node("c", op="const", value=RNG.uniform(0.5, 1.5, size=shape))
    g.add_node("oc", op="mul")
    g.add_edge("out", "oc", arg=0)
    g.add_edge("c", "oc", arg=1)
    g.add_node("loss", op="sum")
    g.add_edge("oc", "loss", arg=0)
    op = gc.lookup(name)
    return g, feeds, [f"a{i}" for i in range(op.arity) if op.vjp[i] is not None]


@pytest.mark.parametrize("name, k", ALL)
def test_backward_graph_of_every_op_runs_in_onnxruntime(name, k):
    operands, params = CASES[name][k]
    g, feeds, wrt = _loss_graph(name, params, operands)
    bwd = gc.grad(g, "loss", wrt, shapes=feeds)
    expected = gc.gradients(g, feeds, "loss", wrt)
    # the backward graph alone: fed the forward values, as gc.evaluate feeds it
    values = gc.evaluate(g, feeds)
    model = gc.to_onnx(bwd, feeds=values, dtype=_dtype(name))
    got = run_ort(model, _ort_feeds(model, values))
    for w in wrt:
        np.testing.assert_allclose(got[str(bwd.graph["grads"][w])], expected[w], **_tol(name),
                                   err_msg=w)
    # forward and backward as one model: fed the inputs only
    joint = gc.joint_graph(g, bwd)
    model = gc.to_onnx(joint, feeds=feeds, dtype=_dtype(name))
    got = run_ort(model, _ort_feeds(model, feeds))
    for w in wrt:
        np.testing.assert_allclose(got[str(joint.graph["grads"][w])], expected[w], **_tol(name),
                                   err_msg=w)


@pytest.mark.parametrize("which", ["mlp", "cnn", "embed"])
def test_torch_model_gradient_runs_in_onnxruntime(which, tmp_path):
    torch = pytest.importorskip("torch")
    name, module, inputs = next(m for m in torch_models() if m[0] == which)
    g = gc.from_onnx(export_torch(module, tuple(torch.as_tensor(v) for v in inputs.values()), inputs))
    wrt = list(g.graph["wrt"]) + [k for k, v in inputs.items() if v.dtype.kind == "f"]
    c = RNG.uniform(0.5, 1.5, size=gc.evaluate(g, inputs)["y"].shape).astype(np.float32)
    expected = gc.gradients(g, inputs, "y", wrt, seed=c)
    bwd = gc.grad(g, "y", wrt, shapes=inputs)
    joint = gc.joint_graph(g, bwd)
    path = tmp_path / f"{which}_grad.onnx"
    model = gc.to_onnx(joint, path, feeds={**inputs, joint.graph["seed"]: c},
                       inputs=[joint.graph["seed"]])
    onnx.checker.check_model(onnx.load(path))
    feeds = {**inputs, str(joint.graph["seed"]): c}
    got = run_ort(model, _ort_feeds(model, feeds))
    for w in wrt:
        out = got[str(joint.graph["grads"][w])]
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, expected[w], rtol=1e-5, atol=1e-6, err_msg=w)


def test_initializers_inputs_and_names():
    g = nx.DiGraph()
    g.add_node("W", op="input", value=np.ones((2, 2), np.float32))
    g.add_node(("x", 1), op="input", shape=(2,))
    g.add_node("y", op="matmul")
    g.add_edge("W", "y", arg=0)
    g.add_edge(("x", 1), "y", arg=1)
    m = gc.to_onnx(g, outputs=["y"])
    assert [i.name for i in m.graph.input] == ["('x', 1)"]
    assert [t.name for t in m.graph.initializer] == ["W"]
    assert m.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    m = gc.to_onnx(g, outputs=["y"], inputs=["W"])
    assert sorted(i.name for i in m.graph.input) == ["('x', 1)", "W"]


def test_errors_name_the_culprit(monkeypatch):
    from gcompile import registry

    gc.defop("cube_for_onnx_test", 1, lambda xp, x: x * x * x, shape=lambda s: s, replace=True)
    try:
        g = op_graph("cube_for_onnx_test", 1)
        with pytest.raises(gc.GraphError, match="node 'out': op 'cube_for_onnx_test' has no ONNX "
                                                "lowering"):
            gc.to_onnx(g, feeds={"a0": np.ones(2)})
    finally:
        registry._REGISTRY.pop("cube_for_onnx_test")
    g = op_graph("exp", 1)
    with pytest.raises(gc.GraphError, match="input 'a0' has no known shape"):
        gc.to_onnx(g)
    with pytest.raises(gc.GraphError, match="output 'nope' is not a node"):
        gc.to_onnx(g, feeds={"a0": np.ones(2)}, outputs=["nope"])
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(gc.GraphError, match=r"pip install gcompile\[onnx\]"):
        gc.to_onnx(g, feeds={"a0": np.ones(2)})
