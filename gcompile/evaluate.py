"""The interpreter: one loop over the topological order.

Examples
--------
>>> import networkx as nx, gcompile as gc
>>> g = nx.DiGraph()
>>> g.add_nodes_from([("apple", {"op": "input"}), ("n", {"op": "input"}), ("price", {"op": "mul"})])
>>> g.add_edge("apple", "price", arg=0); g.add_edge("n", "price", arg=1)
>>> float(gc.evaluate(g, {"apple": 100, "n": 2})["price"])
200.0
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .errors import GraphError, node_error
from .feeds import MISSING, as_value, const_value, read_input
from .graph import node_dicts, plan as make_plan
from .limits import check_op, check_sizes, max_bytes as byte_limit
from .namespace import namespace_of

__all__ = ["evaluate", "interpreter", "as_value", "leaf_value", "apply_op"]


def leaf_value(graph, node, data, feeds):
    """The value of an ``input`` or ``const`` node (feed, else its ``value`` attribute),
    read by :mod:`gcompile.feeds`.

    Examples
    --------
    >>> import networkx as nx
    >>> leaf_value(nx.DiGraph(), "t", {"op": "input", "shape": ()}, {"t": np.array(2)}).dtype
    dtype('int64')
    """
    if data["op"] == "const":
        return const_value(data["value"], node)
    return read_input(node, feeds[node] if node in feeds else data.get("value", MISSING),
                      data.get("shape"))


def evaluate(graph, feeds=None, *, xp=None, max_bytes=None) -> dict:
    """Evaluate every node of ``graph``; return ``{node: value}``.

    ``feeds`` maps input nodes to values; entries the graph does not read are
    ignored, so a forward result can feed its backward graph.  An input with a
    ``value`` attribute uses it when not fed.  A node whose ``feedable``
    attribute is true (the seed of a backward graph) takes its feed when given.
    ``xp`` is the array namespace; by default it comes from the fed values
    (:func:`gcompile.namespace.namespace_of`): numpy, or e.g. torch or dask
    when the feeds are tensors or dask arrays.  ``max_bytes`` caps the memory
    its values may take (default: ``$GCOMPILE_MAX_BYTES``, else 1/8 of physical
    memory; see :mod:`gcompile.limits`): a graph whose tensors would take more
    is refused, naming the largest, before anything runs.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph([("x", "y")]); g.nodes["x"]["op"] = "input"; g.nodes["y"]["op"] = "exp"
    >>> round(float(evaluate(g, {"x": 0.0})["y"]), 3)
    1.0
    """
    return interpreter(graph, xp=xp, max_bytes=max_bytes)(feeds)


def interpreter(graph, *, xp=None, max_bytes=None):
    """Validate ``graph`` once; return ``run(feeds) -> {node: value}`` to call many times.

    The graph is read when ``interpreter`` is called: later changes to it are
    not seen by ``run``.  ``xp=None`` takes the namespace from each call's
    feeds; with a non-numpy namespace, numpy-array constants and defaults are
    converted to it.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph([("x", "y")]); g.nodes["x"]["op"] = "input"; g.nodes["y"]["op"] = "neg"
    >>> run = interpreter(g)
    >>> float(run({"x": 2.0})["y"]), float(run({"x": 3.0})["y"])
    (-2.0, -3.0)
    """
    p = make_plan(graph)
    limit = byte_limit(max_bytes)
    # only a shape parameter (broadcast_to) or an array leaf can make a tensor
    grows = limit is not None and any(q.get("shape") is not None for q in p.params.values())
    sized = set()
    nodes = node_dicts(graph)[0]
    leaves, steps, feedable = [], [], []
    for v in p.order:
        data = nodes[v]
        if data.get("feedable"):
            feedable.append(v)
        if v in p.ops:
            steps.append((v, p.ops[v].forward, p.operands[v], p.params[v]))
        else:
            leaves.append((v, dict(data)))

    def run(feeds=None):
        if feeds is None:
            feeds = {}
        if not isinstance(feeds, Mapping):
            raise GraphError(f"feeds must be a mapping from node to value, got {type(feeds).__name__}")
        values = {v: leaf_value(graph, v, data, feeds) for v, data in leaves}
        fed = {v: as_value(feeds[v], v) for v in feedable if v in feeds}
        values.update(fed)
        if limit is not None and (grows or fed or any([getattr(values[v], "ndim", 0)
                                                       for v, _ in leaves])):
            shapes = tuple([getattr(values[v], "shape", ()) for v, _ in leaves])
            if shapes not in sized:  # checked once per set of leaf shapes
                check_sizes(graph, p, dict(zip([v for v, _ in leaves], shapes)), limit=limit)
                sized.add(shapes)
        ns = xp if xp is not None else namespace_of(
            [(v, values[v]) for v, _ in leaves if v in feeds] + list(fed.items()))
        if ns is not np:
            for v, _ in leaves:
                if isinstance(values[v], np.ndarray):
                    values[v] = ns.asarray(values[v])
        key = None
        try:
            for key, forward, args, params in steps if ns is np else ():
                if key in fed:
                    values[key] = fed[key]
                else:
                    values[key] = forward(np, *[values[a] for a in args], **params)
            # Another library: an op on numbers alone (1.0 / 100.0 in a backward graph)
            # runs on numpy as above; the array API leaves it undefined (torch: float32).
            for key, forward, args, params in steps if ns is not np else ():
                if key in fed:
                    values[key] = fed[key]
                    continue
                operands = [values[a] for a in args]
                space = np if all([isinstance(o, _NUMBERS) for o in operands]) else ns
                values[key] = forward(space, *operands, **params)
        except Exception as err:  # name the node, its op and its operands' shapes
            raise node_error(key, p.ops[key].name, err, [values[a] for a in p.operands[key]]) \
                from None
        return values

    return run


_NUMBERS = (int, float, np.generic)


def apply_op(opdef, node, args, params, xp=np):
    """Run one op's forward; any failure becomes a GraphError naming node, op and operand shapes.

    A result that would pass the memory limit (:mod:`gcompile.limits`) is refused first.
    """
    check_op(opdef, node, args, params)
    try:
        return opdef.forward(xp, *args, **params)
    except Exception as err:  # numpy raises many types; the user needs node, op and shapes
        raise node_error(node, opdef.name, err, args) from None
