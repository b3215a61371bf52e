"""gcompile.sphinx: throwaway Sphinx projects built with the ``gcompile`` directive."""
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("sphinx", reason="needs the sphinx extra")

import gcompile as gc  # noqa: E402
from gcompile.docfigure import build_figure, draw_figure, parse_options  # noqa: E402
from gcompile.examples import apple  # noqa: E402

CONF = """
import os, sys
sys.path.insert(0, os.path.abspath("."))
extensions = ["gcompile.sphinx"]
"""

CALLABLE = '''
import networkx as nx
import gcompile as gc


def tanh_chain():
    g = nx.DiGraph(name="tanh_chain")
    g.add_node("x", op="input", shape=())
    g.add_node("w", op="input", shape=())
    g.add_node("xw", op="mul")
    g.add_node("y", op="tanh")
    g.add_edge("x", "xw", arg=0)
    g.add_edge("w", "xw", arg=1)
    g.add_edge("xw", "y", arg=0)
    g.graph.update(output="y", wrt=["x", "w"])
    return g, {"x": 0.5, "w": -1.5}


gc.defop("badsquare", 1, forward=lambda xp, x: x * x,
         vjp=[lambda f, g, x, out: f.mul(g, x)],  # wrong: d(x*x)/dx is 2x
         rules=["d x²/dx = x (wrong)"], shape=lambda s: s, replace=True)


def bad_square():
    g = nx.DiGraph(name="bad_square")
    g.add_node("x", op="input", shape=())
    g.add_node("y", op="badsquare")
    g.add_edge("x", "y", arg=0)
    return g, {"x": 1.5}
'''

INDEX = """
Diagrams
========

.. gcompile:: apple
   :show: pair
   :wrt: apple, tax
   :caption: The seed *example*

.. gcompile:: graphs/apple.json
   :output: price
   :feed: apple=100, apple_num=2, tax=1.1
   :show: backward
   :check:
   :alt: apple gradients from a JSON file

.. gcompile:: mymodel:tanh_chain
   :show: forward
   :check:
"""


def _project(tmp_path, index=INDEX):
    src = tmp_path / "src"
    (src / "graphs").mkdir(parents=True)
    (src / "conf.py").write_text(CONF)
    (src / "mymodel.py").write_text(CALLABLE)
    (src / "index.rst").write_text(index)
    gc.save(apple()[0], src / "graphs" / "apple.json")
    return src


def _build(src, out, builder="html", *extra):
    return subprocess.run([sys.executable, "-m", "sphinx", "-b", builder, *extra, str(src),
                           str(out)], capture_output=True, text=True, timeout=300)


def test_html_build_draws_references_and_does_not_redraw(tmp_path):
    src = _project(tmp_path)
    out = tmp_path / "html"
    run = _build(src, out, "html", "-W")
    assert run.returncode == 0, run.stderr
    images = sorted((out / "_images").glob("gcompile-*.svg"))
    assert [p.name.split("-")[1] for p in images] == ["backward", "forward", "pair"]
    html = (out / "index.html").read_text(encoding="utf-8")
    for image in images:
        assert f'<object data="_images/{image.name}" type="image/svg+xml"' in html
        assert image.read_bytes().lstrip().startswith(b"<?xml")
    # the bundled example is drawn exactly as the library draws it (same engine, same options)
    fig = build_figure(parse_options({"source": "apple", "show": "pair", "wrt": "apple, tax"}))
    assert (out / "_images" / f"{fig.name}.svg").read_bytes() == draw_figure(fig)
    assert "d(x*y)/dx = y = 1.1" in fig.dot and 'aria-label="The seed *example*"' not in html
    assert 'aria-label="The seed example"' in html  # the caption's text, without its markup
    assert 'aria-label="apple gradients from a JSON file"' in html
    # the JSON file's backward graph shows the gradients fed through :feed:
    back = next(p for p in images if "backward" in p.name).read_text(encoding="utf-8")
    assert "= 2.2" in back and "= 110" in back and "= 200" in back
    # second build (fresh environment: every page re-read): nothing is redrawn
    stamps = {p: p.stat().st_mtime_ns for p in images}
    (src / "index.rst").write_text(INDEX + "\nA new paragraph.\n")
    run = _build(src, out, "html", "-W", "-E")
    assert run.returncode == 0, run.stderr
    assert {p: p.stat().st_mtime_ns for p in images} == stamps
    assert sorted((out / "_images").glob("gcompile-*")) == images
    # a changed option is a new file
    (src / "index.rst").write_text(INDEX.replace("tax=1.1", "tax=1.2"))
    assert _build(src, out, "html", "-W").returncode == 0
    assert len(list((out / "_images").glob("gcompile-backward-*.svg"))) == 2


def test_check_fails_the_build_on_a_wrong_custom_op(tmp_path):
    src = _project(tmp_path, "Bad\n===\n\n.. gcompile:: mymodel:bad_square\n   :check:\n")
    run = _build(src, tmp_path / "html")
    assert run.returncode != 0
    assert re.search(r"index\.rst:4: gcompile directive: gradient check of "
                     r"'mymodel:bad_square' failed", run.stderr), run.stderr
    # without :check: the (wrong) diagram is drawn
    (src / "index.rst").write_text("Bad\n===\n\n.. gcompile:: mymodel:bad_square\n")
    assert _build(src, tmp_path / "html", "html", "-W").returncode == 0


BAD = [(".. gcompile:: graphs/missing.json", "no graph file, bundled example or module:callable "
                                           "'graphs/missing.json'"),
       (".. gcompile:: apple\n   :show: sideways", "show: unknown value 'sideways'"),
       (".. gcompile:: apple\n   :wrt: pear", "the graph has no node 'pear'"),
       (".. gcompile:: graphs/broken.json", "broken.json")]


def test_bad_graph_is_an_error_naming_document_and_line(tmp_path):
    body = "\n\n".join(directive for directive, _ in BAD)
    src = _project(tmp_path, f"Bad\n===\n\nText.\n\n{body}\n")
    (src / "graphs" / "broken.json").write_text('{"nodes": [')
    run = _build(src, tmp_path / "html", "html", "-W", "--keep-going")
    assert run.returncode != 0
    lines = [line for line in run.stderr.splitlines() if "gcompile directive" in line]
    assert len(lines) == len(BAD), run.stderr
    for (line_no, (_, message)), line in zip([(6, BAD[0]), (8, BAD[1]), (11, BAD[2]),
                                             (14, BAD[3])], lines):
        assert f"index.rst:{line_no}: ERROR: gcompile directive:" in line and message in line, line


def test_latex_parallel_and_text_builders(tmp_path):
    src = _project(tmp_path)
    out = tmp_path / "latex"
    run = _build(src, out, "latex", "-j", "2")
    assert run.returncode == 0, run.stderr
    tex = next(out.glob("*.tex")).read_text(encoding="utf-8")
    names = re.findall(r"\\sphinxincludegraphics\[[^]]*\]\{(gcompile-[^}]+)\}", tex)
    assert len(names) == 3
    system_dot = shutil.which("dot") is not None
    for name in names:
        data = (out / name).read_bytes()
        assert data.startswith(b"%PDF" if system_dot else b"\x89PNG")
    if not system_dot:
        assert "no system Graphviz `dot` for a vector PDF figure" in run.stderr
    run = _build(src, tmp_path / "text", "text", "-W")
    assert run.returncode == 0, run.stderr
    assert "[diagram: The seed example]" in (tmp_path / "text" / "index.txt").read_text()


def test_book_and_view_need_other_features(tmp_path):
    for show, needs in [("book", "style='book'"), ("view", "gc.view")]:
        spec = parse_options({"source": "apple", "show": show})
        probe = {"book": None, "view": getattr(gc, "view", None)}[show]
        try:
            fig = build_figure(spec)
        except gc.GraphError as err:
            assert needs in str(err)
            assert show != "view" or probe is None
        else:
            assert fig.name.startswith(f"gcompile-{show}-") and draw_figure(fig)


def test_import_without_sphinx_names_the_extra():
    code = ("import sys; sys.modules['sphinx'] = None\n"
            "import gcompile as gc\n"
            "try:\n    import gcompile.sphinx\n"
            "except gc.GraphError as err:\n    print(err)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "pip install 'gcompile[sphinx]'" in run.stdout, run.stderr


@pytest.mark.skipif(not hasattr(gc, "view"), reason="gc.view (the viewer, issue 13) not here")
def test_view_page_in_a_frame(tmp_path):
    src = _project(tmp_path, "View\n====\n\n.. gcompile:: apple\n   :show: view\n")
    run = _build(src, tmp_path / "html", "html", "-W")
    assert run.returncode == 0, run.stderr
    pages = list((tmp_path / "html" / "_images").glob("gcompile-view-*.html"))
    assert len(pages) == 1 and pages[0].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    html = (tmp_path / "html" / "index.html").read_text(encoding="utf-8")
    assert f'<iframe src="_images/{pages[0].name}"' in html
