"""The viewer page without a browser: its data, ids, escaping, self-containment, CLI.

The browser-driven tests are in ``test_viewer_browser.py``.
"""
import base64
import hashlib
import html
import json
import re

import networkx as nx
import numpy as np
import pytest

import gcompile as gc
from gcompile.cli import main
from gcompile.examples import apple, apple_orange, two_layer_net
from gcompile.viewer.model import build_model, element_ids, gradient_nodes
from gcompile.viewer.page import page_json
from gcompile.viewer.paths import chain_paths
from gcompile.viewer.summary import summarize


def _data(text):
    block = re.search(r'<script type="application/json" id="gc-data">(.*?)</script>', text, re.S)
    return json.loads(block.group(1))


@pytest.fixture(scope="module")
def apple_page():
    g, feeds = apple()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    return g, bwd, gc.view(g, bwd, values=gc.evaluate(g, feeds)).html


def test_every_entry_names_an_svg_element_and_ids_hold_no_user_text(apple_page):
    g, bwd, text = apple_page
    data = _data(text)
    svg_ids = set(re.findall(r'<g id="([^"]+)" class="node', text))
    assert {n["id"] for n in data["nodes"]} == svg_ids
    assert all(re.fullmatch(r"(fwd|bwd|n)\d+", i) for i in svg_ids)
    assert [n["key"] for n in data["nodes"] if n["side"] == "f"] == list(g.nodes)


def test_links_follow_origin_and_the_gradient_map(apple_page):
    g, bwd, text = apple_page
    nodes = _data(text)["nodes"]
    keys = {(n["side"], n["key"]): i for i, n in enumerate(nodes)}

    def linked(side, key):
        return sorted(nodes[j]["side"] + ":" + nodes[j]["key"] for j in nodes[keys[side, key]]["links"])

    assert linked("f", "apple") == ["b:dapple"]
    assert linked("f", "apple_price") == ["b:dapple", "b:dapple_num", "b:dapple_price"]
    assert linked("f", "price") == ["b:dapple_price", "b:dprice", "b:dtax"]
    assert linked("b", "dapple") == ["f:apple_num", "f:apple_price"]
    assert linked("b", "dtax") == ["f:apple_price", "f:price"]
    # the gradient values come from evaluating the backward graph (apple: 2 * 1.1)
    apple_ = nodes[keys["f", "apple"]]
    assert apple_["grad_key"] == "dapple" and float(apple_["grad"]["text"]) == pytest.approx(2.2)
    assert apple_["value"]["text"] == "100.0"


def test_gradient_nodes_of_a_fan_out_graph():
    g, feeds = apple_orange()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    found = gradient_nodes(g, bwd)
    assert found["all_price"] == "dall_price" and found["price"] == bwd.graph["seed"]
    assert {k: found[k] for k in g.graph["wrt"]} == bwd.graph["grads"]
    values = gc.evaluate(bwd, gc.evaluate(g, feeds))
    assert float(values[found["all_price"]]) == pytest.approx(1.1)  # d price / d all_price = tax


def test_paths_carry_explain_products_and_sympy_agrees():
    import sympy

    g, feeds = apple_orange()
    (term,) = chain_paths(g, gc.evaluate(g, feeds), ["price"], ["tax"])
    a, an, o, on, t = sympy.symbols("a an o on t")
    price = (a * an + o * on) * t
    expected = float(sympy.diff(price, t).subs({a: 100, an: 2, o: 150, on: 3, t: 1.1}))
    assert float(term["backward"]) == pytest.approx(expected)
    assert [p["nodes"] for p in term["paths"]] == [["price", "tax"]]
    net, net_feeds = two_layer_net()
    (tensor_term,) = chain_paths(net, gc.evaluate(net, net_feeds), ["loss"], ["W1"])
    assert tensor_term["paths"] and "product" not in tensor_term["paths"][0]  # tensors: paths only


def test_summaries_give_scalars_in_full_and_tensors_as_statistics():
    assert summarize(np.float64(1) / 3)["text"] == "0.3333333333333333"
    s = summarize(np.arange(12.0).reshape(3, 4) - 2)
    assert s["shape"] == "3×4" and s["stats"] == "min -2  mean 3.5  max 9"
    assert s["first"] == "-2, -1, 0, 1, 2, 3, 4, 5, …"
    assert summarize(np.int32(7)) == {"text": "7", "shape": "()", "dtype": "int32"}


def test_page_is_self_contained_with_a_hashed_script(apple_page):
    text = apple_page[2]
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', text)
    assert "<link" not in text and "<script src" not in text and "@import" not in text
    csp = re.search(r"script-src 'sha256-([^']+)'", text).group(1)
    script = re.findall(r"<script>(.*?)</script>", text, re.S)
    assert len(script) == 1
    assert base64.b64encode(hashlib.sha256(script[0].encode()).digest()).decode() == csp
    assert "default-src 'none'" in text


def test_hostile_keys_and_labels_never_reach_the_markup():
    bad = '</script><img src=x onerror=alert(1)>&amp;'
    g = nx.DiGraph(name=bad)
    g.add_node(bad, op="input", shape=(), label="<b>label</b>", group="<i>grp</i>")
    g.add_node("y", op="sin")
    g.add_edge(bad, "y", arg=0)
    text = gc.view(g, gc.grad(g, "y", [bad]), values={bad: 0.5, "y": np.sin(0.5)},
                   title=bad).html
    for raw in (bad, "<img", "<b>label", "<i>grp"):
        assert raw not in text
    data = _data(text)
    assert data["nodes"][0]["key"] == bad and data["groups"][0]["name"] == "<i>grp</i>"
    assert page_json({"k": "</script>"}) == '{"k": "\\u003c/script\\u003e"}'


def test_repr_html_is_an_isolated_frame_and_errors_are_graph_errors(tmp_path):
    g, _ = apple()
    page = gc.view(g)
    frame = page._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and html.unescape(frame.split('"')[1]) == page.html
    with pytest.raises(gc.GraphError, match="expected a networkx DiGraph"):
        gc.view({"a": 1})
    with pytest.raises(gc.GraphError, match="cannot write viewer page"):
        gc.view(g, path=tmp_path / "missing" / "x.html")
    with pytest.raises(gc.GraphError, match="values must be a dict"):
        gc.view(g, values=[1])


def test_groups_and_collapsed_threshold():
    net, _ = two_layer_net()
    bwd = gc.grad(net, "loss", net.graph["wrt"])
    data, index = build_model(net, bwd)
    affine1 = next(gr for gr in data["groups"] if gr["name"] == "affine1")
    sides = {data["nodes"][i]["side"] for i in affine1["members"]}
    assert sides == {"f", "b"} and not data["collapsed"]
    ids = element_ids(net, bwd)
    assert len(ids) == len(data["nodes"]) == len(index)


def test_cli_writes_the_page(tmp_path, capsys):
    out = tmp_path / "net.html"
    assert main(["view", "two_layer_net", "--wrt", "W1", "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    data = _data(out.read_text(encoding="utf-8"))
    assert data["mode"] == "pair" and [data["nodes"][t["wrt"]]["key"] for t in data["paths"]] == ["W1"]
    assert main(["view", "apple", "--forward-only", "-o", str(tmp_path / "f.html")]) == 0
    assert _data((tmp_path / "f.html").read_text(encoding="utf-8"))["mode"] == "single"
    assert main(["view", "apple", "-o", str(tmp_path / "x.svg")]) == 2
    assert "the viewer page is HTML" in capsys.readouterr().err


def test_builder_groups_become_viewer_groups():
    b = gc.GraphBuilder(name="affine")
    x = b.input("x", shape=(2, 3))
    with b.group("affine1"):
        y = b.name(x @ np.ones((3, 4)) + np.zeros(4), "y")
    b.output(y.sum())
    g = b.graph
    text = gc.view(g, values=gc.evaluate(g, {"x": np.arange(6.0).reshape(2, 3)})).html
    data = _data(text)
    (group,) = data["groups"]
    members = sorted(data["nodes"][i]["key"] for i in group["members"])
    assert group["name"] == "affine1" and members == sorted(
        k for k, grp in g.nodes(data="group") if grp == "affine1")
    y_entry = next(n for n in data["nodes"] if n["key"] == "y")
    assert y_entry["value"]["stats"] == "min 3  mean 7.5  max 12"  # x @ 1 = row sums 3, 12


from hypothesis import given, strategies as st  # noqa: E402


@given(st.text())
def test_page_json_never_closes_the_script_and_round_trips(text):
    out = page_json({"key": text})
    assert "<" not in out and ">" not in out and "&" not in out
    assert json.loads(out) == {"key": text}
