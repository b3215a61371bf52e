"""The `gcompile` command: every subcommand through its real entry points (`python -m gcompile` and
the console script, in subprocesses), and every bad argument or bad file: exit status 2 and one
line on stderr, never a traceback.  The long table of bad inputs runs in-process through
`gcompile.cli.main` (a subprocess costs about a second of imports); a sample of it also runs
through the real entry point."""
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import gcompile as gc
from gcompile.cli import main

ROOT = Path(__file__).resolve().parents[1]
SEED = {"price": 220.0, "apple": 2.2, "apple_num": 110.0, "tax": 200.0}  # the seed text's numbers


def run(*args, cwd=None, module=True):
    """Run `python -m gcompile ARGS` (or the console script); return the CompletedProcess."""
    if module:
        cmd = [sys.executable, "-m", "gcompile", *map(str, args)]
    else:
        cmd = [str(Path(sys.executable).with_name("gcompile")), *map(str, args)]
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="100")
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def run_inproc(args, cwd, capsys, monkeypatch):
    """`gcompile.cli.main(args)` in this process; the same result shape as `run`."""
    monkeypatch.chdir(cwd)
    capsys.readouterr()
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return SimpleNamespace(returncode=status, stdout=out, stderr=err)


def table_rows(stdout):
    """{first cell: other cells} for each table row printed by the command."""
    rows = {}
    for line in stdout.splitlines():
        cells = line.split()
        if line.startswith("  ") and cells and not set(cells[0]) <= {"-"}:
            rows[cells[0]] = cells[1:]
    return rows


def assert_one_line_error(proc, *fragments):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("gcompile: error: "), lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.fixture(scope="module")
def apple_out(tmp_path_factory):
    """`gcompile example apple -o DIR`, the README's main-job command, run once for the module."""
    out = tmp_path_factory.mktemp("example") / "out"
    proc = run("example", "apple", "-o", out)
    assert proc.returncode == 0, proc.stderr
    return out, proc


# ------------------------------------------------------------------ example
def test_example_apple_prints_the_seed_numbers(apple_out):
    out, proc = apple_out
    assert proc.stdout.splitlines()[0] == "price = 220"
    rows = table_rows(proc.stdout)
    got = {w: float(rows[w][-1]) for w in ("apple", "apple_num", "tax")}
    assert got == pytest.approx({w: SEED[w] for w in got}, rel=1e-12)
    assert proc.stderr == ""


def test_example_apple_writes_graph_json_and_three_images(apple_out):
    out, proc = apple_out
    names = ["apple.json", "apple_backward.json", "apple_forward.svg", "apple_backward.svg",
             "apple_pair.svg"]
    for name in names:
        assert (out / name).is_file(), name
        assert f"wrote {out / name}" in proc.stdout
    for name in names[2:]:
        assert "<svg" in (out / name).read_text(encoding="utf-8")
    fwd = gc.load(out / "apple.json")
    values = gc.evaluate(fwd, {})   # the example's feeds were saved as the inputs' values
    assert float(values["price"]) == pytest.approx(SEED["price"], rel=1e-12)
    bwd = gc.load(out / "apple_backward.json")
    back = gc.evaluate(bwd, values)
    assert float(back[bwd.graph["grads"]["tax"]]) == pytest.approx(SEED["tax"], rel=1e-12)


def test_cli_doc_shows_the_real_output(apple_out):
    """docs/cli.md's transcript of the main-job command is what the command prints."""
    out, proc = apple_out
    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    shown = doc.split("$ gcompile example apple -o out\n", 1)[1].split("```", 1)[0]
    assert proc.stdout.replace(str(out), "out") == shown


def test_an_internal_error_is_one_line_with_status_1(tmp_path, capsys, monkeypatch):
    import gcompile.cli_commands as commands

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(commands, "evaluate", broken)
    proc = run_inproc(["eval", "apple"], tmp_path, capsys, monkeypatch)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "gcompile: error: internal error: RuntimeError: boom (run again with --debug for the "
        "traceback, and please report it)"]


def test_example_lists_the_bundled_examples():
    proc = run("example")
    assert proc.returncode == 0, proc.stderr
    rows = table_rows(proc.stdout)
    assert {"apple", "apple_orange", "two_layer_net"} <= set(rows)
    assert rows["apple"][:2] == ["5", "price"]


def test_example_two_layer_net_in_dot_format(tmp_path):
    proc = run("example", "two_layer_net", "-o", tmp_path, "--format", "dot")
    assert proc.returncode == 0, proc.stderr
    g, feeds = gc.examples.EXAMPLES["two_layer_net"]()
    expected = gc.gradients(g, feeds, "loss", g.graph["wrt"])
    assert float(proc.stdout.splitlines()[0].split(" = ")[1]) == pytest.approx(
        float(gc.evaluate(g, feeds)["loss"]), rel=1e-10)
    rows = table_rows(proc.stdout)
    assert rows["W1"][:2] == ["(4,", "5)"] and rows["b2"][0] == "(3,)"
    assert (tmp_path / "two_layer_net_pair.dot").read_text(encoding="utf-8").lstrip().startswith(
        ("digraph", "strict digraph"))
    back_graph = gc.load(tmp_path / "two_layer_net_backward.json")
    back = gc.evaluate(back_graph, gc.evaluate(g, feeds))
    for w in g.graph["wrt"]:
        np.testing.assert_allclose(back[back_graph.graph["grads"][w]], expected[w], rtol=1e-12)


# --------------------------------------------------------------------- grad
def test_grad_on_the_written_file_with_wrt_and_feed(apple_out, tmp_path):
    out, _ = apple_out
    proc = run("grad", out / "apple.json", "--wrt", "tax,apple", "--feed", "tax=1.08",
               "-o", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "price = 216"
    rows = table_rows(proc.stdout)
    assert list(rows)[1:] == ["tax", "apple"]     # header first, then wrt order
    assert float(rows["tax"][-1]) == pytest.approx(200.0)
    assert float(rows["apple"][-1]) == pytest.approx(2.16)
    for suffix in ("_backward.json", "_forward.svg", "_backward.svg", "_pair.svg"):
        assert (tmp_path / f"apple{suffix}").is_file()


@pytest.fixture
def array_graph(tmp_path):
    """loss = sum(tanh(x @ W)) saved as JSON, W saved as .npy."""
    g = gc.trace(lambda x, W: gc.ops.sum(gc.ops.tanh(x @ W), name="loss"), "x", "W")
    gc.save(g, tmp_path / "net.json")
    W = np.array([[0.5, -1.0, 0.25], [1.5, 0.0, -0.5]])
    np.save(tmp_path / "W.npy", W)
    return tmp_path, W


def test_grad_with_npy_and_json_array_feeds(array_graph):
    tmp_path, W = array_graph
    x = np.array([[1.0, 2.0]])
    proc = run("grad", "net.json", "--wrt", "W", "--feed", "W=@W.npy", "--feed", "x=[[1.0, 2.0]]",
               "-o", "imgs", "--format", "dot", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.splitlines()[0].split(" = ")[1]) == pytest.approx(
        np.tanh(x @ W).sum(), rel=1e-10)
    expected = x.T @ (1 - np.tanh(x @ W) ** 2)        # the analytic gradient
    bwd = gc.load(tmp_path / "imgs" / "net_backward.json")
    back = gc.evaluate(bwd, gc.evaluate(gc.load(tmp_path / "net.json"), {"x": x, "W": W}))
    np.testing.assert_allclose(back[bwd.graph["grads"]["W"]], expected, rtol=1e-12)
    assert "(2, 3)" in table_rows(proc.stdout)["W"][0] + " ".join(table_rows(proc.stdout)["W"])
    for kind in ("forward", "backward", "pair"):
        assert (tmp_path / "imgs" / f"net_{kind}.dot").is_file()


# --------------------------------------------------------------------- eval
def test_eval_prints_every_node_or_the_chosen_ones():
    proc = run("eval", "apple_orange")
    assert proc.returncode == 0, proc.stderr
    rows = table_rows(proc.stdout)
    assert rows["all_price"] == ["add", "()", "650"] and rows["price"] == ["mul", "()", "715"]
    assert len(rows) == 1 + 9
    proc = run("eval", "apple", "--feed", "apple_num=3", "--output", "price")
    assert table_rows(proc.stdout) == {"node": ["op", "shape", "value"], "price": ["mul", "()", "330"]}


def test_eval_on_a_file_with_array_feeds(array_graph):
    tmp_path, W = array_graph
    proc = run("eval", tmp_path / "net.json", "--feed", f"W=@{tmp_path / 'W.npy'}",
               "--feed", "x=[[0.0, 1.0]]", "--output", "loss")
    assert proc.returncode == 0, proc.stderr
    assert float(table_rows(proc.stdout)["loss"][-1]) == pytest.approx(np.tanh(W[1]).sum())


def test_graphml_files_work_like_json(tmp_path, capsys, monkeypatch):
    g, feeds = gc.examples.EXAMPLES["apple_orange"]()
    for name, value in feeds.items():
        g.nodes[name]["value"] = value
    gc.save(g, tmp_path / "fruit.graphml")
    proc = run_inproc(["grad", "fruit.graphml", "--wrt", "orange,tax", "-o", "o", "--format", "dot"],
                      tmp_path, capsys, monkeypatch)
    assert proc.returncode == 0, proc.stderr
    rows = table_rows(proc.stdout)
    assert proc.stdout.startswith("price = 715")
    assert float(rows["orange"][-1]) == pytest.approx(3.3) and float(rows["tax"][-1]) == 650
    assert (tmp_path / "o" / "fruit_pair.dot").is_file()


# ------------------------------------------------------------------- render
def test_render_forward_and_backward_files(apple_out, tmp_path, capsys, monkeypatch):
    out, _ = apple_out
    target = tmp_path / "sub" / "fwd.svg"
    proc = run("render", "apple", "-o", target)
    assert proc.returncode == 0, proc.stderr
    assert "<svg" in target.read_text(encoding="utf-8") and f"wrote {target}" in proc.stdout
    proc = run_inproc(["render", out / "apple_backward.json", "-o", "bwd.dot"], tmp_path, capsys,
                      monkeypatch)
    assert proc.returncode == 0, proc.stderr
    assert "dtax" in (tmp_path / "bwd.dot").read_text(encoding="utf-8")
    for args in (["--values"], ["--feed", "apple_num=3"]):
        proc = run_inproc(["render", "apple", *args, "-o", "v.dot"], tmp_path, capsys, monkeypatch)
        assert proc.returncode == 0, proc.stderr
        text = (tmp_path / "v.dot").read_text(encoding="utf-8")
        assert ("220" if args == ["--values"] else "330") in text


# ------------------------------------------------------- help, version, entry
@pytest.mark.parametrize("command", ["grad", "render", "eval", "example"])
def test_every_subcommand_has_help_with_an_example(command, tmp_path, capsys, monkeypatch):
    proc = run_inproc([command, "--help"], tmp_path, capsys, monkeypatch)
    assert proc.returncode == 0
    assert proc.stdout.startswith(f"usage: gcompile {command}")
    assert "examples:" in proc.stdout and f"gcompile {command} " in proc.stdout.split("examples:")[1]


def test_top_level_help_and_version():
    proc = run("grad", "--help")
    assert proc.returncode == 0 and "examples:" in proc.stdout
    proc = run("--help")
    assert proc.returncode == 0 and "{grad,render,eval,example}" not in proc.stdout
    assert all(c in proc.stdout for c in ("grad", "render", "eval", "example"))
    assert run("--version").stdout.strip() == f"gcompile {gc.__version__}"


def test_console_script_is_the_same_command():
    script = Path(sys.executable).with_name("gcompile")
    if not script.exists():
        pytest.skip("gcompile console script not installed next to this python")
    proc = run("eval", "apple", "--output", "price", module=False)
    assert proc.returncode == 0 and table_rows(proc.stdout)["price"][-1] == "220"


# ------------------------------------------------------------- bad input
def _bad_files(tmp):
    (tmp / "bad.json").write_text('{"directed": true, "nodes": [', encoding="utf-8")
    (tmp / "bad.npy").write_text("this is not an array\n", encoding="utf-8")
    (tmp / "strings.npy").write_bytes(b"")
    np.save(tmp / "strings.npy", np.array(["a", "b"]))
    (tmp / "a_file").write_text("x", encoding="utf-8")
    g = gc.trace(lambda x: x * 2.0, "x")          # an input without value: needs a feed
    gc.save(g, tmp / "needs_feed.json")


BAD = [
    # (arguments, fragments the one line must contain)
    (["grad", "missing.json"], ["no such file", "missing.json"]),
    (["eval", "bad.json"], ["bad.json"]),
    (["grad", "apple", "--wrt", "apples"], ["--wrt", "'apples'", "did you mean"]),
    (["grad", "apple", "--output", "cost"], ["--output", "'cost'"]),
    (["eval", "apple", "--feed", "pear=1"], ["--feed pear", "'pear'"]),
    (["eval", "apple", "--feed", "apple_price=1"], ["only 'input' nodes are fed"]),
    (["eval", "apple", "--feed", "tax"], ["expected NAME=VALUE"]),
    (["eval", "apple", "--feed", "=1"], ["expected NAME=VALUE"]),
    (["eval", "apple", "--feed", "tax=abc"], ["'abc' is not a number"]),
    (["eval", "apple", "--feed", "tax=[1, [2]]"], ["not rectangular"]),
    (["eval", "apple", "--feed", "tax=@bad.npy"], ["bad.npy", "cannot read"]),
    (["eval", "apple", "--feed", "tax=@nothere.npy"], ["no such file", "nothere.npy"]),
    (["eval", "apple", "--feed", "tax=@strings.npy"], ["strings.npy", "not numbers"]),
    (["eval", "apple", "--feed", "tax=[1.0, 2.0]"], ["'tax'", "shape"]),
    (["eval", "needs_feed.json"], ["missing feed", "'x'"]),
    (["example", "pear"], ["unknown example 'pear'"]),
    (["example", "appel"], ["did you mean 'apple'"]),
    (["grad", "apple", "--format", "gif"], ["invalid choice: 'gif'"]),
    (["render", "apple", "-o", "apple.gif"], ["'.gif'", ".svg"]),
    (["render", "apple"], ["-o"]),
    (["grad", "apple", "-o", "a_file"], ["a_file", "not a directory"]),
    (["grad", "apple", "--wrt", ","], ["--wrt"]),
    (["grad", "needs_feed.json", "--feed", "x=[1, 2]"], ["'x'", "integer values", "x=2.0"]),
    (["eval", "a_file"], ["a_file"]),
    (["eval", "."], ["directory"]),
    ([], ["COMMAND"]),
    (["frobnicate"], ["invalid choice: 'frobnicate'"]),
    (["eval", "apple", "--bogus"], ["--bogus"]),
]


@pytest.mark.parametrize("args, fragments", BAD, ids=[" ".join(a) or "(none)" for a, _ in BAD])
def test_bad_arguments_and_files_exit_2_with_one_line(tmp_path, capsys, monkeypatch, args, fragments):
    _bad_files(tmp_path)
    assert_one_line_error(run_inproc(args, tmp_path, capsys, monkeypatch), *fragments)


@pytest.mark.parametrize("index", [0, 1, 6, 10, 17])
def test_bad_input_through_the_real_entry_point(tmp_path, index):
    _bad_files(tmp_path)
    args, fragments = BAD[index]
    assert_one_line_error(run(*args, cwd=tmp_path), *fragments)


def test_debug_shows_the_traceback(tmp_path):
    proc = run("eval", "apple", "--feed", "tax=abc", "--debug", cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("gcompile: error: ")


def test_a_cyclic_graph_file_is_a_one_line_error(tmp_path):
    data = {"directed": True, "multigraph": False, "graph": {},
            "nodes": [{"id": "a", "op": "exp"}, {"id": "b", "op": "exp"}],
            "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "a"}]}
    (tmp_path / "cycle.json").write_text(json.dumps(data), encoding="utf-8")
    assert_one_line_error(run("eval", "cycle.json", cwd=tmp_path), "cycle")
