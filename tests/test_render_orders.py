"""Higher-order graphs (gc.hvp, gc.hessian, gc.joint_graph) drawn coloured by derivative order,
with a legend of node counts per order; SVG parsed as XML."""
import collections
import shutil
import xml.etree.ElementTree as ET

import networkx as nx
import pytest

import gcompile as gc
from gcompile.examples import apple
from gcompile.drawing.style import THEMES

SVG = "{http://www.w3.org/2000/svg}"
ENGINES = ["graphviz-pure", pytest.param("dot", marks=pytest.mark.skipif(
    shutil.which("dot") is None, reason="system Graphviz (dot) not installed"))]
PALETTE = THEMES["light"]["palette"]


def fills(path):
    """{svg id: (fill, stroke)} of every node's shape, and all texts."""
    root = ET.parse(path).getroot()
    out = {}
    for g in root.iter(SVG + "g"):
        if "node" in g.get("class", "").split():
            shape = next(el for el in g.iter() if el.tag in (SVG + "ellipse", SVG + "polygon",
                                                               SVG + "path"))
            out[g.get("id")] = (shape.get("fill"), shape.get("stroke"))
    return out, ["".join(t.itertext()) for t in root.iter(SVG + "text")], root


@pytest.mark.parametrize("engine", ENGINES)
def test_hvp_nodes_coloured_by_order_with_legend(tmp_path, engine):
    g, _ = apple()
    h = gc.hvp(g, "price", ["apple", "tax"])
    counts = collections.Counter(d["order"] for _, d in h.nodes(data=True))
    assert counts == {0: 5, 1: 11, 2: 13}        # forward 5; the counts the legend must show
    found, texts, _ = fills(gc.render(h, tmp_path / "hvp.svg", engine=engine))
    for i, (key, order) in enumerate(h.nodes(data="order")):
        assert found[f"n{i}"] == PALETTE[order], (key, order)
    for line in ("derivative order", "0: forward: 5 nodes", "1: 1st backward: 11 nodes",
                 "2: 2nd backward: 13 nodes"):
        assert line in texts


def test_edges_take_the_colour_of_the_order_that_reads_them(tmp_path):
    g, _ = apple()
    h = gc.hvp(g, "price", ["apple"])
    src = gc.to_dot(h).source
    ids = {k: f"n{i}" for i, k in enumerate(h.nodes)}
    for u, v in h.edges:
        border = PALETTE[h.nodes[v]["order"]][1]
        assert f"{ids[u]} -> {ids[v]} [color=\"{border}\"" in src, (u, v)


def test_joint_graph_and_hessian_and_options(tmp_path):
    g, _ = apple()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    joint = gc.joint_graph(g, bwd)
    src = gc.to_dot(joint).source
    assert "0: forward: 5 nodes" in src and "1: 1st backward: 5 nodes" in src
    assert "2nd backward" not in src
    hess = gc.hessian(g, "price", ["apple", "tax"])
    dark = gc.to_dot(hess, theme="dark").source
    assert "2: 2nd backward: 21 nodes" in dark and THEMES["dark"]["palette"][2][0] in dark
    # color_by="kind" draws the same graph with kind colours and no legend
    kind = gc.to_dot(hess, color_by="kind").source
    assert "legend" not in kind and "derivative order" not in kind
    # graphs without orders are unchanged by "auto"
    assert gc.to_dot(g).source == gc.to_dot(g, color_by="kind").source
    assert "legend" not in gc.to_dot(bwd).source


def test_color_by_errors():
    g, _ = apple()
    with pytest.raises(gc.GraphError, match="color_by must be"):
        gc.to_dot(g, color_by="rainbow")
    with pytest.raises(gc.GraphError, match="integer order >= 0 on every node"):
        gc.to_dot(g, color_by="order")
    h = gc.hvp(g, "price", ["apple"])
    h.nodes["apple"]["order"] = "zero"
    with pytest.raises(gc.GraphError, match="node 'apple'.* 'order' .*'zero'"):
        gc.to_dot(h, color_by="order")                  # a wrong order is a format error (issue 11)
    with pytest.raises(gc.GraphError, match="node 'apple'.* 'order' .*'zero'"):
        gc.to_dot(h)
    del h.nodes["apple"]["order"]
    assert "legend" not in gc.to_dot(h).source          # auto: not every node has an order
    with pytest.raises(gc.GraphError, match="empty graph"):
        gc.to_dot(nx.DiGraph(), color_by="order")
