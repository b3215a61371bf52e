"""The book figure (render_pair(..., style="book")): forward values above each edge, the
gradient along it beneath in red, the seed 1 at the output (issue 12 item 1), and the
argument checks of render_pair (item 7)."""
import re
import shutil
import xml.etree.ElementTree as ET

import networkx as nx
import pytest

import gcompile as gc
from gcompile.drawing.style import theme
from gcompile.examples import EXAMPLES, apple, apple_orange

SVG = "{http://www.w3.org/2000/svg}"
ENGINES = ["graphviz-pure", pytest.param("dot", marks=pytest.mark.skipif(
    shutil.which("dot") is None, reason="system Graphviz (dot) not installed"))]
RED = theme("light")["book_grad"]


def book_edges(diagram, engine):
    """[(title 'fI->fJ', kind 'fwd'|'grad', label text, label y, stroke colour)]."""
    diagram.gc_engine = engine
    root = ET.fromstring(diagram.pipe(format="svg"))
    out = []
    for g in root.iter(SVG + "g"):
        if "edge" not in g.get("class", "").split():
            continue
        title = "".join(g.find(SVG + "title").itertext()).replace("&#45;", "-")
        texts = list(g.iter(SVG + "text"))
        stroke = next(p.get("stroke") for p in g.iter(SVG + "path"))
        kind = "grad" if "gc-book-grad" in g.get("class") else "fwd"
        label = "".join(texts[0].itertext()) if texts else ""
        y = float(texts[0].get("y")) if texts else None
        out.append((title, kind, label, y, stroke))
    return out


def apple_book(**kw):
    g, feeds = apple()
    bwd = gc.grad(g, "price", g.graph["wrt"], **kw)
    values = gc.evaluate(g, feeds)
    return g, gc.render_pair(g, bwd, None, values, gc.evaluate(bwd, values), style="book")


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("optimize", [False, True])
def test_apple_book_figure_has_the_seed_numbers(engine, optimize):
    g, d = apple_book(optimize=optimize)
    fid = {k: d.ids[("fwd", k)].replace("fwd", "f") for k in g.nodes}
    edges = book_edges(d, engine)
    expected = {("apple", "apple_price"): ("100", "2.2"), ("apple_num", "apple_price"): ("2", "110"),
                ("apple_price", "price"): ("200", "1.1"), ("tax", "price"): ("1.1", "200")}
    for (u, v), (forward, gradient) in expected.items():
        title = f"{fid[u]}->{fid[v]}"
        fwd_edges = [e for e in edges if e[0] == title and e[1] == "fwd"]
        grad_edges = [e for e in edges if e[0] == title and e[1] == "grad"]
        assert [e[2] for e in fwd_edges] == [forward], (u, v)
        assert [e[2] for e in grad_edges] == [gradient], (u, v)   # every gradient drawn
        assert grad_edges[0][4] == RED and fwd_edges[0][4] != RED
        assert grad_edges[0][3] > fwd_edges[0][3], (u, v)          # the gradient beneath
    seed = [e for e in edges if e[0] == f"{fid['price']}->end"]
    assert sorted((e[1], e[2]) for e in seed) == [("fwd", "220"), ("grad", "1")]


def test_operand_used_twice_shows_each_contribution():
    sq = nx.DiGraph()
    sq.add_node("x", op="input")
    sq.add_node("c", op="input")
    sq.add_node("y", op="mul")
    sq.add_node("z", op="mul")
    sq.add_edge("x", "y", arg=[0, 1])
    sq.add_edge("y", "z", arg=0)
    sq.add_edge("c", "z", arg=1)
    bwd = gc.grad(sq, "z", ["x", "c"])
    values = gc.evaluate(sq, {"x": 3.0, "c": 5.0})
    d = gc.render_pair(sq, bwd, None, values, gc.evaluate(bwd, values), style="book")
    grads = sorted(e[2] for e in book_edges(d, "graphviz-pure") if e[0] == "f0->f2"
                   and e[1] == "grad")
    assert grads == ["15", "15"]      # d z / d x = 2 * 3 * 5: 15 along each use
    assert bwd.nodes[bwd.graph["grads"]["x"]]["op"] == "add"


def test_along_attribute_names_the_forward_edge():
    g, feeds = apple_orange()
    bwd = gc.grad(g, g.graph["output"], g.graph["wrt"])
    seen = set()
    for key, along in bwd.nodes(data="along"):
        for u, v, pos in along or []:
            assert g.has_edge(u, v) and bwd.nodes[key]["origin"] in (v, u)
            seen.add((u, v))
    wrt = set(g.graph["wrt"])
    active = {(u, v) for u, v in g.edges if u in wrt or nx.ancestors(g, u) & wrt}
    assert active and active <= seen


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_book_figure_renders(name):
    g, feeds = EXAMPLES[name]()
    bwd = gc.grad(g, g.graph["output"], g.graph["wrt"])
    values = gc.evaluate(g, feeds)
    d = gc.render_pair(g, bwd, None, values, gc.evaluate(bwd, values), style="book")
    edges = book_edges(d, "graphviz-pure")
    assert sum(e[1] == "fwd" for e in edges) == g.number_of_edges() + 1
    assert all(e[2].strip() for e in edges if e[1] == "grad")


def test_book_style_is_checked():
    g, feeds = apple()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    with pytest.raises(gc.GraphError, match="style must be one of 'pair', 'book'"):
        gc.render_pair(g, bwd, style="novel")


def test_swapped_arguments_are_named():
    g, _ = apple()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    with pytest.raises(gc.GraphError, match="arguments are swapped"):
        gc.render_pair(bwd, g)
    with pytest.raises(gc.GraphError, match="second argument .bwd. is not a backward graph"):
        gc.render_pair(g, g.copy())


def test_backward_graph_of_another_forward_graph_is_named():
    g, _ = apple()
    other, _ = apple_orange()
    bwd_other = gc.grad(other, other.graph["output"], other.graph["wrt"])
    with pytest.raises(gc.GraphError, match="not the backward graph of fwd"):
        gc.render_pair(g, bwd_other, style="book")
    renamed = nx.relabel_nodes(g, {"apple": "pear"})
    with pytest.raises(gc.GraphError, match="'apple' is not a node"):
        gc.render_pair(renamed, gc.grad(g, "price", g.graph["wrt"]))


def test_cli_writes_the_book_figure(tmp_path, capsys):
    from gcompile.cli import main
    assert main(["example", "apple", "-o", str(tmp_path)]) == 0
    book = (tmp_path / "apple_book.svg").read_text(encoding="utf-8")
    assert "book&#45;grad" in book.replace("book-grad", "book&#45;grad")   # Graphviz escapes -
    assert ">2.2<" in book and ">200<" in book
    assert main(["render", "apple", "--style", "book", "-o", str(tmp_path / "b.svg")]) == 0
    assert (tmp_path / "b.svg").read_text(encoding="utf-8") == book
    assert main(["render", "apple", "--style", "pair", "-o", str(tmp_path / "p.svg")]) == 0
    assert (tmp_path / "p.svg").read_bytes() == (tmp_path / "apple_pair.svg").read_bytes()
