"""Compiled code agrees with the interpreter on every feed kind, over the whole op table
(issue 11 item 23): float16 and float32 arrays and 0-d values, Python floats at the edges of
each op's domain (the scalar path runs Python's math), and complex values, which both refuse."""
import math
import warnings

import numpy as np
import pytest

import gcompile as gc
from helpers import op_graph
from test_compiled import composed
from test_optable import CASES, NON_DIFFERENTIABLE

ALL = [(n, k, ops, p) for n in sorted(CASES) for k, (ops, p) in enumerate(CASES[n])] + \
      [(n, 0, *NON_DIFFERENTIABLE[n]) for n in sorted(NON_DIFFERENTIABLE)]
TOL = {np.float16: 2e-3, np.float32: 2e-6}


def as_kind(x, dtype, zero_d):
    a = np.asarray(x)
    if a.dtype.kind != "f":
        return x
    if a.ndim == 0 and not zero_d:
        return dtype(a)  # a numpy scalar
    return a.astype(dtype)


def both(graph, feeds, out, wrt):
    """(compiled, interpreted) value and gradients, warnings silenced (nan/inf are expected)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = gc.compile(graph, out, wrt)
        got = f(feeds)
        values = gc.evaluate(graph, feeds)
        want = values[out], gc.gradients(graph, feeds, out, wrt)
    return got, want


def assert_same(got, want, rtol, exact_dtype=True):
    pairs = [(got[0], want[0])] + [(got[1][w], want[1][w]) for w in want[1]]
    for a, b in pairs:
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype.kind != "c" and b.dtype.kind != "c"
        if exact_dtype:
            assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a.astype(float), b.astype(float), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
@pytest.mark.parametrize("zero_d", [False, True], ids=["scalars", "0-d arrays"])
@pytest.mark.parametrize("name, k, operands, params", ALL, ids=[f"{c[0]}-{c[1]}" for c in ALL])
def test_low_precision_feeds_agree_over_the_op_table(name, k, operands, params, dtype, zero_d):
    feeds = {f"a{i}": as_kind(x, dtype, zero_d) for i, x in enumerate(operands)}
    wrt = [a for a, v in feeds.items() if np.asarray(v).dtype.kind == "f"]
    got, want = both(composed(name, len(operands), params), feeds, "s", wrt)
    assert_same(got, want, TOL[dtype])
    if name not in ("count", "batch_size"):  # these return a float64 count on every input
        assert np.asarray(want[0]).dtype == dtype


def test_a_float16_scalar_is_not_computed_in_float64():
    g = op_graph("exp", 1)
    got, want = both(g, {"a0": np.float16(0.3)}, "out", ["a0"])
    assert got[0] == want[0] == np.float16(1.35) and np.asarray(got[0]).dtype == np.float16


def test_pow_of_a_negative_python_float_is_nan_like_numpy_not_complex():
    g = op_graph("pow", 2)
    f = gc.compile(g, "out", ["a0", "a1"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value, grads = f({"a0": -1.0, "a1": 0.5})
    assert not isinstance(value, complex) and math.isnan(value)
    assert all(not isinstance(v, complex) and math.isnan(v) for v in grads.values())
    assert "**" not in f.source  # the scalar form is the op's scalar=math.pow


EDGES = [-2.0, -1.0, -0.0, 0.0, 0.5, 1.0, 700.0, 1e308, math.inf, -math.inf, math.nan]
SCALAR_OPS = sorted(n for n in CASES if gc.lookup(n).elementwise)


@pytest.mark.parametrize("name", SCALAR_OPS)
def test_python_float_feeds_at_domain_edges_agree_with_the_interpreter(name):
    arity = gc.lookup(name).arity
    g = op_graph(name, arity)
    wrt = [f"a{i}" for i in range(arity)]
    rng = np.random.default_rng(len(name))
    points = [(x,) for x in EDGES] if arity == 1 else \
        [(x, y) for x in EDGES for y in rng.choice(EDGES, 4)] + [(-1.0, 0.5), (0.0, -1.0)]
    for point in points:
        feeds = {a: float(v) for a, v in zip(wrt, point)}
        got, want = both(g, feeds, "out", wrt)
        assert_same(got, want, 1e-12, exact_dtype=False)


@pytest.mark.parametrize("feed", [1 + 2j, np.complex128(1 + 2j), np.array([1 + 2j, 0.5]),
                                  np.array(1j, np.complex64), [1j, 2.0]],
                         ids=["python", "numpy scalar", "array", "0-d complex64", "list"])
@pytest.mark.parametrize("name", ["exp", "tanh", "abs"])
def test_complex_feeds_are_refused_by_interpreter_and_compiled(name, feed):
    g = op_graph(name, 1)
    with pytest.raises(gc.GraphError, match=r"'a0' is complex .*real numbers"):
        gc.evaluate(g, {"a0": feed})
    with pytest.raises(gc.GraphError, match=r"'a0' is complex .*real numbers"):
        gc.compile(g, "out", ["a0"])({"a0": feed})
    with pytest.raises(gc.GraphError, match="complex"):
        gc.gradients(g, {"a0": feed}, "out", ["a0"])


@pytest.mark.parametrize("label", [5, -1, 2])
@pytest.mark.parametrize("form", ["0-d", "batch", "numpy int"])
@pytest.mark.parametrize("op", ["softmax_cross_entropy", "softmax_cross_entropy_grad", "label_mass"])
def test_integer_labels_out_of_range_name_the_node_and_the_label(op, label, form):
    """Issue 11 item 24: 2 classes, labels 5 or -1 (2 too) are errors, not a zero loss."""
    logits = np.array([0.3, -0.2]) if form != "batch" else np.array([[0.3, -0.2], [0.1, 0.4]])
    t = {"0-d": np.array(label), "batch": np.array([0, label]), "numpy int": np.int64(label)}[form]
    g = op_graph(op, 2)
    operands = {"a0": t, "a1": logits} if op == "label_mass" else {"a0": logits, "a1": t}
    pattern = rf"node 'out' \(op '{op}'\).*label {label} is out of range for 2 classes"
    with pytest.raises(gc.GraphError, match=pattern):
        gc.evaluate(g, operands)
    wrt = ["a1"] if op == "label_mass" else ["a0"]
    with pytest.raises(gc.GraphError, match=pattern):
        gc.compile(g, "out", wrt)(operands)
    if op == "softmax_cross_entropy":
        with pytest.raises(gc.GraphError, match=pattern):
            gc.gradients(g, operands, "out", wrt)


def test_integer_labels_in_range_still_match_one_hot_targets():
    logits = np.array([[0.3, -0.2, 1.0], [0.1, 0.4, -0.5]])
    g = op_graph("softmax_cross_entropy", 2)
    by_label = both(g, {"a0": logits, "a1": np.array([2, 0])}, "out", ["a0"])
    onehot = both(g, {"a0": logits, "a1": np.array([[0, 0, 1.0], [1.0, 0, 0]])}, "out", ["a0"])
    for got in by_label + onehot:
        assert float(got[0]) == pytest.approx(float(by_label[1][0]), rel=1e-14)
    want = -np.mean(np.log(np.exp(logits) / np.exp(logits).sum(1, keepdims=True))[[0, 1], [2, 0]])
    assert float(by_label[0][0]) == pytest.approx(want, rel=1e-14)
