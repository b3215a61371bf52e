"""Second derivatives by reverse-over-reverse, against closed forms, sympy and finite differences."""
import networkx as nx
import numpy as np
import pytest
import sympy

import gcompile as gc
from gcompile.examples import apple
from gcompile.higher import hessian, hessian_values, hvp, hvp_values, joint_graph
from gcompile.registry import registered_ops
from optable_nn_cases import NN_CASES


def unary(op, **params):
    g = nx.DiGraph()
    g.add_node("x", op="input")
    g.add_node("y", op=op, **params)
    g.add_edge("x", "y")
    return g


def test_joint_graph_identifies_forward_reads_and_renames_collisions():
    g, feeds = apple()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    j = joint_graph(g, bwd)
    # 5 forward nodes + 5 backward nodes that are not forward reads (dprice, 4 mul)
    assert j.number_of_nodes() == 10
    assert {n: d["order"] for n, d in j.nodes(data=True)} == {
        "apple": 0, "apple_num": 0, "tax": 0, "apple_price": 0, "price": 0,
        "dprice": 1, "dapple_price": 1, "dtax": 1, "dapple": 1, "dapple_num": 1}
    assert ("apple_price", "dtax") in j.edges  # the forward node itself feeds the backward pass
    # a backward key that collides with a forward key is renamed, deterministically
    clash = nx.relabel_nodes(bwd, {"dapple": "price"})
    clash.graph["grads"] = dict(bwd.graph["grads"], apple="price")
    j2 = joint_graph(g, clash)
    assert j2.graph["grads"]["apple"] == "price_b" and "price_b" in j2
    assert float(gc.evaluate(j2, feeds)["price_b"]) == pytest.approx(2.2)
    assert joint_graph(g, clash).graph == j2.graph
    # a backward graph of another graph is refused
    other = unary("tanh")
    with pytest.raises(gc.GraphError, match="not a node of the forward graph"):
        joint_graph(g, gc.grad(other, "y", "x"))


@pytest.mark.parametrize("x", [-1.3, 0.2, 0.9])
def test_tanh_second_derivative_closed_form(x):
    h = hvp(unary("tanh"), "y", "x", shapes={"x": ()})
    t = np.tanh(x)
    assert float(hvp_values(h, {"x": x}, {"x": 1.0})["x"]) == pytest.approx(-2 * t * (1 - t * t),
                                                                              rel=1e-12)
    assert {d["order"] for _, d in h.nodes(data=True)} == {0, 1, 2}


def test_cube_second_derivative_is_6x_elementwise():
    g = nx.DiGraph()
    g.add_node("x", op="input", shape=(3,))
    g.add_node("three", op="const", value=3.0)
    g.add_node("y", op="pow")
    g.add_edge("x", "y", arg=0)
    g.add_edge("three", "y", arg=1)
    g.add_node("s", op="sum")
    g.add_edge("y", "s")
    x = np.array([-1.0, 0.5, 2.0])
    blocks = hessian_values(hessian(g, "s", "x"), {"x": x})
    np.testing.assert_allclose(blocks["x", "x"], np.diag(6 * x), rtol=1e-12)


def test_softmax_cross_entropy_hessian_closed_form():
    g = nx.DiGraph()
    g.add_node("logits", op="input", shape=(2, 3))
    g.add_node("labels", op="input", shape=(2,))
    g.add_node("loss", op="softmax_cross_entropy")
    g.add_edge("logits", "loss", arg=0)
    g.add_edge("labels", "loss", arg=1)
    x = np.array([[0.2, -1.0, 0.5], [1.5, 0.3, -0.7]])
    blocks = hessian_values(hessian(g, "loss", "logits"), {"logits": x, "labels": np.array([2, 0])})
    s = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    expected = np.zeros((2, 3, 2, 3))
    for n in range(2):
        expected[n, :, n, :] = (np.diag(s[n]) - np.outer(s[n], s[n])) / 2
    np.testing.assert_allclose(blocks["logits", "logits"], expected, atol=1e-14)


def test_scalar_graph_hessian_against_sympy():
    def f(ops, x, y):
        return ops.sin(x * y) + ops.exp(x) / y + x ** 3 * ops.tanh(y)

    g = gc.trace(lambda x, y: f(gc.ops, x, y), "x", "y")
    out = g.graph["output"]
    sx, sy = sympy.symbols("x y")
    expr = f(sympy, sx, sy)
    point = {sx: 0.7, sy: -1.3}
    blocks = hessian_values(hessian(g, out, ["x", "y"], shapes={"x": (), "y": ()}),
                            {"x": 0.7, "y": -1.3})
    for a, sa in (("x", sx), ("y", sy)):
        for b, sb in (("x", sx), ("y", sy)):
            want = float(sympy.diff(expr, sa, sb).subs(point))
            assert float(blocks[a, b]) == pytest.approx(want, rel=1e-12), (a, b)


def test_hvp_defaults_errors_and_no_mutation():
    g = unary("sin")
    before = list(g.nodes(data=True)), list(g.edges(data=True))
    h = hvp(g, "y", "x", v={"x": 2.0}, shapes={"x": ()})
    assert (list(g.nodes(data=True)), list(g.edges(data=True))) == before
    assert h.graph["v"] == {"x": "v_x"}
    values = gc.evaluate(h, {"x": 0.3})  # v defaults to its value attribute
    assert float(values[h.graph["hvp"]["x"]]) == pytest.approx(-2 * np.sin(0.3))
    assert float(values[h.graph["gradient"]["x"]]) == pytest.approx(np.cos(0.3))
    with pytest.raises(gc.GraphError, match="no vector value"):
        hvp_values(h, {"x": 0.3}, {})
    with pytest.raises(gc.GraphError, match="needs the shape of wrt node 'x'"):
        hessian(g, "y", "x")
    with pytest.raises(gc.GraphError, match="built by gc.hessian"):
        hessian_values(g, {"x": 1.0})


# ----------------------------------------------- every op of the registry, twice
R = np.random.default_rng(7)


def _u(*shape, lo=0.5, hi=1.5):
    return R.uniform(lo, hi, size=shape)


def _signed(*shape):
    return R.choice([-1.0, 1.0], size=shape) * _u(*shape)


def _rows(p):
    return p / p.sum(axis=1, keepdims=True)


def _tangent(a):
    """Remove each row's mean: the part of a change of t that keeps its rows summing to 1."""
    return a - a.mean(axis=1, keepdims=True)


CASES = {
    "add": ([_signed(2, 3), _signed(3)], {}),
    "sub": ([_signed(2, 3), _signed(3)], {}),
    "mul": ([_signed(2, 3), _signed(3)], {}),
    "div": ([_signed(2, 3), _signed(3)], {}),
    "neg": ([_signed(3)], {}),
    "pow": ([_u(3), _u(3, lo=1.2, hi=2.5)], {}),
    "exp": ([_signed(3)], {}),
    "log": ([_u(3)], {}),
    "sin": ([_signed(3)], {}),
    "cos": ([_signed(3)], {}),
    "tanh": ([_signed(3)], {}),
    "sigmoid": ([_signed(3)], {}),
    "relu": ([_signed(4)], {}),
    "sqrt": ([_u(3)], {}),
    "abs": ([_signed(4)], {}),
    "maximum": ([np.array([0.3, -1.0, 2.0]), np.array([1.0, -2.0, 0.5])], {}),
    "minimum": ([np.array([0.3, -1.0, 2.0]), np.array([1.0, -2.0, 0.5])], {}),
    "sum": ([_signed(2, 3)], {"axis": 1}),
    "mean": ([_signed(2, 3)], {"axis": 0, "keepdims": True}),
    "max": ([np.array([[0.1, 0.9, -0.3], [1.2, 0.4, 0.8]])], {"axis": 1}),
    "reshape": ([_signed(2, 3)], {"shape": (3, 2)}),
    "reshape_like": ([_signed(2, 3), _signed(6)], {}),
    "transpose": ([_signed(2, 3)], {}),
    "broadcast_to": ([_signed(3)], {"shape": (2, 3)}),
    "broadcast_like": ([_signed(2), _signed(2, 3)], {"axis": 1, "keepdims": False}),
    "sum_to_like": ([_signed(2, 3), _signed(3)], {}),
    "matmul": ([_signed(2, 3), _signed(3, 4)], {}),
    "matmul_bt": ([_signed(2, 4), _signed(3, 4)], {}),
    "matmul_at": ([_signed(2, 3), _signed(2, 4)], {}),
    "softmax": ([_signed(2, 3)], {}),
    "log_softmax": ([_signed(2, 3)], {"axis": 0}),
    # t: probability rows (the op's rule assumes each row of t sums to 1)
    "softmax_cross_entropy": ([_signed(2, 3), _rows(_u(2, 3))], {}),
    "softmax_cross_entropy_grad": ([_signed(2, 3), _u(2, 3)], {}),
    "label_mass": ([_u(2, 3), _signed(2, 3)], {}),
}
CASES.update({name: (list(cases[0][0]), cases[0][1]) for name, cases in NN_CASES.items()})
DIFFERENTIABLE = sorted(name for name, op in registered_ops().items() if any(op.vjp))


def test_every_differentiable_op_has_a_second_derivative_case():
    assert set(DIFFERENTIABLE) <= set(CASES), sorted(set(DIFFERENTIABLE) - set(CASES))


def _op_graph(name, operands, params):
    """loss = sum(op(x0, x1, ...) * c) with a fixed random weight c."""
    g = nx.DiGraph()
    feeds = {}
    for i, value in enumerate(operands):
        g.add_node(f"x{i}", op="input", shape=value.shape)
        feeds[f"x{i}"] = value
        g.add_edge(f"x{i}", "y", arg=i)
    g.nodes["y"].update(op=name, **params)
    shape = np.shape(gc.evaluate(g, feeds)["y"])
    g.add_node("c", op="const", value=np.random.default_rng(3).uniform(0.5, 1.5, size=shape))
    g.add_node("yc", op="mul")
    g.add_edge("y", "yc", arg=0)
    g.add_edge("c", "yc", arg=1)
    g.add_node("loss", op="sum")
    g.add_edge("yc", "loss")
    op = gc.lookup(name)
    wrt = [f"x{i}" for i in range(op.arity) if op.vjp[i] is not None]
    return g, feeds, wrt


@pytest.mark.parametrize("name", [n for n in DIFFERENTIABLE if n in CASES])
def test_second_derivative_of_every_op_matches_finite_differences(name):
    operands, params = CASES[name]
    g, feeds, wrt = _op_graph(name, operands, params)
    h = hvp(g, "loss", wrt, shapes=feeds)
    rng = np.random.default_rng(11)
    v = {w: rng.normal(size=feeds[w].shape) for w in wrt}
    if name == "softmax_cross_entropy":  # move t along the simplex: rows of v_t sum to 0
        v["x1"] = _tangent(v["x1"])
    got = hvp_values(h, feeds, v)
    eps = 1e-5
    plus = gc.gradients(g, {**feeds, **{w: feeds[w] + eps * v[w] for w in wrt}}, "loss", wrt)
    minus = gc.gradients(g, {**feeds, **{w: feeds[w] - eps * v[w] for w in wrt}}, "loss", wrt)
    for w in wrt:
        fd = (np.asarray(plus[w]) - np.asarray(minus[w])) / (2 * eps)
        have = np.broadcast_to(got[w], fd.shape)
        if name == "softmax_cross_entropy" and w == "x1":  # t lives on the simplex
            have, fd = _tangent(have), _tangent(fd)
        np.testing.assert_allclose(have, fd, rtol=1e-5, atol=1e-6,
                                   err_msg=f"{name}: d²/d{w}")


def test_hessian_is_symmetric_on_a_small_network():
    g = nx.DiGraph()
    g.add_node("W", op="input", shape=(2, 2))
    g.add_node("x", op="input", shape=(3, 2))
    g.add_node("t", op="input", shape=(3, 2))
    g.add_node("h", op="matmul")
    g.add_edge("x", "h", arg=0)
    g.add_edge("W", "h", arg=1)
    g.add_node("a", op="tanh")
    g.add_edge("h", "a")
    g.add_node("loss", op="softmax_cross_entropy")
    g.add_edge("a", "loss", arg=0)
    g.add_edge("t", "loss", arg=1)
    rng = np.random.default_rng(0)
    feeds = {"W": rng.normal(size=(2, 2)), "x": rng.normal(size=(3, 2)),
             "t": np.eye(2)[[0, 1, 1]]}
    blocks = hessian_values(hessian(g, "loss", ["W", "x"]), feeds)
    full = np.block([[blocks["W", "W"].reshape(4, 4), blocks["W", "x"].reshape(4, 6)],
                     [blocks["x", "W"].reshape(6, 4), blocks["x", "x"].reshape(6, 6)]])
    np.testing.assert_allclose(full, full.T, atol=1e-12)
    # each column agrees with a finite difference of the gradient
    eps = 1e-6
    for k in range(4):
        e = np.zeros(4)
        e[k] = eps
        up = gc.gradients(g, {**feeds, "W": feeds["W"] + e.reshape(2, 2)}, "loss", ["W", "x"])
        dn = gc.gradients(g, {**feeds, "W": feeds["W"] - e.reshape(2, 2)}, "loss", ["W", "x"])
        col = np.concatenate([((up[w] - dn[w]) / (2 * eps)).ravel() for w in ("W", "x")])
        np.testing.assert_allclose(full[:, k], col, rtol=1e-5, atol=1e-7)
