"""What the `gcompile` command prints (issue 11 items 15, 16, 25): hostile node keys (newlines,
carriage returns, ESC sequences, `|`, HTML) are escaped in every text, terminal and Markdown
output, and tensors print as a short row of shape, norm and a few entries."""
import json
import re

import networkx as nx
import numpy as np
import pytest

import gcompile as gc
from gcompile.escape import key_markdown, key_text, markdown, text

from test_cli import doc_block, run_inproc

HOSTILE = ["x\n# H\n<img src=x onerror=alert(1)>", "a|b", "<script>alert(1)</script>",
           "c\r\x1b[2Jd", "e\x1b]0;title\x07f", "g\u202eh", "u\x85v\u2028w"]


@pytest.fixture
def hostile(tmp_path):
    """y = sum of exp(k) over the hostile keys k, each an input with a value."""
    g = nx.DiGraph()
    outs = []
    for i, key in enumerate(HOSTILE):
        g.add_node(key, op="input", value=0.5 + i)
        g.add_node(f"exp{i}\n", op="exp")
        g.add_edge(key, f"exp{i}\n")
        outs.append(f"exp{i}\n")
    prev = outs[0]
    for i, node in enumerate(outs[1:]):
        total = "total\x1b" if i == len(outs) - 2 else f"s{i}|"
        g.add_node(total, op="add")
        g.add_edge(prev, total, arg=0)
        g.add_edge(node, total, arg=1)
        prev = total
    g.graph["output"] = "total\x1b"
    gc.save(g, tmp_path / "h.json")
    return tmp_path, g


def _assert_terminal_safe(out):
    assert "\x1b" not in out and "\r" not in out and "\x07" not in out
    assert "\u202e" not in out and "\x85" not in out and "\u2028" not in out


COMMANDS = [["eval", "h.json"], ["grad", "h.json", "-o", "o", "--format", "dot", "--passes-log"],
            ["compare", "h.json"], ["explain", "h.json", "--wrt", "a|b"],
            ["example", "apple", "-o", "x\x1b[2J\ny", "--format", "dot"]]


@pytest.mark.parametrize("args", COMMANDS, ids=[a[0] for a in COMMANDS])
def test_every_printed_key_is_one_escaped_line(hostile, capsys, monkeypatch, args):
    tmp_path, g = hostile
    proc = run_inproc(args, tmp_path, capsys, monkeypatch)
    assert proc.returncode == 0, proc.stderr
    _assert_terminal_safe(proc.stdout)
    if args[0] == "eval":         # one line per node, plus the header and the rule
        assert len(proc.stdout.splitlines()) == 2 + g.number_of_nodes()
        assert "  x\\n# H\\n<img src=x onerror=alert(1)>  input" in proc.stdout
        assert "  c\\r\\x1b[2Jd  " in proc.stdout
    if args[0] == "grad":
        rows = proc.stdout.split("\n\n")[1].splitlines()
        assert len(rows) == 2 + len(HOSTILE)
        assert proc.stdout.startswith("total\\x1b = ")
    if args[0] == "explain":
        chain = ["total\\x1b", "s4|", "s3|", "s2|", "s1|", "s0|", "exp1\\n", "a|b"]
        assert f"  path {' <- '.join(chain)}: 1 * 1 * " in proc.stdout
        assert len(proc.stdout.splitlines()) == 1 + 1 + len(chain) + 1
    if args[0] == "example":
        assert "wrote x\\x1b[2J\\ny/apple.json" in proc.stdout


def test_compare_text_is_one_row_per_node(hostile, capsys, monkeypatch):
    tmp_path, g = hostile
    proc = run_inproc(["compare", "h.json"], tmp_path, capsys, monkeypatch)
    section = proc.stdout.split("forward node -> backward nodes")[1].split("\n\n")[0]
    assert len(section.splitlines()) == 1 + 2 + g.number_of_nodes()


def _cells(line):
    """The cells of a Markdown table row, split at the `|` that are not escaped."""
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def test_compare_markdown_holds_no_markup_from_keys(hostile, capsys, monkeypatch):
    tmp_path, g = hostile
    proc = run_inproc(["compare", "h.json", "--format", "markdown"], tmp_path, capsys, monkeypatch)
    md = proc.stdout
    _assert_terminal_safe(md)
    assert "<script>" not in md and "<img" not in md and "&lt;script&gt;" in md
    assert not any(line.startswith("#") for line in md.splitlines())
    for block in md.split("\n\n"):
        lines = [line for line in block.splitlines() if line.startswith("|")]
        if lines:
            widths = {len(_cells(line)) for line in lines}
            assert len(widths) == 1, block       # `|` in a key adds no cell
    corr = [_cells(line) for line in md.split("**Correspondence**")[1].split("**Transpose")[0]
            .splitlines() if line.startswith("| ")][1:]
    assert len(corr) == g.number_of_nodes()
    assert [" a\\|b ", " - "] in corr


def test_compare_json_keeps_the_keys_exactly(hostile, capsys, monkeypatch):
    tmp_path, _ = hostile
    proc = run_inproc(["compare", "h.json", "--format", "json"], tmp_path, capsys, monkeypatch)
    report = json.loads(proc.stdout)            # JSON escapes for itself: keys stay exact
    assert set(HOSTILE) <= set(report["correspondence"])


def test_one_helper_per_output_kind():
    assert text("a\nb\r\x1b\x00\x7f\x9b\u2028\u202e") == "a\\nb\\r\\x1b\\x00\\x7f\\x9b\\u2028\\u202e"
    assert text("plain ünïcode 가격") == "plain ünïcode 가격"
    assert key_text(("a\n", 1)) == "('a\\n', 1)"
    assert markdown("*a* [l](u) `c` # ~ \\") == "\\*a\\* \\[l\\](u) \\`c\\` \\# \\~ \\\\"
    assert markdown("a & <b>") == "a &amp; &lt;b&gt;"
    assert key_markdown("x|y\n") == "x\\|y\\\\n"


# ------------------------------------------------------------ item 16: tensor rows
def test_tensors_print_as_shape_norm_and_a_few_entries(tmp_path, capsys, monkeypatch):
    proc = run_inproc(["example", "two_layer_net", "-o", "o", "--format", "dot"], tmp_path, capsys,
                      monkeypatch)
    assert proc.returncode == 0, proc.stderr
    assert max(map(len, proc.stdout.splitlines())) <= 100
    g, feeds = gc.examples.EXAMPLES["two_layer_net"]()
    want = gc.gradients(g, feeds, "loss", g.graph["wrt"])
    table = proc.stdout.split("\n\n")[1].splitlines()
    assert re.split(r"\s{2,}", table[0].strip()) == ["d loss / d", "shape", "norm", "gradient"]
    for line in table[2:]:
        name, shape, norm, entries = re.split(r"\s{2,}", line.strip())
        grad = np.asarray(want[name])
        assert shape == str(grad.shape)
        assert float(norm) == pytest.approx(np.linalg.norm(grad), rel=1e-3)
        shown = entries.split(", ")
        flat = grad.reshape(-1)
        if grad.size > 4:
            assert shown[3] == "..." and len(shown) == 5
            assert float(shown[4]) == pytest.approx(flat[-1], rel=1e-3)
        for got, exact in zip(shown[:3], flat):
            assert float(got) == pytest.approx(exact, rel=1e-3, abs=1e-12)
    proc = run_inproc(["eval", "two_layer_net"], tmp_path, capsys, monkeypatch)
    assert max(map(len, proc.stdout.splitlines())) <= 100
    assert re.split(r"\s{2,}", proc.stdout.splitlines()[0].strip()) == ["node", "op", "shape",
                                                                        "norm", "value"]
    shown = doc_block("gcompile example two_layer_net --format dot").split("...\n")[0]
    proc = run_inproc(["example", "two_layer_net", "--format", "dot", "-o", "o"], tmp_path, capsys,
                      monkeypatch)
    assert proc.stdout.startswith(shown)           # docs/cli.md shows the real table
