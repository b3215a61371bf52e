"""The three normative workloads, generated as gcompile graphs.

This is gcompile's own implementation of ``shared/bench/WORKLOADS.md``
(checked against the table's numbers in ``tests/test_compiled.py`` and at
the start of every benchmark run):

* W1 -- a random scalar DAG drawn with splitmix64 (:func:`make_w1`,
  :func:`w1_graph`), plus the plain-Python reference loop
  (:func:`w1_reference`) the compiled code must beat;
* W2 -- the TwoLayerNet loss (:func:`w2_data`, :func:`w2_graph`);
* W3 -- a chain of ``tanh`` nodes (:func:`w3_graph`, :func:`w3_reference`).

Examples
--------
>>> ops = make_w1(1000)
>>> len(ops), ops[-1][0]
(1009, 'add')
>>> round(w1_reference(ops)[0], 12)
3.403812879636
"""
from __future__ import annotations

import math

import networkx as nx
import numpy as np

__all__ = ["make_w1", "w1_graph", "w1_reference", "w1_inputs", "w2_data", "w2_graph",
           "w2_reference", "w3_graph", "w3_reference", "W1_SEED", "W2_WRT"]

W1_SEED = 20240601
_OPS = ("add", "mul", "sub", "tanh", "exp", "sin")
_MASK = (1 << 64) - 1


def _splitmix64(seed):
    """Yield ``below(k)`` draws: ``next_u64() % k`` of the reference splitmix64."""
    state = seed & _MASK

    def below(k):
        nonlocal state
        state = (state + 0x9E3779B97F4A7C15) & _MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return (z ^ (z >> 31)) % k
    return below


def w1_inputs():
    """The 8 input values ``x_i = -0.7 + 0.2 i``."""
    return [-0.7 + 0.2 * i for i in range(8)]


def make_w1(n, seed=W1_SEED):
    """The W1 op list: ``[(op, a, b)]`` over node ids (0..7 inputs; op k makes id 8 + k).

    ``b`` is ``None`` for unary ops.  ``n`` random ops, then 9 ``add`` ops summing
    the last 10 random nodes left to right.
    """
    below = _splitmix64(seed)
    bound = [1] * 8
    used = [True] * 8
    ops = []
    for j in range(8, 8 + n):
        w = min(20, j)

        def pick():
            if below(10) == 0:
                return below(8)
            return j - 1 - below(w)
        op = _OPS[below(6)]
        a = pick()
        if j - 20 >= 8 and not used[j - 20]:
            a = j - 20
        b = None
        if op in ("add", "mul", "sub"):
            b = pick()
            if b == a:
                b = j - 1 if a != j - 1 else j - 2
        if op == "exp":
            op, bnd = ("tanh", 1) if bound[a] > 1 else ("exp", 3)
        elif op in ("tanh", "sin"):
            bnd = 1
        else:
            bnd = bound[a] * bound[b] if op == "mul" else bound[a] + bound[b]
            if bnd > 8:
                op, b, bnd = "tanh", None, 1
        ops.append((op, a, b))
        bound.append(bnd)
        used.append(False)
        used[a] = True
        if b is not None:
            used[b] = True
    acc = 8 + n - 10
    for k, nid in enumerate(range(8 + n - 9, 8 + n)):
        ops.append(("add", acc, nid))
        acc = 8 + n + k
    return ops


def w1_graph(ops):
    """The W1 DAG as a gcompile graph: inputs ``x0..x7`` (with ``value``), ops ``n8, n9, ...``.

    ``graph.graph`` holds ``output`` (the last node) and ``wrt`` (the 8 inputs).
    """
    g = nx.DiGraph()
    names = [f"x{i}" for i in range(8)]
    for name, value in zip(names, w1_inputs()):
        g.add_node(name, op="input", value=value)
    for k, (op, a, b) in enumerate(ops):
        name = f"n{8 + k}"
        names.append(name)
        g.add_node(name, op=op)
        g.add_edge(names[a], name, arg=0)
        if b is not None:
            g.add_edge(names[b], name, arg=1)
    g.graph.update(output=names[-1], wrt=names[:8])
    return g


def w1_reference(ops):
    """Plain-Python forward + reverse sweep over the op list: ``(value, [dL/dx_i])``.

    The loop with if-chains of the workloads file: the baseline compiled code must beat.
    """
    th, ex, sn, cs = math.tanh, math.exp, math.sin, math.cos
    v = w1_inputs()
    for op, a, b in ops:
        if op == "add":
            v.append(v[a] + v[b])
        elif op == "mul":
            v.append(v[a] * v[b])
        elif op == "sub":
            v.append(v[a] - v[b])
        elif op == "tanh":
            v.append(th(v[a]))
        elif op == "exp":
            v.append(ex(v[a]))
        else:
            v.append(sn(v[a]))
    g = [0.0] * len(v)
    g[-1] = 1.0
    for k in range(len(ops) - 1, -1, -1):
        op, a, b = ops[k]
        go = g[8 + k]
        if go == 0.0:
            continue
        if op == "add":
            g[a] += go
            g[b] += go
        elif op == "mul":
            g[a] += go * v[b]
            g[b] += go * v[a]
        elif op == "sub":
            g[a] += go
            g[b] -= go
        elif op == "tanh":
            y = v[8 + k]
            g[a] += go * (1.0 - y * y)
        elif op == "exp":
            g[a] += go * v[8 + k]
        else:
            g[a] += go * cs(v[a])
    return v[-1], g[:8]


def w2_data(seed=7):
    """The TwoLayerNet problem: ``dict(x, t, W1, b1, W2, b2)`` drawn from ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    x = rng.random((100, 784))
    labels = rng.integers(0, 10, 100)
    t = np.zeros((100, 10))
    t[np.arange(100), labels] = 1.0
    W1 = 0.01 * rng.standard_normal((784, 50))
    b1 = 0.1 * rng.standard_normal(50)
    W2 = 0.01 * rng.standard_normal((50, 10))
    b2 = 0.1 * rng.standard_normal(10)
    return dict(x=x, t=t, W1=W1, b1=b1, W2=W2, b2=b2)


#: The parameters W2 differentiates.
W2_WRT = ("W1", "b1", "W2", "b2")


def w2_graph(batch=100):
    """The W2 loss as one op per term of the formula of WORKLOADS.md.

    ``a1 = x@W1 + b1; z1 = 1/(1+exp(-a1)); a2 = z1@W2 + b2;
    y = exp(a2 - max(a2, 1)) / sum(exp(a2 - max(a2, 1)), 1); L = -sum(t*log(y)) / batch``.
    """
    g = nx.DiGraph()
    for name in ("x", "t") + W2_WRT:
        g.add_node(name, op="input")

    def op(name, kind, *args, **params):
        g.add_node(name, op=kind, **params)
        for pos, a in enumerate(args):
            if not g.has_node(a):
                g.add_node(a, op="const", value=float(a.split("=")[1]))
            g.add_edge(a, name, arg=pos)
    op("xW1", "matmul", "x", "W1")
    op("a1", "add", "xW1", "b1")
    op("-a1", "neg", "a1")
    op("exp(-a1)", "exp", "-a1")
    op("1+exp(-a1)", "add", "c=1", "exp(-a1)")
    op("z1", "div", "c=1", "1+exp(-a1)")
    op("z1W2", "matmul", "z1", "W2")
    op("a2", "add", "z1W2", "b2")
    op("max(a2)", "max", "a2", axis=1, keepdims=True)
    op("a2-max", "sub", "a2", "max(a2)")
    op("exp(a2-max)", "exp", "a2-max")
    op("sum(exp)", "sum", "exp(a2-max)", axis=1, keepdims=True)
    op("y", "div", "exp(a2-max)", "sum(exp)")
    op("log(y)", "log", "y")
    op("t*log(y)", "mul", "t", "log(y)")
    op("sum(t*log(y))", "sum", "t*log(y)")
    op("-sum", "neg", "sum(t*log(y))")
    op("L", "div", "-sum", f"c={float(batch)}")
    g.graph.update(output="L", wrt=list(W2_WRT))
    return g


def w2_reference(x, t, W1, b1, W2, b2):
    """The tight hand-written backprop of WORKLOADS.md (``w2_numpy_reference``): the W2 baseline.

    The loss and the four parameter gradients only (no ``dL/dx``), the softmax
    computed once, the plain logistic sigmoid.  Returns ``(loss, (dW1, db1, dW2, db2))``.
    """
    a1 = x @ W1 + b1
    z1 = 1.0 / (1.0 + np.exp(-a1))
    a2 = z1 @ W2 + b2
    e = np.exp(a2 - a2.max(axis=1, keepdims=True))
    y = e / e.sum(axis=1, keepdims=True)
    n = x.shape[0]
    loss = -np.sum(t * np.log(y)) / n
    da2 = (y - t) / n
    dz1 = da2 @ W2.T
    da1 = dz1 * z1 * (1.0 - z1)
    return loss, (x.T @ da1, da1.sum(0), z1.T @ da2, da2.sum(0))


def w3_graph(depth):
    """``y = tanh(tanh(...tanh(x)...))`` with ``depth`` tanh nodes; ``x`` defaults to 0.5."""
    g = nx.DiGraph()
    g.add_node("x", op="input", value=0.5)
    prev = "x"
    for i in range(depth):
        g.add_node(i, op="tanh")
        g.add_edge(prev, i, arg=0)
        prev = i
    g.graph.update(output=prev, wrt=["x"])
    return g


def w3_reference(depth, x=0.5):
    """Plain-Python chain: ``(tanh^depth(x), d/dx)``."""
    d = 1.0
    for _ in range(depth):
        x = math.tanh(x)
        d *= 1.0 - x * x
    return x, d
