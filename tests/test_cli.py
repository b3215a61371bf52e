"""The `gcompile` command: every subcommand through its real entry points (`python -m gcompile` and
the console script, in subprocesses), and every bad argument or bad file: exit status 2 and one
line on stderr, never a traceback.  The long table of bad inputs runs in-process through
`gcompile.cli.main` (a subprocess costs about a second of imports); a sample of it also runs
through the real entry point."""
import json
import os
import re
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
    import gcompile.cli.commands as commands

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
def test_eval_prints_every_node_or_the_chosen_ones(tmp_path, capsys, monkeypatch):
    proc = run("eval", "apple_orange")
    assert proc.returncode == 0, proc.stderr
    rows = table_rows(proc.stdout)
    assert rows["all_price"] == ["add", "()", "650"] and rows["price"] == ["mul", "()", "715"]
    assert len(rows) == 1 + 9
    proc = run_inproc(["eval", "apple", "--feed", "apple_num=3", "--output", "price"], tmp_path,
                      capsys, monkeypatch)
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


# ------------------------------------------- compare, explain, passes, step-through
@pytest.fixture(scope="module")
def teach_runs(tmp_path_factory):
    """The teaching commands on the seed example through the real entry point, run once each."""
    out = tmp_path_factory.mktemp("teach")
    procs = {"compare": run("compare", "apple"),
             "explain": run("explain", "apple"),
             "passes": run("grad", "apple", "--passes-log", "--optimize", "-o", out / "opt")}
    for name, proc in procs.items():
        assert proc.returncode == 0 and proc.stderr == "", (name, proc.stderr)
    return out, procs


def doc_block(command):
    """The output docs/cli.md shows under `$ COMMAND` (up to the end of its code block)."""
    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    return doc.split(f"$ {command}\n", 1)[1].split("```", 1)[0]


def test_compare_apple_counts_by_hand(teach_runs):
    """Forward: apple, apple_num, tax, apple_price = apple*apple_num, price = apple_price*tax.
    Backward (teaching form): seed 1, dprice, dapple_price, dtax, dapple, dapple_num and the four
    forward values apple, apple_num, tax, apple_price it reads (8 bytes each, float64 scalars)."""
    text = teach_runs[1]["compare"].stdout
    top = text.split("\n\n")[0].splitlines()[2:]             # the forward/backward table
    assert [re.split(r"\s{2,}", line.strip()) for line in top] == [
        ["nodes", "5", "9"], ["edges", "4", "8"], ["depth", "2", "2"],
        ["op const", "0", "1"], ["op input", "3", "4"], ["op mul", "2", "4"],
        ["edges into mul", "4", "8"], ["role forward_value", "4"],
        ["role local_derivative", "4"], ["role seed", "1"]]
    assert "residuals (forward values the backward pass reads): 4, 32 bytes" in text
    assert "transpose property: 4/4 active edges have gradient flowing back" in text
    assert doc_block("gcompile compare apple") == text


def test_compare_json_and_markdown_files(tmp_path, capsys, monkeypatch):
    proc = run_inproc(["compare", "apple", "-o", "r/report.json"], tmp_path, capsys, monkeypatch)
    assert proc.returncode == 0 and proc.stdout == "wrote r/report.json\n", proc.stderr
    report = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    assert report["forward"]["ops"] == {"input": 3, "mul": 2}
    assert report["backward"]["ops"] == {"const": 1, "input": 4, "mul": 4}
    assert report["backward"]["roles"] == {"forward_value": 4, "local_derivative": 4, "seed": 1}
    assert report["correspondence"]["apple_price"] == ["dapple", "dapple_num"]
    assert report["correspondence"]["price"] == ["dprice", "dapple_price", "dtax"]
    assert report["residual_bytes"] == 32 and report["transpose_ok"] is True
    proc = run_inproc(["compare", "apple", "--wrt", "tax", "--format", "markdown"], tmp_path, capsys,
                      monkeypatch)
    assert proc.returncode == 0, proc.stderr
    assert "| nodes | 5 | 3 |" in proc.stdout and "| tax -> price | ok | dtax |" in proc.stdout
    proc = run_inproc(["compare", "apple", "-o", "r.md", "--format", "json"], tmp_path, capsys,
                      monkeypatch)   # an explicit --format beats the suffix
    assert json.loads((tmp_path / "r.md").read_text(encoding="utf-8"))["backward"]["nodes"] == 9


def test_compare_without_values_counts_bytes_from_declared_shapes(tmp_path, capsys, monkeypatch):
    g = gc.trace(lambda x, W: gc.ops.sum(gc.ops.tanh(x @ W), name="loss"), "x", "W")
    gc.save(g, tmp_path / "net.json")
    proc = run_inproc(["compare", "net.json"], tmp_path, capsys, monkeypatch)
    assert proc.returncode == 0, proc.stderr
    # without shapes the seed is ones_like(loss), so loss is read too
    assert "residuals (forward values the backward pass reads): 4, ? bytes" in proc.stdout
    proc = run_inproc(["compare", "net.json", "--feed", "x=[[1.0, 2.0]]", "--feed",
                       "W=[[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]", "--format", "json"],
                      tmp_path, capsys, monkeypatch)              # fed: the graph is evaluated
    residuals = {r["node"]: r["bytes"] for r in json.loads(proc.stdout)["residuals"]}
    assert residuals == {"x": 1 * 2 * 8, "W": 2 * 3 * 8, "tanh": 1 * 3 * 8}
    g.nodes["x"]["shape"], g.nodes["W"]["shape"] = (4, 2), (2, 3)
    gc.save(g, tmp_path / "net.json")
    proc = run_inproc(["compare", "net.json", "--format", "json"], tmp_path, capsys, monkeypatch)
    residuals = {r["node"]: r["bytes"] for r in json.loads(proc.stdout)["residuals"]}
    assert residuals == {"x": 4 * 2 * 8, "W": 2 * 3 * 8, "tanh": 4 * 3 * 8}


def test_explain_apple_is_1_times_1_1_times_2(teach_runs):
    out = teach_runs[1]["explain"].stdout
    assert out.splitlines()[:2] == ["d price / d apple = 2.2",
                                    "  path price <- apple_price <- apple: 1 * 1.1 * 2 = 2.2"]
    assert "  path price <- apple_price <- apple_num: 1 * 1.1 * 100 = 110" in out
    assert "  path price <- tax: 1 * 200 = 200" in out
    assert doc_block("gcompile explain apple --wrt apple") == "\n".join(out.splitlines()[:6]) + "\n"


def test_explain_with_feeds_and_two_paths(tmp_path, capsys, monkeypatch):
    proc = run_inproc(["explain", "apple", "--wrt", "apple", "--feed", "tax=1.08"], tmp_path, capsys,
                      monkeypatch)
    assert "path price <- apple_price <- apple: 1 * 1.08 * 2 = 2.16" in proc.stdout
    g = gc.trace(lambda x: gc.ops.add(x * x, gc.ops.exp(x), name="y"), "x")
    g.nodes["x"]["value"] = 0.5                        # dy/dx = 2x + exp(x) = 1 + 1.64872
    gc.save(g, tmp_path / "diamond.json")
    proc = run_inproc(["explain", "diamond.json"], tmp_path, capsys, monkeypatch)
    assert proc.returncode == 0, proc.stderr
    assert f"sum over 2 paths: 1 + {np.exp(0.5):.6g} = {1 + np.exp(0.5):.6g}" in proc.stdout
    proc = run_inproc(["explain", "diamond.json", "--max-paths", "1"], tmp_path, capsys, monkeypatch)
    assert "partial sum" in proc.stdout and proc.stdout.count("  path ") == 1


def test_grad_passes_log_and_optimize(teach_runs, tmp_path, capsys, monkeypatch):
    out, procs = teach_runs
    text = procs["passes"].stdout
    assert "passes: 9 nodes -> 6 nodes" in text
    assert "    dtax          replaced by its operand apple_price" in text
    assert "    dprice        removed: no gradient needs it" in text
    assert {w: float(table_rows(text)[w][-1]) for w in ("apple", "apple_num", "tax")} == \
        pytest.approx({w: SEED[w] for w in ("apple", "apple_num", "tax")}, rel=1e-12)
    small = gc.load(out / "opt" / "apple_backward.json")       # --optimize: the simplified graph
    assert small.number_of_nodes() == 6 and small.graph["pass_log"]["after"] == 6
    g, feeds = gc.examples.EXAMPLES["apple"]()
    back = gc.evaluate(small, gc.evaluate(g, feeds))
    assert float(back[small.graph["grads"]["apple"]]) == pytest.approx(SEED["apple"], rel=1e-12)
    assert doc_block("gcompile grad apple --passes-log").split("\n\nwrote")[0] == \
        text.split("\n\nwrote")[0]
    # --passes-log alone prints the log but writes the teaching form
    proc = run_inproc(["grad", "apple", "--passes-log", "-o", "o", "--format", "dot"], tmp_path,
                      capsys, monkeypatch)
    assert proc.returncode == 0 and "passes: 9 nodes -> 6 nodes" in proc.stdout
    assert gc.load(tmp_path / "o" / "apple_backward.json").number_of_nodes() == 9
    proc = run_inproc(["grad", "apple", "--optimize", "-o", "o", "--format", "dot"], tmp_path,
                      capsys, monkeypatch)
    assert "passes: 9 nodes -> 6 nodes (written optimized" in proc.stdout
    assert "replaced by" not in proc.stdout


def test_step_through_page(tmp_path, capsys, monkeypatch):
    proc = run_inproc(["step-through", "apple", "-o", "pages/apple.html"], tmp_path, capsys,
                      monkeypatch)
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "pages" / "apple.html").read_text(encoding="utf-8")
    # 5 forward nodes, then the 5 non-leaf backward ops, then the gradients
    assert page.count('class="frame"') == 11 and "wrote pages/apple.html (11 frames" in proc.stdout
    assert "d price/d apple = 2.2" in page and "d price/d tax = 200" in page
    proc = run_inproc(["step-through", "apple", "--wrt", "tax", "--feed", "apple_num=3", "-o",
                       "tax.html"], tmp_path, capsys, monkeypatch)
    assert "d price/d tax = 300" in (tmp_path / "tax.html").read_text(encoding="utf-8")


# ------------------------------------------------------- help, version, entry
@pytest.mark.parametrize("command", ["grad", "render", "eval", "example", "compare", "explain",
                                     "step-through"])
def test_every_subcommand_has_help_with_an_example(command, tmp_path, capsys, monkeypatch):
    proc = run_inproc([command, "--help"], tmp_path, capsys, monkeypatch)
    assert proc.returncode == 0
    assert proc.stdout.startswith(f"usage: gcompile {command}")
    assert "examples:" in proc.stdout and f"gcompile {command} " in proc.stdout.split("examples:")[1]


def test_top_level_help_and_version(tmp_path, capsys, monkeypatch):
    proc = run_inproc(["--help"], tmp_path, capsys, monkeypatch)
    assert proc.returncode == 0 and "{grad,render" not in proc.stdout
    commands = ("grad", "render", "eval", "example", "compare", "explain", "step-through")
    assert all(re.search(rf"\n    {c}\s", proc.stdout) for c in commands), proc.stdout
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
    (["eval", "needs_feed.json"], ["no value for input 'x'", "--feed NAME=VALUE"]),
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
    (["compare", "missing.json"], ["no such file", "missing.json"]),
    (["compare", "apple", "--wrt", "apples"], ["--wrt", "'apples'", "did you mean"]),
    (["compare", "apple", "--format", "yaml"], ["invalid choice: 'yaml'"]),
    (["compare", "apple", "-o", "."], ["'.'", "directory"]),
    (["compare", "needs_feed.json", "--feed", "x=[1, 2]"], ["'x'", "integer values"]),
    (["explain", "two_layer_net"], ["scalars", "'W1'"]),
    (["explain", "apple", "--max-paths", "0"], ["--max-paths", "at least 1"]),
    (["explain", "apple", "--max-paths", "many"], ["--max-paths", "not a whole number"]),
    (["explain", "apple", "--output", "cost"], ["--output", "'cost'"]),
    (["explain", "needs_feed.json"], ["no value for input 'x'", "--feed NAME=VALUE"]),
    (["explain", "apple", "--feed", "tax=abc"], ["'abc' is not a number"]),
    (["step-through", "apple"], ["-o"]),
    (["step-through", "apple", "-o", "page.svg"], ["'page.svg'", ".html"]),
    (["step-through", "apple", "-o", "a_file/page.html"], ["a_file", "directory"]),
    (["step-through", "apple", "--max-steps", "3", "-o", "p.html"], ["--max-steps 3"]),
    (["step-through", "apple", "--wrt", "apples", "-o", "p.html"], ["did you mean"]),
    (["grad", "apple", "--passes-log", "--wrt", "apples"], ["--wrt", "'apples'"]),
]


@pytest.mark.parametrize("args, fragments", BAD, ids=[" ".join(a) or "(none)" for a, _ in BAD])
def test_bad_arguments_and_files_exit_2_with_one_line(tmp_path, capsys, monkeypatch, args, fragments):
    _bad_files(tmp_path)
    assert_one_line_error(run_inproc(args, tmp_path, capsys, monkeypatch), *fragments)


@pytest.mark.parametrize("index", [0, 10, 17, 33, 40])
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
