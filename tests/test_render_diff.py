"""render_passes: a backward graph before and after gc.optimize side by side, what the passes
removed, merged, aliased or folded marked (classes, colours, notes); SVG parsed as XML."""
import copy
import shutil
import xml.etree.ElementTree as ET

import networkx as nx
import numpy as np
import pytest

import gcompile as gc
from gcompile.examples import apple, apple_orange
from gcompile.drawing.diff import pass_fates, passes_to_dot
from gcompile.drawing.style import format_number

SVG = "{http://www.w3.org/2000/svg}"
ENGINES = ["graphviz-pure", pytest.param("dot", marks=pytest.mark.skipif(
    shutil.which("dot") is None, reason="system Graphviz (dot) not installed"))]


def nodes(path):
    """{svg id: (class, stroke, stroke-dasharray present, [texts])} of every node."""
    root = ET.parse(path).getroot()
    out = {}
    for g in root.iter(SVG + "g"):
        classes = g.get("class", "")
        if "node" not in classes.split():
            continue
        shape = next(el for el in g.iter() if el.tag in (SVG + "ellipse", SVG + "polygon",
                                                           SVG + "path"))
        out[g.get("id")] = (classes, shape.get("stroke"), shape.get("stroke-dasharray") is not None,
                            ["".join(t.itertext()) for t in g.iter(SVG + "text")])
    return out, ["".join(t.itertext()) for t in root.iter(SVG + "text")]


@pytest.mark.parametrize("engine", ENGINES)
def test_apple_orange_before_and_after(tmp_path, engine):
    g, feeds = apple_orange()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    kept = copy.deepcopy(bwd)
    small, log = gc.optimize(bwd)
    out = gc.render_passes(bwd, tmp_path / "passes.svg", gc.evaluate(g, feeds), engine=engine)
    assert nx.utils.graphs_equal(bwd, kept)                # not modified
    found, texts = nodes(out)
    before = {k: found[f"p{i}"] for i, k in enumerate(bwd.nodes)}
    after = {k: found[f"q{i}"] for i, k in enumerate(small.nodes)}
    assert len(found) == 17 + 10 == len(before) + len(after)
    # what the log says, by hand: 4 aliased by folding x * 1, 2 constants merged, the seed dead
    fates = {k: v[0].split()[2] for k, v in before.items() if len(v[0].split()) > 2}
    assert fates == {"dall_price": "gc-aliased", "dtax": "gc-aliased", "dapple_price": "gc-aliased",
                     "dorange_price": "gc-aliased", "dall_price.c": "gc-merged",
                     "dall_price.c_2": "gc-merged", "dprice": "gc-removed"}
    assert {v[0] for v in after.values()} == {"node gc-after"}
    assert before["dprice"][1:3] == ("#57606a", True)                  # greyed and dashed
    assert before["dall_price.c"][1:3] == ("#bf3989", True)            # pink and dashed
    assert before["dapple"][1:3] == ("#1a7f37", False)                 # untouched gradient
    for note in ("removed by eliminate_dead_code", "merged into dprice", "same value as tax",
                 "same value as all_price", "before: 17 nodes", "after: 10 nodes",
                 "fold_constants: 17 → 13", "eliminate_common_subexpressions: 13 → 11",
                 "eliminate_dead_code: 11 → 10", "gc.optimize: 17 → 10 nodes"):
        assert note in texts, note
    # the same gradients on both sides (seed numbers: 2.2, 110, 3.3, 165, 650)
    for key in ("dapple", "dapple_num", "dorange", "dorange_num"):
        value = "= " + format_number(gc.evaluate(bwd, gc.evaluate(g, feeds))[key])
        assert value in before[key][3] and value in after[key][3]
    assert "= 650" in after["all_price"][3]                            # d price/d tax, aliased


def test_folded_nodes_are_marked_on_both_sides(tmp_path):
    g = nx.DiGraph()
    g.add_node("x", op="input")
    g.add_node("two", op="const", value=2.0)
    g.add_node("three", op="const", value=3.0)
    g.add_node("six", op="mul")
    g.add_node("y", op="mul")
    g.add_edges_from([("two", "six", {"arg": 0}), ("three", "six", {"arg": 1}),
                      ("x", "y", {"arg": 0}), ("six", "y", {"arg": 1})])
    small, log = gc.optimize(g, keep=["y"])
    assert pass_fates(log)["six"] == ("folded", None, "fold_constants")
    out = gc.render_passes(g, tmp_path / "fold.svg", {"x": np.float64(1.5)}, keep=["y"],
                           engine="graphviz-pure")
    found, texts = nodes(out)
    six_before = found[f"p{list(g.nodes).index('six')}"]
    six_after = found[f"q{list(small.nodes).index('six')}"]
    assert six_before[0] == "node gc-before gc-folded" and six_after[0] == "node gc-after gc-folded"
    assert six_before[1] == six_after[1] == "#b35900" and not six_after[2]
    assert "= 6" in six_after[3] and texts.count("folded to a constant") == 2
    assert texts.count("removed by eliminate_dead_code") == 2          # two and three
    assert "= 9" in texts                                               # y = 1.5 * 6


def test_options_dot_stability_and_errors(tmp_path):
    g, feeds = apple()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    src = passes_to_dot(bwd).source
    assert src == passes_to_dot(bwd).source and "rankdir=TB" in src
    assert "rankdir=LR" in passes_to_dot(bwd, rankdir="LR").source
    kept_seed = passes_to_dot(bwd, fold_seed=False).source          # the seed stays feedable
    assert "gc-removed" not in kept_seed
    no_fold = passes_to_dot(bwd, passes=("eliminate_dead_code",)).source
    assert "gc.optimize: 9 → 9 nodes" in no_fold and "gc-aliased" not in no_fold
    ao, _ = apple_orange()
    assert "#f778ba" in passes_to_dot(gc.grad(ao, "price", ao.graph["wrt"]), theme="dark").source
    with pytest.raises(gc.GraphError, match="unknown pass"):
        gc.render_passes(bwd, passes=("inline",))
    with pytest.raises(gc.GraphError, match="DiGraph"):
        gc.render_passes("bwd")
    with pytest.raises(gc.GraphError, match="image format"):
        gc.render_passes(bwd, tmp_path / "x.bmp")


def test_a_node_rewritten_as_a_cheaper_op_says_so(tmp_path):
    """x * -1 becomes neg(x) (the simplifier's unary_when): not 'folded to a constant'."""
    g = nx.DiGraph()
    g.add_node("x", op="input", shape=(2,))
    g.add_node("m1", op="const", value=-1.0)
    g.add_node("y", op="mul")
    g.add_edges_from([("x", "y", {"arg": 0}), ("m1", "y", {"arg": 1})])
    small, log = gc.optimize(g, keep=["y"])
    assert small.nodes["y"]["op"] == "neg"
    assert pass_fates(log)["y"] == ("folded", "neg", "fold_constants")
    out = gc.render_passes(g, tmp_path / "neg.svg", {"x": np.array([1.5, -2.0])}, keep=["y"],
                           engine="graphviz-pure")
    _, texts = nodes(out)
    assert texts.count("rewritten as neg") == 2 and "folded to a constant" not in texts
