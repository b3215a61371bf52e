"""The one module that reads or fills networkx's dict-of-dicts directly.

A ``DiGraph`` keeps its nodes in ``graph._node`` (``{node: attrs}``) and its
edges twice, in ``graph._succ`` (= ``_adj``) and ``graph._pred``
(``{node: {neighbour: edge attrs}}``).  These are private names, so gcompile
touches them here only, for two measured reasons: building a graph of a
million nodes from records without ``add_nodes_from``/``add_edges_from``'s
per-item checks (several times faster: the W1 build target), and loops over
every node of a big graph without networkx's per-access view objects
(validation, shape inference, the interpreter).

Examples
--------
>>> g = from_records(["x", "y"], [{"op": "input"}, {"op": "exp"}], [(), (0,)])
>>> nodes, preds = node_dicts(g)
>>> nodes["y"], dict(preds["y"]), dict(successor_dicts(g)["x"])
({'op': 'exp'}, {'x': {'arg': 0}}, {'y': {'arg': 0}})
"""
from __future__ import annotations

import networkx as nx

from .errors import GraphError

__all__ = ["from_records", "node_dicts", "successor_dicts"]


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


def successor_dicts(graph):
    """Read-only ``{node: {successor: edge attrs}}`` of ``graph`` (see :func:`node_dicts`).

    Examples
    --------
    >>> import networkx as nx
    >>> dict(successor_dicts(nx.DiGraph([("a", "b")]))["a"])
    {'b': {}}
    """
    return graph._succ
