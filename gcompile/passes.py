"""Simplification passes: plain functions from a graph to a new graph.

Each pass copies; the graph it is given is never modified.  They work on
forward and backward graphs alike and keep a backward graph's attributes valid:
when a node named in ``graph.graph["grads"]``, ``["seed"]`` or a node's
``local`` attribute is merged or replaced, the name is remapped to the node
that now holds its value.

- :func:`fold_constants` runs the simplifier :func:`gcompile.simplify.simplify`
  (the same as ``gc.compile``'s) on every node: it evaluates ops whose operands
  are all constants (and shape-only ops such as ``ones_like`` when the shape is
  known), drops the identities ``x * 1``, ``1 * x``, ``x / 1``, ``x + 0``,
  ``0 + x``, ``x - 0``, ``x ** 1``, ``neg(neg(x))`` and reshapes/unbroadcasts to
  the same shape, and writes ``x * -1`` as ``neg(x)``, but only where static
  shapes prove the result has the shape of ``x`` (``x * 1`` with a bigger
  constant broadcasts ``x``: it is not the identity there).  ``x * 0`` is not
  folded: it is ``nan`` when ``x`` is ``inf``.  The facts come from each op's
  declaration, so user ops declared with them fold too.
- :func:`eliminate_common_subexpressions`: the same op on the same operands in
  the same positions with the same parameters is computed once; constants are
  equal when value, dtype and shape are.
- :func:`eliminate_dead_code` drops every node no kept node needs.
- :func:`optimize` runs them in order and reports what each did.

**The seed.**  A backward graph's seed (``feedable=True``) is the cotangent 1.
With ``fold_seed=True`` (the default) it is a constant like any other and is
multiplied through, as the chain-rule diagrams do by hand; the result then
computes the gradient only, and ``graph.graph["seed"]`` becomes ``None``.
Pass ``fold_seed=False`` to keep the seed a node you can feed (a
vector-Jacobian product with your own cotangent): then it is never treated as a
constant, merged or removed while anything reads it.

Folding ``x * 1`` to ``x`` keeps values, not dtypes: an integer ``x`` stays
integer where ``x * 1.0`` would have been float.

Examples
--------
>>> import gcompile as gc
>>> from gcompile.examples import apple
>>> g, feeds = apple()
>>> bwd = gc.grad(g, "price", g.graph["wrt"])
>>> small, log = optimize(bwd)
>>> log.before, log.after, small.graph["grads"]
(9, 6, {'apple': 'dapple', 'apple_num': 'dapple_num', 'tax': 'apple_price'})
>>> back = gc.evaluate(small, gc.evaluate(g, feeds))
>>> round(float(back[small.graph["grads"]["apple"]]), 6)
2.2
"""
from __future__ import annotations

import numpy as np

from .errors import GraphError, resolve
from .evaluate import apply_op
from .graph import ancestors, as_node_list
from .pass_log import PassLog, _const_value, _is_feedable, _prepare, _rebuild, _record
from .registry import LEAF_OPS
from .shapes import infer_shapes
from .simplify import ALIAS, CONST, Facts, simplify, uniform

__all__ = ["fold_constants", "eliminate_common_subexpressions", "eliminate_dead_code",
           "optimize", "PassLog", "PASSES"]

class _GraphFacts(Facts):
    """What the simplifier knows about a node during :func:`fold_constants`."""

    def __init__(self, attrs, operands, static, fold_seed):
        self.attrs, self.operands, self.static, self.fold_seed = attrs, operands, static, fold_seed
        self.node = None

    def shape(self, u):
        return self.static.get(u)

    def dtype(self, u):
        return None

    def is_const(self, u):
        d = self.attrs[u]
        return d["op"] == "const" and not _is_feedable(d, self.fold_seed)

    def value(self, u):
        return _const_value(self.attrs[u])

    def uniform(self, u):
        return uniform(self.attrs[u]["value"]) if self.is_const(u) else None

    def producer(self, u):
        d = self.attrs.get(u)
        if d is None or d["op"] in LEAF_OPS or d.get("feedable"):
            return None
        return d["op"], self.operands[u]

    def fold(self, opdef, args, params):
        return apply_op(opdef, self.node, args, params)


def _fold(graph, shapes=None, fold_seed=True):
    p, attrs, operands = _prepare(graph)
    record = _record("fold_constants", len(p.order))
    static = infer_shapes(graph, shapes, plan=p)
    facts = _GraphFacts(attrs, operands, static, fold_seed)
    alias = {}

    def final(n):
        while n in alias:
            n = alias[n]
        return n

    for v in p.order:
        opdef = p.ops.get(v)
        data = attrs[v]
        if opdef is None:
            if fold_seed and data["op"] == "const":
                data.pop("feedable", None)
            continue
        if _is_feedable(data, fold_seed):
            continue
        ops = [final(u) for u in operands[v]]
        operands[v] = ops
        facts.node = v
        found = simplify(opdef, ops, p.params[v], facts, static.get(v), exact=False)
        if found is None:
            continue
        if found[0] == CONST:
            _make_const(attrs, v, found[1], record, opdef.name)
            operands[v] = []
        elif found[0] == ALIAS:
            alias[v] = found[1]
            record["aliased"].append([v, found[1]])
            del attrs[v]
        else:  # a cheaper op on some of the operands: x * -1 -> neg(x)
            _, new, operands[v] = found
            for k in opdef.params:
                data.pop(k, None)
            data["op"] = new.name
            record["folded"].append([v, new.name])
    return _rebuild(graph, p.order, attrs, operands, alias, record), record


def _make_const(attrs, v, value, record, name):
    data = attrs[v]
    data.pop("feedable", None)
    for k in [k for k in data if k not in ("origin", "role", "rule", "wrt_arg", "label", "group",
                                          "order")]:
        del data[k]
    data.update(op="const", value=value, folded_from=name)
    record["folded"].append([v, "const"])


def fold_constants(graph, *, shapes=None, fold_seed=True):
    """Evaluate constant subgraphs and drop identities that shapes prove safe.

    Parameters
    ----------
    graph : nx.DiGraph
        Forward or backward graph; not modified.
    shapes : dict, optional
        Known shapes (or example values) of inputs, as for :func:`gcompile.infer_shapes`.
    fold_seed : bool
        Treat a backward graph's feedable seed as the constant 1 (see the module notes).

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph()
    >>> g.add_node("x", op="input", shape=(2,)); g.add_node("one", op="const", value=1.0)
    >>> g.add_node("y", op="mul"); g.add_edge("x", "y", arg=0); g.add_edge("one", "y", arg=1)
    >>> g.add_node("z", op="exp"); g.add_edge("y", "z")
    >>> sorted(fold_constants(g).edges)
    [('x', 'z')]
    """
    return _fold(graph, shapes, fold_seed)[0]


def _cse(graph):
    p, attrs, operands = _prepare(graph)
    record = _record("eliminate_common_subexpressions", len(p.order))
    alias = {}
    seen = {}
    for v in p.order:
        data = attrs[v]
        if data.get("feedable") or data["op"] == "input":
            continue
        if data["op"] == "const":
            arr = np.asarray(data["value"])
            key = ("const", arr.dtype.str, arr.shape, arr.tobytes())
        else:
            ops = tuple(resolve(alias, u) for u in operands[v])
            operands[v] = list(ops)
            key = (data["op"], ops, _freeze(p.params[v]))
        try:
            hash(key)
        except TypeError:
            continue
        if key in seen:
            alias[v] = seen[key]
            record["merged"].append([v, seen[key]])
            del attrs[v]
        else:
            seen[key] = v
    return _rebuild(graph, p.order, attrs, operands, alias, record), record


def _freeze(obj):
    if isinstance(obj, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in obj.items()))
    if isinstance(obj, (list, tuple)):
        return ("seq",) + tuple(_freeze(x) for x in obj)
    return obj


def eliminate_common_subexpressions(graph):
    """Compute each (op, operands in position order, parameters) once.

    Inputs and feedable nodes (a seed not folded) are never merged; constants
    merge when dtype, shape and value agree.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph()
    >>> g.add_node("x", op="input"); g.add_node("a", op="exp"); g.add_node("b", op="exp")
    >>> g.add_node("s", op="add")
    >>> g.add_edges_from([("x", "a"), ("x", "b"), ("a", "s", {"arg": 0}), ("b", "s", {"arg": 1})])
    >>> h = eliminate_common_subexpressions(g)
    >>> sorted(h.nodes), h.edges["a", "s"]["arg"]
    (['a', 's', 'x'], [0, 1])
    """
    return _cse(graph)[0]


def default_keep(graph):
    """The nodes a graph exists to compute: its ``grads`` (backward) or ``output`` (forward)."""
    if isinstance(graph.graph.get("grads"), dict):
        keep = list(graph.graph["grads"].values())
        for extra in ("hvp", "gradient"):
            if isinstance(graph.graph.get(extra), dict):
                keep += list(graph.graph[extra].values())
        return keep
    if graph.graph.get("output") is not None:
        wrt = graph.graph.get("wrt") or []
        return as_node_list(graph, [graph.graph["output"]] + list(wrt), "keep")
    raise GraphError("eliminate_dead_code needs keep=[...]: the graph has no 'grads' or 'output' "
                     "attribute naming what it computes")


def _dce(graph, keep=None):
    keep = default_keep(graph) if keep is None else as_node_list(graph, keep, "keep")
    p, attrs, operands = _prepare(graph)
    record = _record("eliminate_dead_code", len(p.order))
    live = ancestors(graph, keep)
    for v in p.order:
        if v not in live:
            record["removed"].append(v)
            del attrs[v]
    out = _rebuild(graph, p.order, attrs, operands, {}, record)
    if out.graph.get("seed") is not None and out.graph["seed"] not in out:
        out.graph["seed"] = None
    return out, record


def eliminate_dead_code(graph, keep=None):
    """Drop every node that no node of ``keep`` depends on.

    ``keep`` defaults to the gradient nodes of a backward graph
    (``graph.graph["grads"]``) or the ``output`` of a forward graph.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph([("x", "y"), ("x", "unused")])
    >>> for n, op in [("x", "input"), ("y", "exp"), ("unused", "sin")]: g.nodes[n]["op"] = op
    >>> sorted(eliminate_dead_code(g, keep=["y"]).nodes)
    ['x', 'y']
    """
    return _dce(graph, keep)[0]


#: The passes :func:`optimize` knows, in the order it runs them by default.
PASSES = ("fold_constants", "eliminate_common_subexpressions", "eliminate_dead_code")


def optimize(graph, keep=None, passes=PASSES, *, shapes=None, fold_seed=True, max_rounds=4):
    """Run ``passes`` in order, repeating while they still shrink the graph.

    Parameters
    ----------
    graph : nx.DiGraph
        Not modified.
    keep : list, optional
        Nodes dead-code elimination must keep (default: see :func:`eliminate_dead_code`).
    passes : sequence of str
        Any of :data:`PASSES`; leave one out to switch it off.
    shapes, fold_seed
        See :func:`fold_constants`.
    max_rounds : int
        Upper bound on repetitions of the whole sequence.

    Returns
    -------
    (nx.DiGraph, PassLog)

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple_orange
    >>> g, feeds = apple_orange()
    >>> small, log = optimize(gc.grad(g, "price", g.graph["wrt"]))
    >>> print(str(log).splitlines()[0])
    passes: 17 nodes -> 10 nodes
    """
    unknown = [p for p in passes if p not in PASSES]
    if unknown:
        raise GraphError(f"unknown pass {unknown[0]!r}; the passes are {', '.join(PASSES)}")
    if keep is not None:
        keep = as_node_list(graph, keep, "keep")
    log = PassLog(before=graph.number_of_nodes(), after=graph.number_of_nodes())
    current = graph
    for round_ in range(max(1, max_rounds)):
        changed = False
        for name in passes:
            if name == "fold_constants":
                current, rec = _fold(current, shapes, fold_seed)
            elif name == "eliminate_common_subexpressions":
                current, rec = _cse(current)
            else:
                current, rec = _dce(current, keep)
            did = any(rec[k] for k in ("folded", "aliased", "merged", "removed"))
            if keep is not None:
                moved = dict((a, b) for a, b in rec["aliased"] + rec["merged"])
                keep = [resolve(moved, k) for k in keep]
            if did or round_ == 0:
                log.records.append(rec)
            changed = changed or did
        if not changed:
            break
    if current is graph:
        current = graph.copy()
    log.after = current.number_of_nodes()
    return current, log
