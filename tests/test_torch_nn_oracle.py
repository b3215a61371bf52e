"""The ops of gcompile/optable_nn.py against PyTorch autograd (values and VJPs, float64)."""
import numpy as np
import pytest

import gcompile as gc
from helpers import op_graph

torch = pytest.importorskip("torch")
F = torch.nn.functional
RNG = np.random.default_rng(77)


def r(*shape):
    return RNG.uniform(-1.5, 1.5, size=shape)


def distinct(*shape):
    return RNG.permutation(np.linspace(-2, 2, int(np.prod(shape)))).reshape(shape)


def _tpad(x, pads, value=0.0):
    t, l, b, rr = pads
    return F.pad(x, (l, rr, t, b), value=value)


def _conv(p):
    def f(x, w):
        return F.conv2d(_tpad(x, p.get("pads", (0, 0, 0, 0))), w, stride=p.get("strides", (1, 1)),
                        dilation=p.get("dilations", (1, 1)), groups=p.get("groups", 1))
    return f


def _maxpool(p):
    def f(x):
        return F.max_pool2d(_tpad(x, p.get("pads", (0, 0, 0, 0)), -float("inf")), p["kernel"],
                            stride=p["strides"], dilation=p.get("dilations", (1, 1)))
    return f


# (op, operands, params, torch function of the differentiable operands (others closed over))
CONV = [({}, r(2, 3, 5, 5), r(4, 3, 3, 3)),
        ({"strides": (2, 1), "pads": (1, 0, 1, 1)}, r(1, 2, 6, 5), r(3, 2, 3, 2)),
        ({"dilations": (2, 2), "pads": (1, 1, 0, 0)}, r(1, 2, 7, 7), r(2, 2, 2, 3)),
        ({"groups": 2, "strides": (2, 2), "pads": (1, 1, 1, 1)}, r(2, 4, 5, 5), r(6, 2, 3, 3))]
CASES = [("conv2d", [x, w], p, _conv(p)) for p, x, w in CONV]
CASES += [
    ("max_pool2d", [distinct(2, 2, 4, 4)], {"kernel": (2, 2), "strides": (2, 2)},
     _maxpool({"kernel": (2, 2), "strides": (2, 2)})),
    ("max_pool2d", [distinct(1, 2, 5, 6)], {"kernel": (3, 3), "strides": (2, 1), "pads": (1, 0, 1, 1),
                                            "dilations": (1, 2)},
     _maxpool({"kernel": (3, 3), "strides": (2, 1), "pads": (1, 0, 1, 1), "dilations": (1, 2)})),
    ("avg_pool2d", [r(2, 2, 5, 6)], {"kernel": (3, 3), "strides": (2, 2), "pads": (1, 1, 1, 1)},
     lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)),
    ("avg_pool2d", [r(2, 2, 5, 6)], {"kernel": (2, 2), "strides": (1, 2), "pads": (1, 1, 1, 1),
                                     "count_include_pad": True},
     lambda x: F.avg_pool2d(x, 2, stride=(1, 2), padding=1, count_include_pad=True)),
    ("bmatmul", [r(2, 1, 3, 4), r(3, 4, 2)], {}, torch.matmul),
    ("concat", [r(2, 3), r(2, 4)], {"axis": 1}, lambda a, b: torch.cat([a, b], dim=1)),
]
IDX = RNG.integers(0, 6, size=(3, 4))
CASES.append(("gather", [r(6, 5), IDX], {}, lambda e: F.embedding(torch.as_tensor(IDX), e)))


@pytest.mark.parametrize("k", range(len(CASES)), ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_value_and_vjp_match_torch_autograd(k):
    name, operands, params, fn = CASES[k]
    op = gc.lookup(name)
    g = op_graph(name, op.arity, **params)
    feeds = {f"a{i}": v for i, v in enumerate(operands)}
    wrt = [f"a{i}" for i in range(op.arity) if op.vjp[i] is not None]
    out = gc.evaluate(g, feeds)["out"]
    ts = [torch.tensor(feeds[w], requires_grad=True) for w in wrt]
    expected = fn(*ts)
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    c = RNG.uniform(0.5, 1.5, size=out.shape)
    (expected * torch.as_tensor(c)).sum().backward()
    got = gc.gradients(g, feeds, "out", wrt, seed=c)
    for w, t in zip(wrt, ts):
        np.testing.assert_allclose(got[w], t.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=w)


def test_compiled_conv_pool_gradient_matches_torch():
    g = op_graph("conv2d", 2, pads=(1, 1, 1, 1), strides=(2, 2))
    g.add_node("pool", op="max_pool2d", kernel=(2, 2), strides=(1, 1))
    g.add_node("loss", op="sum")
    g.add_edge("out", "pool", arg=0)
    g.add_edge("pool", "loss", arg=0)
    feeds = {"a0": r(2, 3, 6, 6), "a1": r(4, 3, 3, 3)}
    value, grads = gc.compile(g, "loss", ["a0", "a1"])(feeds)
    x, w = (torch.tensor(feeds[k], requires_grad=True) for k in ("a0", "a1"))
    loss = F.max_pool2d(F.conv2d(x, w, stride=2, padding=1), 2, stride=1).sum()
    loss.backward()
    assert value == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(grads["a0"], x.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["a1"], w.grad.numpy(), rtol=1e-10, atol=1e-12)


hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies


@hypothesis.settings(max_examples=30, deadline=None)
@hypothesis.given(groups=st.sampled_from([1, 2]), k=st.tuples(st.integers(1, 3), st.integers(1, 3)),
                  s=st.tuples(st.integers(1, 3), st.integers(1, 3)),
                  d=st.tuples(st.integers(1, 2), st.integers(1, 2)),
                  pads=st.tuples(*[st.integers(0, 2)] * 4), seed=st.integers(0, 2**16))
def test_conv2d_geometry_property_matches_torch(groups, k, s, d, pads, seed):
    """Any strides, dilations, asymmetric pads and groups: value and both VJPs equal torch."""
    rng = np.random.default_rng(seed)
    h, w = 7, 6
    hypothesis.assume((h + pads[0] + pads[2]) >= d[0] * (k[0] - 1) + 1)
    hypothesis.assume((w + pads[1] + pads[3]) >= d[1] * (k[1] - 1) + 1)
    x, kern = rng.normal(size=(2, 2 * groups, h, w)), rng.normal(size=(2 * groups, 2, *k))
    params = {"strides": s, "dilations": d, "pads": pads, "groups": groups}
    g = op_graph("conv2d", 2, **params)
    out = gc.evaluate(g, {"a0": x, "a1": kern})["out"]
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(kern, requires_grad=True)
    expected = _conv(params)(tx, tw)
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    c = rng.uniform(0.5, 1.5, size=out.shape)
    (expected * torch.as_tensor(c)).sum().backward()
    got = gc.gradients(g, {"a0": x, "a1": kern}, "out", ["a0", "a1"], seed=c)
    np.testing.assert_allclose(got["a0"], tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got["a1"], tw.grad.numpy(), rtol=1e-10, atol=1e-12)
