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

from .errors import GraphError
from .autodiff import paused_gc
from .graph import as_node_list
from .pass_log import PassLog, _record
from .pass_records import GraphFacts, Records
from .simplify import ALIAS, CONST, simplify

__all__ = ["fold_constants", "eliminate_common_subexpressions", "eliminate_dead_code",
           "optimize", "PassLog", "PASSES"]


def _fold(rec, fold_seed=True):
    attrs, operands, final, alias = rec.attrs, rec.operands, rec.final, rec.alias
    record = _record("fold_constants", len(attrs))
    static = rec.static
    facts = GraphFacts(rec, fold_seed)
    is_const = facts.is_const
    for v in rec.order:
        data = attrs.get(v)
        if data is None:
            continue
        opdef = rec.ops.get(v)
        if opdef is None:
            if fold_seed and data["op"] == "const":
                data.pop("feedable", None)
            continue
        if not fold_seed and data.get("feedable"):
            continue
        ops = [final(u) if u in alias else u for u in operands[v]]
        operands[v] = ops
        constant = all([is_const(u) for u in ops])
        if not constant and not opdef.simplifies:
            continue
        facts.node = v
        found = simplify(opdef, ops, rec.params[v], facts, static.get(v), exact=False,
                         constant=constant)
        if found is None:
            continue
        if found[0] == CONST:
            _make_const(attrs, v, found[1], record, opdef.name)
            operands[v] = []
            del rec.ops[v]
        elif found[0] == ALIAS:
            rec.replace(v, found[1])
            record["aliased"].append([v, found[1]])
        else:  # a cheaper op on some of the operands: x * -1 -> neg(x)
            _, new, operands[v] = found
            for k in opdef.params:
                data.pop(k, None)
            data["op"] = new.name
            rec.ops[v] = new
            rec.params[v] = {k: data.get(k, d) for k, d in new.params.items()}
            record["folded"].append([v, new.name])
    record["after"] = len(attrs)
    return record


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
    rec = Records(graph, shapes)
    _fold(rec, fold_seed)
    return rec.build()


def _cse(rec):
    attrs, operands, final, alias = rec.attrs, rec.operands, rec.final, rec.alias
    record = _record("eliminate_common_subexpressions", len(attrs))
    seen = {}
    for v in rec.order:
        data = attrs.get(v)
        if data is None or data.get("feedable") or data["op"] == "input":
            continue
        if data["op"] == "const":
            arr = np.asarray(data["value"])
            key = ("const", arr.dtype.str, arr.shape, arr.tobytes())
        else:
            ops = [final(u) if u in alias else u for u in operands[v]]
            operands[v] = ops
            params = rec.params[v]
            key = (data["op"], tuple(ops), _freeze(params) if params else ())
        try:
            hash(key)
        except TypeError:
            continue
        if key in seen:
            rec.replace(v, seen[key])
            record["merged"].append([v, seen[key]])
        else:
            seen[key] = v
    record["after"] = len(attrs)
    return record


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
    rec = Records(graph)
    _cse(rec)
    return rec.build()


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


def _dce(rec, keep=None):
    attrs, operands, final = rec.attrs, rec.operands, rec.final
    keep = default_keep(rec.graph) if keep is None else keep
    record = _record("eliminate_dead_code", len(attrs))
    live = set()
    stack = []
    for k in keep:
        k = final(k)
        if k not in live:
            live.add(k)
            stack.append(k)
    while stack:
        for u in operands.get(stack.pop(), ()):
            u = final(u)
            if u not in live:
                live.add(u)
                stack.append(u)
    for v in rec.order:
        if v in attrs and v not in live:
            record["removed"].append(v)
            rec.remove(v)
    record["after"] = len(attrs)
    return record


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
    keep = None if keep is None else as_node_list(graph, keep, "keep")
    rec = Records(graph)
    _dce(rec, keep)
    return rec.build()


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
    if not passes:
        return graph.copy(), log
    with paused_gc():
        rec = Records(graph, shapes)
        for round_ in range(max(1, max_rounds)):
            changed = False
            for name in passes:
                if name == "fold_constants":
                    record = _fold(rec, fold_seed)
                elif name == "eliminate_common_subexpressions":
                    record = _cse(rec)
                else:
                    record = _dce(rec, keep)
                did = any(record[k] for k in ("folded", "aliased", "merged", "removed"))
                if did or round_ == 0:
                    log.records.append(record)
                changed = changed or did
            if not changed:
                break
        current = rec.build()
    log.after = current.number_of_nodes()
    return current, log
