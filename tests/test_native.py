"""gc.compile(backend=...): the numba tape of gcompile.native against the interpreter.

Oracles: the interpreter (gc.evaluate + gc.grad's backward graph), central finite
differences, the W1 plain-Python reference of WORKLOADS.md, and the Python
backend (which calls the same C math library: results are bit for bit equal).
"""
import math

import numpy as np
import pytest

import gcompile as gc
from bench.workloads import make_w1, w1_graph, w1_inputs, w1_reference
from gcompile import native
from gcompile.examples import apple
from helpers import op_graph


def interpreted(graph, feeds, output, wrt):
    with np.errstate(all="ignore"):
        values = gc.evaluate(graph, feeds)
        return values[output], gc.gradients(graph, feeds, output, wrt)


def test_unknown_backend_is_a_graph_error():
    g, feeds = apple()
    with pytest.raises(gc.GraphError, match="backend must be"):
        gc.compile(g, "price", ["apple"], backend="llvm")


def test_without_numba_native_names_the_extra_and_auto_runs_python(monkeypatch):
    monkeypatch.setattr(native, "available", lambda: False)
    g, feeds = apple()
    with pytest.raises(gc.GraphError, match=r"pip install gcompile\[native\]"):
        gc.compile(g, "price", ["apple"], backend="native")
    f = gc.compile(g, "price", ["apple", "tax"], feeds=feeds)
    assert f.tape == "" and "def gcompiled" in f.source
    assert f(feeds)[0] == pytest.approx(220.0)


numba = pytest.importorskip("numba")


@pytest.mark.parametrize("n, seed", [(50, 1), (300, 7), (2000, 20240601)])
def test_random_w1_graphs_equal_python_and_interpreter(n, seed):
    ops = make_w1(n, seed=seed)
    g = w1_graph(ops)
    feeds = dict(zip(g.graph["wrt"], w1_inputs()))
    f = gc.compile(g, feeds=feeds, backend="native")
    p = gc.compile(g, feeds=feeds, backend="python")
    assert f.tape.startswith("# native tape:") and "def gcompiled" in f.source
    value, grads = f(feeds)
    assert (value, grads) == p(feeds)  # the same C math library, the same order
    want, want_grads = interpreted(g, feeds, g.graph["output"], g.graph["wrt"])
    assert value == pytest.approx(float(want), rel=1e-13)
    for k in g.graph["wrt"]:
        assert grads[k] == pytest.approx(float(want_grads[k]), rel=1e-12, abs=1e-14)
    ref_value, ref_grads = w1_reference(ops)
    assert value == pytest.approx(ref_value, rel=1e-13)
    for i, k in enumerate(g.graph["wrt"]):
        assert grads[k] == pytest.approx(ref_grads[i], rel=1e-11, abs=1e-13)


def test_auto_picks_native_for_large_scalar_programs_only():
    g = op_graph("mul", 2)
    feeds = {"a0": 0.5, "a1": -2.0}
    assert gc.compile(g, "out", ["a0", "a1"], feeds=feeds).tape == ""  # small: Python
    f = gc.compile(g, "out", ["a0", "a1"], feeds=feeds, backend="native")
    assert f.tape.startswith("# native tape:")
    assert f(feeds) == (-1.0, {"a0": -2.0, "a1": 0.5})
    arrays = {k: np.array([v, v]) for k, v in feeds.items()}
    with pytest.raises(gc.GraphError, match="not a float64 scalar"):
        f(arrays)
    with pytest.raises(gc.GraphError, match="not a float64 scalar"):
        gc.compile(g, "out", ["a0"], feeds=arrays, backend="native")
    ops = make_w1(2000)
    big = w1_graph(ops)
    w1_feeds = dict(zip(big.graph["wrt"], w1_inputs()))
    f = gc.compile(big, feeds=w1_feeds)
    assert f.tape.count("\n") > native.AUTO_MIN
    assert f(w1_feeds)[0] == pytest.approx(w1_reference(ops)[0], rel=1e-13)
    value, _ = f({k: np.array([v, v]) for k, v in w1_feeds.items()})  # arrays: Python source
    assert f.tape == "" and np.shape(value) == (2,)


def test_unsupported_op_runs_python_under_auto_and_is_named_under_native():
    g = op_graph("maximum", 2)
    feeds = {"a0": 0.5, "a1": 0.25}
    assert gc.compile(g, "out", ["a0"], feeds=feeds).tape == ""
    with pytest.raises(gc.GraphError, match="'maximum'"):
        gc.compile(g, "out", ["a0"], feeds=feeds, backend="native")


_POINTS = {"log": [2.5, 0.3], "sqrt": [2.5, 0.3], "pow": [1.7, 0.6], "div": [0.7, -1.9]}


@pytest.mark.parametrize("name", sorted(native.OPCODES))
def test_every_native_op_equals_interpreter_and_finite_differences(name):
    arity = gc.registry.lookup(name).arity
    g = op_graph(name, arity)
    # a tanh after the op: every op's gradient flows through one more native op
    g.add_node("t", op="tanh")
    g.add_edge("out", "t", arg=0)
    wrt = [f"a{i}" for i in range(arity)]
    x = _POINTS.get(name, [0.7, -1.3])[:arity]
    feeds = dict(zip(wrt, x))
    f = gc.compile(g, "t", wrt, feeds=feeds, backend="native")
    assert f.tape.count("\n") >= 3
    value, grads = f(feeds)
    want, want_grads = interpreted(g, feeds, "t", wrt)
    assert value == pytest.approx(float(want), rel=1e-15, abs=1e-300)
    h = 1e-6
    for k in wrt:
        assert grads[k] == pytest.approx(float(want_grads[k]), rel=1e-14, abs=1e-300)
        up, down = dict(feeds), dict(feeds)
        up[k] += h
        down[k] -= h
        fd = (gc.evaluate(g, up)["t"] - gc.evaluate(g, down)["t"]) / (2 * h)
        assert grads[k] == pytest.approx(float(fd), rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("name, x", [("log", -1.0), ("log", 0.0), ("sqrt", -4.0),
                                     ("div", 0.0), ("exp", 1000.0)])
def test_domain_edges_give_the_interpreters_nan_and_inf(name, x):
    arity = gc.registry.lookup(name).arity
    g = op_graph(name, arity)
    wrt = [f"a{i}" for i in range(arity)]
    feeds = {"a0": 1.0, "a1": x} if arity == 2 else {"a0": x}
    f = gc.compile(g, "out", wrt, feeds=feeds, backend="native")
    value, grads = f(feeds)
    want, want_grads = interpreted(g, feeds, "out", wrt)
    assert f.fallbacks == 0
    np.testing.assert_array_equal(value, float(want))
    for k in wrt:
        np.testing.assert_array_equal(grads[k], float(want_grads[k]))
    assert math.isnan(value) or math.isinf(value) or name == "log"
