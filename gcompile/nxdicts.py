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

__all__ = ["from_records", "compact_dict", "node_dicts", "successor_dicts"]


def from_records(keys, attrs, operands, graph_attrs=None, *, compact=False) -> nx.DiGraph:
    """A new DiGraph from parallel lists: node ``keys`` (unique), their attribute dicts
    (taken, not copied) and their operands as indices into the same lists, in position
    order (an operand used twice gets one edge with ``arg=[i, j]``).

    This is the one place gcompile fills networkx's documented dict-of-dicts
    (``_node``, ``_succ`` = ``_adj``, ``_pred``) directly: the keys are unique by
    construction, and skipping ``add_nodes_from``/``add_edges_from``'s checks of
    every item is several times faster on a million nodes (the W1 build target).

    With ``compact=True`` the lists are consumed (their entries are released
    as the graph takes them) and every attribute dict is stored as a
    key-sharing dict (see :func:`compact_dict`): the same plain ``dict``
    contents, about half the memory on big graphs.

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
    if compact:
        for i, data in enumerate(attrs):
            attrs[i] = compact_dict(data)
    node = dict(zip(keys, attrs))  # C-level loops: no per-node Python code
    if len(node) != len(keys):
        raise GraphError(f"from_records: {len(keys) - len(node)} duplicate node key(s)")
    succ = dict(zip(keys, iter(dict, None)))  # a fresh {} per key
    pred = dict(zip(keys, iter(dict, None)))
    g._node, g._adj, g._succ, g._pred = node, succ, succ, pred
    edge = _Edge if compact else None
    for i, ops in enumerate(operands):
        if not ops:
            continue
        if compact:
            operands[i] = None
        v = keys[i]
        into = pred[v]
        if len(ops) == 2 and ops[0] != ops[1]:
            slots = ((ops[0], 0), (ops[1], 1))
        elif len(ops) == 1:
            slots = ((ops[0], 0),)
        else:
            grouped = {}
            for pos, src in enumerate(ops):
                grouped.setdefault(src, []).append(pos)
            slots = [(src, p[0] if len(p) == 1 else p) for src, p in grouped.items()]
        for src, arg in slots:
            u = keys[src]
            if edge is None:
                data = {"arg": arg}
            else:
                data = edge().__dict__  # a key-sharing {"arg": ...}
                data["arg"] = arg
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


_SHARED = {}  # a tuple of keys -> a class whose instances share that key table


def compact_dict(data):
    """A copy of ``data`` (string keys) as a key-sharing dict: an ordinary ``dict`` with the
    same items in the same order, whose key table is shared with every other dict of the same
    keys (CPython's instance dicts, PEP 412): about half the memory of a plain 5-7 key dict.

    Examples
    --------
    >>> d = compact_dict({"op": "mul", "origin": "x"})
    >>> type(d) is dict, d, d == {"op": "mul", "origin": "x"}
    (True, {'op': 'mul', 'origin': 'x'}, True)
    """
    names = tuple(data)
    cls = _SHARED.get(names)
    if cls is None:
        if not all(type(k) is str for k in names) or len(_SHARED) > 1000:
            return dict(data)
        cls = _SHARED[names] = type("SharedKeys", (), {})
    out = cls().__dict__
    out.update(data.items())
    return out


class _Edge:
    pass
