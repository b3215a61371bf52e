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
    base = {k: np.asarray(v) if np.asarray(v).dtype.kind in "iu" else np.array(v, dtype=float)
            for k, v in feeds.items()}  # integer labels stay integers
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


def xent_graph(t_first=True, extra=(), wrt_softmax_reader=False):
    """``L = -sum(w * log(softmax(a, 1))) / 4`` written with the softmax op (+ ``extra``)."""
    args = ["w", "ly"] if t_first else ["ly", "w"]
    steps = [("y", "softmax", ["a"], dict(axis=1)), ("ly", "log", ["y"], {}),
             ("wly", "mul", args, {}), ("s", "sum", ["wly"], {}), ("n", "neg", ["s"], {}),
             ("L", "div", ["n", "four"], {}), *extra]
    return _graph(steps, inputs=("a", "w"), consts={"four": 4.0})


def _check_against_oracles(g, feeds, output, wrt, differences=True):
    f = gc.compile(g, output, wrt, feeds=feeds)
    value, grads = f(feeds)
    want, want_grads = interpreted(g, feeds, output, wrt)
    assert value == want  # the fused forward performs the composition's numpy calls
    for k in wrt:
        np.testing.assert_allclose(grads[k], want_grads[k], rtol=1e-11, atol=1e-14)
        if differences and k in feeds:
            np.testing.assert_allclose(grads[k], finite_difference(g, feeds, output, k),
                                       rtol=1e-6, atol=1e-7)
    return f


@pytest.mark.parametrize("t_first", [True, False])
def test_cross_entropy_of_softmax_goes_to_the_logits_directly(t_first):
    g = xent_graph(t_first)
    fused = fuse(gc.plan(g), keep={"L", "a", "w"})
    assert fused.ops["s"].name == "cross_entropy_sum"
    assert tuple(fused.operands["s"]) == ("y", "w", "a")
    f = _check_against_oracles(g, _feeds(4), "L", ["a", "w"])
    # the softmax once, no t / y, no softmax Jacobian: d s/d a = t - y Σt
    src = f.source
    assert src.count("np_softmax(") == 1 and "np_log(" in src and "/ v" not in src
    a, w = _feeds(4)["a"], _feeds(4)["w"]
    y = np.exp(a - a.max(1, keepdims=True))
    y /= y.sum(1, keepdims=True)
    np.testing.assert_allclose(f(_feeds(4))[1]["a"], (y * w.sum(1, keepdims=True) - w) / 4,
                               rtol=1e-12, atol=1e-15)


def test_cross_entropy_of_the_composed_softmax_fuses_both():
    fused = fuse(gc.plan(softmax_graph()), keep={"L", "a", "w"})
    assert fused.ops["y"].name == "softmax" and fused.ops["L"].name == "cross_entropy_sum"
    _check_against_oracles(softmax_graph(), _feeds(5), "L", ["a", "w"])


def test_cross_entropy_with_broadcast_targets_writes_the_chain():
    feeds = {"a": _feeds(6)["a"], "w": np.random.default_rng(6).random(5)}  # w: one row
    g = xent_graph()
    assert fuse(gc.plan(g), keep={"L", "a", "w"}).ops["s"].name == "cross_entropy_sum"
    _check_against_oracles(g, feeds, "L", ["a", "w"])


def test_softmax_read_elsewhere_keeps_its_own_gradient():
    # y also feeds L2: its gradient through the softmax Jacobian adds to the direct one
    g = xent_graph(extra=[("y2", "tanh", ["y"], {}), ("q", "sum", ["y2"], {}),
                          ("L2", "add", ["L", "q"], {})])
    assert fuse(gc.plan(g), keep={"L2", "a"}).ops["s"].name == "cross_entropy_sum"
    _check_against_oracles(g, _feeds(7), "L2", ["a", "w"])


def test_cross_entropy_is_not_fused_when_softmax_or_log_is_asked_for():
    g = xent_graph()
    assert fuse(gc.plan(g), keep={"L", "a", "y"}).ops["s"].name == "sum"
    assert fuse(gc.plan(g), keep={"L", "a", "ly"}).ops["s"].name == "sum"
    _check_against_oracles(g, _feeds(8), "L", ["a", "y"])
    g = xent_graph(extra=[("L3", "add", ["L", "ly"], {})])  # log(y) read twice
    assert fuse(gc.plan(g), keep={"L3", "a"}).ops["s"].name == "sum"


def test_w2_softmax_once_and_gradients_match_the_layers_and_differences():
    from bench.layers import TwoLayerNet

    rng = np.random.default_rng(11)
    labels = rng.integers(0, 3, 6)
    data = {"x": rng.random((6, 7)), "t": np.eye(3)[labels], "W1": rng.standard_normal((7, 4)),
            "b1": rng.standard_normal(4), "W2": rng.standard_normal((4, 3)),
            "b2": rng.standard_normal(3)}
    g = w2_graph(batch=6)
    f = gc.compile(g, "L", list(W2_WRT), feeds=data)
    src = f.source
    assert src.count("np_softmax(") == 1 and "cross_entropy_sum" in src and "/ v" not in src
    value, grads = f(data)
    assert value == gc.evaluate(g, data)["L"]
    loss, hand = TwoLayerNet(data["W1"], data["b1"], data["W2"], data["b2"]).loss_and_grads(
        data["x"], data["t"])
    assert value == pytest.approx(loss, rel=1e-14)
    for k in W2_WRT:
        np.testing.assert_allclose(grads[k], hand[k], rtol=1e-11, atol=1e-15)
        np.testing.assert_allclose(grads[k], finite_difference(g, data, "L", k),
                                   rtol=1e-6, atol=1e-8)


def sce_graph(label_shape=None):
    """``L = softmax_cross_entropy(tanh(a) @ W, t)``: the op, not the composition."""
    g = _graph([("h", "tanh", ["a"], {}), ("logits", "matmul", ["h", "W"], {}),
                ("L", "softmax_cross_entropy", ["logits", "t"], {})], inputs=("a", "W", "t"))
    return g


def _sce_feeds(seed, integer_labels=False):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, 5)
    t = labels if integer_labels else np.eye(3)[labels] * rng.random((5, 1)) * 2
    return {"a": rng.standard_normal((5, 4)), "W": rng.standard_normal((4, 3)), "t": t}


def test_softmax_cross_entropy_op_computes_its_softmax_once():
    g = sce_graph()
    before = (g.number_of_nodes(), g.number_of_edges())
    fused = fuse(gc.plan(g), keep={"L", "a", "W"}, graph=g)
    assert fused.ops["L"].name == "softmax_cross_entropy_parts"
    assert [repr(k) for k in fused.operands["L"][2:]] == ["'L'.shifted", "'L'.exp", "'L'.sum"]
    assert fused.graph is not g and (g.number_of_nodes(), g.number_of_edges()) == before
    feeds = _sce_feeds(9)  # rows of t sum to 0..2, not 1: the general gradient
    f = _check_against_oracles(g, feeds, "L", ["a", "W", "t"])
    src = f.source
    assert src.count("np_exp(") == 1 and "softmax_cross_entropy_grad" not in src
    assert "log_softmax" not in src
    assert (g.number_of_nodes(), g.number_of_edges()) == before  # the user's graph untouched


def test_softmax_cross_entropy_with_integer_labels_falls_back_to_its_own_gradient():
    g = sce_graph()
    feeds = _sce_feeds(10, integer_labels=True)
    f = _check_against_oracles(g, feeds, "L", ["a", "W"])
    assert "softmax_cross_entropy_grad" in f.source  # labels: the op's own rule


def test_w2_written_with_the_softmax_cross_entropy_op_matches_the_layers():
    from bench.layers import TwoLayerNet

    g = _graph([("xW1", "matmul", ["x", "W1"], {}), ("a1", "add", ["xW1", "b1"], {}),
                ("z1", "sigmoid", ["a1"], {}), ("z1W2", "matmul", ["z1", "W2"], {}),
                ("a2", "add", ["z1W2", "b2"], {}), ("L", "softmax_cross_entropy", ["a2", "t"], {})],
               inputs=("x", "t", *W2_WRT))
    data = w2_data()
    f = gc.compile(g, "L", list(W2_WRT), feeds=data)
    value, grads = f(data)
    assert value == gc.evaluate(g, data)["L"]
    loss, hand = TwoLayerNet(data["W1"], data["b1"], data["W2"], data["b2"]).loss_and_grads(
        data["x"], data["t"])
    assert value == pytest.approx(loss, rel=1e-13)
    for k in W2_WRT:
        np.testing.assert_allclose(grads[k], hand[k], rtol=1e-9, atol=1e-15)
