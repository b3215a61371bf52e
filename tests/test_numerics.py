"""Numerical safety: extreme logits, saturating activations, log at 0, NaN/inf, dtypes.

The policy these tests pin down is written in docs/robustness.md: gcompile
computes IEEE results and lets inf and NaN propagate through values and
gradients; it never raises because a value became inf or NaN and never
silences numpy's RuntimeWarnings.  If the caller turns floating-point
problems into errors (``np.errstate(all="raise")``, ``-W error``), the error
comes out as a GraphError naming the node and op.
"""
import warnings

import networkx as nx
import numpy as np
import pytest

import gcompile as gc
from gcompile.registry import registered_ops
from helpers import op_graph

BIG = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0], [1000.0, 1000.0, -1000.0]])
ONE_HOT = np.eye(3)[[0, 1, 2]]


def _grads(graph, feeds, wrt=("a0",)):
    return gc.gradients(graph, feeds, "out", list(wrt))


def _reference_softmax(x):
    """Softmax with exact arithmetic on the shifted logits (x - max), row by row."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ------------------------------------------------------------ extreme logits
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_family_is_finite_for_logits_of_1000(op):
    g = op_graph(op, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not even a warning: the shift by max is exact
        value = gc.evaluate(g, {"a0": BIG})["out"]
        grad = _grads(g, {"a0": BIG})["a0"]
    assert np.isfinite(value).all() and np.isfinite(grad).all()
    soft = _reference_softmax(BIG)
    if op == "softmax":
        np.testing.assert_allclose(value, soft)
        np.testing.assert_allclose(value.sum(axis=-1), 1.0)
        np.testing.assert_allclose(grad, 0.0, atol=1e-12)  # the sum of a softmax row is constant
    else:
        np.testing.assert_allclose(value[0], [0.0, -2000.0, -1000.0])
        np.testing.assert_allclose(value[1], np.log(1 / 3) * np.ones(3))
        # d/dx sum(log_softmax(x)) = 1 - n * softmax(x)
        np.testing.assert_allclose(grad, 1.0 - 3 * soft)


@pytest.mark.parametrize("labels", ["one_hot", "integer"])
def test_softmax_cross_entropy_is_finite_for_logits_of_1000(labels):
    g = op_graph("softmax_cross_entropy", 2)
    t = ONE_HOT if labels == "one_hot" else np.array([0, 1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = gc.evaluate(g, {"a0": BIG, "a1": t})["out"]
        grad = _grads(g, {"a0": BIG, "a1": t})["a0"]
    # row 0: label at the max -> 0; row 1: uniform -> log 3; row 2: label 1000 below two maxima
    expected = (0.0 + np.log(3) + (2000.0 + np.log(2))) / 3
    np.testing.assert_allclose(float(value), expected)
    np.testing.assert_allclose(grad, (_reference_softmax(BIG) - ONE_HOT) / 3)


@pytest.mark.parametrize("op", ["sigmoid", "tanh"])
def test_saturating_activations_are_finite_at_1000(op):
    g = op_graph(op, 1)
    x = np.array([1000.0, -1000.0, 710.0, -800.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = gc.evaluate(g, {"a0": x})["out"]
        grad = _grads(g, {"a0": x})["a0"]
    low = 0.0 if op == "sigmoid" else -1.0
    np.testing.assert_array_equal(value, [1.0, low, 1.0, low])
    np.testing.assert_array_equal(grad, 0.0)


def test_sigmoid_keeps_tiny_values_instead_of_rounding_to_zero():
    g = op_graph("sigmoid", 1)
    value = gc.evaluate(g, {"a0": np.array([-700.0])})["out"]
    np.testing.assert_allclose(value, np.exp(-700.0), rtol=1e-12)
    assert value[0] > 0


# --------------------------------------------------------------- log near 0
def test_log_at_zero_is_minus_inf_not_an_error():
    g = op_graph("log", 1)
    x = np.array([0.0, -0.0, 1e-300, 5e-324])
    with np.errstate(divide="ignore", over="ignore"):  # 1/5e-324 overflows to inf
        value = gc.evaluate(g, {"a0": x})["out"]
        grad = _grads(g, {"a0": x})["a0"]
    assert value[0] == -np.inf and value[1] == -np.inf
    np.testing.assert_allclose(value[2:], np.log(x[2:]))
    assert np.isfinite(value[2:]).all()
    assert grad[0] == np.inf and grad[1] == -np.inf  # 1/x at ±0
    np.testing.assert_allclose(grad[2], 1e300)


def test_log_of_a_scalar_zero_and_a_negative():
    g = op_graph("log", 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        assert gc.evaluate(g, {"a0": 0.0})["out"] == -np.inf
        assert np.isnan(gc.evaluate(g, {"a0": -1.0})["out"])


def test_numpy_warnings_are_not_silenced():
    """Policy: gcompile does not hide numpy's RuntimeWarning for log(0)."""
    g = op_graph("log", 1)
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        gc.evaluate(g, {"a0": np.array([0.0])})


def test_floating_point_errors_the_caller_asks_for_become_graph_errors():
    g = op_graph("log", 1)
    with np.errstate(divide="raise"):
        with pytest.raises(gc.GraphError, match=r"node 'out' \(op 'log'\).*FloatingPointError"):
            gc.evaluate(g, {"a0": np.array([0.0])})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(gc.GraphError, match=r"node 'out' \(op 'log'\).*RuntimeWarning"):
            gc.evaluate(g, {"a0": np.array([0.0])})


# -------------------------------------------------------- NaN/inf propagation
def _builtin_ops():
    return {n: op for n, op in registered_ops().items() if op.forward.__module__ == "gcompile.optable"}


def _f32(*shape, low=0.5, high=1.5, seed=0):
    return np.random.default_rng(seed).uniform(low, high, size=shape).astype(np.float32)


_M = _f32(2, 3)
_T = np.eye(3, dtype=np.float32)[[0, 2]]
#: Op -> (operands, params): a valid float32 call of every built-in op.
CALLS = {
    "add": ([_M, _f32(3)], {}), "sub": ([_M, _f32(2, 1)], {}), "mul": ([_M, _f32(3)], {}),
    "div": ([_M, _f32(3)], {}), "neg": ([_M], {}), "pow": ([_M, _f32(3)], {}),
    "exp": ([_M], {}), "log": ([_M], {}), "sin": ([_M], {}), "cos": ([_M], {}),
    "tanh": ([_M], {}), "sigmoid": ([_M], {}), "relu": ([_M - 1], {}), "sqrt": ([_M], {}),
    "abs": ([_M - 1], {}), "maximum": ([_M, _f32(3, seed=1)], {}),
    "minimum": ([_M, _f32(3, seed=1)], {}), "step": ([_M - 1], {}), "sign": ([_M - 1], {}),
    "max_weight": ([_M, _f32(3, seed=1)], {}), "sum": ([_M], {"axis": 1}),
    "mean": ([_M], {"axis": 0}), "max": ([_M], {"axis": 1}),
    "max_mask": ([_M, _M.max(1)], {"axis": 1}), "reshape": ([_M], {"shape": (3, 2)}),
    "reshape_like": ([_M, _f32(3, 2)], {}), "transpose": ([_M], {}),
    "broadcast_to": ([_f32(3)], {"shape": (2, 3)}), "broadcast_like": ([_f32(2, 1), _M], {}),
    "sum_to_like": ([_M, _f32(3)], {}), "count": ([_M], {}), "batch_size": ([_M], {}),
    "ones_like": ([_M], {}), "zeros_like": ([_M], {}), "matmul": ([_M, _f32(3, 4)], {}),
    "matmul_bt": ([_M, _f32(4, 3)], {}), "matmul_at": ([_M, _f32(2, 4)], {}),
    "softmax": ([_M], {}), "log_softmax": ([_M], {}),
    "softmax_cross_entropy": ([_M, _T], {}), "softmax_cross_entropy_grad": ([_M, _T], {}),
    "label_mass": ([_T, _M], {}),
}
#: Ops whose value is a count taken from a shape (a Python float), not computed from values.
SHAPE_ONLY = {"count", "batch_size"}


def test_every_builtin_op_has_a_float32_call():
    assert sorted(_builtin_ops()) == sorted(CALLS)


def _call(name):
    operands, params = CALLS[name]
    g = op_graph(name, len(operands), **params)
    feeds = {f"a{i}": a for i, a in enumerate(operands)}
    wrt = [f"a{i}" for i, rule in enumerate(registered_ops()[name].vjp) if rule is not None]
    return g, feeds, wrt


@pytest.mark.parametrize("name", [n for n in sorted(CALLS) if n not in SHAPE_ONLY])
def test_float32_inputs_give_float32_values_and_gradients(name):
    g, feeds, wrt = _call(name)
    value = gc.evaluate(g, feeds)["out"]
    assert value.dtype == np.float32
    if wrt:
        for w, grad in gc.gradients(g, feeds, "out", wrt).items():
            assert grad.dtype == np.float32, w
            assert grad.shape == np.shape(feeds[w])


@pytest.mark.parametrize("op", ["sum", "mean", "max"])
@pytest.mark.parametrize("axis", [None, (0, 1)])
def test_float32_gradient_of_a_full_reduction(op, axis):
    g = op_graph(op, 1, axis=axis)
    grad = gc.gradients(g, {"a0": _M}, "out", ["a0"])["a0"]
    assert grad.dtype == np.float32


@pytest.mark.parametrize("name", sorted(SHAPE_ONLY))
def test_shape_counts_are_python_floats_so_they_keep_float32(name):
    g, feeds, _ = _call(name)
    value = gc.evaluate(g, feeds)["out"]
    assert type(value) is float
    assert (np.float32(2) / value).dtype == np.float32


#: Ops whose value is finite even when an operand holds NaN (masks and shape-only ops).
FINITE_ON_NAN = {"step", "max_weight", "max_mask", "ones_like", "zeros_like"}
#: Ops whose derivative w.r.t. their first operand depends on that operand's value.
CURVED = {"exp", "log", "sin", "cos", "tanh", "sigmoid", "sqrt", "pow", "softmax", "log_softmax",
          "softmax_cross_entropy", "softmax_cross_entropy_grad"}


@pytest.mark.parametrize("name", sorted(set(CALLS) - SHAPE_ONLY))
def test_nan_and_inf_propagate_without_raising(name):
    """A NaN or inf fed anywhere gives NaN/inf results, never an exception."""
    g, feeds, wrt = _call(name)
    first = np.array(feeds["a0"], dtype=np.float64)
    first.reshape(-1)[0] = np.nan
    if first.size > 1:
        first.reshape(-1)[1] = np.inf
    feeds = {**feeds, "a0": first}
    with np.errstate(all="ignore"):
        value = np.asarray(gc.evaluate(g, feeds)["out"])
        grads = gc.gradients(g, feeds, "out", wrt) if wrt else {}
    if name not in FINITE_ON_NAN:
        assert not np.isfinite(value).all()
    for w, grad in grads.items():
        assert np.shape(grad) == np.shape(feeds[w])
        if w == "a0" and name in CURVED:
            assert not np.isfinite(grad).all()


def test_max_over_a_list_of_axes_differentiates():
    """``axis=[0, 1]`` is what a graph loaded from JSON holds; the forward accepts it."""
    x = np.array([[0.1, 0.9, 0.3], [0.2, 0.4, 0.5]])
    g = op_graph("max", 1, axis=[0, 1])
    assert gc.evaluate(g, {"a0": x})["out"] == 0.9
    grad = gc.gradients(g, {"a0": x}, "out", ["a0"])["a0"]
    np.testing.assert_array_equal(grad, [[0, 1, 0], [0, 0, 0]])


def test_nan_in_a_graph_reaches_value_and_gradient():
    """NaN in one input: the output and every gradient that depends on it are NaN."""
    g = nx.DiGraph()
    g.add_nodes_from(["x", "y"], op="input")
    g.add_node("p", op="mul")
    g.add_node("out", op="tanh")
    g.add_edges_from([("x", "p", {"arg": 0}), ("y", "p", {"arg": 1}), ("p", "out", {"arg": 0})])
    grads = gc.gradients(g, {"x": np.nan, "y": 2.0}, "out", ["x", "y"])
    assert np.isnan(gc.evaluate(g, {"x": np.nan, "y": 2.0})["out"])
    assert np.isnan(grads["x"]) and np.isnan(grads["y"])
    with np.errstate(invalid="ignore"):
        grads = gc.gradients(g, {"x": np.inf, "y": 2.0}, "out", ["x", "y"])
    assert grads["x"] == 0.0  # tanh'(inf) = 0 times y
    assert np.isnan(grads["y"])  # 0 * inf


# ---------------------------------------------------------- integer inputs
@pytest.mark.parametrize("value", [np.array(2), np.int64(2), np.array([1, 2], dtype=np.int32),
                                   np.uint8(7), True, np.array([True, False])], ids=repr)
def test_integer_or_boolean_wrt_input_is_a_graph_error(value):
    g = op_graph("tanh", 1)
    with pytest.raises(gc.GraphError, match=r"wrt node 'a0' holds (u?int|bool).*floating-point"):
        gc.gradients(g, {"a0": value}, "out", ["a0"])


def test_python_int_feed_is_a_float_and_differentiable():
    """A plain Python int feed becomes float64 (as_value), so it is differentiable."""
    g = op_graph("tanh", 1)
    grad = gc.gradients(g, {"a0": 1}, "out", ["a0"])["a0"]
    np.testing.assert_allclose(grad, 1 - np.tanh(1.0) ** 2)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
def test_integer_labels_feed_softmax_cross_entropy(dtype):
    g = op_graph("softmax_cross_entropy", 2)
    logits = np.random.default_rng(3).standard_normal((4, 5))
    labels = np.array([0, 4, 2, 2], dtype=dtype)
    one_hot = np.eye(5)[labels]
    by_int = gc.evaluate(g, {"a0": logits, "a1": labels})["out"]
    by_hot = gc.evaluate(g, {"a0": logits, "a1": one_hot})["out"]
    np.testing.assert_allclose(by_int, by_hot, rtol=1e-15)
    # independent oracle: mean of logsumexp - logit of the label
    lse = np.log(np.exp(logits).sum(axis=1))
    np.testing.assert_allclose(by_int, np.mean(lse - logits[np.arange(4), labels]), rtol=1e-13)
    g_int = gc.gradients(g, {"a0": logits, "a1": labels}, "out", ["a0"])["a0"]
    g_hot = gc.gradients(g, {"a0": logits, "a1": one_hot}, "out", ["a0"])["a0"]
    np.testing.assert_allclose(g_int, g_hot, rtol=1e-15)
    assert gc.check_grads(g, {"a0": logits, "a1": labels}, "out", ["a0"])


def test_integer_labels_are_not_differentiable():
    g = op_graph("softmax_cross_entropy", 2)
    with pytest.raises(gc.GraphError, match="wrt node 'a1' holds int64"):
        gc.gradients(g, {"a0": np.zeros((2, 3)), "a1": np.array([0, 2])}, "out", ["a0", "a1"])


def test_integer_labels_with_float32_logits_stay_float32():
    g = op_graph("softmax_cross_entropy", 2)
    logits = _f32(2, 3)
    value = gc.evaluate(g, {"a0": logits, "a1": np.array([1, 0])})["out"]
    grad = gc.gradients(g, {"a0": logits, "a1": np.array([1, 0])}, "out", ["a0"])["a0"]
    assert value.dtype == np.float32 and grad.dtype == np.float32
