"""The mirrored pair layout (issue 12 item 2): each backward node stands in the column of
the forward node it differentiates (dX under X, the seed under the output), below the
forward part, coloured like it; the backward part keeps the forward groups as clusters."""
import shutil
import xml.etree.ElementTree as ET

import pytest

import gcompile as gc
from gcompile.drawing.pair import backward_columns, drawn_backward_nodes
from gcompile.examples import EXAMPLES

SVG = "{http://www.w3.org/2000/svg}"
ENGINES = ["graphviz-pure", pytest.param("dot", marks=pytest.mark.skipif(
    shutil.which("dot") is None, reason="system Graphviz (dot) not installed"))]


def centres(diagram, engine):
    """SVG element id -> (x, y) centre of the node's shape, and -> its fill colour."""
    diagram.gc_engine = engine
    root = ET.fromstring(diagram.pipe(format="svg"))
    pos, fill = {}, {}
    for g in root.iter(SVG + "g"):
        if "node" not in g.get("class", "").split():
            continue
        shape = next(e for e in g.iter() if e.tag in (SVG + "ellipse", SVG + "polygon",
                                                      SVG + "path"))
        if shape.tag == SVG + "ellipse":
            pos[g.get("id")] = (float(shape.get("cx")), float(shape.get("cy")))
        else:
            xs, ys = [], []
            raw = shape.get("points") or shape.get("d")
            nums = [float(t) for t in raw.replace("M", " ").replace("C", " ").replace(
                "L", " ").replace("Z", " ").replace(",", " ").split()]
            xs, ys = nums[0::2], nums[1::2]
            pos[g.get("id")] = ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2)
        fill[g.get("id")] = shape.get("fill")
    return pos, fill


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_gradients_stand_under_their_variables(name, engine):
    g, feeds = EXAMPLES[name]()
    bwd = gc.grad(g, g.graph["output"], g.graph["wrt"])
    values = gc.evaluate(g, feeds)
    d = gc.render_pair(g, bwd, None, values, gc.evaluate(bwd, values))
    pos, fill = centres(d, engine)
    columns = backward_columns(g, bwd)
    # left to right: dX in X's column, below; a big graph top to bottom: in X's row, beside
    across, along = (0, 1) if "rankdir=LR" in d.source else (1, 0)
    beyond_forward = max(pos[d.ids[("fwd", k)]][along] for k in g.nodes)
    checked = 0
    for key, element in ((k, e) for (side, k), e in d.ids.items() if side == "bwd"):
        if element.startswith("fwd"):
            continue                  # a forward value read: drawn as the forward node
        here = pos[element]
        there = pos[d.ids[("fwd", columns[key])]]
        assert abs(here[across] - there[across]) < 1.0, (key, columns[key])   # the same column
        assert here[along] > beyond_forward, key          # below (beside) the forward part
        assert fill[element] == fill[d.ids[("fwd", columns[key])]], key
        checked += 1
    assert checked >= len(g.graph["wrt"])
    for w, dw in bwd.graph["grads"].items():              # dX under X
        assert columns[dw] == w
    assert columns[bwd.graph["seed"]] == g.graph["output"]


def test_small_pairs_flow_left_to_right_big_ones_top_to_bottom():
    for name, rankdir in (("apple", "LR"), ("apple_orange", "LR"), ("two_layer_net", "TB")):
        g, _ = EXAMPLES[name]()
        bwd = gc.grad(g, g.graph["output"], g.graph["wrt"])
        assert f"rankdir={rankdir}" in gc.render_pair(g, bwd).source, name
        assert "rankdir=LR" in gc.render_pair(g, bwd, rankdir="LR").source


def test_backward_part_keeps_the_forward_groups():
    g, feeds = EXAMPLES["two_layer_net"]()
    bwd = gc.grad(g, g.graph["output"], g.graph["wrt"])
    src = gc.render_pair(g, bwd).source
    groups = {grp for _, grp in g.nodes(data="group") if grp}
    drawn = drawn_backward_nodes(g, bwd)
    differentiated = {g.nodes[c].get("group") for c in backward_columns(g, bwd, drawn).values()}
    assert len(groups) == 5 and groups - differentiated == {"data"}   # x and t: no gradient
    assert src.count("subgraph cluster_forward_g") == len(groups)
    assert src.count("subgraph cluster_backward_g") == len(groups) - 1
    for grp in groups - {"data"}:
        assert src.count(f">{grp}<") == 2, grp
