"""The passes' working state: a graph as per-node records, validated once and rebuilt once.

:func:`gcompile.optimize` runs fold / CSE / DCE on one :class:`Records` over
all its rounds (no DiGraph, no validation, no shape inference between
passes), so its cost is linear in the graph's size; :class:`GraphFacts` is
what the simplifier (:mod:`gcompile.simplify`) reads about a node's operands.

Examples
--------
>>> import gcompile as gc
>>> from gcompile.examples import apple
>>> g, _ = apple()
>>> rec = Records(gc.grad(g, "price", g.graph["wrt"]))
>>> len(rec.attrs), rec.build().number_of_nodes()
(9, 9)
"""
from __future__ import annotations

import numpy as np

from .errors import resolve
from .evaluate import apply_op
from .graph import from_records, plan as make_plan
from .registry import LEAF_OPS
from .shapes import infer_shapes
from .simplify import Facts, uniform

__all__ = ["Records", "GraphFacts", "prepare", "rebuild", "const_array"]


class Records:
    """A graph as per-node records while passes run: validated once, rebuilt once.

    ``attrs``/``operands``/``ops``/``params`` hold the live nodes; ``alias``
    maps every node replaced by another (over all passes run so far) to it.
    Static shapes are inferred once: no pass changes the shape of a value.
    """

    def __init__(self, graph, shapes=None):
        self.graph = graph
        self.plan, self.attrs, self.operands = prepare(graph)
        self.order = self.plan.order
        self.ops, self.params = dict(self.plan.ops), dict(self.plan.params)
        self.alias = {}
        self.shapes = shapes
        self._static = None

    @property
    def static(self):
        if self._static is None:
            self._static = infer_shapes(self.graph, self.shapes, plan=self.plan)
        return self._static

    def final(self, n):
        return resolve(self.alias, n)

    def replace(self, v, target):
        """``v``'s value is ``target``'s: drop ``v``."""
        self.alias[v] = target
        del self.attrs[v]
        self.ops.pop(v, None)

    def remove(self, v):
        del self.attrs[v]
        self.ops.pop(v, None)

    def build(self):
        """The new DiGraph (graph attributes remapped through every alias)."""
        return rebuild(self.graph, self.order, self.attrs, self.operands, self.alias, {})


class GraphFacts(Facts):
    """What the simplifier knows about a node during :func:`fold_constants`."""

    def __init__(self, rec, fold_seed):
        self.attrs, self.operands, self.fold_seed = rec.attrs, rec.operands, fold_seed
        self.shape = rec.static.get
        self.node = None

    def dtype(self, u):
        return None

    def is_const(self, u):
        d = self.attrs[u]
        return d["op"] == "const" and (self.fold_seed or not d.get("feedable"))

    def value(self, u):
        return const_array(self.attrs[u])

    def uniform(self, u):
        if not self.is_const(u):
            return None
        value = self.attrs[u]["value"]
        return value if type(value) is float else uniform(value)

    def producer(self, u):
        d = self.attrs.get(u)
        if d is None or d["op"] in LEAF_OPS or d.get("feedable"):
            return None
        return d["op"], self.operands[u]

    def fold(self, opdef, args, params):
        return apply_op(opdef, self.node, args, params)


def rebuild(graph, order, attrs, operands, alias, record):
    """The new DiGraph from per-node attrs/operands (one :func:`gcompile.nxdicts.from_records`);
    graph attributes naming nodes (``grads``, ``output``, ``seed``) follow ``alias``."""
    keys = [v for v in order if v in attrs]
    index = {v: i for i, v in enumerate(keys)}
    for v in keys:
        data = attrs[v]
        if "local" in data:
            loc = resolve(alias, data["local"])
            if loc in attrs and loc != v:
                data["local"] = loc
            else:
                del data["local"]
    out = from_records(keys, [attrs[v] for v in keys],
                       [[index[resolve(alias, u)] for u in operands.get(v, ())] for v in keys],
                       graph.graph)
    _remap_attrs(out, lambda n: resolve(alias, n))
    record["after"] = out.number_of_nodes()
    return out


def _remap_attrs(out, final):
    if "grads" in out.graph:
        out.graph["grads"] = {w: final(n) for w, n in out.graph["grads"].items()}
        for extra in ("hvp", "gradient"):
            if isinstance(out.graph.get(extra), dict):
                out.graph[extra] = {w: final(n) for w, n in out.graph[extra].items()}
        seed = out.graph.get("seed")
        if seed is not None and (seed not in out or not out.nodes[seed].get("feedable")):
            out.graph["seed"] = None
    elif out.graph.get("output") is not None:
        try:
            out.graph["output"] = final(out.graph["output"])
        except TypeError:
            pass


def prepare(graph):
    """``(plan, {node: attrs copy}, {op node: operand list})``: the passes' working copy."""
    p = make_plan(graph)
    attrs = {v: dict(graph.nodes[v]) for v in p.order}
    operands = {v: list(p.operands[v]) for v in p.ops}
    return p, attrs, operands


def const_array(data):
    """A ``const`` node's value as an array."""
    return np.asarray(data["value"])
