"""Rich display in Jupyter: the ``_repr_*`` methods and the executed example notebook."""
import copy
from pathlib import Path

import numpy as np
import pytest

import gcompile as gc
from gcompile.examples import apple, apple_orange

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "apple.ipynb"


def test_report_markdown_is_its_tables():
    g, feeds = apple()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    report = gc.compare(g, bwd, gc.evaluate(g, feeds))
    assert report._repr_markdown_() == report.to_markdown()
    assert "| nodes | 5 | 9 |" in report._repr_markdown_()


def test_explanation_markdown_sums_paths():
    g = gc.trace(lambda x: gc.ops.add(gc.ops.sin(x, name="s"), gc.ops.exp(x, name="e"), name="y"),
                 "x")
    md = gc.explain(g, {"x": 0.0}, "y", ["x"])._repr_markdown_()
    # y = sin x + exp x at 0: two paths, cos 0 = 1 and exp 0 = 1, summing to 2
    assert md.splitlines()[0] == "**∂y / ∂x = 2** (backward pass)"
    assert "| y ← s ← x | 1 × 1 × 1 | 1 |" in md and "| y ← e ← x | 1 × 1 × 1 | 1 |" in md
    assert md.endswith("sum over 2 paths: 2")


def test_pass_log_markdown_lists_changes():
    g, _ = apple_orange()
    _, log = gc.optimize(gc.grad(g, "price", g.graph["wrt"]))
    md = log._repr_markdown_()
    assert md.startswith(f"**passes**: {log.before} nodes → {log.after} nodes")
    changes = sum(len(r[k]) for r in log.records for k in ("folded", "aliased", "merged", "removed"))
    assert md.count("\n| ") - 1 - len(log.records) - 1 == changes
    assert "| eliminate_dead_code | removed | dprice |  |" in md


def test_diagram_html_is_inline_svg():
    g, feeds = apple()
    html = gc.render(g, values=gc.evaluate(g, feeds), engine="graphviz-pure")._repr_html_()
    assert html.startswith("<div") and "<svg" in html and "<?xml" not in html
    assert "= 220" in html


def _outputs(nb):
    """Per code cell: its outputs' data by MIME type (text/plain of HTML objects has an address)."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            data = {}
            for out in cell.outputs:
                data.update(out.get("data", {}))
            if "text/html" in data:
                data.pop("text/plain")
            cells.append(data)
    return cells


def test_example_notebook_runs_and_shows_results_richly():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    committed = nbformat.read(NOTEBOOK, as_version=4)
    nb = copy.deepcopy(committed)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    out = _outputs(nb)
    assert eval(out[0]["text/plain"]) == {"apple": 100.0, "apple_num": 2.0, "tax": 1.1}
    assert out[1]["text/plain"] == "220.0"
    # the book's numbers (seed, chapter 5): d apple 2.2, d apple_num 110, d tax 200
    grads = eval(out[3]["text/plain"])
    np.testing.assert_allclose([grads["apple"], grads["apple_num"], grads["tax"]], [2.2, 110, 200])
    for cell, needles in [(out[2], ["= 220"]), (out[4], ["= 2.2", "= 110", "= 200"])]:
        assert cell["image/svg+xml"].lstrip().startswith("<?xml")
        assert "<svg" in cell["text/html"]
        assert all(n in cell["image/svg+xml"] for n in needles)
    # the book figure: every forward edge carries its gradient beneath (2.2, 110, 1.1, 200)
    book = out[5]["image/svg+xml"]
    assert all(f">{n}<" in book for n in ["2.2", "110", "1.1", "200"])
    assert out[6]["text/plain"] == "True"
    assert "**∂price / ∂tax = 200** (backward pass)" in out[7]["text/markdown"]
    assert "| nodes | 5 | 9 |" in out[8]["text/markdown"]
    assert out[9]["text/markdown"].startswith("**passes**: 9 nodes → 6 nodes")
    assert out[10]["text/html"].startswith("<iframe srcdoc=")  # the viewer, self-contained
    # the committed notebook shows what it computes today (text outputs; the SVGs are
    # the renderer's business and are checked by the gallery)
    fresh = [{k: v for k, v in c.items() if k.startswith("text/") and k != "text/html"}
             for c in out]
    kept = [{k: v for k, v in c.items() if k.startswith("text/") and k != "text/html"}
            for c in _outputs(committed)]
    assert kept == fresh, "examples/apple.ipynb is out of date: re-run it and save"
