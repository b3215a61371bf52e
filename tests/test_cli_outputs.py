"""What the `gcompile` command writes (issue 11 items 9, 10, 11, 26): every output is checked
before anything is written, an output set is written whole or not at all, a replaced file is
said, an output that is an input is always refused, and a closed stdout pipe ends quietly."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gcompile as gc
import gcompile.cli.commands as commands

from test_cli import ROOT, assert_one_line_error, run_inproc


def _files(folder: Path):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# ----------------------------------------------------------- item 9: closed stdout
@pytest.mark.parametrize("args", [["eval", "two_layer_net"], ["example", "two_layer_net", "-o", "o",
                                                              "--format", "dot"],
                                  ["compare", "apple"], ["explain", "apple_orange"]])
def test_a_closed_stdout_pipe_ends_quietly(tmp_path, args):
    """`gcompile eval two_layer_net | head -3`: the reader goes away; no 'error:' line."""
    read, write = os.pipe()
    os.close(read)                          # the reader is gone before the command writes
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        proc = subprocess.run([sys.executable, "-m", "gcompile", *args], stdout=write,
                              stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env, timeout=120)
    finally:
        os.close(write)
    assert proc.returncode in (0, 141), proc.stderr
    assert proc.stderr == ""


def test_head_reads_the_first_lines(tmp_path):
    """The real pipeline: the first lines arrive, the command exits without a message."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = f"'{sys.executable}' -m gcompile eval two_layer_net | head -3; exit ${{PIPESTATUS[0]}}"
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)
    assert proc.returncode in (0, 141) and proc.stderr == ""
    assert len(proc.stdout.splitlines()) == 3 and proc.stdout.startswith("  node")


# ------------------------------------------------ item 10: check first, all or none
def test_pdf_without_system_dot_writes_nothing(tmp_path, capsys, monkeypatch):
    """`example apple -o d --format pdf` used to write both JSON files, then fail on the PDF."""
    monkeypatch.setenv("GCOMPILE_ENGINE", "graphviz-pure")      # the engine that writes no PDF
    proc = run_inproc(["example", "apple", "-o", "d", "--format", "pdf"], tmp_path, capsys,
                      monkeypatch)
    assert_one_line_error(proc, "PDF needs system Graphviz", "apple_forward.pdf")
    assert proc.stdout == ""                 # checked before computing or printing anything
    assert _files(tmp_path) == []
    proc = run_inproc(["render", "apple", "-o", "x.pdf"], tmp_path, capsys, monkeypatch)
    assert_one_line_error(proc, "PDF needs system Graphviz")
    assert _files(tmp_path) == []


def test_a_failure_while_writing_leaves_no_file_behind(tmp_path, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise gc.GraphError("the pair diagram failed")

    monkeypatch.setattr(commands, "render_pair", broken)
    proc = run_inproc(["example", "apple", "-o", "new/dir", "--format", "dot"], tmp_path, capsys,
                      monkeypatch)
    assert_one_line_error(proc, "the pair diagram failed")
    assert _files(tmp_path) == []            # no file, no temporary file, no directory
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "apple_backward.json").write_text("earlier", encoding="utf-8")
    proc = run_inproc(["example", "apple", "-o", "old", "--format", "dot"], tmp_path, capsys,
                      monkeypatch)
    assert proc.returncode == 2
    assert _files(tmp_path / "old") == ["apple_backward.json"]
    assert (tmp_path / "old" / "apple_backward.json").read_text(encoding="utf-8") == "earlier"


@pytest.mark.parametrize("args, fragment", [
    (["grad", "apple", "-o", "a_file/sub"], "'a_file' is a file"),
    (["example", "apple", "-o", "o", "--format", "dot"], "it is a directory"),
    (["render", "apple", "-o", "o/apple_forward.dot"], "it is a directory"),
    (["compare", "apple", "-o", "a_file/r.md"], "'a_file' is a file"),
    (["step-through", "apple", "-o", "a_file/p.html"], "'a_file' is a file"),
])
def test_unwritable_outputs_are_refused_before_anything_is_written(tmp_path, capsys, monkeypatch,
                                                                   args, fragment):
    (tmp_path / "a_file").write_text("x", encoding="utf-8")
    (tmp_path / "o" / "apple_forward.dot").mkdir(parents=True)   # a directory where a file goes
    before = _files(tmp_path)
    proc = run_inproc(args, tmp_path, capsys, monkeypatch)
    assert_one_line_error(proc, fragment)
    assert proc.stdout == "" and _files(tmp_path) == before


# ------------------------------------------------------------- item 11: overwriting
def test_replacing_a_file_made_by_an_earlier_command_is_said(tmp_path, capsys, monkeypatch):
    proc = run_inproc(["example", "apple", "-o", "out", "--format", "dot"], tmp_path, capsys,
                      monkeypatch)
    assert "wrote out/apple_backward.json\n" in proc.stdout and "replaced" not in proc.stdout
    proc = run_inproc(["grad", "out/apple.json", "--wrt", "tax", "-o", "out", "--format", "dot"],
                      tmp_path, capsys, monkeypatch)
    assert proc.returncode == 0, proc.stderr
    for name in ("apple_backward.json", "apple_forward.dot", "apple_backward.dot",
                 "apple_pair.dot"):
        assert f"wrote out/{name} (replaced an existing file)\n" in proc.stdout
    assert gc.load(tmp_path / "out" / "apple_backward.json").graph["wrt"] == ["tax"]
    assert not any(".gcompile-tmp" in f for f in _files(tmp_path))


# -------------------------------------------------- item 26: outputs that are inputs
@pytest.fixture
def graph_files(tmp_path):
    g, feeds = gc.examples.EXAMPLES["apple"]()
    for name, value in feeds.items():
        g.nodes[name]["value"] = value
    gc.save(g, tmp_path / "g.json")
    (tmp_path / "g.dot").write_text(gc.to_dot(g).source, encoding="utf-8")
    (tmp_path / "g.html").write_text("<p>my page</p>", encoding="utf-8")
    (tmp_path / "link.json").symlink_to(tmp_path / "g.json")
    np.save(tmp_path / "tax.npy", np.array(1.2))
    (tmp_path / "o").mkdir()
    os.link(tmp_path / "tax.npy", tmp_path / "o" / "apple_pair.svg")   # a hard link to an input
    return tmp_path


SAME = [
    ["compare", "g.json", "-o", "g.json"],
    ["compare", "g.json", "-o", "./g.json"],
    ["compare", "link.json", "-o", "g.json"],
    ["compare", "g.json", "-o", "link.json"],
    ["compare", "g.json", "-o", "o/../g.json", "--format", "json"],
    ["render", "g.dot", "-o", "g.dot"],
    ["render", "g.json", "-o", "x.svg", "--feed", "tax=@x.svg"],
    ["step-through", "g.html", "-o", "g.html"],
    ["step-through", "g.json", "-o", "./g.html", "--feed", "tax=@g.html"],
    ["grad", "g.json", "-o", ".", "--feed", "tax=@g_forward.svg"],
    ["example", "apple", "-o", "o", "--feed", "tax=@tax.npy"],    # o/apple_pair.svg is tax.npy
    ["example", "apple", "-o", ".", "--feed", "tax=@apple.json"],
]


@pytest.mark.parametrize("args", SAME, ids=[" ".join(a) for a in SAME])
def test_an_output_that_is_an_input_is_always_refused(graph_files, capsys, monkeypatch, args):
    for name in ("x.svg", "g_forward.svg", "apple.json"):
        (graph_files / name).write_text("input", encoding="utf-8")
    before = {f: (graph_files / f).read_bytes() for f in _files(graph_files)
              if (graph_files / f).is_file()}
    proc = run_inproc(args, graph_files, capsys, monkeypatch)
    assert_one_line_error(proc, "is the input", "refusing to overwrite")
    after = {f: (graph_files / f).read_bytes() for f in _files(graph_files)
             if (graph_files / f).is_file()}
    assert after == before
