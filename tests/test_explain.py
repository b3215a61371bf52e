"""gc.explain: the chain rule with numbers, checked on the seed and against sympy."""
import importlib
import math

import networkx as nx
import numpy as np
import pytest

import gcompile as gc
from gcompile.examples import apple, apple_orange
from gcompile.explain import explain, local_derivative

explain_module = importlib.import_module("gcompile.explain")   # gc.explain is the function


def test_seed_apple_is_one_times_1_1_times_2():
    g, feeds = apple()
    e = explain(g, feeds, "price", "apple")
    (term,) = e.terms
    (path,) = term["paths"]
    assert path["nodes"] == ["price", "apple_price", "apple"]
    assert path["factors"] == [1.0, 1.1, 2.0]
    assert path["product"] == pytest.approx(2.2, rel=1e-15)
    assert term["total"] == pytest.approx(2.2) and term["backward"] == pytest.approx(2.2)
    assert "1 * 1.1 * 2 = 2.2" in str(e)
    assert str(e).splitlines()[0] == "d price / d apple = 2.2"


def test_seed_apple_orange_every_input():
    g, feeds = apple_orange()
    e = explain(g, feeds, "price", g.graph["wrt"])
    expected = {"apple": 2.2, "apple_num": 110.0, "orange": 3.3, "orange_num": 165.0, "tax": 650.0}
    for term in e.terms:
        assert term["total"] == pytest.approx(expected[term["wrt"]], rel=1e-14)
        assert term["total"] == pytest.approx(term["backward"], rel=1e-14)
    text = str(e)
    assert "path price <- tax: 1 * 650 = 650" in text
    assert "d all_price/d orange_price = 1  (d(x+y)/dy = 1)" in text


def _diamond():
    """y = sin(x) * (x * x): two paths from x, one through an edge used twice."""
    g = nx.DiGraph()
    g.add_node("x", op="input")
    g.add_node("a", op="sin")
    g.add_node("b", op="mul")
    g.add_node("y", op="mul")
    g.add_edge("x", "a")
    g.add_edge("x", "b", arg=[0, 1])
    g.add_edge("a", "y", arg=0)
    g.add_edge("b", "y", arg=1)
    return g


def test_paths_sum_to_the_derivative_sympy():
    x = 0.8
    e = explain(_diamond(), {"x": x}, "y", "x")
    (term,) = e.terms
    products = {tuple(p["nodes"]): p["product"] for p in term["paths"]}
    assert products[("y", "a", "x")] == pytest.approx(math.cos(x) * x * x)
    assert products[("y", "b", "x")] == pytest.approx(2 * x * math.sin(x))  # d(x*x)/dx = 2x
    import sympy
    s = sympy.Symbol("x")
    want = float(sympy.diff(sympy.sin(s) * s * s, s).subs(s, x))
    assert term["total"] == pytest.approx(want, rel=1e-14)
    assert "sum over 2 paths" in str(e)


def test_path_count_is_capped_and_said_so():
    g = nx.DiGraph()
    g.add_node("n0", op="input")
    for k in range(8):  # 8 diamonds in a row: 2**8 paths
        a, b, c = f"a{k}", f"b{k}", f"n{k + 1}"
        g.add_node(a, op="sin")
        g.add_node(b, op="cos")
        g.add_node(c, op="add")
        g.add_edge(f"n{k}", a)
        g.add_edge(f"n{k}", b)
        g.add_edge(a, c, arg=0)
        g.add_edge(b, c, arg=1)
    e = explain(g, {"n0": 0.3}, "n8", "n0", max_paths=10)
    (term,) = e.terms
    assert term["capped"] and len(term["paths"]) == 10
    assert "partial sum over the first 10 paths (there are more; raise max_paths)" in str(e)
    full = explain(g, {"n0": 0.3}, "n8", "n0", max_paths=256).terms[0]
    assert not full["capped"] and len(full["paths"]) == 256
    assert full["total"] == pytest.approx(full["backward"], rel=1e-12)


def test_wrt_output_disconnected_and_errors():
    g, feeds = apple()
    e = explain(g, feeds, "price", "price")
    assert e.terms[0]["total"] == 1.0
    g2 = nx.DiGraph(g)
    g2.add_node("other", op="input")
    feeds2 = dict(feeds, other=1.0)
    e2 = explain(g2, feeds2, "price", "other")
    assert e2.terms[0]["paths"] == [] and "no path" in str(e2)
    t = nx.DiGraph()
    t.add_node("x", op="input")
    t.add_node("s", op="sum")
    t.add_edge("x", "s")
    with pytest.raises(gc.GraphError, match="scalars, but node 'x' holds array of shape"):
        explain(t, {"x": np.ones(3)}, "s", "x")
    with pytest.raises(gc.GraphError, match="max_paths"):
        explain(g, feeds, "price", "apple", max_paths=0)
    with pytest.raises(gc.GraphError, match="unknown wrt node 'appel'"):
        explain(g, feeds, "price", "appel")


def test_a_path_and_its_factors_read_in_one_direction():
    """Issue 11 item 4: the path was printed input -> output and its factors output -> input."""
    g, feeds = apple_orange()
    e = explain(g, feeds, "price", g.graph["wrt"])
    for term in e.terms:
        for path in term["paths"]:
            nodes, factors = path["nodes"], path["factors"]
            assert nodes[0] == "price" and nodes[-1] == term["wrt"]
            assert len(factors) == len(nodes)
            values = gc.evaluate(g, feeds)
            for top, bottom, f in zip(nodes[:-1], nodes[1:], factors[1:]):
                assert f == pytest.approx(
                    local_derivative(g, values, bottom, top)[0])
    lines = str(e).splitlines()
    for i, line in enumerate(lines):
        if line.startswith("  path "):
            chain = line.split(": ")[0][len("  path "):].split(" <- ")
            steps = [s.split(" = ")[0].split("d ", 1)[1] for s in lines[i + 1:i + len(chain) + 1]]
            # the k-th factor line is d chain[k-1]/d chain[k]: the same order as the path
            assert steps[0] == f"{chain[0]}/d {chain[0]}"
            assert steps[1:] == [f"{a}/d {b}" for a, b in zip(chain[:-1], chain[1:])]


def test_keys_with_control_characters_and_markup_are_escaped():
    """Issue 11 items 15 and 25: a newline, a carriage return or ESC in a key is printed escaped."""
    g = nx.DiGraph()
    g.add_node("x\n# H", op="input")
    g.add_node("y\x1b[2J\r", op="exp")
    g.add_edge("x\n# H", "y\x1b[2J\r")
    text = str(explain(g, {"x\n# H": 0.0}, "y\x1b[2J\r", "x\n# H"))
    assert "\x1b" not in text and "\r" not in text
    assert len(text.splitlines()) == 5
    assert "path y\\x1b[2J\\r <- x\\n# H: 1 * 1 = 1" in text


def test_local_derivatives_of_a_long_chain_in_one_pass(monkeypatch):
    """Issue 11 item 27: one backward pass for all local derivatives (was one per edge)."""
    g = nx.DiGraph()
    g.add_node(0, op="input")
    for i in range(1, 301):
        g.add_node(i, op="tanh")
        g.add_edge(i - 1, i)
    calls = []
    real = explain_module.gradients

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(explain_module, "gradients", counting)
    e = explain(g, {0: 0.4}, 300, 0)
    assert len(calls) == 1                     # one backward pass for all the local factors
    (term,) = e.terms
    x, want = 0.4, []
    for _ in range(300):
        y = math.tanh(x)
        want.append(1 - y * y)
        x = y
    assert term["paths"][0]["factors"][1:] == pytest.approx(want[::-1], rel=1e-13)
    assert term["total"] == pytest.approx(math.prod(want), rel=1e-12)


ELEMENTWISE = ["add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sin", "cos", "tanh",
               "sigmoid", "relu", "sqrt", "abs", "maximum", "minimum"]


@pytest.mark.parametrize("op", ELEMENTWISE)
def test_batched_local_derivatives_match_finite_differences(op):
    """Nodes of one elementwise op share one vector node in the local-derivative pass: each
    node's factor must still be its own (checked by central differences, numpy only)."""
    arity = gc.lookup(op).arity
    fn = {"sigmoid": lambda a: 1 / (1 + np.exp(-a)), "relu": lambda a: np.maximum(a, 0.0),
          "neg": np.negative, "sub": np.subtract, "div": np.divide, "pow": np.power,
          "abs": np.abs, "mul": np.multiply}.get(op, getattr(np, op, None))
    xs = [0.3, 1.7, 0.9]
    g = nx.DiGraph()
    for i, x in enumerate(xs):
        g.add_node(f"x{i}", op="input")
    g.add_node("c", op="input")
    outs = []
    for i in range(3):
        v = f"v{i}"
        g.add_node(v, op=op)
        if arity == 1:
            g.add_edge(f"x{i}", v)
        elif i == 2:
            g.add_edge(f"x{i}", v, arg=[0, 1])        # the same operand twice: x op x
        else:
            g.add_edge(f"x{i}", v, arg=i % 2)
            g.add_edge("c", v, arg=1 - i % 2)
        outs.append(v)
    g.add_node("s01", op="add")
    g.add_edge("v0", "s01", arg=0)
    g.add_edge("v1", "s01", arg=1)
    g.add_node("y", op="add")
    g.add_edge("s01", "y", arg=0)
    g.add_edge("v2", "y", arg=1)
    feeds = {f"x{i}": x for i, x in enumerate(xs)}
    feeds["c"] = 1.3
    e = explain(g, feeds, "y", [f"x{i}" for i in range(3)])

    def y_of(point):
        vals = []
        for i in range(3):
            x = point[i]
            if arity == 1:
                vals.append(fn(x))
            elif i == 2:
                vals.append(fn(x, x))
            else:
                vals.append(fn(x, 1.3) if i % 2 == 0 else fn(1.3, x))
        return sum(vals)

    h = 1e-6
    for i, term in enumerate(e.terms):
        up, down = list(xs), list(xs)
        up[i] += h
        down[i] -= h
        numeric = (y_of(up) - y_of(down)) / (2 * h)
        assert term["total"] == pytest.approx(numeric, rel=1e-6, abs=1e-8), (op, i)
        assert term["total"] == pytest.approx(term["backward"], rel=1e-12, abs=1e-15)
