"""Static shape inference: what is known of each node's shape before running.

Shapes come from an input's ``shape`` attribute, an input's or const's
``value``, or a ``shapes`` mapping (node -> shape or example value).  Unknown
shapes are ``None`` and propagate as unknown; a mismatch that is certain is a
:class:`~gcompile.GraphError` naming the node.

Examples
--------
>>> import networkx as nx, gcompile as gc
>>> g = nx.DiGraph()
>>> g.add_node("x", op="input", shape=(2, 3)); g.add_node("s", op="sum", axis=0)
>>> g.add_edge("x", "s")
>>> gc.infer_shapes(g)["s"]
(3,)
"""
from __future__ import annotations

import numpy as np

from .errors import GraphError, node_error
from .graph import node_dicts, plan as make_plan

__all__ = ["infer_shapes", "shape_of"]


def shape_of(value):
    """Shape of a value or a shape given as a tuple/list of ints (``None`` if unknown).

    Examples
    --------
    >>> shape_of(2.0), shape_of(np.zeros((2, 1))), shape_of((4,))
    ((), (2, 1), (4,))
    """
    if value is None:
        return None
    if isinstance(value, (tuple, list)) and all(isinstance(d, int) and not isinstance(d, bool)
                                                for d in value):
        return tuple(value)
    shape = getattr(value, "shape", None)
    if shape is not None:
        return tuple(shape)
    if isinstance(value, (int, float, complex, np.generic)):
        return ()
    return None


def infer_shapes(graph, shapes=None, *, plan=None) -> dict:
    """Map every node to its static shape, or ``None`` where it is not known.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph([("a", "c"), ("b", "c")])
    >>> g.nodes["a"]["op"] = g.nodes["b"]["op"] = "input"; g.nodes["c"]["op"] = "add"
    >>> g.edges["a", "c"]["arg"] = 0; g.edges["b", "c"]["arg"] = 1
    >>> infer_shapes(g, {"a": (2, 1), "b": (3,)})["c"]
    (2, 3)
    """
    shapes = shapes or {}
    p = plan or make_plan(graph)
    out = {}
    nodes = node_dicts(graph)[0]
    for v in p.order:
        data = nodes[v]
        opdef = p.ops.get(v)
        if opdef is None:
            if v in shapes:
                out[v] = shape_of(shapes[v])
            elif data["op"] == "input" and data.get("shape") is not None:
                out[v] = tuple(data["shape"])
            else:
                out[v] = shape_of(data.get("value"))
            continue
        ins = [out[u] for u in p.operands[v]]
        if (opdef.broadcasts or opdef.elementwise) and opdef.shape is not None and not p.params[v] \
                and ins[0] is not None and ins.count(ins[0]) == len(ins):
            out[v] = ins[0]  # same shapes in, same shape out (as lowering assumes): no call
            continue
        try:
            out[v] = opdef.infer_shape(ins, p.params[v])
        except GraphError as err:
            raise node_error(v, opdef.name, err) from None
        except (TypeError, ValueError) as err:
            raise node_error(v, opdef.name, f"bad parameters {p.params[v]!r}: {err}") from None
    return out
