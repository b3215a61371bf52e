"""Op-aware checks of one node: its op is registered, its operands fill the op's positions.

The format layer (:mod:`gcompile.schema`) has already checked keys and
attribute types; here the op registry says how many operands an op takes and
which parameters it reads.

Examples
--------
>>> import networkx as nx
>>> g = nx.DiGraph([("x", "y")]); g.nodes["x"]["op"] = "input"; g.nodes["y"]["op"] = "mul"
>>> check_node(g, "y", g.nodes["y"])
Traceback (most recent call last):
...
gcompile.errors.GraphError: edge 'x' -> 'y' has no 'arg' attribute (the operand position; only the single edge into a unary op may omit it)
"""
from __future__ import annotations

from .errors import GraphError
from .nxdicts import node_dicts
from .registry import lookup
from .schema import LEAF_OPS, check_arg, check_node_format

__all__ = ["check_node", "checked_in_insertion_order"]


def _positions(graph, u, v, data, arity):
    arg = data.get("arg")
    if arg is None:
        if arity == 1 and len(node_dicts(graph)[1][v]) == 1:
            return (0,)
        raise GraphError(f"edge {u!r} -> {v!r} has no 'arg' attribute (the operand position; "
                         f"only the single edge into a unary op may omit it)")
    out = check_arg(u, v, arg, graph.nodes[v]["op"])
    for a in out:
        if a >= arity:
            raise GraphError(f"edge {u!r} -> {v!r}: 'arg' {arg!r} is not an operand position "
                             f"of op {graph.nodes[v]['op']!r}, which takes {arity} operand(s)")
    return out


def check_node(graph, v, data):
    """Validate one node; return ``(opdef or None, operands tuple, params dict)``."""
    name = check_node_format(graph, v, data)
    if name in LEAF_OPS:
        return None, (), {}
    opdef = lookup(name, node=v)
    arity = opdef.arity
    preds = node_dicts(graph)[1][v]
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
                raise GraphError(f"node {v!r} (op {name!r}): operand position {pos} is given twice, "
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


def checked_in_insertion_order(graph):
    """``(ops, operands, params)`` of :func:`gcompile.graph.plan` for a graph whose insertion
    order is topological and whose nodes all pass :func:`check_node`, in one walk; ``None``
    for any other graph (``plan`` then takes its general path, which reports what is wrong
    as it always has).

    Op nodes whose only attribute is ``op`` (a registered op) and whose edges each carry
    one int ``arg`` are checked inline (what :func:`check_node` accepts on its own fast
    path); other nodes by :func:`check_node` itself.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph([("x", "y")]); g.nodes["x"]["op"] = "input"; g.nodes["y"]["op"] = "sin"
    >>> checked_in_insertion_order(g)[1]
    {'y': ('x',)}
    >>> g.add_edge("y", "x"); print(checked_in_insertion_order(g))  # plan() names the cycle
    None
    """
    nodes, pred = node_dicts(graph)
    seen = set()
    add = seen.add
    ops, operands, params = {}, {}, {}
    known = {}  # op name -> (opdef, arity) of the inline check; False: check_node
    for v, data in nodes.items():
        preds = pred[v]
        found = False
        if len(data) == 1 and type(v) is str:
            name = data.get("op")
            if type(name) is str:
                found = known.get(name)
                if found is None:
                    found = known[name] = _inline_check(name)
        if found:
            opdef, arity = found
            if len(preds) == arity:
                slots = [None] * arity
                for u, edata in preds.items():
                    pos = edata.get("arg")
                    if type(pos) is not int or not 0 <= pos < arity or slots[pos] is not None:
                        break
                    if u not in seen:
                        return None
                    slots[pos] = u
                else:
                    ops[v] = opdef
                    operands[v] = tuple(slots)
                    params[v] = {k: d for k, d in opdef.params.items()} if opdef.params else {}
                    add(v)
                    continue
        for u in preds:
            if u not in seen:
                return None
        try:
            opdef, args, kw = check_node(graph, v, data)
        except Exception:  # noqa: BLE001 -- the general path reports it, in its order
            return None
        if opdef is not None:
            ops[v], operands[v], params[v] = opdef, args, kw
        add(v)
    return ops, operands, params


def _inline_check(name):
    """``(opdef, arity)`` of a registered op ``name``, or ``False`` (a leaf or unknown op)."""
    if name in LEAF_OPS:
        return False
    try:
        opdef = lookup(name)
    except GraphError:
        return False
    return opdef, opdef.arity
