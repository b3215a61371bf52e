"""Every style option a drawing function accepts is described in its docstring
(``help(gc.render)``), and every described option is accepted (issue 11 item 17)."""
import inspect

import pytest

import gcompile as gc
from gcompile.drawing.diff import passes_to_dot
from gcompile.drawing.options import OPTIONS
from gcompile.drawing.pair import pair_to_dot
from gcompile.examples import apple

# public function -> the builder whose keyword-only parameters are its **style
FUNCTIONS = {gc.to_dot: gc.to_dot, gc.render: gc.to_dot, gc.render_pair: pair_to_dot,
             gc.render_passes: passes_to_dot}


def accepted(func):
    builder = FUNCTIONS[func]
    params = inspect.signature(builder).parameters.values()
    names = {p.name for p in params if p.kind is p.KEYWORD_ONLY}
    if builder is not func:
        names |= {p.name for p in inspect.signature(func).parameters.values()
                  if p.kind is p.KEYWORD_ONLY} - {"engine", "dpi"}
    return names


@pytest.mark.parametrize("func", list(FUNCTIONS), ids=lambda f: f.__name__)
def test_every_accepted_option_is_described(func):
    doc = inspect.getdoc(func)
    names = accepted(func)
    assert names == set(func.gc_options)
    for name in names:
        kind, meaning = OPTIONS[name]
        assert f"\n{name} : {kind}\n" in doc, name
        first_words = " ".join(meaning.split()[:5])
        assert first_words in " ".join(doc.split()), name
    assert "{options}" not in doc
    for common in ("engine :", "dpi :") if func is not gc.to_dot else ():
        assert common in doc


def test_documented_options_are_accepted(tmp_path):
    g, feeds = apple()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    values = gc.evaluate(g, feeds)
    grads = gc.evaluate(bwd, values)
    style = dict(rankdir="TB", theme="dark", show_values=False, rules=False, title="t",
                 highlight="apple")
    single = gc.render(g, None, values, collapse="box", color_by="kind", **style)
    assert 'rankdir=TB' in single.source and ">t<" in single.source
    pair = gc.render_pair(g, bwd, None, values, grads, collapse=None, **style)
    assert "#0d1117" in pair.source
    passes = gc.render_passes(bwd, None, values, passes=["eliminate_dead_code"], keep=None,
                              fold_seed=False, shapes={}, rankdir="LR", theme="light",
                              show_values=True, rules=True, title="p")
    assert ">p<" in passes.source


def test_user_guide_points_at_the_docstrings():
    from pathlib import Path
    guide = (Path(__file__).resolve().parents[1] / "docs" / "index.md").read_text("utf-8")
    assert "help(gc.render)" in guide
    for name in accepted(gc.render):
        assert f"`{name}`" in guide, name
