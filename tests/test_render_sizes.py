"""Readable at real sizes (issue 12 item 3): the two-layer net's forward and backward
diagrams have an aspect ratio within 1:2.5..2.5:1 and, scaled to 1000 px wide, no text
under 8 px; tensor rules state their local factor's shape as a fact; constants say their
value once."""
import xml.etree.ElementTree as ET

import networkx as nx
import pytest

import gcompile as gc
from gcompile.drawing.base import auto_rankdir
from gcompile.examples import two_layer_net

SVG = "{http://www.w3.org/2000/svg}"


def measure(diagram):
    """(aspect ratio >= 1, smallest text in px when the picture is scaled to 1000 px wide)."""
    root = ET.fromstring(diagram.pipe(format="svg"))
    w, h = (float(root.get(k).rstrip("pt")) for k in ("width", "height"))
    sizes = [float(t.get("font-size")) for t in root.iter(SVG + "text") if t.get("font-size")]
    return max(w / h, h / w), min(sizes) * 1000 / w


@pytest.fixture(scope="module")
def net():
    g, feeds = two_layer_net()
    bwd = gc.grad(g, "loss", g.graph["wrt"])
    values = gc.evaluate(g, feeds)
    return g, bwd, values, gc.evaluate(bwd, values)


@pytest.mark.parametrize("which", ["forward", "backward"])
def test_two_layer_net_is_readable_at_a_page_width(net, which):
    g, bwd, values, grads = net
    d = gc.render(g, None, values) if which == "forward" else gc.render(bwd, None, grads)
    aspect, smallest = measure(d)
    assert aspect <= 2.5, aspect
    assert smallest >= 8, smallest


def test_two_layer_net_book_figure_is_readable(net):
    g, bwd, values, grads = net
    aspect, smallest = measure(gc.render_pair(g, bwd, None, values, grads, style="book"))
    assert aspect <= 2.5 and smallest >= 8, (aspect, smallest)


def test_two_layer_net_pair_is_readable(net):
    """The pair holds both graphs side by side (top to bottom): compact nodes (boxes,
    wrapped rules, shapes without dtype on edges) keep its text at 8 px or more."""
    g, bwd, values, grads = net
    d = gc.render_pair(g, bwd, None, values, grads)
    aspect, smallest = measure(d)
    assert aspect <= 2.5 and smallest >= 8, (aspect, smallest)
    src = d.source
    assert "rankdir=TB" in src and "shape=ellipse" not in src
    edges = [line for line in src.split("\n") if "->" in line]
    assert any(">2×5</FONT>" in e for e in edges)                       # edges: shape only
    assert not any("float64</FONT>" in e for e in edges)
    assert "sum over the axes<BR/>broadcasting added" in src            # wrapped rule


def test_small_pairs_are_not_compact():
    from gcompile.examples import apple
    g, feeds = apple()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    src = gc.render_pair(g, bwd).source
    assert "rankdir=LR" in src and "shape=ellipse" in src and "nodesep=0.3" in src


def test_long_thin_graphs_flow_top_to_bottom():
    chain = nx.DiGraph()
    chain.add_node("x", op="input")
    for i in range(1, 30):
        chain.add_node(f"t{i}", op="tanh")
        chain.add_edge("x" if i == 1 else f"t{i - 1}", f"t{i}", arg=0)
    assert auto_rankdir(chain) == "TB"
    assert "rankdir=TB" in gc.to_dot(chain).source
    assert "rankdir=LR" in gc.to_dot(chain, rankdir="LR").source
    aspect, smallest = measure(gc.to_dot(chain))
    assert smallest >= 8


def test_tensor_rules_state_the_factor_as_a_fact(net):
    g, bwd, values, grads = net
    src = gc.to_dot(bwd, grads).source
    assert "local factor: 2×5 float64" in src
    assert "σ(x)(1 - σ(x)) = 2×5 float64" not in src


def test_constants_do_not_repeat_their_value(net):
    g, bwd, values, grads = net
    src = gc.to_dot(bwd, grads).source
    assert "= 1 = 1" not in src
    consts = [k for k, d in bwd.nodes(data=True) if d.get("op") == "const" and d.get("rule")]
    assert consts
    for key in consts:
        label = gc.to_dot(bwd.subgraph([key]).copy(), grads).source
        assert label.count("&gt;= 1<") + label.count(">= 1<") <= 1, key


def test_hessian_nodes_are_grouped_by_derivative_order():
    from gcompile.examples import apple
    g, _ = apple()
    h = gc.hessian(g, "price", g.graph["wrt"])
    src = gc.render(h).source
    orders = sorted({o for _, o in h.nodes(data="order")})
    assert orders == [0, 1, 2]
    for o, name in zip(orders, ("forward", "1st backward", "2nd backward")):
        assert f"order {o}: {name}" in src
    assert src.count("subgraph cluster_") == 3
    assert "subgraph cluster_" not in gc.render(h, collapse=None).source


@pytest.fixture(scope="module", params=[1, 2, 5])
def dag(request):
    """The issue's 100-node random scalar DAG (4 inputs, 94 ops with fan-out)."""
    from test_render_layouts import random_scalar_dag
    g, output, wrt = random_scalar_dag(request.param)
    values = gc.evaluate(g, {w: 0.3 for w in wrt})
    bwd = gc.grad(g, output, wrt)
    return g, bwd, values, gc.evaluate(bwd, values)


@pytest.mark.parametrize("which", ["forward", "backward", "pair"])
def test_hundred_node_dag_is_readable_at_a_page_width(dag, which):
    """Compact one-line nodes, edge values placed after layout, closer ranks; the backward
    graph (500 nodes) collapsed to one box per gradient dX, with collapse at its default."""
    g, bwd, values, grads = dag
    d = {"forward": lambda: gc.render(g, None, values, engine="graphviz-pure"),
         "backward": lambda: gc.render(bwd, None, grads, engine="graphviz-pure"),
         "pair": lambda: gc.render_pair(g, bwd, None, values, grads,
                                        engine="graphviz-pure")}[which]()
    aspect, smallest = measure(d)
    assert aspect <= 2.5 and smallest >= 8, (aspect, smallest)


def test_big_backward_graphs_collapse_to_one_box_per_gradient(dag):
    g, bwd, values, grads = dag
    d = gc.to_dot(bwd, grads)
    boxes = set(d.ids.values())
    assert bwd.number_of_nodes() > 400 and len(boxes) <= g.number_of_nodes()
    # every node is found in the box of the gradient it helps compute
    for wrt, holder in bwd.graph["grads"].items():
        assert f">d{wrt}<" in d.source.replace("<B>", "").replace("</B>", "")
    # the box of an input's gradient shows that gradient's value
    x0 = bwd.graph["grads"]["x0"]
    box = d.ids[x0]
    line = next(ln for ln in d.source.split("\n") if ln.startswith(f"\t{box} ["))
    assert "= " + gc.drawing.style.format_value(grads[x0])[0] in line
    # collapse=None keeps every node
    assert len(set(gc.to_dot(bwd, grads, collapse=None).ids.values())) == bwd.number_of_nodes()


def test_big_pair_collapses_each_column_beside_its_variable(dag):
    g, bwd, values, grads = dag
    d = gc.render_pair(g, bwd, None, values, grads)
    bwd_boxes = {v for k, v in d.ids.items() if k[0] == "bwd" and k[1] not in g}
    assert len(bwd_boxes) <= g.number_of_nodes()
    every = gc.render_pair(g, bwd, None, values, grads, collapse=None)
    assert len({v for k, v in every.ids.items() if k[0] == "bwd"}) > 2 * len(bwd_boxes)


def test_top_to_bottom_graphs_of_forty_nodes_get_compact_nodes():
    """The ONNX CNN's backward graph (80 nodes, top to bottom) was 2054 pt wide (4.4 px
    text at 1000 px); compact nodes (boxes, wrapped rules, edges labelled by shape) make
    it 1454 pt (6.2 px).  Checked on a chain of tensor ops, which needs no onnx."""
    import numpy as np
    chain = nx.DiGraph()
    chain.add_node("x", op="input", shape=(2, 3))
    for i in range(1, 45):
        chain.add_node(f"t{i}", op="tanh")
        chain.add_edge("x" if i == 1 else f"t{i - 1}", f"t{i}", arg=0)
    values = gc.evaluate(chain, {"x": np.ones((2, 3))})
    src = gc.to_dot(chain, values).source
    assert "rankdir=TB" in src and "shape=ellipse" not in src
    assert ">2×3</FONT>" in src and "2×3 float64</FONT>" not in src.split("->", 1)[1]
    small = gc.to_dot(chain.subgraph(["x", "t1", "t2"]).copy(), values).source
    assert "2×3 float64</FONT>" in small.split("->", 1)[1]
