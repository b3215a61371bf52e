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

import numbers
from collections.abc import Mapping

import numpy as np

from .errors import GraphError, describe_value
from .graph import node_dicts, plan as make_plan
from .namespace import is_foreign_array, namespace_of

__all__ = ["evaluate", "interpreter", "as_value", "leaf_value", "apply_op"]


def as_value(value, node):
    """Check and convert a fed value: numbers become float64, sequences arrays.

    Examples
    --------
    >>> as_value(2, "x"), as_value([1, 2], "x").dtype
    (np.float64(2.0), dtype('int64'))
    """
    if isinstance(value, (np.ndarray, np.generic)):
        if value.dtype.kind not in "biufc":
            raise GraphError(f"feed for input {node!r} is not numeric: {describe_value(value)}")
        return value
    if isinstance(value, bool):
        return np.bool_(value)
    if isinstance(value, numbers.Real):
        return np.float64(value)
    if isinstance(value, numbers.Complex):
        return np.complex128(value)
    if isinstance(value, (list, tuple)):
        try:
            arr = np.asarray(value)
        except ValueError as err:
            raise GraphError(f"feed for input {node!r} is not a regular array: {err}") from None
        if arr.dtype.kind not in "biufc":
            raise GraphError(f"feed for input {node!r} is not numeric: {describe_value(value)}")
        return arr
    if hasattr(value, "__array_namespace__") or is_foreign_array(value):
        return value  # a torch tensor, a dask array...: see gcompile.namespace
    raise GraphError(f"feed for input {node!r} is not numeric: {describe_value(value)}")


def leaf_value(graph, node, data, feeds):
    """The value of an ``input`` or ``const`` node (feed, else its ``value`` attribute)."""
    if data["op"] == "const":
        value = data["value"]
        # Python numbers stay Python floats: numpy treats them as "weak", so a
        # float32 array times a const 1.0 stays float32.
        value = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
            else as_value(value, node)
    elif node in feeds:
        value = as_value(feeds[node], node)
    elif "value" in data:
        value = as_value(data["value"], node)
    else:
        raise GraphError(f"missing feed for input node {node!r}")
    declared = data.get("shape")
    if declared is not None and data["op"] == "input":
        got = tuple(getattr(value, "shape", ()))
        if got != tuple(declared):
            raise GraphError(f"input {node!r} declares shape {tuple(declared)} but was fed "
                             f"{describe_value(value)}")
    return value


def evaluate(graph, feeds=None, *, xp=None) -> dict:
    """Evaluate every node of ``graph``; return ``{node: value}``.

    ``feeds`` maps input nodes to values; entries the graph does not read are
    ignored, so a forward result can feed its backward graph.  An input with a
    ``value`` attribute uses it when not fed.  A node whose ``feedable``
    attribute is true (the seed of a backward graph) takes its feed when given.
    ``xp`` is the array namespace; by default it comes from the fed values
    (:func:`gcompile.namespace.namespace_of`): numpy, or e.g. torch or dask
    when the feeds are tensors or dask arrays.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph([("x", "y")]); g.nodes["x"]["op"] = "input"; g.nodes["y"]["op"] = "exp"
    >>> round(float(evaluate(g, {"x": 0.0})["y"]), 3)
    1.0
    """
    return interpreter(graph, xp=xp)(feeds)


def interpreter(graph, *, xp=None):
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
            raise _node_error(p, key, [values[a] for a in p.operands[key]], err) from None
        return values

    return run


_NUMBERS = (int, float, np.generic)


def _node_error(p, node, args, err):
    name = p.ops[node].name
    if isinstance(err, GraphError):
        return GraphError(f"node {node!r} (op {name!r}): {err}")
    shapes = ", ".join(describe_value(a) for a in args)
    return GraphError(f"node {node!r} (op {name!r}) failed on operands [{shapes}]: "
                      f"{type(err).__name__}: {err}")


def apply_op(opdef, node, args, params, xp=np):
    """Run one op's forward; any failure becomes a GraphError naming node, op and operand shapes."""
    try:
        return opdef.forward(xp, *args, **params)
    except GraphError as err:
        raise GraphError(f"node {node!r} (op {opdef.name!r}): {err}") from None
    except Exception as err:  # numpy raises many types; the user needs node, op and shapes
        shapes = ", ".join(describe_value(a) for a in args)
        raise GraphError(f"node {node!r} (op {opdef.name!r}) failed on operands [{shapes}]: "
                         f"{type(err).__name__}: {err}") from None
