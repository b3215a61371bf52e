"""gcompile.docfigure: options, sources, checks and hashed names shared by the docs plugins."""
import sys

import numpy as np
import pytest

import gcompile as gc
from gcompile.docfigure import (GradientCheckError, build_figure, draw_figure, load_source,
                                parse_options, split_feeds)
from gcompile.drawing.base import export
from gcompile.examples import apple, apple_orange


def fig(**options):
    return build_figure(parse_options({"source": "apple", **options}))


def test_each_show_draws_what_the_library_draws():
    g, feeds = apple()
    wrt = g.graph["wrt"]
    bwd = gc.grad(g, "price", wrt)
    values = gc.evaluate(g, feeds)
    grads = gc.evaluate(bwd, values)
    h = gc.hessian(g, "price", wrt)
    expected = {"forward": gc.to_dot(g, values), "backward": gc.to_dot(bwd, grads),
                "pair": gc.render_pair(g, bwd, None, values, grads),
                "passes": gc.render_passes(bwd, None, values),
                "hessian": gc.render(h, None, gc.evaluate(h, feeds)),
                "hvp": gc.render(gc.hvp(g, "price", wrt))}
    for show, diagram in expected.items():
        figure = fig(show=show)
        assert figure.dot == diagram.source, show
        assert draw_figure(figure) == export(diagram.source, "svg", "graphviz-pure")


def test_hessian_figure_holds_the_second_derivatives():
    # price = apple * apple_num * tax: d2/d apple d tax = apple_num = 2, d2/d apple d apple_num = 1.1
    g, feeds = apple()
    h = gc.hessian(g, "price", ["apple", "tax"])
    blocks = gc.hessian_values(h, feeds)
    assert float(blocks["apple", "tax"]) == pytest.approx(2.0)
    figure = fig(show="hessian", wrt="apple, tax")
    assert figure.dot == gc.render(h, None, gc.evaluate(h, feeds)).source


def test_feeds_options_and_hash():
    assert split_feeds("a=1, W=[[1, 2], [3, 4]],b=2") == ("a=1", "W=[[1, 2], [3, 4]]", "b=2")
    base = fig(show="backward")
    assert base.name == fig(show="backward").name  # same content and options, same file
    assert fig(show="backward", feed="tax=1.2").name != base.name
    assert fig(show="backward", theme="dark").name != base.name
    assert "= 240" in fig(show="forward", feed="tax=1.2").dot  # 200 * 1.2
    with pytest.raises(gc.GraphError, match="feed price: node 'price' is not an input node"):
        fig(feed="price=3")
    with pytest.raises(gc.GraphError, match="unknown option 'colour'"):
        parse_options({"source": "apple", "colour": "red"})
    with pytest.raises(gc.GraphError, match="no graph given"):
        parse_options({"show": "pair"})


def test_sources(tmp_path, monkeypatch):
    g, _ = apple_orange()
    gc.save(g, tmp_path / "ao.json")
    graph, feeds, files = load_source("ao.json", [tmp_path])
    assert sorted(graph) == sorted(g) and feeds == {} and files == [str(tmp_path / "ao.json")]
    # a JSON graph without values: structure only, no check possible
    structure = build_figure(parse_options({"source": "ao.json", "show": "forward"}), [tmp_path])
    assert "= 715" not in structure.dot
    with pytest.raises(gc.GraphError, match="check needs a value for every input"):
        build_figure(parse_options({"source": "ao.json", "check": "yes"}), [tmp_path])
    fed = build_figure(parse_options({"source": "ao.json", "show": "forward", "feed":
                                      "apple=100, apple_num=2, orange=150, orange_num=3, "
                                      "tax=1.1"}), [tmp_path])
    assert "= 715" in fed.dot
    (tmp_path / "srcmod.py").write_text("from gcompile.examples import apple\n"
                                        "def graph_only():\n    return apple()[0]\n"
                                        "not_callable = 3\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    graph, feeds, files = load_source("srcmod:graph_only")
    assert graph.graph["output"] == "price" and feeds == {} and files[0].endswith("srcmod.py")
    with pytest.raises(gc.GraphError, match="'srcmod' has no callable 'not_callable'"):
        load_source("srcmod:not_callable")
    with pytest.raises(gc.GraphError, match="cannot import 'no_such_module_xyz'"):
        load_source("no_such_module_xyz:f")
    sys.modules.pop("srcmod", None)


OPS = """
import gcompile as gc
gc.defop("halfsin_{tag}", 1, forward=lambda xp, x: xp.sin(x) / 2,
         vjp=[lambda f, g, x, out: f.mul(g, {rule})],
         rules=["d sin(x)/2 dx"], shape=lambda s: s, replace=True)

def graph():
    return gc.trace(lambda x: gc.ops.halfsin_{tag}(x, name="y"), "x"), {{"x": 0.3}}
"""


def test_check_catches_a_wrong_rule_and_passes_a_right_one(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "ops_wrong.py").write_text(OPS.format(tag="wrong", rule="f.cos(x)"))
    (tmp_path / "ops_right.py").write_text(OPS.format(tag="right", rule="f.mul(f.cos(x), 0.5)"))
    with pytest.raises(GradientCheckError, match="gradient check of 'ops_wrong:graph' failed"):
        build_figure(parse_options({"source": "ops_wrong:graph", "check": "yes"}))
    right = build_figure(parse_options({"source": "ops_right:graph", "check": "yes",
                                        "show": "backward"}))
    assert f"= {np.cos(0.3) / 2:.6g}"[:8] in right.dot  # 0.477668...
    # without check the wrong diagram is drawn: the check is what guards the docs
    assert build_figure(parse_options({"source": "ops_wrong:graph"})).dot
