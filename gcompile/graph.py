"""Validation of the graph format and the execution plan every pass walks.

:func:`plan` checks a forward (or backward) DiGraph once and returns a
:class:`Plan`: the nodes in topological order, each op node's operands in
position order (from the edge attribute ``arg``), its op definition and its
parameters.  Everything that is wrong with a graph is reported here, as a
:class:`~gcompile.GraphError` naming the node.

Examples
--------
>>> import networkx as nx
>>> g = nx.DiGraph()
>>> g.add_node("x", op="input"); g.add_node("y", op="input"); g.add_node("z", op="mul")
>>> g.add_edge("x", "z", arg=0); g.add_edge("y", "z", arg=1)
>>> p = plan(g)
>>> p.order, p.operands["z"]
(['x', 'y', 'z'], ('x', 'y'))
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from .errors import GraphError, did_you_mean, node_error
from .registry import LEAF_OPS, lookup

__all__ = ["Plan", "plan", "check_node", "as_node_list", "active_nodes", "ancestors",
           "from_records", "node_dicts", "unique_key"]


@dataclass
class Plan:
    """A validated graph: topological ``order``, and per op node its ``ops``, ``operands``, ``params``."""

    order: list
    ops: dict = field(default_factory=dict)
    operands: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)


def _positions(graph, u, v, data, arity):
    arg = data.get("arg")
    if arg is None:
        if arity == 1 and len(graph.pred[v]) == 1:
            return (0,)
        raise GraphError(f"edge {u!r} -> {v!r} has no 'arg' attribute (the operand position; "
                         f"only the single edge into a unary op may omit it)")
    args = arg if isinstance(arg, (list, tuple)) else (arg,)
    out = []
    for a in args:  # ints, numpy integers too; never bools or floats
        if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)) \
                or not 0 <= a < arity:
            raise GraphError(f"edge {u!r} -> {v!r}: 'arg' {arg!r} is not an operand position "
                             f"of op {graph.nodes[v]['op']!r}, which takes {arity} operand(s)")
        out.append(int(a))
    if not out:
        raise GraphError(f"edge {u!r} -> {v!r}: 'arg' is an empty list")
    return out


def check_node(graph, v, data):
    """Validate one node; return ``(opdef or None, operands tuple, params dict)``."""
    if "op" not in data:
        raise GraphError(f"node {v!r} has no 'op' attribute (use 'input', 'const' or an op name)")
    name = data["op"]
    preds = node_dicts(graph)[1][v]
    if name in LEAF_OPS:
        if preds:
            first = sorted(map(repr, preds))[:3]
            raise GraphError(f"node {v!r} is an {name!r} but has incoming edges from {', '.join(first)}")
        if name == "const" and "value" not in data:
            raise GraphError(f"const node {v!r} has no 'value' attribute")
        return None, (), {}
    opdef = lookup(name, node=v)
    arity = opdef.arity
    slots = [None] * arity
    for u, edata in preds.items():  # fast path: one int position per edge
        pos = edata.get("arg")
        if type(pos) is not int or not 0 <= pos < arity or slots[pos] is not None:
            break
        slots[pos] = u
    else:
        if len(preds) == arity:
            return opdef, tuple(slots), _params(opdef, data)
    slots = [None] * arity
    for u, edata in preds.items():
        for pos in _positions(graph, u, v, edata, arity):
            if slots[pos] is not None:
                raise node_error(v, name, f"operand position {pos} is given twice, "
                                          f"by {slots[pos]!r} and {u!r}")
            slots[pos] = u
    missing = [i for i, s in enumerate(slots) if s is None]
    if missing:
        raise GraphError(f"node {v!r} (op {name!r}) takes {opdef.arity} operand(s) but position(s) "
                         f"{missing} have no incoming edge")
    return opdef, tuple(slots), _params(opdef, data)


def _params(opdef, data):
    return {key: data.get(key, default) for key, default in opdef.params.items()} \
        if opdef.params else {}


def plan(graph) -> Plan:
    """Validate ``graph`` and return its :class:`Plan` (iterative; linear in size).

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph([("a", "b"), ("b", "a")])
    >>> plan(g)
    Traceback (most recent call last):
    ...
    gcompile.errors.GraphError: the graph has a cycle: 'a' -> 'b' -> 'a'
    """
    if not isinstance(graph, nx.DiGraph):
        raise GraphError(f"expected a networkx DiGraph, got {type(graph).__name__}")
    if graph.is_multigraph():
        raise GraphError("multigraphs are not supported: use one edge with arg=[0, 1] for x*x")
    order = _insertion_order_if_topological(graph)
    try:
        if order is None:
            order = list(nx.topological_sort(graph))
    except nx.NetworkXUnfeasible:
        cycle = nx.find_cycle(graph)
        path = [u for u, _ in cycle] + [cycle[0][0]]
        raise GraphError("the graph has a cycle: " + " -> ".join(map(repr, path))) from None
    p = Plan(order=order)
    nodes = node_dicts(graph)[0]
    for v in order:
        opdef, operands, params = check_node(graph, v, nodes[v])
        if opdef is not None:
            p.ops[v] = opdef
            p.operands[v] = operands
            p.params[v] = params
    return p


def _insertion_order_if_topological(graph):
    """The nodes in insertion order when every edge points forward in it, else ``None``.

    Graphs built operand-first (all of gcompile's, most users') pass this O(E)
    check, which is several times cheaper than a topological sort.
    """
    seen = set()
    nodes, pred = node_dicts(graph)
    for v in nodes:
        for u in pred[v]:
            if u not in seen:
                return None
        seen.add(v)
    return list(nodes)


def as_node_list(graph, nodes, what):
    """Normalize one node key or an iterable of keys; check each is in ``graph``.

    Examples
    --------
    >>> import networkx as nx
    >>> as_node_list(nx.DiGraph([("a", "b")]), "a", "wrt")
    ['a']
    """
    if _is_node(graph, nodes):
        return [nodes]
    if isinstance(nodes, (str, bytes)) or not hasattr(nodes, "__iter__"):
        raise GraphError(f"unknown {what} node {nodes!r}" + did_you_mean(nodes, graph.nodes))
    out = list(nodes)
    for n in out:
        if not _is_node(graph, n):
            raise GraphError(f"unknown {what} node {n!r}" + did_you_mean(n, graph.nodes))
    return out


def _is_node(graph, key):
    return graph.has_node(key)


def active_nodes(graph, sources, target):
    """Nodes on some path from a node of ``sources`` to ``target``: ``nx.ancestors(target)``
    intersected with the descendants of ``sources``.

    Written out (two iterative walks over networkx's dicts, no recursion) because gc.grad
    calls it on every graph: networkx's breadth-first searches build a view object per
    node and took twice as long (0.31 s against 0.16 s of CPU on W1 at N=100,000).

    Examples
    --------
    >>> import networkx as nx
    >>> sorted(active_nodes(nx.DiGraph([("a", "b"), ("b", "c"), ("d", "c")]), ["a"], "c"))
    ['a', 'b', 'c']
    """
    _, pred, succ = node_dicts(graph, succ=True)
    up = {target}
    stack = [target]
    while stack:
        for u in pred[stack.pop()]:
            if u not in up:
                up.add(u)
                stack.append(u)
    down = {s for s in sources if s in up}
    stack = list(down)
    while stack:
        for w in succ[stack.pop()]:
            if w in up and w not in down:
                down.add(w)
                stack.append(w)
    return down


def ancestors(graph, targets):
    """The nodes ``targets`` depend on, ``targets`` included (networkx's breadth-first
    search on the reversed view: one pass for all targets, no recursion).

    Examples
    --------
    >>> import networkx as nx
    >>> sorted(ancestors(nx.DiGraph([("a", "b"), ("b", "c"), ("d", "e")]), ["c"]))
    ['a', 'b', 'c']
    """
    targets = list(targets)
    if not targets:
        return set()
    return set(itertools.chain.from_iterable(nx.bfs_layers(graph.reverse(copy=False), targets)))


def unique_key(base, used, *, first=2, sep="_", counters=None):
    """``base`` if not in ``used``, else ``base<sep><k>`` for the smallest free ``k >= first``;
    the key is added to ``used``.  ``counters`` (a dict kept between calls) remembers
    where each base's search stopped, so naming n nodes of one base stays linear.

    Examples
    --------
    >>> used = {"dx", "dx_2"}
    >>> unique_key("dx", used), unique_key("dy", used), unique_key("mul", used, first=1)
    ('dx_3', 'dy', 'mul')
    >>> unique_key("mul", used, first=1), unique_key("v_b", used, sep="")
    ('mul_1', 'v_b')
    """
    k = 0 if counters is None else counters.get(base, 0)
    while True:
        key = base if k == 0 else f"{base}{sep}{k}"
        if key not in used:
            break
        k = first if k == 0 else k + 1
    if counters is not None:
        counters[base] = k
    used.add(key)
    return key


# ---- networkx's own dict-of-dicts: the one place gcompile reads or fills them directly ----


def from_records(keys, attrs, operands, graph_attrs=None) -> nx.DiGraph:
    """A new DiGraph from parallel lists: node ``keys`` (unique), their attribute dicts
    (taken, not copied) and their operands as indices into the same lists, in position
    order (an operand used twice gets one edge with ``arg=[i, j]``).

    This is the one place gcompile fills networkx's documented dict-of-dicts
    (``_node``, ``_succ`` = ``_adj``, ``_pred``) directly: the keys are unique by
    construction, and skipping ``add_nodes_from``/``add_edges_from``'s checks of
    every item is several times faster on a million nodes (the W1 build target).

    Examples
    --------
    >>> g = from_records(["x", "y", "z"], [{"op": "input"}, {"op": "input"}, {"op": "mul"}],
    ...                  [(), (), (0, 0)], {"output": "z"})
    >>> list(g.edges(data=True)), g.graph
    ([('x', 'z', {'arg': [0, 1]})], {'output': 'z'})
    """
    g = nx.DiGraph()
    if graph_attrs:
        g.graph.update(graph_attrs)
    node, succ, pred = g._node, g._succ, g._pred
    for key, data in zip(keys, attrs):
        node[key] = data
        succ[key] = {}
        pred[key] = {}
    if len(node) != len(keys):
        raise GraphError(f"from_records: {len(keys) - len(node)} duplicate node key(s)")
    for i, ops in enumerate(operands):
        if not ops:
            continue
        v = keys[i]
        into = pred[v]
        if len(ops) == 2 and ops[0] != ops[1]:
            slots = ((ops[0], 0), (ops[1], 1))
        else:
            grouped = {}
            for pos, src in enumerate(ops):
                grouped.setdefault(src, []).append(pos)
            slots = [(src, p[0] if len(p) == 1 else p) for src, p in grouped.items()]
        for src, arg in slots:
            u = keys[src]
            data = {"arg": arg}
            succ[u][v] = data
            into[u] = data
    return g


def node_dicts(graph, succ=False):
    """``(nodes, preds)`` (and ``succs`` with ``succ=True``): read-only ``{node: attrs}``,
    ``{node: {operand: edge attrs}}`` and ``{node: {consumer: edge attrs}}`` of ``graph``,
    without networkx's per-access view objects (for loops over every node of a big graph:
    validation, shape inference, the interpreter, the backward pass's active nodes).

    Examples
    --------
    >>> import networkx as nx
    >>> nodes, preds = node_dicts(nx.DiGraph([("a", "b")]))
    >>> list(nodes), dict(preds["b"])
    (['a', 'b'], {'a': {}})
    """
    return (graph._node, graph._pred, graph._succ) if succ else (graph._node, graph._pred)
