"""Simplification passes: plain functions from a graph to a new graph.

Each pass copies; the graph it is given is never modified.  They work on
forward and backward graphs alike and keep a backward graph's attributes valid:
when a node named in ``graph.graph["grads"]``, ``["seed"]`` or a node's
``local`` attribute is merged or replaced, the name is remapped to the node
that now holds its value.

- :func:`fold_constants` evaluates ops whose operands are all constants (and
  shape-only ops such as ``ones_like`` when the shape is known), and drops the
  identities ``x * 1``, ``1 * x``, ``x / 1``, ``x + 0``, ``0 + x``, ``x - 0``,
  ``x ** 1``, ``neg(neg(x))`` and reshapes/unbroadcasts to the same shape, but
  only where static shapes prove the result has the shape of ``x`` (``x * 1``
  with a bigger constant broadcasts ``x``: it is not the identity there).
  ``x * 0`` is not folded: it is ``nan`` when ``x`` is ``inf``.
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

from .errors import GraphError
from .evaluate import apply_op
from .limits import check_shape
from .graph import as_node_list
from .pass_log import (PassLog, _all_equal, _const_value, _is_feedable, _prepare, _rebuild,
                       _record)
from .shapes import infer_shapes

__all__ = ["fold_constants", "eliminate_common_subexpressions", "eliminate_dead_code",
           "optimize", "PassLog", "PASSES"]

#: Ops whose value depends only on the shape of their operand.
_SHAPE_ONLY = {"ones_like": 1.0, "zeros_like": 0.0}
#: Ops that return their first operand unchanged when the shapes agree.
_SAME_SHAPE_IDENTITY = ("reshape", "reshape_like", "sum_to_like", "broadcast_like", "broadcast_to")


def _fold(graph, shapes=None, fold_seed=True):
    p, attrs, operands = _prepare(graph)
    record = _record("fold_constants", len(p.order))
    static = infer_shapes(graph, shapes, plan=p)
    alias = {}

    def final(n):
        while n in alias:
            n = alias[n]
        return n

    def is_const(n):
        d = attrs[n]
        return d["op"] == "const" and not _is_feedable(d, fold_seed)

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
        params = p.params[v]
        name = opdef.name
        if name in _SHAPE_ONLY and static.get(ops[0]) is not None:
            check_shape(v, name, static[ops[0]])  # memory limit: gcompile.limits
            _make_const(attrs, v, np.full(static[ops[0]], _SHAPE_ONLY[name]), record, name)
            operands[v] = []
            continue
        if name in ("count", "batch_size") and static.get(ops[0]) is not None:
            value = apply_op(opdef, v, [np.zeros(static[ops[0]])], params)
            _make_const(attrs, v, value, record, name)
            operands[v] = []
            continue
        if all(is_const(u) for u in ops):
            value = apply_op(opdef, v, [_const_value(attrs[u]) for u in ops], params)
            _make_const(attrs, v, value, record, name)
            operands[v] = []
            continue
        target = _identity_operand(name, ops, attrs, operands, is_const, static, v)
        if target is not None:
            alias[v] = target
            record["aliased"].append([v, target])
            del attrs[v]
    return _rebuild(graph, p.order, attrs, operands, alias, record), record


def _make_const(attrs, v, value, record, name):
    data = attrs[v]
    data.pop("feedable", None)
    for k in [k for k in data if k not in ("origin", "role", "rule", "wrt_arg", "label", "group",
                                          "order")]:
        del data[k]
    data.update(op="const", value=value, folded_from=name)
    record["folded"].append([v, "const"])


def _identity_operand(name, ops, attrs, operands, is_const, static, v):
    """The operand equal to ``v``'s value, when static shapes prove it; else None."""
    out_shape = static.get(v)

    def same(u):
        return out_shape is not None and static.get(u) == out_shape

    def const_is(u, number):
        return is_const(u) and _all_equal(attrs[u]["value"], number)

    if name == "mul":
        for keep, other in ((ops[0], ops[1]), (ops[1], ops[0])):
            if const_is(other, 1) and same(keep):
                return keep
    elif name == "add":
        for keep, other in ((ops[0], ops[1]), (ops[1], ops[0])):
            if const_is(other, 0) and same(keep):
                return keep
    elif name in ("sub", "div", "pow"):
        unit = 0 if name == "sub" else 1
        if const_is(ops[1], unit) and same(ops[0]):
            return ops[0]
    elif name == "neg":
        inner = attrs.get(ops[0])
        if inner is not None and inner["op"] == "neg" and not inner.get("feedable"):
            return operands[ops[0]][0]
    elif name in _SAME_SHAPE_IDENTITY and same(ops[0]):
        return ops[0]
    return None


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

    def final(n):
        while n in alias:
            n = alias[n]
        return n

    for v in p.order:
        data = attrs[v]
        if data.get("feedable") or data["op"] == "input":
            continue
        if data["op"] == "const":
            arr = np.asarray(data["value"])
            key = ("const", arr.dtype.str, arr.shape, arr.tobytes())
        else:
            ops = tuple(final(u) for u in operands[v])
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
    live = set(keep)
    stack = list(keep)
    while stack:
        for u in graph._pred[stack.pop()]:
            if u not in live:
                live.add(u)
                stack.append(u)
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
                keep = [_follow(moved, k) for k in keep]
            if did or round_ == 0:
                log.records.append(rec)
            changed = changed or did
        if not changed:
            break
    if current is graph:
        current = graph.copy()
    log.after = current.number_of_nodes()
    return current, log


def _follow(moved, key):
    """Where a kept node's value lives after aliasing/merging."""
    while key in moved:
        key = moved[key]
    return key
