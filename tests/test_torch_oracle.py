"""PyTorch autograd as an independent oracle for tensor graphs (skipped where torch is absent).

CI installs the CPU wheel after the main run and runs this file again.
"""
import numpy as np
import pytest

import gcompile as gc
from helpers import op_graph

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(99)
F = torch.nn.functional


def rand(*shape, positive=False):
    x = RNG.uniform(0.3, 1.7, size=shape)
    return x if positive else x * RNG.choice([-1.0, 1.0], size=shape)


def onehot(rows, cols):
    return np.eye(cols)[RNG.integers(0, cols, rows)]


# op -> (operands, params, the same computation in torch)
CASES = {
    "add": ([rand(3, 4), rand(4)], {}, lambda a, b: a + b),
    "sub": ([rand(2, 1, 3), rand(4, 1)], {}, lambda a, b: a - b),
    "mul": ([rand(3, 4), rand(3, 1)], {}, lambda a, b: a * b),
    "div": ([rand(3, 4), rand(4)], {}, lambda a, b: a / b),
    "pow": ([rand(3, positive=True), rand(3)], {}, torch.pow),
    "exp": ([rand(5)], {}, torch.exp),
    "log": ([rand(5, positive=True)], {}, torch.log),
    "tanh": ([rand(2, 3)], {}, torch.tanh),
    "sigmoid": ([rand(2, 3)], {}, torch.sigmoid),
    "relu": ([rand(6)], {}, torch.relu),
    "sqrt": ([rand(4, positive=True)], {}, torch.sqrt),
    "abs": ([rand(4)], {}, torch.abs),
    "maximum": ([rand(3, 4), rand(4)], {}, torch.maximum),
    "sum": ([rand(2, 3, 4)], {"axis": (0, 2)}, lambda a: a.sum(dim=(0, 2))),
    "mean": ([rand(2, 3)], {"axis": 1, "keepdims": True}, lambda a: a.mean(dim=1, keepdim=True)),
    "max": ([rand(3, 5)], {"axis": 1}, lambda a: a.amax(dim=1)),
    "matmul": ([rand(3, 4), rand(4, 2)], {}, torch.matmul),
    "transpose": ([rand(2, 3, 4)], {"axes": (2, 0, 1)}, lambda a: a.permute(2, 0, 1)),
    "softmax": ([rand(3, 4)], {"axis": -1}, lambda a: torch.softmax(a, dim=-1)),
    "log_softmax": ([rand(3, 4)], {"axis": 0}, lambda a: torch.log_softmax(a, dim=0)),
    "softmax_cross_entropy": ([rand(4, 5), onehot(4, 5)], {},
                              lambda a, t: -(t * torch.log_softmax(a, dim=-1)).sum() / a.shape[0]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_equal_torch_autograd(name):
    operands, params, torch_fn = CASES[name]
    g = op_graph(name, len(operands), **params)
    feeds = {f"a{i}": v for i, v in enumerate(operands)}
    wrt = list(feeds)
    value = gc.evaluate(g, feeds)["out"]
    cotangent = RNG.uniform(0.5, 1.5, size=np.shape(value))
    ours = gc.gradients(g, feeds, "out", wrt, seed=cotangent if np.ndim(value) else float(cotangent))
    tensors = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in operands]
    out = torch_fn(*tensors)
    np.testing.assert_allclose(value, out.detach().numpy(), rtol=1e-13, atol=1e-14)
    theirs = torch.autograd.grad(out, tensors, torch.tensor(cotangent, dtype=torch.float64))
    for w, expected in zip(wrt, theirs):
        np.testing.assert_allclose(ours[w], expected.numpy(), rtol=1e-12, atol=1e-14, err_msg=w)


def test_two_layer_net_equals_torch():
    from gcompile.examples import EXAMPLES

    g, feeds = EXAMPLES["two_layer_net"]()
    wrt, out = g.graph["wrt"], g.graph["output"]
    ours = gc.gradients(g, feeds, out, wrt)
    t = {k: torch.tensor(np.asarray(v), dtype=torch.float64, requires_grad=k in wrt)
         for k, v in feeds.items()}
    labels = [k for k in feeds if k not in wrt and k != "x"][0]
    a1 = t["x"] @ t["W1"] + t["b1"]
    a2 = torch.sigmoid(a1) @ t["W2"] + t["b2"]
    target = t[labels]
    if target.dtype != torch.float64 or target.ndim == 1:
        target = F.one_hot(target.long(), a2.shape[1]).double()
    loss = -(target * torch.log_softmax(a2, dim=-1)).sum() / a2.shape[0]
    assert float(gc.evaluate(g, feeds)[out]) == pytest.approx(loss.item(), rel=1e-13)
    for w, expected in zip(wrt, torch.autograd.grad(loss, [t[w] for w in wrt])):
        np.testing.assert_allclose(ours[w], expected.numpy(), rtol=1e-11, atol=1e-15, err_msg=w)
