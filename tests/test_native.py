"""gc.compile(backend=...): the numba tape of gcompile.native against the interpreter.

Oracles: the interpreter (gc.evaluate + gc.grad's backward graph), central finite
differences, the W1 plain-Python reference of WORKLOADS.md, and the Python
backend (which calls the same C math library: results are bit for bit equal).
"""
import math
import os
import subprocess
import sys
import struct

import networkx as nx
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import gcompile as gc
from bench.workloads import make_w1, w1_graph, w1_inputs, w1_reference
from gcompile import native
from gcompile.examples import apple
from helpers import op_graph


def interpreted(graph, feeds, output, wrt):
    with np.errstate(all="ignore"):
        values = gc.evaluate(graph, feeds)
        return values[output], gc.gradients(graph, feeds, output, wrt)


def test_unknown_backend_is_a_graph_error():
    g, feeds = apple()
    with pytest.raises(gc.GraphError, match="backend must be"):
        gc.compile(g, "price", ["apple"], backend="llvm")


def test_without_numba_native_names_the_extra_and_auto_runs_python(monkeypatch):
    monkeypatch.setattr(native, "available", lambda: False)
    g, feeds = apple()
    with pytest.raises(gc.GraphError, match=r"pip install gcompile\[native\]"):
        gc.compile(g, "price", ["apple"], backend="native")
    f = gc.compile(g, "price", ["apple", "tax"], feeds=feeds)
    assert f.tape == "" and "def gcompiled" in f.source
    assert f(feeds)[0] == pytest.approx(220.0)


numba = pytest.importorskip("numba")


@pytest.mark.parametrize("n, seed", [(50, 1), (300, 7), (2000, 20240601)])
def test_random_w1_graphs_equal_python_and_interpreter(n, seed):
    ops = make_w1(n, seed=seed)
    g = w1_graph(ops)
    feeds = dict(zip(g.graph["wrt"], w1_inputs()))
    f = gc.compile(g, feeds=feeds, backend="native")
    p = gc.compile(g, feeds=feeds, backend="python")
    assert f.tape.startswith("# native tape:") and "def gcompiled" in f.source
    value, grads = f(feeds)
    assert (value, grads) == p(feeds)  # the same C math library, the same order
    want, want_grads = interpreted(g, feeds, g.graph["output"], g.graph["wrt"])
    assert value == pytest.approx(float(want), rel=1e-13)
    for k in g.graph["wrt"]:
        assert grads[k] == pytest.approx(float(want_grads[k]), rel=1e-12, abs=1e-14)
    ref_value, ref_grads = w1_reference(ops)
    assert value == pytest.approx(ref_value, rel=1e-13)
    for i, k in enumerate(g.graph["wrt"]):
        assert grads[k] == pytest.approx(ref_grads[i], rel=1e-11, abs=1e-13)


def test_auto_picks_native_for_large_scalar_programs_only():
    g = op_graph("mul", 2)
    feeds = {"a0": 0.5, "a1": -2.0}
    assert gc.compile(g, "out", ["a0", "a1"], feeds=feeds).tape == ""  # small: Python
    f = gc.compile(g, "out", ["a0", "a1"], feeds=feeds, backend="native")
    assert f.tape.startswith("# native tape:")
    assert f(feeds) == (-1.0, {"a0": -2.0, "a1": 0.5})
    arrays = {k: np.array([v, v]) for k, v in feeds.items()}
    with pytest.raises(gc.GraphError, match="not a float64 scalar"):
        f(arrays)
    with pytest.raises(gc.GraphError, match="not a float64 scalar"):
        gc.compile(g, "out", ["a0"], feeds=arrays, backend="native")
    ops = make_w1(2000)
    big = w1_graph(ops)
    w1_feeds = dict(zip(big.graph["wrt"], w1_inputs()))
    f = gc.compile(big, feeds=w1_feeds)
    assert f.tape.count("\n") > native.AUTO_MIN
    assert f(w1_feeds)[0] == pytest.approx(w1_reference(ops)[0], rel=1e-13)
    value, _ = f({k: np.array([v, v]) for k, v in w1_feeds.items()})  # arrays: Python source
    assert f.tape == "" and np.shape(value) == (2,)


def test_unsupported_op_runs_python_under_auto_and_is_named_under_native():
    g = op_graph("maximum", 2)
    feeds = {"a0": 0.5, "a1": 0.25}
    assert gc.compile(g, "out", ["a0"], feeds=feeds).tape == ""
    with pytest.raises(gc.GraphError, match="'maximum'"):
        gc.compile(g, "out", ["a0"], feeds=feeds, backend="native")


_POINTS = {"log": [2.5, 0.3], "sqrt": [2.5, 0.3], "pow": [1.7, 0.6], "div": [0.7, -1.9]}


@pytest.mark.parametrize("name", sorted(native.OPCODES))
def test_every_native_op_equals_interpreter_and_finite_differences(name):
    arity = gc.registry.lookup(name).arity
    g = op_graph(name, arity)
    # a tanh after the op: every op's gradient flows through one more native op
    g.add_node("t", op="tanh")
    g.add_edge("out", "t", arg=0)
    wrt = [f"a{i}" for i in range(arity)]
    x = _POINTS.get(name, [0.7, -1.3])[:arity]
    feeds = dict(zip(wrt, x))
    f = gc.compile(g, "t", wrt, feeds=feeds, backend="native")
    assert f.tape.count("\n") >= 3
    value, grads = f(feeds)
    want, want_grads = interpreted(g, feeds, "t", wrt)
    assert value == pytest.approx(float(want), rel=1e-15, abs=1e-300)
    h = 1e-6
    for k in wrt:
        assert grads[k] == pytest.approx(float(want_grads[k]), rel=1e-14, abs=1e-300)
        up, down = dict(feeds), dict(feeds)
        up[k] += h
        down[k] -= h
        fd = (gc.evaluate(g, up)["t"] - gc.evaluate(g, down)["t"]) / (2 * h)
        assert grads[k] == pytest.approx(float(fd), rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("name, x", [("log", -1.0), ("log", 0.0), ("sqrt", -4.0),
                                     ("div", 0.0), ("exp", 1000.0)])
def test_domain_edges_give_the_interpreters_nan_and_inf(name, x):
    arity = gc.registry.lookup(name).arity
    g = op_graph(name, arity)
    wrt = [f"a{i}" for i in range(arity)]
    feeds = {"a0": 1.0, "a1": x} if arity == 2 else {"a0": x}
    f = gc.compile(g, "out", wrt, feeds=feeds, backend="native")
    value, grads = f(feeds)
    want, want_grads = interpreted(g, feeds, "out", wrt)
    assert f.fallbacks == 0
    np.testing.assert_array_equal(value, float(want))
    for k in wrt:
        np.testing.assert_array_equal(grads[k], float(want_grads[k]))
    assert math.isnan(value) or math.isinf(value) or name == "log"


def _bits_equal(x, y):
    """Equal to the last bit (a nan equals any nan: the sign of a nan is not kept)."""
    x, y = float(x), float(y)
    return (math.isnan(x) and math.isnan(y)) or struct.pack("<d", x) == struct.pack("<d", y)


def _expr_graph(nodes, output):
    """A graph of ``nodes = [(name, op, [operand names])]`` over inputs a, b, c, q."""
    g = nx.DiGraph()
    for name in "abcq":
        g.add_node(name, op="input")
    for name, op, args in nodes:
        g.add_node(name, op=op)
        for pos, arg in enumerate(args):
            g.add_edge(arg, name, arg=pos)
    return g


#: Each pattern the tape folds into one instruction (and the fused form it must become).
_PATTERNS = {
    "neg": ([("o", "neg", ["a"])], "neg("),
    "add_neg": ([("n", "neg", ["a"]), ("o", "add", ["n", "b"])], "sub("),
    "add_neg2": ([("n", "neg", ["b"]), ("o", "add", ["a", "n"])], "sub("),
    "sub_neg": ([("n", "neg", ["b"]), ("o", "sub", ["a", "n"])], "add("),
    "nmul": ([("n", "neg", ["a"]), ("o", "mul", ["n", "b"])], "-("),
    "nnmul": ([("n", "neg", ["a"]), ("m", "neg", ["b"]), ("o", "mul", ["n", "m"])], "mul("),
    "muladd": ([("m", "mul", ["a", "b"]), ("o", "add", ["m", "c"])], " + "),
    "muladd2": ([("m", "mul", ["a", "b"]), ("o", "add", ["c", "m"])], " + "),
    "mulsub": ([("m", "mul", ["a", "b"]), ("o", "sub", ["c", "m"])], " - "),
    "submul": ([("m", "mul", ["a", "b"]), ("o", "sub", ["m", "c"])], " - "),
    "nmuladd": ([("n", "neg", ["a"]), ("m", "mul", ["n", "b"]), ("o", "add", ["m", "c"])], " - "),
    "nmulsub": ([("n", "neg", ["a"]), ("m", "mul", ["n", "b"]), ("o", "sub", ["c", "m"])], " + "),
    "mulsq": ([("t", "tanh", ["a"]), ("o", "mul", ["q", "t"])], " * ("),  # da = q * (1 - t*t)
    # da = q * (1 - t*t) in one run with the muladd o (LIN and mulsq: one code, a form bit)
    "mulsq_muladd": ([("t", "tanh", ["a"]), ("m", "mul", ["b", "c"]), ("p", "mul", ["q", "t"]),
                      ("o", "add", ["p", "m"])], " * ("),
    # tanh, sin, cos, exp: one code, the form in the slot word's high bits, sorted in a run
    "transcendental": ([("s", "sin", ["a"]), ("e", "exp", ["b"]), ("k", "cos", ["c"]),
                        ("t", "tanh", ["q"]), ("u", "add", ["s", "e"]), ("v", "add", ["k", "t"]),
                        ("o", "mul", ["u", "v"])], "mul("),
    "merged": ([("t", "tanh", ["a"]), ("u", "tanh", ["a"]), ("o", "mul", ["t", "u"])], "mul("),
}
_SPECIAL = [0.0, -0.0, 1.5, -2.25, 3.0, math.inf, -math.inf, math.nan, 1e308, -1e-310, 5e-324]


@pytest.mark.parametrize("pattern", sorted(_PATTERNS))
def test_folded_instructions_equal_python_bit_for_bit_on_special_values(pattern):
    nodes, form = _PATTERNS[pattern]
    g = _expr_graph(nodes, "o")
    wrt = ["a", "b", "c", "q"]
    feeds = dict.fromkeys(wrt, 0.5)
    f = gc.compile(g, "o", wrt, feeds=feeds, backend="native")
    p = gc.compile(g, "o", wrt, feeds=feeds, backend="python")
    key = "# 'da'" if pattern.startswith("mulsq") else "# 'o'"
    (line,) = [x for x in f.tape.splitlines() if key in x]
    assert form in line.split("#")[0], f.tape  # the pattern became one instruction
    assert f.tape.count("tanh") <= 2  # equal ops merged: one tanh (and its label)
    rng = np.random.default_rng(len(pattern))
    checked = 0
    for point in rng.choice(_SPECIAL, size=(150, 4)):
        feeds = dict(zip(wrt, point.tolist()))
        value, grads = f(feeds)
        before = p.fallbacks
        with np.errstate(all="ignore"):
            want, want_grads = p(feeds)
        if p.fallbacks > before:  # Python raised (exp overflow, cos(inf)): numpy answered
            continue
        checked += 1
        assert _bits_equal(value, want), (feeds, value, want)
        for k in wrt:
            assert _bits_equal(grads[k], want_grads[k]), (feeds, k, grads[k], want_grads[k])
    assert f.fallbacks == 0 and checked >= 40


@pytest.mark.parametrize("pattern, name", [("mulsq_muladd", "mulsq"), ("transcendental", "exp")])
def test_forms_of_one_code_share_a_run(pattern, name):
    """The tape's runs mix mulsq with the other arithmetic forms, and tanh, sin, cos, exp
    (one code each: fewer runs)."""
    nodes, _ = _PATTERNS[pattern]
    feeds = dict.fromkeys("abcq", 0.5)
    f = gc.compile(_expr_graph(nodes, "o"), "o", list("abcq"), feeds=feeds, backend="native")
    tape = next(iter(f.signatures.values()))["tape"]
    names = {v: k for k, v in native.CODES.items()}
    runs, start = tape.runs.tolist(), 0
    mixed = []
    for end in runs[1::2]:
        mixed.append({names[c] for c in tape.fine[start:end].tolist()})
        start = end
    assert any(name in run and len(run) > 1 for run in mixed), (mixed, f.tape)


def test_a_tape_with_too_many_slots_for_its_form_bits_runs_python(monkeypatch):
    from gcompile import _native_kernel

    ops = make_w1(2000)
    g = w1_graph(ops)
    feeds = dict(zip(g.graph["wrt"], w1_inputs()))
    assert gc.compile(g, feeds=feeds).tape.startswith("# native tape:")  # auto: native
    monkeypatch.setattr(_native_kernel, "MAXSLOT", 1000)
    with pytest.raises(gc.GraphError, match="too many"):
        gc.compile(g, feeds=feeds, backend="native")
    f = gc.compile(g, feeds=feeds)  # auto: the Python source
    assert f.tape == "" and f(feeds)[0] == pytest.approx(w1_reference(ops)[0], rel=1e-13)


_DAG_OPS = ["add", "sub", "mul", "neg", "tanh", "sin", "cos", "exp"]


@st.composite
def scalar_dags(draw):
    """Random scalar DAGs over the inputs a, b, c, q (ops of the native tape)."""
    names, nodes = list("abcq"), []
    for k in range(draw(st.integers(1, 25))):
        op = draw(st.sampled_from(_DAG_OPS))
        arity = 2 if op in ("add", "sub", "mul") else 1
        args = draw(st.lists(st.sampled_from(names[-8:]), min_size=arity, max_size=arity,
                             unique=True))  # a DiGraph: one edge per operand pair
        nodes.append((f"n{k}", op, args))
        names.append(f"n{k}")
    return nodes


_VALUES = st.one_of(st.floats(-3, 3), st.sampled_from([0.0, -0.0, 1e300, -1e-300, math.inf,
                                                       math.nan]))


@settings(max_examples=150, deadline=None)
@given(scalar_dags(), st.lists(_VALUES, min_size=4, max_size=4))
def test_random_scalar_dags_equal_python_bit_for_bit(nodes, point):
    g = _expr_graph(nodes, nodes[-1][0])
    wrt = list("abcq")
    feeds = dict(zip(wrt, point))
    f = gc.compile(g, nodes[-1][0], wrt, feeds=feeds, backend="native")
    p = gc.compile(g, nodes[-1][0], wrt, feeds=feeds, backend="python")
    with np.errstate(all="ignore"):  # where Python raises, the interpreter answers
        want, want_grads = p(feeds)
    assume(p.fallbacks == 0)  # Python raised (exp overflow, sin(inf)): numpy answered
    value, grads = f(feeds)
    assert _bits_equal(value, want)
    for k in wrt:
        assert _bits_equal(grads[k], want_grads[k]), (k, grads[k], want_grads[k], f.tape)


@settings(max_examples=60, deadline=None)
@given(scalar_dags(), st.lists(_VALUES, min_size=4, max_size=4))
def test_deferred_naming_gives_the_named_tape_source_and_results(nodes, point):
    """gc.compile names the backward keys only when asked (gcompile.lowering.KeyNamer): the
    listing, the source and the results equal those of records named up front."""
    from unittest import mock
    from gcompile import autodiff, compiled

    g, out, wrt = _expr_graph(nodes, nodes[-1][0]), nodes[-1][0], list("abcq")
    feeds = dict(zip(wrt, point))

    def views():
        with np.errstate(all="ignore"):
            f = gc.compile(g, out, wrt, feeds=feeds, backend="native")
            return f.tape, f.source, f(feeds)

    def named(*args, **kwargs):
        return autodiff.backward_records(*args, **dict(kwargs, named=True))
    deferred = views()
    with mock.patch.object(compiled, "backward_records", named):
        want = views()
    assert deferred[:2] == want[:2]
    assert _bits_equal(deferred[2][0], want[2][0])
    for k in wrt:
        assert _bits_equal(deferred[2][1][k], want[2][1][k])


def test_the_plan_runs_as_python_too_and_gives_the_same_tape(monkeypatch):
    from gcompile import _native_plan

    g = w1_graph(make_w1(60, seed=3))
    feeds = dict(zip(g.graph["wrt"], w1_inputs()))
    jitted = gc.compile(g, feeds=feeds, backend="native")
    monkeypatch.setattr(_native_plan, "plan", _native_plan.plan.py_func)  # numba's source
    plain = gc.compile(g, feeds=feeds, backend="native")
    assert plain.tape == jitted.tape and "mul" in plain.tape
    assert plain(feeds) == jitted(feeds)


@pytest.mark.parametrize("window", [4, 16, 1 << 14])
def test_a_sin_and_the_cos_of_its_operand_run_side_by_side(window, monkeypatch):
    """The backward of sin(a) reads cos(a): the tape runs that cos right after the sin (one
    sincos-shaped step), also when the two are windows apart in program order, and the
    results stay those of the Python source bit for bit."""
    import re
    from gcompile import _native_plan

    monkeypatch.setattr(_native_plan, "WINDOW", window)  # small windows: run as Python
    monkeypatch.setattr(_native_plan, "_schedule", _native_plan._schedule.py_func)
    monkeypatch.setattr(_native_plan, "plan", _native_plan.plan.py_func)
    g = w1_graph(make_w1(400, seed=11))
    g.add_node("s", op="sin")  # the user's own sin(x) * cos(x) too
    g.add_node("c", op="cos")
    g.add_node("sc", op="mul")
    g.add_node("total", op="add")
    g.add_edges_from([("x3", "s", {"arg": 0}), ("x3", "c", {"arg": 0}), ("s", "sc", {"arg": 0}),
                      ("c", "sc", {"arg": 1}), (g.graph["output"], "total", {"arg": 0}),
                      ("sc", "total", {"arg": 1})])
    feeds = dict(zip(g.graph["wrt"], w1_inputs()))
    f = gc.compile(g, "total", g.graph["wrt"], feeds=feeds, backend="native")
    p = gc.compile(g, "total", g.graph["wrt"], feeds=feeds, backend="python")
    assert f(feeds) == p(feeds)
    lines = f.tape.splitlines()
    sins = [(k, m.group(1)) for k, line in enumerate(lines)
            if (m := re.match(r"s\d+ = sin\((s\d+)\)", line))]
    assert len(sins) > 10
    for k, arg in sins:  # every sin here has a cos of the same slot: it comes next
        assert re.match(rf"s\d+ = cos\({arg}\)", lines[k + 1]), lines[k:k + 2]
    assert f.tape.count(" = cos(") == len(sins)  # one cos per operand: merged, all paired


def test_auto_does_not_load_numba_for_programs_below_the_threshold():
    """A program with fewer ops than AUTO_MIN cannot make a tape that long: auto decides
    Python without importing numba (its import alone costs more than compiling the source)."""
    code = ("import sys, gcompile as gc\n"
            "from bench.workloads import make_w1, w1_graph, w1_inputs\n"
            "g = w1_graph(make_w1(1000))\n"
            "f = gc.compile(g, feeds=dict(zip(g.graph['wrt'], w1_inputs())))\n"
            "assert f.tape == '', f.tape[:80]\n"
            "print('numba' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
