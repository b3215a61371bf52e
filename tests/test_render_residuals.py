"""Residual (dashed, forward-value) edges of the pair picture do not cut through backward
nodes (issue 12 item 2): parsed from the SVG of the embedded engine, each residual edge's
path (its Bézier curves, sampled) enters no backward node's box but its own head's.

What this does not measure: residual edges still cross gradient edges and run in bundles
across the backward part where the forward value is read far from where it is made."""
import re
import xml.etree.ElementTree as ET

import pytest

import gcompile as gc
from gcompile.examples import EXAMPLES
from test_render_layouts import random_scalar_dag

SVG = "{http://www.w3.org/2000/svg}"

def _boxes(root):
    boxes = {}
    for g in root.iter(SVG + "g"):
        if "node" not in (g.get("class") or "").split():
            continue
        title = g.find(SVG + "title").text
        xs, ys = [], []
        for poly in g.iter(SVG + "polygon"):
            for pt in poly.get("points").split():
                x, y = map(float, pt.split(","))
                xs.append(x); ys.append(y)
        for e in g.iter(SVG + "ellipse"):
            cx, cy, rx, ry = (float(e.get(k)) for k in ("cx", "cy", "rx", "ry"))
            xs += [cx - rx, cx + rx]; ys += [cy - ry, cy + ry]
        for p in g.iter(SVG + "path"):
            nums = list(map(float, re.findall(r"-?\d+\.?\d*", p.get("d"))))
            xs += nums[0::2]; ys += nums[1::2]
        if xs:
            boxes[title] = (min(xs), min(ys), max(xs), max(ys))
    return boxes

def _points(d):
    nums = list(map(float, re.findall(r"-?\d+\.?\d*", d)))
    pts = list(zip(nums[0::2], nums[1::2]))
    out = []
    for i in range(0, len(pts) - 3, 3):
        p0, p1, p2, p3 = pts[i:i + 4]
        for k in range(21):
            t = k / 20
            a, b, c, e = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t ** 3
            out.append((a * p0[0] + b * p1[0] + c * p2[0] + e * p3[0],
                        a * p0[1] + b * p1[1] + c * p2[1] + e * p3[1]))
    return out

def residual_cuts(svg):
    """(residual edges, [(edge, node it passes through)]) of a pair picture's SVG."""
    root = ET.fromstring(svg)
    boxes = _boxes(root)
    cuts, n = [], 0
    for g in root.iter(SVG + "g"):
        if "edge" not in (g.get("class") or "").split():
            continue
        title = g.find(SVG + "title").text
        tail, head = title.split("->")
        path = next(g.iter(SVG + "path"), None)
        if not (tail.startswith("f") and head.startswith("b")) or path is None \
                or not path.get("stroke-dasharray"):
            continue
        n += 1
        pts = _points(path.get("d"))
        for node, (x0, y0, x1, y1) in boxes.items():
            if node in (tail, head) or not node.startswith("b"):
                continue
            m = 2
            if any(x0 + m < x < x1 - m and y0 + m < y < y1 - m for x, y in pts):
                cuts.append((title, node))
    return n, cuts


def _cases():
    for name, make in EXAMPLES.items():
        yield name, make, {}
    yield "two_layer_net_LR", EXAMPLES["two_layer_net"], {"rankdir": "LR"}


@pytest.mark.parametrize("name, make, style", list(_cases()), ids=lambda c: c if isinstance(c, str) else "")
def test_residual_edges_do_not_cut_backward_nodes(name, make, style):
    g, feeds = make()
    bwd = gc.grad(g, g.graph["output"], g.graph["wrt"])
    values = gc.evaluate(g, feeds)
    svg = gc.render_pair(g, bwd, None, values, gc.evaluate(bwd, values),
                         engine="graphviz-pure", **style).pipe(format="svg")
    n, cuts = residual_cuts(svg)
    assert n > 0 and cuts == [], cuts


@pytest.mark.parametrize("collapse", ["auto", None])
def test_residual_edges_of_a_hundred_node_dag_do_not_cut_backward_nodes(collapse):
    g, output, wrt = random_scalar_dag(1)
    bwd = gc.grad(g, output, wrt)
    svg = gc.render_pair(g, bwd, None, engine="graphviz-pure",
                         collapse=collapse).pipe(format="svg")
    n, cuts = residual_cuts(svg)
    assert n > 50 and cuts == [], cuts


def test_the_measure_sees_a_cut():
    """The helper finds a dashed f -> b edge drawn straight through another backward node."""
    svg = gc.drawing.base.export(
        'digraph { splines=line; rankdir=LR; f0; b0; b1 [shape=box width=2 height=2]; '
        'f0 -> b1 -> b0 [style=invis]; f0 -> b0 [style=dashed constraint=false] }',
        "svg", "graphviz-pure")
    n, cuts = residual_cuts(svg)
    assert n == 1 and cuts == [("f0->b0", "b1")]
