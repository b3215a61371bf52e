"""The execution plan every pass walks, built from a validated graph.

:func:`plan` checks a forward (or backward) DiGraph once and returns a
:class:`Plan`: the nodes in topological order, each op node's operands in
position order (from the edge attribute ``arg``), its op definition and its
parameters.  Everything that is wrong with a graph is reported here, as a
:class:`~gcompile.GraphError` naming the node: the format's rules (keys,
attribute types) by :mod:`gcompile.schema`, which knows no op, and what each
op takes by :mod:`gcompile.checks`.

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

from dataclasses import dataclass, field

import networkx as nx

from .checks import check_node
from .errors import GraphError, did_you_mean
from .schema import check_graph_format

__all__ = ["Plan", "plan", "check_node", "as_node_list", "active_nodes"]


@dataclass
class Plan:
    """A validated graph: topological ``order``, and per op node its ``ops``, ``operands``, ``params``."""

    order: list
    ops: dict = field(default_factory=dict)
    operands: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)


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
    check_graph_format(graph)
    p = Plan(order=order)
    nodes = graph._node
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
    pred = graph._pred
    for v in graph._node:
        for u in pred[v]:
            if u not in seen:
                return None
        seen.add(v)
    return list(graph._node)


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
    try:
        return key in graph._node
    except TypeError:
        return False


def active_nodes(graph, sources, target):
    """Nodes on some path from a node of ``sources`` to ``target`` (iterative BFS).

    Examples
    --------
    >>> import networkx as nx
    >>> sorted(active_nodes(nx.DiGraph([("a", "b"), ("b", "c"), ("d", "c")]), ["a"], "c"))
    ['a', 'b', 'c']
    """
    up = {target}
    stack = [target]
    pred = graph._pred
    while stack:
        for u in pred[stack.pop()]:
            if u not in up:
                up.add(u)
                stack.append(u)
    down = set()
    stack = [s for s in sources if s in up]
    down.update(stack)
    succ = graph._succ
    while stack:
        for w in succ[stack.pop()]:
            if w in up and w not in down:
                down.add(w)
                stack.append(w)
    return down
