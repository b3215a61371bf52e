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
- sigmoid: ``1 / (1 + exp(-a))`` -> ``sigmoid(a)``: gradient ``g * y * (1 - y)``;
- cross-entropy of a softmax: ``sum(t * log(y))`` with ``y = softmax(a, axis)``
  (written as the op or as the composition above) -> ``cross_entropy_sum(y,
  t, a)``, whose forward is the same ``sum(t * log(y))``; its gradient goes to
  ``a`` directly, ``g * (t - y * sum(t, axis))``, from the softmax the forward
  computed (the chain through the log, the division ``t / y`` and the softmax
  Jacobian is skipped; nothing recomputes the softmax).  ``y`` gets no
  gradient from it (its other readers, if any, still send theirs through the
  softmax), so ``y`` must not be a ``wrt`` node;
- the ``softmax_cross_entropy`` op, whose gradient would compute the softmax
  a second time: split into the steps its forward takes, which the gradient
  then reads (:mod:`gcompile.fusion_sce`; needs ``graph``).

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

from operator import attrgetter

from .fusion_sce import split_cross_entropy
from .graph import Plan
from .registry import OpDef, lookup

__all__ = ["fuse"]


def fuse(plan, keep=(), consts=None, graph=None):
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
    graph : nx.DiGraph, optional
        The graph of ``plan`` (not modified): needed to split
        ``softmax_cross_entropy`` nodes, which are left alone without it.

    Returns
    -------
    Plan
        ``plan`` itself when nothing fuses, else a new plan (a
        :class:`~gcompile.fusion_sce.FusedPlan` whose ``graph`` holds the
        nodes a split added, if any).
    """
    ops, operands, params = plan.ops, plan.operands, plan.params
    names = set(map(_name, ops.values()))  # every pattern ends in one of three ops: a
    # graph with none of them is walked once, at C speed
    uses = _uses(plan) if "div" in names or "sum" in names else {}
    consts = consts or {}
    found = {}
    if "div" in names:
        for v, opdef in ops.items():
            if opdef.name == "div":
                hit = _softmax(v, ops, operands, params, uses, keep) or \
                    _sigmoid(v, ops, operands, uses, keep, consts)
                if hit is not None:
                    found[v] = hit
    if found:
        ops, operands, params = dict(ops), dict(operands), dict(params)
        for v, (name, args, kw) in found.items():
            ops[v], operands[v], params[v] = lookup(name), args, kw
    xent = {}
    if "sum" in names:
        for v, opdef in ops.items():
            if opdef.name == "sum":
                hit = _cross_entropy(v, ops, operands, params, uses, keep)
                if hit is not None:
                    xent[v] = hit
    split = [v for v, opdef in ops.items() if opdef.name == "softmax_cross_entropy"] \
        if graph is not None and "softmax_cross_entropy" in names else []
    if not found and not xent and not split:
        return plan
    out = Plan(order=plan.order, ops=dict(ops), operands=dict(operands), params=dict(params))
    for v, (args, kw) in xent.items():
        out.ops[v], out.operands[v], out.params[v] = CROSS_ENTROPY_SUM, args, kw
    return split_cross_entropy(out, split, graph) if split else out


_name = attrgetter("name")


def _uses(plan):
    """Node -> how many operand positions read it."""
    uses = {}
    operands = plan.operands
    for v in plan.order:
        for u in operands.get(v, ()):
            uses[u] = uses.get(u, 0) + 1
    return uses


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


def _cross_entropy(v, ops, operands, params, uses, keep):
    """``v = sum(t * log(y))`` (full sum), ``y = softmax(a, axis)``: ``((y, t, a), {axis})``."""
    if params[v].get("axis") is not None or params[v].get("keepdims"):
        return None
    (p,) = operands[v]
    if not (_op(p, ops, "mul") and _inner(p, uses, keep)):
        return None
    left, right = operands[p]
    if _op(right, ops, "log") and _inner(right, uses, keep):
        t, lg = left, right
    elif _op(left, ops, "log") and _inner(left, uses, keep):
        t, lg = right, left
    else:
        return None
    (y,) = operands[lg]
    if not _op(y, ops, "softmax") or y in keep or t == y:
        return None
    (a,) = operands[y]
    return (y, t, a), {"axis": params[y].get("axis", -1), "t_first": lg == right}


_MUL, _LOG, _SUM = (lookup(name) for name in ("mul", "log", "sum"))


def _xent_forward(xp, y, t, a, axis=-1, t_first=True):
    """``sum(t * log(y))``: the composition's own numpy calls, in its order (bit for bit)."""
    logs = _LOG.forward(xp, y)
    prod = _MUL.forward(xp, t, logs) if t_first else _MUL.forward(xp, logs, t)
    return _SUM.forward(xp, prod)


def _xent_vjp_a(f, g, y, t, a, out, axis=-1, t_first=True):
    """``g * (t - y * sum(t, axis))``: softmax Jacobian and ``t / y`` cancelled out.

    Where ``t`` broadcasts against ``y`` (static shapes differ or are unknown),
    the composition's chain is written instead, summed back to ``a``'s shape.
    """
    shape = f.shape(y)
    if shape and shape == f.shape(t):
        return f.mul(g, f.sub(t, f.mul(y, f.sum(t, axis=axis, keepdims=True))))
    dy = f.sum_to_like(f.mul(f.mul(g, t), f.div(1.0, y)), y)
    return f.mul(y, f.sub(dy, f.sum(f.mul(dy, y), axis=axis, keepdims=True)))


def _xent_vjp_t(f, g, y, t, a, out, axis=-1, t_first=True):
    """``g * log(y)``, summed back to ``t``'s shape."""
    return f.sum_to_like(f.mul(g, f.log(y)), t)


def _xent_shape(y, t, a, axis=-1, t_first=True):
    return ()


#: ``sum(t * log(softmax(a)))`` as one node (operands ``y, t, a``; ``y`` the softmax node).
#: Not registered: only :func:`fuse` makes it, in the plans gc.compile lowers; its VJP
#: rules write registered ops only, so backward graphs stay in the table's terms.
CROSS_ENTROPY_SUM = OpDef(
    name="cross_entropy_sum", arity=3, forward=_xent_forward, shape=_xent_shape,
    symbol="Σ t·log softmax", vjp=(None, _xent_vjp_t, _xent_vjp_a),
    rules=("", "d/dt = log y", "d/da = t - y Σt"), params={"axis": -1, "t_first": True},
    doc="sum(t * log(y)) with y = softmax(a): its gradient to a from y.", keeps_float64=True)
