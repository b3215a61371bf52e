"""The renderer: SVG parsed as XML carries every label and the seed's numbers,
PNG is PNG, DOT is byte-stable, hostile keys survive, both engines where present."""
import copy
import os
import re
import shutil
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET

import networkx as nx
import numpy as np
import pytest

import gcompile as gc
from gcompile.drawing import engines
from gcompile.examples import EXAMPLES, apple, apple_orange
from gcompile.drawing.base import export
from gcompile.drawing.pair import pair_to_dot
from gcompile.drawing.style import FONT_STACK, clean_text, format_number, format_value

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"
HAVE_DOT = shutil.which("dot") is not None
ENGINES = ["graphviz-pure", pytest.param("dot", marks=pytest.mark.skipif(
    not HAVE_DOT, reason="system Graphviz (dot) not installed"))]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def parse_svg(path):
    """{'nodes': {svg id: [text lines]}, 'classes': {svg id: class}, 'texts': all texts, 'root'}."""
    root = ET.parse(path).getroot()
    nodes, classes = {}, {}
    for g in root.iter(SVG + "g"):
        if "node" in g.get("class", "").split():
            nodes[g.get("id")] = ["".join(t.itertext()) for t in g.iter(SVG + "text")]
            classes[g.get("id")] = g.get("class")
    texts = ["".join(t.itertext()) for t in root.iter(SVG + "text")]
    return {"nodes": nodes, "classes": classes, "texts": texts, "root": root}


def node_has(lines, text):
    """Is ``text`` (maybe several lines) among the label lines of one node?"""
    want = text.split("\n")
    return any(lines[i:i + len(want)] == want for i in range(len(lines)))


def apple_all():
    g, feeds = apple()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    fv = gc.evaluate(g, feeds)
    return g, bwd, fv, gc.evaluate(bwd, fv)


def labels(graph):
    return [clean_text(d.get("label", k), 48) for k, d in graph.nodes(data=True)]


# --- numbers ------------------------------------------------------------------------------

@pytest.mark.parametrize("value, text", [
    (220.00000000000003, "220"), (110.00000000000001, "110"), (2.2, "2.2"), (1.1, "1.1"),
    (0.1 + 0.2, "0.3"), (-0.0, "0"), (1e-20, "1e-20"), (np.float32(2.5), "2.5"),
    (np.int64(-7), "-7"), (float("inf"), "inf"), (1 + 2j, "1+2j"), (123456789.0, "123456789")])
def test_human_numbers(value, text):
    assert format_number(value) == text


def test_arrays_show_shape_and_dtype_with_preview():
    short, preview = format_value(np.arange(30, dtype=np.float32).reshape(5, 6))
    assert short == "5×6 float32"
    assert "..." in preview and "29." in preview
    assert format_value(np.array(3.5)) == ("3.5", "3.5")


# --- SVG content, both engines --------------------------------------------------------------

@pytest.mark.parametrize("engine", ENGINES)
def test_forward_svg_has_labels_and_values(tmp_path, engine):
    g, _, fv, _ = apple_all()
    out = gc.render(g, tmp_path / "f.svg", fv, engine=engine)
    svg = parse_svg(out)
    assert len(svg["nodes"]) == g.number_of_nodes()
    for i, label in enumerate(labels(g)):
        assert node_has(svg["nodes"][f"n{i}"], label), (label, svg["nodes"][f"n{i}"])
    for number in ("100", "2", "1.1", "200", "= 220"):
        assert number in svg["texts"]
    assert "220.00000000000003" not in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("engine", ENGINES)
def test_backward_svg_has_seed_numbers(tmp_path, engine):
    _, bwd, _, bv = apple_all()
    svg = parse_svg(gc.render(bwd, tmp_path / "b.svg", bv, engine=engine))
    for i, (key, data) in enumerate(bwd.nodes(data=True)):
        assert node_has(svg["nodes"][f"n{i}"], data.get("label", key))  # reads keep the forward label
    texts = svg["texts"]
    for number in ("= 2.2", "= 110", "= 200", "1.1"):   # the seed text's gradients
        assert number in texts, number
    assert "d(x*y)/dx = y = 1.1" in texts           # rule and local factor of dapple_price
    assert "d(x*y)/dy = x = 200" in texts


@pytest.mark.parametrize("engine", ENGINES)
def test_pair_svg_links_backward_to_forward(tmp_path, engine):
    g, bwd, fv, bv = apple_all()
    svg = parse_svg(gc.render_pair(g, bwd, tmp_path / "p.svg", fv, bv, engine=engine))
    fwd_ids = {k: f"fwd{i}" for i, k in enumerate(g.nodes)}
    for key, label in zip(g.nodes, labels(g)):
        assert node_has(svg["nodes"][fwd_ids[key]], label)
    drawn = [k for k, d in bwd.nodes(data=True) if d["role"] != "forward_value"]
    for i, key in enumerate(drawn):
        node = f"bwd{i}"
        assert node_has(svg["nodes"][node], key)
        origin = bwd.nodes[key]["origin"]          # same colour class as its forward node
        assert svg["classes"][fwd_ids[origin]].split()[-1] in svg["classes"][node].split()
    for number in ("= 2.2", "= 110", "= 200", "= 220", "100", "1.1"):
        assert number in svg["texts"]
    # residual edges: one dashed edge per backward read of a forward value
    residual_reads = sum(1 for u, v in bwd.edges if bwd.nodes[u]["role"] == "forward_value")
    dashed = [p for p in svg["root"].iter(SVG + "path") if p.get("stroke-dasharray")]
    assert len(dashed) == residual_reads == 4


def test_pair_uses_constants_and_grads_dict_only(tmp_path):
    g, bwd, fv, bv = apple_all()
    merged = pair_to_dot(g, bwd, {**fv, **bv}).source
    assert merged == pair_to_dot(g, bwd, fv, bv).source
    assert "= 2.2" in merged and "d(x*y)/dx = y = 1.1" in merged
    bare = pair_to_dot(g, bwd).source
    assert "2.2" not in bare and "d(x*y)/dx = y" in bare


@pytest.mark.parametrize("engine", ENGINES)
def test_png_signature(tmp_path, engine):
    g, bwd, fv, bv = apple_all()
    for out in (gc.render(g, tmp_path / "f.png", fv, engine=engine),
                gc.render_pair(g, bwd, tmp_path / "p.png", fv, bv, engine=engine, dpi=72)):
        assert out.read_bytes()[:8] == PNG_SIGNATURE


def test_pdf_needs_system_graphviz(tmp_path):
    g, _, _, _ = apple_all()
    with pytest.raises(gc.GraphError, match="apt-get install graphviz"):
        gc.render(g, tmp_path / "f.pdf", engine="graphviz-pure")


@pytest.mark.skipif(not HAVE_DOT, reason="system Graphviz (dot) not installed")
def test_pdf_with_system_dot(tmp_path):
    g, _, fv, _ = apple_all()
    assert gc.render(g, tmp_path / "f.pdf", fv, engine="dot").read_bytes()[:5] == b"%PDF-"


def test_dot_and_gv_write_the_source(tmp_path):
    g, _, fv, _ = apple_all()
    text = gc.render(g, tmp_path / "f.gv", fv).read_text(encoding="utf-8")
    assert text == gc.to_dot(g, fv).source == gc.render(g, tmp_path / "f.dot", fv).read_text(
        encoding="utf-8")


# --- determinism ------------------------------------------------------------------------------

def test_dot_is_byte_stable_across_processes():
    script = ("import gcompile as gc, sys; from gcompile.examples import apple_orange as ex\n"
              "g, f = ex(); b = gc.grad(g, 'price', g.graph['wrt']); v = gc.evaluate(g, f)\n"
              "sys.stdout.write(gc.render_pair(g, b, None, v, gc.evaluate(b, v)).source"
              " + gc.to_dot(b, v).source)")
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout
            for seed in ("1", "2")]
    assert runs[0] == runs[1]
    g, feeds = apple_orange()
    b = gc.grad(g, "price", g.graph["wrt"])
    v = gc.evaluate(g, feeds)
    assert runs[0].decode("utf-8") == (gc.render_pair(g, b, None, v, gc.evaluate(b, v)).source
                                       + gc.to_dot(b, v).source)


def test_svg_is_byte_stable_with_embedded_engine():
    g, bwd, fv, bv = apple_all()
    src = pair_to_dot(g, bwd, fv, bv).source
    assert export(src, "svg", "graphviz-pure") == export(src, "svg", "graphviz-pure")


def test_inputs_are_not_mutated():
    g, bwd, fv, bv = apple_all()
    before = (copy.deepcopy(dict(g.nodes(data=True))), copy.deepcopy(dict(bwd.nodes(data=True))),
              dict(fv), dict(bv), list(g.edges(data=True)), dict(bwd.graph))
    gc.render_pair(g, bwd, None, fv, bv)
    gc.to_dot(bwd, bv, collapse="box")
    after = (dict(g.nodes(data=True)), dict(bwd.nodes(data=True)), fv, bv,
             list(g.edges(data=True)), bwd.graph)
    assert repr(before) == repr(after)


# --- hostile keys and labels ------------------------------------------------------------------

HOSTILE = ['a"b', "<x>", "a & b", "two\nlines", "back\\slash", "\\", 'q\\"', "가격", "사과 apple",
           "a]b;c{d}", "-> edge", "node", "&amp;", "\\N \\G", "x:y:z", "ctrl\x01char", "tab\there"]


def hostile_graph():
    g = nx.DiGraph(name='evil "graph" <&>')
    g.add_node(("tuple", 1), op="input", shape=())
    g.add_node(7, op="input", shape=(), label="<b>not bold</b>")
    prev = ("tuple", 1)
    for i, key in enumerate(HOSTILE):
        g.add_node(key, op="add")
        g.add_edge(prev, key, arg=0)
        g.add_edge(7, key, arg=1)
        prev = key
    g.add_node("labelled", op="neg", label='라벨 "quoted" & <tag>\nline2 \\')
    g.add_edge(prev, "labelled")
    return g


@pytest.mark.parametrize("engine", ENGINES)
def test_hostile_keys_and_labels_render_literally(tmp_path, engine):
    g = hostile_graph()
    feeds = {("tuple", 1): 1.0, 7: 2.0}
    values = gc.evaluate(g, feeds)
    out = gc.render(g, tmp_path / "h.svg", values, engine=engine, title='t "<&>" \\')
    svg = parse_svg(out)                    # parses as XML
    assert len(svg["nodes"]) == g.number_of_nodes()
    for i, label in enumerate(labels(g)):
        assert node_has(svg["nodes"][f"n{i}"], label), (label, svg["nodes"][f"n{i}"])
    ctrl = 2 + HOSTILE.index("ctrl\x01char")
    assert node_has(svg["nodes"]["n%d" % ctrl], "ctrl\\x01char")
    tips = [a.get(XLINK + "title") for a in svg["root"].iter(SVG + "a")]
    assert any('라벨 "quoted" & <tag>\nline2 \\' in t for t in tips)
    assert "= " + format_number(values["labelled"]) in svg["texts"]


def test_hostile_pair_renders(tmp_path):
    g = hostile_graph()
    bwd = gc.grad(g, "labelled", [("tuple", 1), 7])
    values = gc.evaluate(g, {("tuple", 1): 1.0, 7: 2.0})
    svg = parse_svg(gc.render_pair(g, bwd, tmp_path / "h.svg", values, gc.evaluate(bwd, values),
                                   engine="graphviz-pure"))
    assert node_has(svg["nodes"]["fwd0"], "('tuple', 1)")
    assert "= -17" in svg["texts"]           # d labelled / d 7 = -(number of adds)


def test_korean_labels_get_room_and_a_font_stack(tmp_path):
    g = nx.DiGraph()
    g.add_node("x", op="input", label="사과 가격 (apple price)")
    src = gc.to_dot(g).source
    assert "width=" in src                  # graphviz-pure measures Hangul as spaces
    svg = export(src, "svg", "graphviz-pure").decode("utf-8")
    assert f'font-family="{FONT_STACK}"' in svg and "Noto Sans CJK KR" in FONT_STACK
    width = float(ET.fromstring(svg).get("width").rstrip("pt"))
    assert width >= 10 * 14 * 0.9           # ten Hangul syllables at about 1 em each


def test_cjk_png_warns_with_the_fix(tmp_path, monkeypatch):
    g = nx.DiGraph()
    g.add_node("가격", op="input")
    with pytest.warns(UserWarning, match="fonts-noto-cjk"):
        gc.render(g, tmp_path / "k.png", engine="graphviz-pure")
    if HAVE_DOT:
        monkeypatch.setattr(engines, "has_cjk_font", lambda: False)
        with pytest.warns(UserWarning, match="apt-get install fonts-noto-cjk"):
            gc.render(g, tmp_path / "k2.png", engine="dot")
        monkeypatch.setattr(engines, "has_cjk_font", lambda: True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            gc.render(g, tmp_path / "k3.png", engine="dot")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gc.render(g, tmp_path / "k.svg", engine="graphviz-pure")


# --- options ------------------------------------------------------------------------------------

def test_style_options():
    g, bwd, fv, bv = apple_all()
    assert "rankdir=TB" in gc.to_dot(g, rankdir="TB").source
    dark = gc.to_dot(g, fv, theme="dark").source
    assert 'bgcolor="#0d1117"' in dark
    hidden = gc.to_dot(g, fv, show_values=False).source
    assert "220<" not in hidden and "1.1<" not in hidden and "apple count" in hidden
    assert "d(x*y)/dx = y = 1.1" not in gc.to_dot(bwd, bv, rules=False).source
    assert "newrank=true" in gc.render_pair(g, bwd, None, fv, bv, theme="dark").source


def grouped_graph():
    g, feeds = apple_orange()
    for key in ("apple", "apple_num", "apple_price"):
        g.nodes[key]["group"] = "apples"
    return g, feeds


def test_collapse_cluster_and_box(tmp_path):
    g, feeds = grouped_graph()
    values = gc.evaluate(g, feeds)
    clustered = gc.to_dot(g, values).source
    assert "subgraph cluster_g0" in clustered and "apples" in clustered
    assert "cluster_g0" not in gc.to_dot(g, values, collapse=None).source
    boxed = gc.to_dot(g, values, collapse="box")
    assert "3 nodes: input, mul" in boxed.source and "box3d" in boxed.source
    svg = parse_svg(gc.render(g, tmp_path / "box.svg", values, collapse="box",
                              engine="graphviz-pure"))
    assert len(svg["nodes"]) == g.number_of_nodes() - 3 + 1
    assert "200" in svg["texts"]            # the box's single output value on its edge


def test_array_values_tooltip_preview(tmp_path):
    g = nx.DiGraph()
    g.add_node("W", op="input", shape=(2, 3))
    g.add_node("s", op="sum")
    g.add_edge("W", "s", arg=0)
    values = gc.evaluate(g, {"W": np.arange(6.0).reshape(2, 3)})
    svg = parse_svg(gc.render(g, tmp_path / "a.svg", values, engine="graphviz-pure"))
    assert "2×3 float64" in svg["texts"] and "= 15" in svg["texts"]
    tips = [a.get(XLINK + "title") for a in svg["root"].iter(SVG + "a")]
    assert any("[[0. 1. 2.]\n [3. 4. 5.]]" in t for t in tips)


def test_jupyter_display_objects():
    g, bwd, fv, bv = apple_all()
    diagram = gc.render(g, None, fv, engine="graphviz-pure")
    assert diagram is not None and diagram._repr_svg_().count("<svg") == 1
    bundle = gc.render_pair(g, bwd, None, fv, bv, engine="graphviz-pure")._repr_mimebundle_()
    assert "= 2.2" in bundle["image/svg+xml"]


# --- engines and errors -------------------------------------------------------------------------

def test_engine_selection(monkeypatch):
    assert engines.find_engine("graphviz-pure")[0] == "graphviz-pure"
    monkeypatch.setenv("GCOMPILE_ENGINE", "graphviz-pure")
    assert engines.find_engine()[0] == "graphviz-pure"
    monkeypatch.delenv("GCOMPILE_ENGINE")
    assert engines.find_engine()[0] == ("dot" if HAVE_DOT else "graphviz-pure")
    monkeypatch.setattr(engines.shutil, "which", lambda name: None)
    assert engines.find_engine()[0] == "graphviz-pure"    # found next to sys.executable
    with pytest.raises(gc.GraphError, match="apt-get install graphviz"):
        engines.find_engine("dot")
    monkeypatch.setattr(engines, "_graphviz_pure_path", lambda: None)
    with pytest.raises(gc.GraphError, match="pip install graphviz-pure"):
        engines.find_engine()
    with pytest.raises(gc.GraphError, match="unknown engine"):
        engines.find_engine("neato")


def test_user_errors_are_graph_errors(tmp_path):
    g, bwd, fv, _ = apple_all()
    with pytest.raises(gc.GraphError, match="image format"):
        gc.render(g, tmp_path / "x.jpeg")
    with pytest.raises(gc.GraphError, match="DiGraph"):
        gc.to_dot(nx.MultiDiGraph())
    with pytest.raises(gc.GraphError, match="DiGraph"):
        gc.render_pair(g, "not a graph")
    with pytest.raises(gc.GraphError, match="dict"):
        gc.to_dot(g, [1, 2])
    with pytest.raises(gc.GraphError, match="theme"):
        gc.to_dot(g, theme="neon")
    with pytest.raises(gc.GraphError, match="rankdir"):
        gc.to_dot(g, rankdir="XY")
    with pytest.raises(gc.GraphError, match="collapse"):
        gc.to_dot(g, collapse="fold")
    with pytest.raises(gc.GraphError, match="cannot write"):
        gc.render(g, tmp_path / "missing" / "dir" / "x.svg", engine="graphviz-pure")
    with pytest.raises(gc.GraphError, match="engine 'graphviz-pure' failed"):
        engines.run_engine("digraph { a -> }", "svg", engine="graphviz-pure")


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_pair_renders(name, tmp_path):
    g, feeds = EXAMPLES[name]()
    bwd = gc.grad(g, g.graph["output"], g.graph["wrt"])
    values = gc.evaluate(g, feeds)
    svg = parse_svg(gc.render_pair(g, bwd, tmp_path / "p.svg", values, gc.evaluate(bwd, values),
                                   engine="graphviz-pure"))
    assert len([i for i in svg["nodes"] if i.startswith("fwd")]) == g.number_of_nodes()


def test_big_graphs_draw_shared_leaves_once_per_use(monkeypatch):
    render_module = sys.modules["gcompile.drawing.draw"]   # gc.render is the function
    g, feeds = apple_orange()
    values = gc.evaluate(g, feeds)
    monkeypatch.setattr(render_module, "SPLIT_LEAVES_NODES", 3)
    monkeypatch.setattr(render_module, "XLABEL_EDGES", 3)
    g.add_edge("tax", "all_price", arg=1)            # tax now feeds two ops
    g.remove_edge("orange_price", "all_price")
    src = gc.to_dot(g, values).source
    assert src.count(">tax<") == 2 and "xlabel=" in src and " label=<<FONT COLOR" not in src


@pytest.mark.parametrize("engine", ENGINES)
def test_empty_labels_and_values_render(tmp_path, engine):
    """An empty label or value is one space, not <FONT></FONT> / <B></B> (a parser error)."""
    g = nx.DiGraph()
    g.add_node("x", op="input", label="")
    g.add_node("y", op="exp", label="")
    g.add_edge("x", "y")
    g.add_node("", op="input", group="")
    src = gc.to_dot(g, {"x": "", "y": 1.0}, title="").source
    assert not re.search(r'<FONT[^>]*></FONT>|<B></B>', src)
    svg = parse_svg(gc.render(g, tmp_path / "e.svg", {"x": "", "y": 1.0}, title="",
                              engine=engine))
    assert len(svg["nodes"]) == 3 and "= 1" in svg["texts"]   # x, y and "" (in cluster "")
