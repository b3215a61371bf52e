"""Every gradient is drawn (issue 12 item 4): after gc.grad(..., optimize=True) the tax
gradient is the forward value apple_price; the backward, pair and book figures still show
`dtax` with its value, pointing at the node that holds it."""
import xml.etree.ElementTree as ET

import networkx as nx
import pytest

import gcompile as gc
from gcompile.drawing.aliases import gradient_aliases
from gcompile.examples import apple, apple_orange

SVG = "{http://www.w3.org/2000/svg}"


def texts(diagram):
    root = ET.fromstring(diagram.pipe(format="svg"))
    return [" ".join("".join(t.itertext()) for t in g.iter(SVG + "text"))
            for g in root.iter(SVG + "g") if "node" in g.get("class", "").split()]


def optimized(make):
    g, feeds = make()
    bwd = gc.grad(g, g.graph["output"], g.graph["wrt"], optimize=True)
    values = gc.evaluate(g, feeds)
    return g, bwd, values, gc.evaluate(bwd, values)


def test_aliased_gradient_is_found():
    g, bwd, values, grads = optimized(apple)
    assert bwd.graph["grads"]["tax"] == "apple_price" and "dtax" not in bwd
    assert gradient_aliases(bwd) == [("tax", "dtax", "apple_price")]
    unoptimized = gc.grad(g, "price", g.graph["wrt"])
    assert gradient_aliases(unoptimized) == []


@pytest.mark.parametrize("make, expected", [
    (apple, {"dtax": "200", "dapple": "2.2", "dapple_num": "110"}),
    (apple_orange, {"dtax": "650"}),
])
def test_every_gradient_is_labelled_in_backward_and_pair(make, expected):
    g, bwd, values, grads = optimized(make)
    for diagram in (gc.render(bwd, None, grads), gc.render_pair(g, bwd, None, values, grads)):
        nodes = texts(diagram)
        for name, number in expected.items():
            assert any(t.split()[:2] in (["×", name], [name, "same"]) and f"= {number}" in t
                       for t in nodes), (name, nodes)
    wrt = g.graph["wrt"]
    pair_nodes = texts(gc.render_pair(g, bwd, None, values, grads))
    drawn_names = {t.split()[1] if t.startswith("×") else t.split()[0] for t in pair_nodes}
    assert {f"d{w}" for w in wrt} <= drawn_names       # one of three no longer vanishes


def test_book_figure_draws_the_aliased_gradient():
    g, bwd, values, grads = optimized(apple)
    d = gc.render_pair(g, bwd, None, values, grads, style="book")
    assert '<FONT COLOR="#d1242f">200</FONT>' in d.source


def test_merged_gradients_each_get_a_label():
    g = nx.DiGraph()
    g.add_node("a", op="input", shape=())
    g.add_node("b", op="input", shape=())
    g.add_node("y", op="add")
    g.add_edge("a", "y", arg=0)
    g.add_edge("b", "y", arg=1)
    bwd = gc.grad(g, "y", ["a", "b"], optimize=True)
    holders = list(bwd.graph["grads"].values())
    values = gc.evaluate(g, {"a": 1.0, "b": 2.0})
    grads = gc.evaluate(bwd, values)
    names = " ".join(texts(gc.render_pair(g, bwd, None, values, grads)))
    if holders[0] == holders[1]:              # both gradients are one node (the seed, 1)
        assert len(gradient_aliases(bwd)) >= 1
    assert "da" in names and "db" in names
