"""gc.compile: generated code agrees with the interpreter, is injection-safe, frees memory.

The interpreter (gc.evaluate of the forward graph, then of gc.grad's backward
graph) is the oracle for every registry op; the workloads' published numbers
and the seed text are independent oracles.
"""
import ast
import io
import math
import tokenize

import networkx as nx
import numpy as np
import pytest

import gcompile as gc
from bench.layers import TwoLayerNet
from bench.workloads import (W2_WRT, make_w1, w1_graph, w1_reference, w2_data, w2_graph,
                             w3_graph, w3_reference)
from gcompile.examples import apple, apple_orange
from helpers import op_graph
from test_optable import CASES, NON_DIFFERENTIABLE
from test_seed import SEED_APPLE, SEED_APPLE_ORANGE


def interpreted(graph, feeds, output, wrt):
    values = gc.evaluate(graph, feeds)
    return values[output], gc.gradients(graph, feeds, output, wrt)


def assert_agree(compiled, expected, rtol=1e-12, atol=1e-14):
    got_value, got_grads = compiled
    value, grads = expected
    pairs = [(got_value, value)] + [(got_grads[k], grads[k]) for k in grads]
    assert set(got_grads) == set(grads)
    for got, want in pairs:
        assert np.shape(got) == np.shape(want)
        if isinstance(want, np.ndarray) and want.ndim:
            assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def float_operands(operands):
    return [f"a{i}" for i, x in enumerate(operands)
            if np.asarray(x).dtype.kind == "f"]


def composed(name, n, params):
    """The op, then tanh, a square and a sum: exercises fusion, fan-out and unbroadcasting."""
    g = op_graph(name, n, **params)
    g.add_node("t", op="tanh")
    g.add_edge("out", "t", arg=0)
    g.add_node("sq", op="mul")
    g.add_edge("t", "sq", arg=[0, 1])
    g.add_node("m", op="mul")
    g.add_edge("sq", "m", arg=0)
    g.add_edge("out", "m", arg=1)
    g.add_node("s", op="sum")
    g.add_edge("m", "s", arg=0)
    return g


CASE_IDS = [(n, k) for n in sorted(CASES) for k in range(len(CASES[n]))]


@pytest.mark.parametrize("name, k", CASE_IDS)
def test_every_op_agrees_with_the_interpreter(name, k):
    operands, params = CASES[name][k]
    feeds = {f"a{i}": x for i, x in enumerate(operands)}
    wrt = float_operands(operands)
    for g, out in ((op_graph(name, len(operands), **params), "out"),
                   (composed(name, len(operands), params), "s")):
        f = gc.compile(g, out, wrt)
        assert_agree(f(feeds), interpreted(g, feeds, out, wrt))
        assert f.fallbacks == 0


@pytest.mark.parametrize("name", sorted(NON_DIFFERENTIABLE))
def test_non_differentiable_ops_compute_their_value(name):
    operands, params = NON_DIFFERENTIABLE[name]
    g = composed(name, len(operands), params)
    feeds = {f"a{i}": x for i, x in enumerate(operands)}
    f = gc.compile(g, "s", ["a0"])
    assert_agree(f(feeds), interpreted(g, feeds, "s", ["a0"]))


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow", "neg", "exp", "log", "sin",
                                  "cos", "tanh", "sigmoid", "relu", "sqrt", "abs", "maximum",
                                  "minimum"])
def test_scalar_ops_on_python_floats(name):
    arity = gc.lookup(name).arity
    feeds = {"a0": 0.7, "a1": 1.3}
    feeds = {k: feeds[k] for k in list(feeds)[:arity]}
    g = composed(name, arity, {})
    f = gc.compile(g, "s", list(feeds))
    value, grads = f(feeds)
    assert_agree((value, grads), interpreted(g, feeds, "s", list(feeds)))


@pytest.mark.parametrize("make, expected", [(apple, SEED_APPLE), (apple_orange, SEED_APPLE_ORANGE)])
def test_seed_numbers(make, expected):
    g, feeds = make()
    f = gc.compile(g, "price", g.graph["wrt"])
    value, grads = f(feeds)
    assert value == pytest.approx(expected["price"], rel=1e-15)
    for w in g.graph["wrt"]:
        assert grads[w] == pytest.approx(expected[w], rel=1e-15), w
    # the x * 1 of the adds and the seed are folded: one line per remaining multiplication
    body = [line for line in f.source.splitlines()[1:-1]]
    assert all(" * " in line for line in body)


def test_source_comments_name_each_node_and_op():
    g, feeds = apple()
    f = gc.compile(g, "price", g.graph["wrt"])
    assert f.source == ""  # inputs without values: compiled on the first call
    f(feeds)
    lines = f.source.splitlines()
    assert lines[1] == "    v0 = (i0 * i1)  # 'apple_price': mul"
    assert lines[-1].startswith("    return v1, (")


def test_w1_check_numbers_from_the_workloads_table():
    ops = make_w1(1000)
    f = gc.compile(w1_graph(ops))
    value, grads = f({})
    assert value == pytest.approx(3.403812879636224, rel=1e-14)
    assert grads["x0"] == pytest.approx(0.3839252469915564, rel=1e-13)
    ref_value, ref_grads = w1_reference(ops)
    assert value == pytest.approx(ref_value, rel=1e-14)
    for i in range(8):
        assert grads[f"x{i}"] == pytest.approx(ref_grads[i], rel=1e-12, abs=1e-14)
    g = w1_graph(ops)
    assert_agree((value, grads), interpreted(g, {}, g.graph["output"], g.graph["wrt"]))
    assert isinstance(value, float)  # scalars run as pure-Python floats


def test_w2_agrees_with_interpreter_and_hand_backprop():
    data = w2_data()
    g = w2_graph()
    f = gc.compile(g, "L", list(W2_WRT))
    result = f(data)
    assert_agree(result, interpreted(g, data, "L", list(W2_WRT)), rtol=1e-11, atol=1e-15)
    net = TwoLayerNet(data["W1"], data["b1"], data["W2"], data["b2"])
    loss, hand = net.loss_and_grads(data["x"], data["t"])
    assert result[0] == pytest.approx(loss, rel=1e-12)
    for k in W2_WRT:
        np.testing.assert_allclose(result[1][k], hand[k], rtol=1e-7, atol=1e-12)
    assert f.fallbacks == 0


def test_deep_chain_w3():
    depth = 20000
    f = gc.compile(w3_graph(depth), release=False)
    value, grads = f({})
    ref_value, ref_grad = w3_reference(depth)
    assert value == pytest.approx(ref_value, rel=1e-12)
    assert grads["x"] == pytest.approx(ref_grad, rel=1e-10)


HOSTILE = ["it's", 'say "hi"', "new\nline", "\\", "__import__('os').system('echo pwned')",
           "#", "'''", "이름", "\r\x00\u2028", ("tuple", 1), 7, "v0", "i0", "c0"]


class WeirdRepr:
    def __repr__(self):
        return "x\n__import__('os').system('echo pwned')  # )"


def test_hostile_keys_never_reach_the_code():
    g = nx.DiGraph()
    keys = HOSTILE + [WeirdRepr()]
    g.add_node(keys[0], op="input")
    g.add_node(keys[1], op="input")
    prev = keys[0]
    for k, key in enumerate(keys[2:]):
        g.add_node(key, op=["mul", "add", "sub"][k % 3], label="') + __import__('os')")
        g.add_edge(prev, key, arg=0)
        g.add_edge(keys[1], key, arg=1)
        prev = key
    g.add_node("c'", op="const", value=2.5)
    g.add_node("out\n", op="tanh")
    g.add_edge(prev, "out\n")
    feeds = {keys[0]: 0.3, keys[1]: np.array([0.2, -0.4])}
    f = gc.compile(g, "out\n", keys[:2])
    assert_agree(f(feeds), interpreted(g, feeds, "out\n", keys[:2]))
    tree = ast.parse(f.source)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert all(n.isidentifier() and n.isascii() for n in names)
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value is not None]
    comments = [t for t in tokenize.generate_tokens(io.StringIO(f.source).readline)
                if t.type == tokenize.COMMENT]
    assert len(comments) == len(f.source.splitlines())
    assert "'이름'" in f.source


def test_intermediates_are_released():
    g = nx.DiGraph()
    g.add_node("x", op="input")
    prev = "x"
    for i in range(12):
        g.add_node(i, op=["sin", "tanh", "exp"][i % 3])
        g.add_edge(prev, i, arg=0)
        prev = i
    g.add_node("s", op="sum")
    g.add_edge(prev, "s", arg=0)
    feeds = {"x": np.linspace(-1, 1, 50_000)}
    kept = gc.compile(g, "s", "x", release=False, feeds=feeds)
    freed = gc.compile(g, "s", "x", feeds=feeds)
    assert "del " in freed.source and "del " not in kept.source
    assert_agree(freed(feeds), kept(feeds), rtol=0, atol=0)
    one = feeds["x"].nbytes
    # the backward pass needs every forward value: 13 arrays live at the turn, then freed
    assert freed.peak_bytes(feeds) < kept.peak_bytes(feeds) - 5 * one
    assert freed.peak_bytes(feeds) < 20 * one


def test_signatures_are_cached_and_specialized():
    g = nx.DiGraph()
    g.add_node("x", op="input")
    g.add_node("y", op="tanh")
    g.add_edge("x", "y")
    f = gc.compile(g, "y", "x")
    assert f({"x": 0.5})[1]["x"] == pytest.approx(1 - math.tanh(0.5) ** 2)
    assert "tanh(i0)" in f.source
    x32 = {"x": np.array([0.5, 1.0], dtype=np.float32)}
    value, grads = f(x32)
    assert value.dtype == np.float32 and value.shape == (2,)
    assert_agree((value, grads), interpreted(g, x32, "y", ["x"]))
    assert "np_tanh" in f.source
    f({"x": 0.25})
    f({"x": 2})  # ints are read as floats, like the interpreter does
    assert len(f.signatures) == 2


def test_bad_feeds_are_graph_errors_naming_the_input():
    g, feeds = apple()
    f = gc.compile(g, "price", g.graph["wrt"])
    with pytest.raises(gc.GraphError, match="missing feed for input node 'tax'"):
        f({"apple": 1.0, "apple_num": 2.0})
    with pytest.raises(gc.GraphError, match="'apple'.*not numeric"):
        f(dict(feeds, apple="many"))
    with pytest.raises(gc.GraphError, match="'apple' declares shape"):
        f(dict(feeds, apple=np.ones(3)))
    with pytest.raises(gc.GraphError, match="mapping"):
        f([1.0, 2.0])


def test_runtime_errors_fall_back_to_the_interpreter():
    g = op_graph("log", 1)
    f = gc.compile(g, "out", ["a0"], backend="python")  # the native tape gives nan itself
    with np.errstate(all="ignore"):
        value, grads = f({"a0": -1.0})
    assert math.isnan(value) and f.fallbacks == 1  # math.log raises; the interpreter gives nan
    g = op_graph("div", 2)
    f = gc.compile(g, "out", ["a0", "a1"], backend="python")
    with np.errstate(all="ignore"):
        value, grads = f({"a0": 1.0, "a1": 0.0})
    assert value == math.inf and f.fallbacks == 1
    g = op_graph("matmul", 2)
    f = gc.compile(g, "out", ["a0"])
    with pytest.raises(gc.GraphError, match="node 'out'"):
        f({"a0": np.ones((2, 3)), "a1": np.ones((2, 3))})


def test_changed_graph_is_reported():
    g = op_graph("exp", 1)
    f = gc.compile(g, "out", ["a0"])
    g.add_node("extra", op="input")
    with pytest.raises(gc.GraphError, match="changed"):
        f({"a0": 1.0})


def test_returned_arrays_are_never_inputs_or_constants():
    g = op_graph("mul", 2)
    x, y = np.ones(3), np.arange(3.0)
    f = gc.compile(g, "out", ["a0", "a1"])
    value, grads = f({"a0": x, "a1": y})
    # d(sum of x*y)/dx = y: returned as a copy, so changing it leaves y alone
    grads["a0"] += 1
    np.testing.assert_array_equal(y, [0.0, 1.0, 2.0])


def test_backward_graph_in_any_node_order_lowers_the_same():
    """Node insertion order is not part of a graph: a forward graph and a backward graph
    (compiled as a graph of its own) listed in reverse order compile to the same results."""
    g = w1_graph(make_w1(60))
    feeds = dict(zip(g.graph["wrt"], [-0.7 + 0.2 * i for i in range(8)]))
    bwd = gc.grad(g, g.graph["output"], g.graph["wrt"], shapes={w: () for w in feeds})

    def reverse(graph):
        out = nx.DiGraph()
        out.add_nodes_from(reversed(list(graph.nodes(data=True))))
        out.add_edges_from(reversed(list(graph.edges(data=True))))
        out.graph.update(graph.graph)
        return out

    def same(a, b):  # fan-out sums may add in another order: equal up to rounding
        assert a[0] == pytest.approx(b[0], rel=1e-12) and a[1].keys() == b[1].keys()
        assert all(a[1][k] == pytest.approx(b[1][k], rel=1e-12, abs=1e-15) for k in a[1])

    output, wrt = g.graph["output"], g.graph["wrt"]
    same(gc.compile(g, output, wrt)(feeds), gc.compile(reverse(g), output, wrt)(feeds))
    same(gc.compile(g, output, wrt)(feeds),
         (float(gc.evaluate(g, feeds)[output]), gc.gradients(g, feeds, output, wrt)))
    grad_x0 = bwd.graph["grads"]["x0"]
    back_feeds = gc.evaluate(g, feeds)
    back_feeds = {k: float(back_feeds[k]) for k in bwd if bwd.nodes[k]["op"] == "input"}
    inner = sorted(back_feeds)[:3]
    results = [gc.compile(b, grad_x0, inner)(back_feeds) for b in (bwd, reverse(bwd))]
    same(*results)
    assert results[0][0] == pytest.approx(float(gc.evaluate(bwd, back_feeds)[grad_x0]), rel=1e-12)


@pytest.fixture
def clashing_ops():
    from gcompile import registry

    names = ("copy", "i0", "f64")
    yield names
    for name in names:  # the registry has no public unregister; keep it as other tests expect
        registry._REGISTRY.pop(name, None)


def test_op_names_that_clash_with_generated_names(clashing_ops):
    for name in clashing_ops:
        gc.defop(name, 1, lambda xp, x: xp.multiply(x, 3.0), shape=lambda s: s,
                 vjp=[lambda f, g, x, out: f.mul(g, 3.0)], replace=True)
    g = nx.DiGraph()
    g.add_node("x", op="input")
    prev = "x"
    for name in ("copy", "i0", "f64", "tanh"):
        g.add_node(name + "!", op=name)
        g.add_edge(prev, name + "!", arg=0)
        prev = name + "!"
    for feeds in ({"x": 0.1}, {"x": np.array([0.1, -0.05])}):
        f = gc.compile(g, prev, ["x"])
        assert_agree(f(feeds), interpreted(g, feeds, prev, ["x"]))


def test_native_source_is_written_when_asked_and_equals_the_python_backend():
    pytest.importorskip("numba")
    from bench.workloads import make_w1, w1_graph, w1_inputs
    g = w1_graph(make_w1(400, seed=3))
    feeds = dict(zip(g.graph["wrt"], w1_inputs()))
    f = gc.compile(g, feeds=feeds, backend="native")
    entry = next(iter(f.signatures.values()))
    assert entry["backend"] == "native" and "source" not in entry
    assert not any(isinstance(v, gc.lowering.Program) for v in entry.values())  # not kept
    p = gc.compile(g, feeds=feeds, backend="python")
    assert f.source == p.source and f.source_for(feeds) == p.source
    assert "source" in entry
    f2 = gc.compile(w1_graph(make_w1(400, seed=3)), feeds=feeds, backend="native")
    f2.graph.add_node("late", op="input")
    with pytest.raises(gc.GraphError, match="the graph changed after gc.compile"):
        f2.source
