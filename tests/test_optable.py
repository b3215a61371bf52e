"""Every op of the table, checked against central finite differences (float64, random inputs).

Cases include broadcasting shapes; the table test fails when a built-in op has no case here.
"""
import numpy as np
import pytest

import gcompile as gc
from gcompile.testing import check_grads
from helpers import op_graph
from optable_nn_cases import NN_CASES

RNG = np.random.default_rng(1234)


def away(*shape, low=0.2, high=1.5):
    """Values bounded away from 0 (and kinks), random signs."""
    mag = RNG.uniform(low, high, size=shape)
    return mag * RNG.choice([-1.0, 1.0], size=shape) if shape else float(mag * RNG.choice([-1, 1]))


def pos(*shape, low=0.3, high=2.0):
    return RNG.uniform(low, high, size=shape) if shape else float(RNG.uniform(low, high))


def distinct(*shape):
    """Values that are pairwise far apart (no ties for max/min)."""
    n = int(np.prod(shape))
    return RNG.permutation(np.linspace(-2, 2, n)).reshape(shape)


def onehot(rows, cols):
    t = np.zeros((rows, cols))
    t[np.arange(rows), RNG.integers(0, cols, rows)] = 1.0
    return t


# op -> list of (operand values, params)
CASES = {
    "add": [((away(3, 4), away(4)), {}), ((away(2, 1), away(1, 3)), {}), ((away(), away(3)), {})],
    "sub": [((away(3, 4), away(3, 1)), {}), ((away(), away()), {})],
    "mul": [((away(2, 3), away(3)), {}), ((away(), away(2, 2)), {})],
    "div": [((away(2, 3), away(2, 1)), {}), ((away(), away()), {})],
    "neg": [((away(3),), {})],
    "pow": [((pos(2, 3), away(3)), {}), ((pos(), 3.0), {})],
    "exp": [((away(2, 3),), {})],
    "log": [((pos(4),), {})],
    "sin": [((away(3),), {})],
    "cos": [((away(3),), {})],
    "tanh": [((away(2, 2),), {})],
    "sigmoid": [((away(5),), {})],
    "relu": [((away(6),), {})],
    "sqrt": [((pos(3),), {})],
    "abs": [((away(4),), {})],
    "maximum": [((distinct(2, 3), distinct(3) + 0.01), {})],
    "minimum": [((distinct(2, 3), distinct(2, 1) + 0.01), {})],
    "sum": [((away(2, 3, 4),), {}), ((away(2, 3, 4),), {"axis": 1}),
            ((away(2, 3, 4),), {"axis": (0, 2), "keepdims": True}), ((away(3, 4),), {"axis": -1})],
    "mean": [((away(2, 3),), {}), ((away(2, 3, 4),), {"axis": 2, "keepdims": True}),
             ((away(2, 3),), {"axis": 0})],
    "max": [((distinct(3, 4),), {"axis": 1}), ((distinct(2, 3),), {}),
            ((distinct(2, 3, 2),), {"axis": 0, "keepdims": True})],
    "reshape": [((away(3, 4),), {"shape": (2, 6)}), ((away(2, 3),), {"shape": (-1,)})],
    "reshape_like": [((away(6), away(2, 3)), {})],
    "transpose": [((away(2, 3, 4),), {"axes": (1, 2, 0)}), ((away(2, 3),), {})],
    "broadcast_to": [((away(3, 1),), {"shape": (2, 3, 4)}), ((away(),), {"shape": (3,)})],
    "broadcast_like": [((away(3), away(2, 3)), {"axis": 0, "keepdims": False}),
                       ((away(2, 1), away(2, 3)), {})],
    "sum_to_like": [((away(2, 3), away(3)), {}), ((away(4, 2, 3), away(2, 1)), {})],
    "matmul": [((away(3, 4), away(4, 2)), {}), ((away(3, 4), away(4)), {}), ((away(4), away(4, 2)), {})],
    "matmul_bt": [((away(3, 2), away(4, 2)), {}), ((away(3), away(4)), {}), ((away(2), away(4, 2)), {})],
    "matmul_at": [((away(3, 4), away(3, 2)), {}), ((away(3, 4), away(3)), {}), ((away(3), away(2)), {})],
    "softmax": [((away(3, 4),), {}), ((away(3, 4),), {"axis": 0})],
    "log_softmax": [((away(3, 4),), {}), ((away(5),), {"axis": 0})],
    "softmax_cross_entropy": [((away(4, 5), onehot(4, 5)), {}), ((away(5), onehot(1, 5)[0]), {}),
                              ((away(3, 4), pos(3, 4)), {})],  # targets not summing to 1
    "softmax_cross_entropy_grad": [((away(4, 5), onehot(4, 5)), {}), ((away(3, 4), pos(3, 4)), {})],
    "label_mass": [((pos(3, 4), away(3, 4)), {})],
}
CASES.update(NN_CASES)  # gcompile/optable_nn.py: conv, pooling, gather, concat, bmatmul

# Piecewise-constant or shape-only ops: no gradient flows through them.
NON_DIFFERENTIABLE = {
    "step": ((away(3),), {}), "sign": ((away(3),), {}), "max_weight": ((away(3), away(3)), {}),
    "max_mask": ((np.array([[1.0, 2.0, 2.0], [0.0, 5.0, 1.0]]), np.array([2.0, 5.0])), {"axis": 1}),
    "count": ((away(2, 3),), {"axis": 1}), "batch_size": ((away(2, 3),), {}),
    "ones_like": ((away(2),), {}), "zeros_like": ((away(2),), {}),
}
NON_DIFFERENTIABLE_VALUES = {
    "max_mask": [[0.0, 0.5, 0.5], [0.0, 1.0, 0.0]], "count": 3.0, "batch_size": 2.0,
}

BUILTIN = sorted(name for name, op in gc.registered_ops().items()
                 if op.forward.__module__.startswith("gcompile.optable"))


def test_every_builtin_op_has_a_case():
    assert set(BUILTIN) == set(CASES) | set(NON_DIFFERENTIABLE)


@pytest.mark.parametrize("name, k", [(n, k) for n in sorted(CASES) for k in range(len(CASES[n]))])
def test_vjp_matches_finite_differences(name, k):
    operands, params = CASES[name][k]
    opdef = gc.lookup(name)
    g = op_graph(name, opdef.arity, **params)
    feeds = {f"a{i}": v for i, v in enumerate(operands)}
    wrt = [f"a{i}" for i in range(opdef.arity) if opdef.vjp[i] is not None]
    assert check_grads(g, feeds, "out", wrt, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", sorted(CASES))
def test_shape_rule_matches_forward(name):
    for operands, params in CASES[name]:
        opdef = gc.lookup(name)
        g = op_graph(name, opdef.arity, **params)
        feeds = {f"a{i}": v for i, v in enumerate(operands)}
        value = gc.evaluate(g, feeds)["out"]
        shapes = gc.infer_shapes(g, feeds)
        assert shapes["out"] == np.shape(value)


@pytest.mark.parametrize("name", sorted(NON_DIFFERENTIABLE))
def test_non_differentiable_helpers_have_no_rule_and_run(name):
    opdef = gc.lookup(name)
    assert all(rule is None for rule in opdef.vjp)
    operands, params = NON_DIFFERENTIABLE[name]
    g = op_graph(name, opdef.arity, **params)
    value = gc.evaluate(g, {f"a{i}": v for i, v in enumerate(operands)})["out"]
    assert np.all(np.isfinite(value))
    if name in NON_DIFFERENTIABLE_VALUES:
        np.testing.assert_allclose(value, NON_DIFFERENTIABLE_VALUES[name])


def test_every_rule_has_text_and_symbol():
    for name in BUILTIN:
        opdef = gc.lookup(name)
        assert opdef.symbol
        for rule, text in zip(opdef.vjp, opdef.rules):
            assert rule is None or text, name


def test_integer_labels_feed_softmax_cross_entropy():
    logits = away(4, 3)
    labels = np.array([0, 2, 1, 2])
    g = op_graph("softmax_cross_entropy", 2)
    onehot_t = np.eye(3)[labels]
    by_int = gc.gradients(g, {"a0": logits, "a1": labels}, "out", ["a0"])["a0"]
    by_hot = gc.gradients(g, {"a0": logits, "a1": onehot_t}, "out", ["a0"])["a0"]
    np.testing.assert_allclose(by_int, by_hot, rtol=1e-14)
    # the book's SoftmaxWithLoss backward: (y - t) / batch
    y = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(by_int, (y - onehot_t) / 4, rtol=1e-12)


def test_numerically_safe_for_large_logits():
    big = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]])
    for name in ("softmax", "log_softmax"):
        out = gc.evaluate(op_graph(name, 1), {"a0": big})["out"]
        assert np.all(np.isfinite(out)), name
    loss = gc.evaluate(op_graph("softmax_cross_entropy", 2), {"a0": big, "a1": np.eye(3)[[0, 2]]})["out"]
    # row 0: class 0 holds the max logit -> ~0; row 1: class 2 -> 1 + log(1 + e^-1)
    assert np.isfinite(loss) and loss == pytest.approx((1 + np.log1p(np.exp(-1))) / 2, rel=1e-12)
    for name in ("sigmoid", "tanh"):
        out = gc.evaluate(op_graph(name, 1), {"a0": np.array([-1000.0, 1000.0])})["out"]
        assert np.all(np.isfinite(out)), name


@pytest.mark.parametrize("a_shape, g_shape", [((100, 784), (100, 50)), ((6, 2), (6, 9)),
                                              ((5, 4), (5, 4)), ((7, 3), (7, 1))])
def test_matmul_at_in_either_orientation_is_the_transposed_product(a_shape, g_shape):
    rng = np.random.default_rng(2)
    a, g = rng.standard_normal(a_shape), rng.standard_normal(g_shape)
    got = gc.evaluate(op_graph("matmul_at", 2), {"a0": a, "a1": g})["out"]
    assert got.shape == (a_shape[1], g_shape[1]) and got.dtype == np.float64
    want = np.einsum("ki,kj->ij", a, g)  # an independent summation, not BLAS
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert got.flags.f_contiguous == (a_shape[1] > g_shape[1])  # wide results: no copy
    f32 = gc.evaluate(op_graph("matmul_at", 2), {"a0": a.astype(np.float32),
                                                 "a1": g.astype(np.float32)})["out"]
    assert f32.dtype == np.float32
    np.testing.assert_allclose(f32, want, rtol=1e-4, atol=1e-3)
