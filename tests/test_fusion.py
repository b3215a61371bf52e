"""gcompile.fusion and gcompile.specialize: gc.compile's cheaper forms of the same values.

Oracles: the interpreter (gc.evaluate of the unfused graph and of gc.grad's
backward graph), central finite differences, and the hand-written W2 backprop
formula of WORKLOADS.md (da2 = (y - t)/N, da1 = dz1·z1·(1 - z1)).
"""
import warnings

import networkx as nx
import numpy as np
import pytest

import gcompile as gc
from bench.workloads import W2_WRT, w2_data, w2_graph
from gcompile.fusion import fuse


def _graph(steps, inputs=("a",), consts=None):
    g = nx.DiGraph()
    for name in inputs:
        g.add_node(name, op="input")
    for name, value in (consts or {}).items():
        g.add_node(name, op="const", value=value)
    for name, op, args, params in steps:
        g.add_node(name, op=op, **params)
        for k, u in enumerate(args):
            g.add_edge(u, name, arg=k)
    return g


def softmax_graph(max_axis=1, sum_axis=1, keepdims=True, extra=()):
    """``loss = sum(w * log(exp(a - max a) / sum exp(a - max a)))`` (+ ``extra`` steps)."""
    steps = [("m", "max", ["a"], dict(axis=max_axis, keepdims=keepdims)),
             ("d", "sub", ["a", "m"], {}), ("e", "exp", ["d"], {}),
             ("s", "sum", ["e"], dict(axis=sum_axis, keepdims=keepdims)),
             ("y", "div", ["e", "s"], {}), ("ly", "log", ["y"], {}),
             ("wly", "mul", ["w", "ly"], {}), ("L", "sum", ["wly"], {}), *extra]
    return _graph(steps, inputs=("a", "w"))


def sigmoid_graph(one_first=True):
    q_args = ["one", "e"] if one_first else ["e", "one"]
    steps = [("n", "neg", ["a"], {}), ("e", "exp", ["n"], {}), ("q", "add", q_args, {}),
             ("z", "div", ["one", "q"], {}), ("zz", "mul", ["z", "a"], {}),
             ("L", "sum", ["zz"], {})]
    return _graph(steps, consts={"one": 1.0})


def interpreted(graph, feeds, output, wrt):
    values = gc.evaluate(graph, feeds)
    return values[output], gc.gradients(graph, feeds, output, wrt)


def finite_difference(graph, feeds, output, wrt, h=1e-6):
    base = {k: np.array(v, dtype=float) for k, v in feeds.items()}
    x = base[wrt]
    out = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        up, down = dict(base), dict(base)
        up[wrt], down[wrt] = x.copy(), x.copy()
        up[wrt][idx] += h
        down[wrt][idx] -= h
        out[idx] = (gc.evaluate(graph, up)[output] - gc.evaluate(graph, down)[output]) / (2 * h)
    return out


def _feeds(seed=0, shape=(4, 5)):
    rng = np.random.default_rng(seed)
    return {"a": rng.standard_normal(shape) * 3, "w": rng.random(shape)}


def test_softmax_pattern_fuses_and_keeps_values_bit_for_bit():
    g = softmax_graph()
    fused = fuse(gc.plan(g), keep={"L", "a"})
    assert (fused.ops["y"].name, tuple(fused.operands["y"]), fused.params["y"]) == \
        ("softmax", ("a",), {"axis": 1})
    feeds = _feeds()
    f = gc.compile(g, "L", ["a", "w"], feeds=feeds)
    assert "np_softmax" in f.source and "max_mask" not in f.source
    value, grads = f(feeds)
    want, want_grads = interpreted(g, feeds, "L", ["a", "w"])
    assert value == want  # the fused forward performs the same numpy operations
    for k in ("a", "w"):
        np.testing.assert_allclose(grads[k], want_grads[k], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grads["a"], finite_difference(g, feeds, "L", "a"),
                               rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("variant", [dict(max_axis=0), dict(sum_axis=0), dict(keepdims=False)])
def test_softmax_pattern_with_other_axes_is_left_alone(variant):
    g = softmax_graph(**{"max_axis": 1, "sum_axis": 1, **variant})
    assert fuse(gc.plan(g), keep={"L", "a"}).ops["y"].name == "div"


@pytest.mark.parametrize("wrt", [["a", "e"], ["a", "s"], ["a", "m"]])
def test_inner_nodes_asked_for_are_not_fused_away(wrt):
    g = softmax_graph()
    assert fuse(gc.plan(g), keep={"L", *wrt}).ops["y"].name == "div"
    feeds = _feeds(1)
    f = gc.compile(g, "L", wrt, feeds=feeds)
    value, grads = f(feeds)
    want, want_grads = interpreted(g, feeds, "L", wrt)
    assert value == want
    for k in wrt:
        np.testing.assert_allclose(grads[k], want_grads[k], rtol=1e-12, atol=1e-14)


def test_inner_node_read_elsewhere_is_not_fused():
    g = softmax_graph(extra=[("L2", "add", ["L", "s"], {})])  # s has a second reader
    assert fuse(gc.plan(g), keep={"L2", "a"}).ops["y"].name == "div"


@pytest.mark.parametrize("one_first", [True, False])
def test_sigmoid_pattern_fuses_and_agrees(one_first):
    g = sigmoid_graph(one_first)
    fused = fuse(gc.plan(g), keep={"L", "a"}, consts={"one": 1.0})
    assert fused.ops["z"].name == "sigmoid" and tuple(fused.operands["z"]) == ("a",)
    feeds = {"a": np.array([-800.0, -30.0, -1.5, 0.0, 0.25, 3.0, 40.0, 800.0])}
    f = gc.compile(g, "L", ["a"], feeds=feeds)
    assert "np_sigmoid" in f.source
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, grads = f(feeds)
    with np.errstate(over="ignore", invalid="ignore"):
        want, want_grads = interpreted(g, feeds, "L", ["a"])
    assert value == want
    # below x = -709 the composition's own chain rule overflows (inf * 0 = nan in the
    # interpreter); the fused rule gives the true derivative there, 0
    assert np.isnan(want_grads["a"][0]) and grads["a"][0] == 0.0
    np.testing.assert_allclose(grads["a"][1:], want_grads["a"][1:], rtol=1e-13, atol=1e-300)
    a = feeds["a"]
    with np.errstate(over="ignore"):
        z = 1.0 / (1.0 + np.exp(-a))
    np.testing.assert_allclose(grads["a"], z + a * z * (1 - z), rtol=1e-13)


def test_sigmoid_of_other_constants_is_left_alone():
    g = sigmoid_graph()
    assert fuse(gc.plan(g), keep={"L", "a"}, consts={"one": 2.0}).ops["z"].name == "div"
    assert fuse(gc.plan(g), keep={"L", "a"}).ops["z"].name == "div"


def test_sigmoid_forward_is_the_logistic_formula_in_every_dtype():
    x = np.linspace(-50, 50, 101)
    for dtype in (np.float64, np.float32):
        got = gc.evaluate(_graph([("z", "sigmoid", ["a"], {})]), {"a": x.astype(dtype)})["z"]
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, 1 / (1 + np.exp(-x.astype(dtype))))


def test_w2_compiles_to_the_hand_formulas():
    data = w2_data()
    g = w2_graph()
    f = gc.compile(g, "L", list(W2_WRT), feeds=data)
    src = f.source
    assert "np_softmax" in src and "np_sigmoid" in src
    assert "sum_to_like" not in src and "broadcast_like" not in src and "max_mask" not in src
    value, grads = f(data)
    assert value == gc.evaluate(g, data)["L"]
    x, t, W1, b1, W2, b2 = (data[k] for k in ("x", "t", "W1", "b1", "W2", "b2"))
    z1 = 1 / (1 + np.exp(-(x @ W1 + b1)))
    a2 = z1 @ W2 + b2
    y = np.exp(a2 - a2.max(1, keepdims=True))
    y /= y.sum(1, keepdims=True)
    da2 = (y - t) / len(x)
    da1 = da2 @ W2.T * z1 * (1 - z1)
    hand = {"W1": x.T @ da1, "b1": da1.sum(0), "W2": z1.T @ da2, "b2": da2.sum(0)}
    for k in W2_WRT:
        np.testing.assert_allclose(grads[k], hand[k], rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("bias", [(5,), (1, 5), (4, 1), (), (1, 1)])
def test_specialized_bias_gradients_agree(bias):
    rng = np.random.default_rng(3)
    g = _graph([("ab", "add", ["a", "b"], {}), ("t", "tanh", ["ab"], {}),
                ("s", "sum", ["t"], {})], inputs=("a", "b"))
    feeds = {"a": rng.standard_normal((4, 5)), "b": rng.standard_normal(bias)}
    if bias == ():
        feeds["b"] = float(feeds["b"])
    f = gc.compile(g, "s", ["a", "b"], feeds=feeds)
    value, grads = f(feeds)
    want, want_grads = interpreted(g, feeds, "s", ["a", "b"])
    assert value == want
    for k in ("a", "b"):
        assert np.shape(grads[k]) == np.shape(want_grads[k])
        np.testing.assert_array_equal(grads[k], want_grads[k])
    if bias in ((5,), (1, 5), (4, 1)):
        assert "sum_to_like" not in f.source


def test_w2_reference_is_the_book_backprop():
    from bench.layers import TwoLayerNet
    from bench.workloads import w2_reference

    d = w2_data()
    loss, grads = w2_reference(*(d[k] for k in ("x", "t", "W1", "b1", "W2", "b2")))
    want_loss, want = TwoLayerNet(d["W1"], d["b1"], d["W2"], d["b2"]).loss_and_grads(d["x"], d["t"])
    assert loss == pytest.approx(want_loss, rel=1e-13)
    for k, got in zip(W2_WRT, grads):
        np.testing.assert_allclose(got, want[k], rtol=1e-10, atol=1e-16)
