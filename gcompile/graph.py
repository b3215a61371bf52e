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

import itertools
from dataclasses import dataclass, field

import networkx as nx

from .checks import check_node, checked_in_insertion_order
from .errors import GraphError, did_you_mean
from .nxdicts import from_records, node_dicts
from .schema import check_graph_format, check_key

__all__ = ["Plan", "plan", "check_node", "as_node_list", "active_nodes", "ancestors",
           "from_records", "node_dicts", "unique_key"]


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
    fast = checked_in_insertion_order(graph)  # one walk for graphs built operand-first
    if fast is not None:
        check_graph_format(graph)
        return Plan(list(node_dicts(graph)[0]), *fast)
    order = _insertion_order_if_topological(graph)
    try:
        if order is None:
            order = list(nx.topological_sort(graph))
    except nx.NetworkXUnfeasible:
        for v in graph:  # a NaN key (nan != nan) hides the cycle from find_cycle
            if type(v) is not str:
                check_key(v)
        cycle = nx.find_cycle(graph)
        path = [u for u, _ in cycle] + [cycle[0][0]]
        raise GraphError("the graph has a cycle: " + " -> ".join(map(repr, path))) from None
    check_graph_format(graph)
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
