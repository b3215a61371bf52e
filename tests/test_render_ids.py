"""Diagram.ids: graph key (or ("fwd"|"bwd"|"before"|"after", key)) -> the SVG element id of
the node drawn for it, free of user text (issue 12 item 6)."""
import re
import sys
import xml.etree.ElementTree as ET

import pytest

import gcompile as gc
from gcompile.drawing.nodes import node_name
from gcompile.drawing.pair import drawn_backward_nodes
from gcompile.examples import apple, apple_orange, two_layer_net
from test_render import hostile_graph

SVG = "{http://www.w3.org/2000/svg}"
SAFE_ID = re.compile(r"^[a-z]+[0-9]+(_n[0-9]+)?$")


def svg_nodes(diagram):
    """SVG element id -> all text drawn inside that node's group."""
    root = ET.fromstring(diagram.pipe(format="svg"))
    return {g.get("id"): " ".join("".join(t.itertext()) for t in g.iter(SVG + "text"))
            for g in root.iter(SVG + "g") if "node" in g.get("class", "").split()}


def assert_ids_point_at_their_nodes(diagram, graph_of, name_of=None):
    drawn = svg_nodes(diagram)
    assert diagram.ids
    for key, element in diagram.ids.items():
        assert SAFE_ID.match(element), element
        assert element in drawn, (key, element)
        graph, node = graph_of(key)
        text = " ".join(drawn[element].split())
        name = " ".join((name_of or node_name)(graph, node).split())
        assert name[:10] in text, (key, name, text)


def test_single_graph_ids():
    g, feeds = apple()
    d = gc.to_dot(g, gc.evaluate(g, feeds))
    assert list(d.ids) == list(g.nodes)
    assert_ids_point_at_their_nodes(d, lambda key: (g, key))


def test_hostile_keys_get_plain_ids():
    g = hostile_graph()
    d = gc.to_dot(g)
    assert list(d.ids) == list(g.nodes)
    assert len(set(d.ids.values())) == g.number_of_nodes()
    assert_ids_point_at_their_nodes(d, lambda key: (g, key))
    bwd = gc.grad(g, "labelled", [("tuple", 1), 7])
    pair = gc.render_pair(g, bwd)
    assert {("fwd", k) for k in g.nodes} <= set(pair.ids)
    assert all(SAFE_ID.match(e) for e in pair.ids.values())


def test_pair_ids_cover_both_graphs():
    g, feeds = apple_orange()
    bwd = gc.grad(g, g.graph["output"], g.graph["wrt"])
    d = gc.render_pair(g, bwd)
    graphs = {"fwd": g, "bwd": bwd}
    assert_ids_point_at_their_nodes(d, lambda key: (graphs[key[0]], key[1]))
    assert {k for side, k in d.ids if side == "fwd"} == set(g.nodes)
    bwd_keys = {k for side, k in d.ids if side == "bwd"}
    assert set(drawn_backward_nodes(g, bwd)) <= bwd_keys
    # every gradient the backward graph computes can be found in the picture
    assert set(bwd.graph["grads"].values()) <= bwd_keys
    # residuals are drawn as their forward node
    residual = [k for k, r in bwd.nodes(data="role") if r == "forward_value"]
    assert residual and all(d.ids[("bwd", k)] == d.ids[("fwd", k)] for k in residual)


def test_collapsed_groups_point_at_the_group_box():
    g, feeds = two_layer_net()
    d = gc.to_dot(g, collapse="box")
    grouped = [k for k, grp in g.nodes(data="group") if grp is not None]
    assert grouped and all(d.ids[k].startswith("g") for k in grouped)
    drawn = svg_nodes(d)
    assert all(d.ids[k] in drawn for k in g.nodes)


def test_split_leaves_point_at_their_first_copy(monkeypatch):
    monkeypatch.setattr(sys.modules["gcompile.drawing.draw"], "SPLIT_LEAVES_NODES", 3)
    g, feeds = apple_orange()
    g.add_edge("tax", "all_price", arg=1)
    g.remove_edge("orange_price", "all_price")
    d = gc.to_dot(g)
    assert_ids_point_at_their_nodes(d, lambda key: (g, key))
    assert "_" in d.ids["tax"]      # one copy per use: the first copy's id


def test_passes_ids():
    g, feeds = apple()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    d = gc.render_passes(bwd)
    small, _ = gc.optimize(bwd)
    assert {k for side, k in d.ids if side == "before"} == set(bwd.nodes)
    assert {k for side, k in d.ids if side == "after"} == set(small.nodes)
    assert_ids_point_at_their_nodes(d, lambda key: (bwd if key[0] == "before" else small,
                                                    key[1]))
