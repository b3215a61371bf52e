"""gc.explain: the chain rule with numbers, checked on the seed and against sympy."""
import math

import networkx as nx
import numpy as np
import pytest

import gcompile as gc
from gcompile.examples import apple, apple_orange
from gcompile.explain import explain


def test_seed_apple_is_one_times_1_1_times_2():
    g, feeds = apple()
    e = explain(g, feeds, "price", "apple")
    (term,) = e.terms
    (path,) = term["paths"]
    assert path["nodes"] == ["apple", "apple_price", "price"]
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
    assert "path tax -> price: 1 * 650 = 650" in text
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
    assert products[("x", "a", "y")] == pytest.approx(math.cos(x) * x * x)
    assert products[("x", "b", "y")] == pytest.approx(2 * x * math.sin(x))  # d(x*x)/dx = 2x
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
