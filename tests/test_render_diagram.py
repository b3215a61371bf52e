"""Diagram.pipe / Diagram.render / Diagram.view go through gcompile's engine choice,
so they work without system Graphviz (issue 11 item 8)."""
import os
import shutil

import graphviz
import pytest

import gcompile as gc
from gcompile.examples import apple

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def no_system_dot(monkeypatch, tmp_path):
    """PATH holds no ``dot``: graphviz.Digraph.pipe would raise ExecutableNotFound."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("GCOMPILE_ENGINE", raising=False)
    assert shutil.which("dot") is None
    with pytest.raises(graphviz.ExecutableNotFound):
        graphviz.Source("digraph { a }").pipe(format="svg")
    return empty


def diagram():
    g, feeds = apple()
    return gc.render(g, None, gc.evaluate(g, feeds))


def test_pipe_without_system_dot(no_system_dot):
    d = diagram()
    svg = d.pipe()
    assert svg.lstrip().startswith(b"<?xml") and b"220" in svg
    assert d.pipe(format="png")[:8] == PNG_SIGNATURE
    assert d.pipe(format="svg", encoding="utf-8").count("<svg") == 1
    assert d.pipe(format="dot", encoding="utf-8") == d.source


def test_render_without_system_dot(no_system_dot, tmp_path):
    d = diagram()
    out = d.render(directory=tmp_path)
    assert out == str(tmp_path / "gcompile.gv.svg")
    assert (tmp_path / "gcompile.gv").read_text(encoding="utf-8") == d.source
    assert b"220" in (tmp_path / "gcompile.gv.svg").read_bytes()
    png = d.render(outfile=tmp_path / "apple.png", cleanup=True)
    assert open(png, "rb").read(8) == PNG_SIGNATURE
    d2 = gc.render_pair(*_pair(), None)
    out = d2.render(filename="p.gv", directory=tmp_path, format="png", cleanup=True)
    assert out.endswith("p.gv.png") and not (tmp_path / "p.gv").exists()


def _pair():
    g, feeds = apple()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    return g, bwd


def test_engine_choice_is_honoured(monkeypatch):
    monkeypatch.setenv("GCOMPILE_ENGINE", "graphviz-pure")
    d = diagram()
    with pytest.raises(gc.GraphError, match="cannot write 'pdf'"):
        d.pipe(format="pdf")       # graphviz-pure writes no PDF: a GraphError that says so
    d.gc_engine = "nonsense"
    with pytest.raises(gc.GraphError, match="unknown engine"):
        d.pipe()


@pytest.mark.parametrize("kwargs, match", [
    (dict(format="jpeg"), "cannot write format 'jpeg'"),
    (dict(engine="neato"), "layout engine 'neato'"),
    (dict(renderer="cairo"), "renderer"),
])
def test_bad_arguments_are_graph_errors(kwargs, match):
    with pytest.raises(gc.GraphError, match=match):
        diagram().pipe(**kwargs)


def test_render_refuses_to_overwrite_its_source(tmp_path):
    d = diagram()
    with pytest.raises(gc.GraphError, match="DOT source"):
        d.render(filename="x.dot", directory=tmp_path, outfile="x.dot")
    with pytest.raises(gc.GraphError, match="image format"):
        d.render(outfile=tmp_path / "x.jpeg")


@pytest.mark.skipif(shutil.which("dot") is None, reason="system Graphviz (dot) not installed")
def test_pipe_pdf_with_system_dot():
    d = diagram()
    d.gc_engine = "dot"
    assert d.pipe(format="pdf")[:5] == b"%PDF-"
