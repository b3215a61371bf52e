"""The feed reader shared by the interpreter and compiled code (gcompile.feeds).

Compiled code and the interpreter read every feed kind the same way, so for every op of
the table their values and gradients agree in value *and dtype*: Python floats and ints,
0-d and n-d float64 / float32 / integer arrays (issue 11 items 1 and 2).
"""
import warnings

import networkx as nx
import numpy as np
import pytest

import gcompile as gc
from gcompile.feeds import MISSING, as_value, const_value, read_input
from helpers import op_graph
from test_optable import CASES, NON_DIFFERENTIABLE

ALL_CASES = [(name, operands, params) for name in sorted(CASES) for operands, params in CASES[name]]
ALL_CASES += [(name, *NON_DIFFERENTIABLE[name]) for name in sorted(NON_DIFFERENTIABLE)]

ZERO_D = {  # a 0-d operand (a Python number in the table's cases) fed as ...
    "python float": float,
    "python int": lambda v: int(np.sign(v) or 1) * max(1, int(round(abs(v)))),
    "0-d float64": lambda v: np.array(v, np.float64),
    "0-d float32": lambda v: np.array(v, np.float32),
    "0-d int64": lambda v: np.array(round(v), np.int64),
    "numpy int64": lambda v: np.int64(round(v)),
}
N_D = {  # an n-d operand fed as ...
    "float64": lambda a: a,
    "float32": lambda a: a.astype(np.float32),
    "int64": lambda a: np.rint(a * 3).astype(np.int64),
    "int32": lambda a: np.rint(a * 3).astype(np.int32),
}


#: Ops over a class axis, undefined on 0-d operands: compile refuses them when it infers the
#: backward graph's shapes, while the interpreter's numpy answers (not a feed question).
NO_ZERO_D = {"softmax", "log_softmax", "softmax_cross_entropy_grad", "broadcast_like"}


def _kinds():
    """(op, operands, params, kind): each case with n-d feeds of each dtype, and each case
    with every operand made 0-d (its first element) fed as each 0-d kind."""
    out = []
    for name, operands, params in ALL_CASES:
        for kind, make in N_D.items():
            out.append((name, [make(np.asarray(v)) if np.ndim(v) else v for v in operands], params,
                        kind))
        for kind, make in ZERO_D.items() if name not in NO_ZERO_D else ():
            out.append((name, [make(float(np.asarray(v).flat[0])) for v in operands], params,
                        kind))
    return out


def _dtype(x):
    return np.asarray(x).dtype


@pytest.mark.parametrize("name, operands, params, kind", _kinds(),
                         ids=lambda x: x if isinstance(x, str) else "")
def test_compiled_and_interpreted_agree_in_value_and_dtype(name, operands, params, kind):
    opdef = gc.lookup(name)
    g = op_graph(name, opdef.arity, **params)
    feeds = {f"a{i}": v for i, v in enumerate(operands)}
    wrt = [f"a{i}" for i in range(opdef.arity) if opdef.vjp[i] is not None
           and _dtype(as_value(feeds[f"a{i}"], "a")).kind == "f"]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            value = gc.evaluate(g, feeds)["out"]
            grads = gc.gradients(g, feeds, "out", wrt)
        except gc.GraphError:  # not defined for these operands (e.g. matmul of 0-d values)
            return
        f = gc.compile(g, "out", wrt)
        c_value, c_grads = f(feeds)
    assert _dtype(c_value) == _dtype(value), (name, kind)
    np.testing.assert_allclose(c_value, value, rtol=1e-6, equal_nan=True)
    for w in wrt:
        assert _dtype(c_grads[w]) == _dtype(grads[w]), (name, kind, w)
        np.testing.assert_allclose(c_grads[w], grads[w], rtol=1e-5, atol=1e-7, equal_nan=True)


@pytest.mark.parametrize("label", [np.array(2), np.array(2, np.int32), np.array(2, np.uint8),
                                   np.int64(2)], ids=["int64", "int32", "uint8", "np.int64"])
def test_zero_d_integer_label_stays_an_integer_in_compiled_code(label):
    """Issue 11 item 1: torch.nn.functional.cross_entropy(z, 2) = 2.2191007 (float64)."""
    g = op_graph("softmax_cross_entropy", 2)
    z = np.array([0.1, 0.5, -0.3, 1.2])
    value, grads = gc.compile(g, "out", ["a0"])({"a0": z, "a1": label})
    assert value == pytest.approx(2.2191007283923128, rel=1e-12)
    e = np.exp(z - z.max())
    np.testing.assert_allclose(grads["a0"], e / e.sum() - np.eye(4)[2], rtol=1e-12)
    np.testing.assert_allclose(grads["a0"], [0.16217152, 0.24193148, -0.89129318, 0.48719018],
                               atol=1e-8)


def test_zero_d_float32_feed_stays_float32_in_compiled_code():
    """Issue 11 item 2: sum(a) * w with float32 a and 0-d float32 w."""
    g = nx.DiGraph()
    g.add_nodes_from(["a", "w"], op="input")
    g.add_node("s", op="sum")
    g.add_node("y", op="mul")
    g.add_edges_from([("a", "s"), ("s", "y", {"arg": 0}), ("w", "y", {"arg": 1})])
    feeds = {"a": np.arange(12, dtype=np.float32).reshape(3, 4), "w": np.array(0.5, np.float32)}
    value, grads = gc.compile(g, "y", ["a", "w"])(feeds)
    assert value.dtype == np.float32 and value == 33.0
    assert grads["a"].dtype == np.float32 and grads["w"].dtype == np.float32
    np.testing.assert_array_equal(grads["a"], np.full((3, 4), 0.5, np.float32))
    assert grads["w"] == 66.0


def test_one_set_of_messages():
    g = op_graph("exp", 1)
    g.nodes["a0"]["shape"] = (2,)
    for run in (lambda feeds: gc.evaluate(g, feeds), lambda feeds: gc.compile(g, "out", "a0")(feeds)):
        with pytest.raises(gc.GraphError, match="missing feed for input node 'a0'"):
            run({})
        with pytest.raises(gc.GraphError, match=r"input 'a0' declares shape \(2,\) but was fed "
                                                r"array of shape \(3,\)"):
            run({"a0": np.zeros(3)})
        with pytest.raises(gc.GraphError, match="feed for input 'a0' is not numeric"):
            run({"a0": "text"})


def test_reader_conversions():
    assert read_input("x", 2, None) == 2.0 and _dtype(read_input("x", 2, None)) == np.float64
    assert read_input("x", True, None).dtype == np.bool_
    assert read_input("x", [1, 2], (2,)).dtype == np.int64
    assert read_input("x", np.float32(1), ()).dtype == np.float32
    assert type(const_value(3, "c")) is float and const_value(np.int8(3), "c").dtype == np.int8
    with pytest.raises(gc.GraphError, match="missing feed"):
        read_input("x", MISSING, None)
    with pytest.raises(gc.GraphError, match="not a regular array"):
        read_input("x", [[1, 2], [3]], None)
