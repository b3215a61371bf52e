"""Fusion: compositions of table ops that a fused table op computes the same way.

:func:`fuse` returns a copy of a :class:`~gcompile.graph.Plan` in which a node
computing a known composition reads the composition's input through one fused
op of the table instead, so its gradient comes from the fused op's short VJP
rule rather than from the chain rule through every step.  ``gc.compile`` runs
it on the plan it differentiates and lowers; the graph itself, ``gc.grad``
and the interpreter are unchanged.

Each pattern is written in the op table's own terms and fuses only where the
fused op's forward performs the same numpy operations in the same order, so
the fused value is bit for bit the composition's:

- softmax: ``exp(a - max(a, axis, keepdims)) / sum(that exp, axis, keepdims)``
  -> ``softmax(a, axis)``: its gradient is ``y * (g - sum(g * y))`` instead of
  the chain through the division, the sum, the exp and the max (and its
  tie mask);
- sigmoid: ``1 / (1 + exp(-a))`` -> ``sigmoid(a)``: gradient ``g * y * (1 - y)``.

The fused gradient is the composition's up to rounding, except where the
composition's own chain rule overflows: ``1 / (1 + exp(-x))`` at ``x < -709``
differentiates to ``inf * 0 = nan`` step by step, the fused rule to the true 0.

A pattern fuses only when its inner nodes are read by nothing else and are not
the output or a ``wrt`` node (``keep``), so nothing is computed twice and no
requested gradient loses its path.

Examples
--------
>>> import networkx as nx, gcompile as gc
>>> g = nx.DiGraph()
>>> g.add_node("a", op="input"); g.add_node("one", op="const", value=1.0)
>>> for v, op, args in [("n", "neg", ["a"]), ("e", "exp", ["n"]), ("q", "add", ["one", "e"]),
...                     ("s", "div", ["one", "q"])]:
...     g.add_node(v, op=op)
...     for k, u in enumerate(args):
...         g.add_edge(u, v, arg=k)
>>> fused = fuse(gc.plan(g), keep={"s", "a"}, consts={"one": 1.0})
>>> fused.ops["s"].name, fused.operands["s"]
('sigmoid', ('a',))
"""
from __future__ import annotations

from .graph import Plan
from .registry import lookup

__all__ = ["fuse"]


def fuse(plan, keep=(), consts=None):
    """A copy of ``plan`` with the compositions above replaced by fused ops.

    Parameters
    ----------
    plan : Plan
        A validated graph's plan (not modified).
    keep : collection of nodes
        Nodes whose own value or gradient is asked for: never fused away.
    consts : mapping, optional
        Constant node -> value (for the ``1`` of the sigmoid pattern); nodes
        not in it are not constants.

    Returns
    -------
    Plan
        ``plan`` itself when nothing fuses, else a new plan sharing ``order``.
    """
    ops, operands, params = plan.ops, plan.operands, plan.params
    uses = {}
    for v in plan.order:
        for u in operands.get(v, ()):
            uses[u] = uses.get(u, 0) + 1
    consts = consts or {}
    found = {}
    for v, opdef in ops.items():
        if opdef.name == "div":
            hit = _softmax(v, ops, operands, params, uses, keep) or \
                _sigmoid(v, ops, operands, uses, keep, consts)
            if hit is not None:
                found[v] = hit
    if not found:
        return plan
    out = Plan(order=plan.order, ops=dict(ops), operands=dict(operands), params=dict(params))
    for v, (name, args, kw) in found.items():
        out.ops[v], out.operands[v], out.params[v] = lookup(name), args, kw
    return out


def _op(v, ops, name):
    opdef = ops.get(v)
    return opdef is not None and opdef.name == name


def _inner(v, uses, keep, n=1):
    return uses.get(v, 0) == n and v not in keep


def _softmax(v, ops, operands, params, uses, keep):
    e, s = operands[v]
    if not (_op(e, ops, "exp") and _op(s, ops, "sum") and tuple(operands[s]) == (e,)
            and _inner(e, uses, keep, 2) and _inner(s, uses, keep)):
        return None
    (d,) = operands[e]
    if not (_op(d, ops, "sub") and _inner(d, uses, keep)):
        return None
    a, m = operands[d]
    if not (_op(m, ops, "max") and tuple(operands[m]) == (a,) and _inner(m, uses, keep)):
        return None
    axis = params[s].get("axis")
    if not (isinstance(axis, int) and not isinstance(axis, bool) and params[m].get("axis") == axis
            and params[s].get("keepdims") is True and params[m].get("keepdims") is True):
        return None
    return "softmax", (a,), {"axis": axis}


def _sigmoid(v, ops, operands, uses, keep, consts):
    one, q = operands[v]
    if not (_is_one(one, consts) and _op(q, ops, "add") and _inner(q, uses, keep)):
        return None
    left, right = operands[q]
    ex = right if _is_one(left, consts) else left if _is_one(right, consts) else None
    if ex is None or not (_op(ex, ops, "exp") and _inner(ex, uses, keep)):
        return None
    (n,) = operands[ex]
    if not (_op(n, ops, "neg") and _inner(n, uses, keep)):
        return None
    return "sigmoid", tuple(operands[n]), {}


def _is_one(v, consts):
    value = consts.get(v)
    return type(value) is float and value == 1.0
