"""Fusion of the ``softmax_cross_entropy`` op: its softmax computed once, for the loss and the gradient.

The op's forward is ``-sum(t * log_softmax(a)) / N``, and its gradient
``(softmax(a) * sum(t) - t) / N`` (``softmax_cross_entropy_grad``) computes
the same ``exp(a - max a)`` and its sum again.  :func:`split_cross_entropy`
(called by :func:`gcompile.fusion.fuse`) gives the plan the steps of the
forward as nodes of their own::

    d = a - max(a, -1, keepdims)      # 'L'.max, 'L'.shifted
    e = exp(d)                        # 'L'.exp
    z = sum(e, -1, keepdims)          # 'L'.sum
    L = softmax_cross_entropy_parts(a, t, d, e, z)

The parts op finishes the forward with the op's own numpy calls, so ``L`` is
bit for bit the op's value; its gradient to ``a`` is ``g * (e / z * sum(t) -
t) / N`` from those values (integer labels, 0-d logits or shapes not known to
match fall back to the op's own rule).  The added nodes are keyed by
:class:`Part` and live in a copy of the forward graph (``FusedPlan.graph``),
made only when the op occurs; the caller's graph is never modified.

Examples
--------
>>> import networkx as nx, gcompile as gc
>>> from gcompile.fusion import fuse
>>> g = nx.DiGraph([("a", "L"), ("t", "L")])
>>> g.nodes["a"]["op"] = g.nodes["t"]["op"] = "input"; g.nodes["L"]["op"] = "softmax_cross_entropy"
>>> g.edges["a", "L"]["arg"], g.edges["t", "L"]["arg"] = 0, 1
>>> fused = fuse(gc.plan(g), keep={"L", "a"}, graph=g)
>>> fused.ops["L"].name, fused.operands["L"][2:]
('softmax_cross_entropy_parts', ('L'.shifted, 'L'.exp, 'L'.sum))
>>> g.number_of_nodes(), fused.graph.number_of_nodes()
(3, 7)
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .graph import Plan
from .optable import _batch_size, _one_hot_like  # the op's own helpers: the same numpy calls
from .registry import OpDef, lookup

__all__ = ["split_cross_entropy", "FusedPlan", "Part", "CROSS_ENTROPY_PARTS"]


@dataclass
class FusedPlan(Plan):
    """A fused plan that added nodes: ``graph`` is the forward graph holding them."""

    graph: Any = None


class Part:
    """The key of a node the split adds: step ``name`` of the fused node ``of``."""

    __slots__ = ("of", "name")

    def __init__(self, of, name):
        self.of, self.name = of, name

    def __repr__(self):
        return f"{self.of!r}.{self.name}"

    def __eq__(self, other):
        return type(other) is Part and (other.of, other.name) == (self.of, self.name)

    def __hash__(self):
        return hash((Part, self.of, self.name))


_STEPS = (("max", "max", ("a",), {"axis": -1, "keepdims": True}),
          ("shifted", "sub", ("a", "max"), {}), ("exp", "exp", ("shifted",), {}),
          ("sum", "sum", ("exp",), {"axis": -1, "keepdims": True}))


def _last_axis_kept(shape, axis=-1, keepdims=True):
    """The shape of a reduction over the last axis, kept; 0-d stays 0-d (as numpy does)."""
    return tuple(shape[:-1]) + (1,) if shape else ()


#: The split's reductions: the table's max and sum (same forward), whose shape rule also
#: takes the 0-d logits softmax_cross_entropy itself accepts.
_STEP_OPS = {"max": replace(lookup("max"), shape=_last_axis_kept),
             "sum": replace(lookup("sum"), shape=_last_axis_kept)}


def split_cross_entropy(out, nodes, graph):
    """Each ``v = softmax_cross_entropy(a, t)`` -> the steps of ``_STEPS`` + the parts op."""
    copy = graph.copy()
    order, at = [], set(nodes)
    for v in out.order:
        if v in at:
            a, t = out.operands[v]
            names = {"a": a}
            for name, op, args, kw in _STEPS:
                key = names[name] = Part(v, name)
                operand_keys = tuple(names[x] for x in args)
                out.ops[key] = _STEP_OPS.get(op) or lookup(op)
                out.operands[key], out.params[key] = operand_keys, dict(kw)
                copy.add_node(key, op=op, **kw)
                for pos, u in enumerate(operand_keys):
                    copy.add_edge(u, key, arg=pos)
                order.append(key)
            parts = (a, t, names["shifted"], names["exp"], names["sum"])
            out.ops[v], out.operands[v], out.params[v] = CROSS_ENTROPY_PARTS, parts, {}
            for pos, u in enumerate(parts[2:], start=2):
                copy.add_edge(u, v, arg=pos)
        order.append(v)
    return FusedPlan(order=order, ops=out.ops, operands=out.operands, params=out.params,
                     graph=copy)


def _parts_forward(xp, a, t, shifted, e, z):
    """``softmax_cross_entropy``'s own numpy calls on its steps' values (bit for bit)."""
    a = xp.asarray(a)
    t = _one_hot_like(xp, t, a)
    return -xp.sum(t * (shifted - xp.log(z))) / _batch_size(xp, a)


def _parts_vjp_a(f, g, a, t, shifted, e, z, out):
    """``g * (e / z * sum(t) - t) / N``: the softmax of the forward (integer labels, or
    shapes not known to match: ``softmax_cross_entropy_grad``, which recomputes it)."""
    shape = f.shape(a)
    if not shape or shape != f.shape(t):  # unknown, 0-d, or labels
        return f.mul(g, f.softmax_cross_entropy_grad(a, t))
    probs = f.mul(f.div(e, z), f.sum(t, axis=-1, keepdims=True))
    return f.mul(g, f.div(f.sub(probs, t), f.batch_size(a)))


def _parts_vjp_t(f, g, a, t, shifted, e, z, out):
    """``-g * (d - log z) / N``: minus the log-softmax of the forward, over the batch."""
    shape = f.shape(a)
    if not shape or shape != f.shape(t):
        return f.mul(g, f.div(f.neg(f.log_softmax(a, axis=-1)), f.batch_size(a)))
    return f.mul(g, f.div(f.neg(f.sub(shifted, f.log(z))), f.batch_size(a)))


#: ``softmax_cross_entropy`` finished from its steps (operands ``a, t, d, e, z``).  Not
#: registered: only the split makes it; its VJP rules write registered ops only.
CROSS_ENTROPY_PARTS = OpDef(
    name="softmax_cross_entropy_parts", arity=5, forward=_parts_forward,
    shape=lambda *shapes: (), symbol="softmax+CE", vjp=(_parts_vjp_a, _parts_vjp_t, None, None, None),
    rules=("d L/d logits = (e/z Σt - t) / N", "d L/dt = -(d - log z) / N", "", "", ""),
    doc="softmax_cross_entropy from its steps: d = a - max a, e = exp d, z = Σ e.",
    keeps_float64=True)
