"""What the `gcompile` command reads (issue 11 items 12, 13, 14, 21): missing inputs named all at
once with the --feed syntax, key lists that keep printed tuple keys whole, errors in the command's
own words, and hostile --feed values (deep JSON, lying or truncated .npy headers) as one line."""
import math
import re
import time

import networkx as nx
import numpy as np
import pytest

import gcompile as gc
from gcompile.cli.inputs import split_names

from test_cli import assert_one_line_error, run_inproc, table_rows


# ------------------------------------------------------ item 12: every missing input
def test_every_missing_input_is_named_with_the_feed_syntax(tmp_path, capsys, monkeypatch):
    g = gc.trace(lambda x, W, b: gc.ops.sum(gc.ops.tanh(x @ W + b), name="loss"), "x", "W", "b")
    gc.save(g, tmp_path / "net.json")
    for command in (["eval"], ["grad"], ["explain"], ["render", "--values", "-o", "n.svg"],
                    ["step-through", "-o", "n.html"]):
        proc = run_inproc([command[0], "net.json", *command[1:]], tmp_path, capsys, monkeypatch)
        assert_one_line_error(proc, "no values for 3 inputs 'x', 'W', 'b'", "--feed NAME=VALUE",
                              "--feed x=1.5 --feed W=1.5 --feed b=1.5")
    proc = run_inproc(["eval", "net.json", "--feed", "x=[[1.0]]", "--feed", "W=[[2.0]]"], tmp_path,
                      capsys, monkeypatch)
    assert_one_line_error(proc, "no value for input 'b'", "--feed b=1.5")


# ------------------------------------------------------- item 13: printed tuple keys
@pytest.fixture
def tuple_keys(tmp_path):
    g = nx.DiGraph()
    g.add_node(("ap", 3), op="input", value=2.0)
    g.add_node("x", op="input", value=3.0)
    g.add_node(("y", "a,b"), op="mul")
    g.add_edge(("ap", 3), ("y", "a,b"), arg=0)
    g.add_edge("x", ("y", "a,b"), arg=1)
    gc.save(g, tmp_path / "tk.json")
    return tmp_path


def test_wrt_and_output_lists_keep_printed_tuple_keys_whole(tuple_keys, capsys, monkeypatch):
    proc = run_inproc(["grad", "tk.json", "--wrt", "('ap', 3), x", "--output", "('y', 'a,b')",
                       "-o", "o", "--format", "dot"], tuple_keys, capsys, monkeypatch)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "('y', 'a,b') = 6"
    rows = [re.split(r"\s{2,}", line.strip()) for line in proc.stdout.split("\n\n")[1].splitlines()]
    assert rows[2:] == [["('ap', 3)", "()", "3"], ["x", "()", "2"]]
    proc = run_inproc(["eval", "tk.json", "--output", "('y', 'a,b'),('ap', 3)"], tuple_keys, capsys,
                      monkeypatch)
    assert proc.returncode == 0, proc.stderr
    assert [line.split()[-1] for line in proc.stdout.splitlines()[2:]] == ["6", "2"]
    proc = run_inproc(["explain", "tk.json", "--wrt", "('ap', 3)"], tuple_keys, capsys, monkeypatch)
    assert "path ('y', 'a,b') <- ('ap', 3): 1 * 3 = 3" in proc.stdout


@pytest.mark.parametrize("text, names", [
    ("a,b", ["a", "b"]), (" a , b ,", ["a", "b"]), ("('ap', 3)", ["('ap', 3)"]),
    ("('ap', 3),(1, (2, 3)),z", ["('ap', 3)", "(1, (2, 3))", "z"]), ("'a,b',c", ["'a,b'", "c"]),
    ('"x, y", [1, 2]', ['"x, y"', "[1, 2]"]), ("", []), (",,", []),
])
def test_split_names_respects_brackets_and_quotes(text, names):
    assert split_names(text) == names


# -------------------------------------------------- item 14: the command's own words
def test_errors_name_commands_and_say_things_once(tmp_path, capsys, monkeypatch):
    proc = run_inproc(["eval", "zzz"], tmp_path, capsys, monkeypatch)
    assert_one_line_error(proc, "no such file or bundled example 'zzz'", "apple, apple_orange")
    assert proc.stderr.count("bundled example") == 1
    proc = run_inproc(["explain", "two_layer_net"], tmp_path, capsys, monkeypatch)
    assert_one_line_error(proc, "'gcompile compare' or 'gcompile step-through'")
    assert "gc." not in proc.stderr
    proc = run_inproc(["step-through", "apple", "--max-steps", "3", "-o", "p.html"], tmp_path,
                      capsys, monkeypatch)
    assert_one_line_error(proc, "11 steps", "--max-steps 3")
    assert "max_steps" not in proc.stderr
    gc.save(gc.trace(lambda x: x * 2.0, "x"), tmp_path / "g.json")
    proc = run_inproc(["grad", "g.json", "--feed", "x=[1, 2]"], tmp_path, capsys, monkeypatch)
    assert_one_line_error(proc, "'x' holds integer values", "--feed x=2.0")


def test_trace_suggests_the_op_of_the_math_function():
    with pytest.raises(gc.GraphError, match=r"math\.exp .*use gc\.ops\.exp\(a\)"):
        gc.trace(lambda a: math.exp(a), "a")
    with pytest.raises(gc.GraphError, match=r"use gc\.ops\.sqrt"):
        gc.trace(lambda a: math.sqrt(a * 2.0), "a")
    with pytest.raises(gc.GraphError, match=r"float\(\), int\(\) or a math function") as err:
        gc.trace(lambda a: float(a), "a")
    assert "maximum" not in str(err.value)


# ------------------------------------------------------- item 21: hostile --feed values
def test_deeply_nested_feed_is_one_line(tmp_path, capsys, monkeypatch):
    deep = "[" * 3000 + "1.0" + "]" * 3000
    proc = run_inproc(["eval", "apple", "--feed", "tax=" + deep], tmp_path, capsys, monkeypatch)
    assert_one_line_error(proc, "--feed tax", "nested 3000 deep", "at most 64")
    assert len(proc.stderr) < 300
    unbalanced = "[" * 3000
    proc = run_inproc(["eval", "apple", "--feed", "tax=" + unbalanced], tmp_path, capsys,
                      monkeypatch)
    assert_one_line_error(proc, "--feed tax")


def _npy_with_header(path, header: str, body: bytes = b""):
    """A version-1.0 .npy file with the given header dict text (padded as numpy pads it)."""
    text = header.encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    data = text + b" " * pad + b"\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(data).to_bytes(2, "little") + data + body)


def test_a_small_npy_declaring_a_huge_shape_is_refused_before_reading(tmp_path, capsys,
                                                                       monkeypatch):
    _npy_with_header(tmp_path / "huge.npy",
                     "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }",
                     b"\x00" * 16)
    assert (tmp_path / "huge.npy").stat().st_size < 200
    start = time.perf_counter()
    proc = run_inproc(["eval", "apple", "--feed", "tax=@huge.npy"], tmp_path, capsys, monkeypatch)
    assert_one_line_error(proc, "huge.npy", "(1000000, 1000000)", "8,000,000,000,000 bytes",
                          "holds 16 bytes")
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("blob", [
    b"\x93NUMPY\x01\x00\x76\x00{'descr': '<f8', 'fortran_order': False, 'sha",   # cut in the header
    b"\x93NUMPY\x01\x00",                                                         # no length
    b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f8'\n",                                # not a dict
    b"\x93NUMPY\x01\x00\x20\x00{'descr': 1, 'shape': 'x'}       \n",              # wrong types
    b"\x93NUMPY\x09\x00\x10\x00{}              \n",                               # unknown version
    b"\x93NUM",                                                                   # cut in the magic
])
def test_a_malformed_npy_header_is_one_line(tmp_path, capsys, monkeypatch, blob):
    (tmp_path / "bad.npy").write_bytes(blob)
    proc = run_inproc(["eval", "apple", "--feed", "tax=@bad.npy"], tmp_path, capsys, monkeypatch)
    assert_one_line_error(proc, "--feed tax", "bad.npy")


def test_a_good_npy_still_loads(tmp_path, capsys, monkeypatch):
    np.save(tmp_path / "tax.npy", np.array(1.25))
    np.save(tmp_path / "f.npy", np.asfortranarray(np.arange(6.0).reshape(2, 3)))
    proc = run_inproc(["eval", "apple", "--feed", "tax=@tax.npy", "--output", "price"], tmp_path,
                      capsys, monkeypatch)
    assert table_rows(proc.stdout)["price"][-1] == "250"
    from gcompile.cli.feeds import parse_feed
    assert parse_feed(f"W=@{tmp_path / 'f.npy'}")[1].tolist() == [[0, 1, 2], [3, 4, 5]]
