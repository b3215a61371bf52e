"""The graph format's own rules: node keys and attribute types, without op semantics.

This is the format layer of ``docs/graph-format.md``.  It checks what any
reader of the format can check without knowing what an op does: node keys are
usable keys, ``op`` is a string, and every documented attribute (``shape``,
``value``, ``arg``, ``axis``, ``axes``, ``keepdims``, ``label``, ``group``,
``origin``, ``role``, ``rule``, ``local``, ``wrt_arg``, ``feedable``,
``order``, ``along``; graph attributes ``output``, ``wrt``, ``grads``, ``seed``) has a
type the format allows.  It does not import the op registry: what an op takes
(arity, operand positions, parameters) is checked by :mod:`gcompile.checks`.
Other attributes are the user's own and are not checked.

Examples
--------
>>> import networkx as nx
>>> g = nx.DiGraph(); g.add_node("x", op="input", shape=3)
>>> check_node_format(g, "x", g.nodes["x"])
Traceback (most recent call last):
...
gcompile.errors.GraphError: node 'x': attribute 'shape' must be a tuple of ints such as (2, 3), got int 3
>>> shape_from_text("(2, 3)", "node 'x'")
(2, 3)
"""
from __future__ import annotations

import math
import re

import numpy as np

from .errors import GraphError, describe_value
from .nxdicts import node_dicts, successor_dicts

__all__ = ["LEAF_OPS", "check_key", "check_format", "check_node_format", "check_edge_format",
           "check_graph_format", "check_arg", "shape_from_text", "loaded_shape"]

#: Node ``op`` values that are not registry ops: values that enter the graph.
LEAF_OPS = ("input", "const")

_INT = (int, np.integer)
_BOOL = (bool, np.bool_)
_REAL_KINDS = "biuf"


def _is_int(x):
    return isinstance(x, _INT) and not isinstance(x, _BOOL)


def _has_nan(key):
    if isinstance(key, (float, np.floating)):
        return math.isnan(key)
    if isinstance(key, tuple):
        return any(_has_nan(k) for k in key)
    return False


def check_key(key, where="node key"):
    """A GraphError unless ``key`` can be a node key: hashable, not None, equal to itself.

    NaN (alone or inside a tuple) is refused: ``nan != nan``, so such a key
    cannot be found again (a search for it would never end).

    Examples
    --------
    >>> check_key(("layer", 1))
    >>> check_key(float("nan"))
    Traceback (most recent call last):
    ...
    gcompile.errors.GraphError: node key nan is not equal to itself (NaN): use a string or a number
    """
    if type(key) is str or type(key) is int:
        return
    if key is None:
        raise GraphError(f"{where} is None (null): use a string or a number")
    try:
        hash(key)
        same = bool(key == key)
    except Exception:  # unhashable, or an __eq__ that fails
        raise GraphError(f"{where} {describe_value(key)} is not hashable") from None
    if not same or _has_nan(key):
        raise GraphError(f"{where} {key!r} is not equal to itself (NaN): use a string or a number")


# --------------------------------------------------------------- shapes
_DIM = re.compile(r"^\s*[+-]?\d+\s*$")


def shape_from_text(text, where):
    """Parse a shape written as text: ``"(2, 3)"``, ``"[2, 3]"``, ``"2,3"``, ``"3"``, ``"()"``.

    GraphML cannot hold a tuple, so these spellings are read when a file is
    loaded.  Anything else is a GraphError naming ``where``.

    Examples
    --------
    >>> shape_from_text("[2, 3]", "x"), shape_from_text("3", "x"), shape_from_text("(4,)", "x")
    ((2, 3), (3,), (4,))
    >>> shape_from_text("2x3", "node 'x'")
    Traceback (most recent call last):
    ...
    gcompile.errors.GraphError: node 'x': attribute 'shape' '2x3' is not a shape: write (2, 3), [2, 3], 2,3 or 3
    """
    body = text.strip()
    if len(body) >= 2 and (body[0], body[-1]) in (("(", ")"), ("[", "]")):
        body = body[1:-1]
    parts = body.split(",")
    if parts and not parts[-1].strip() and len(parts) > 1:
        parts = parts[:-1]  # "(3,)"
    if parts == [""] or (len(parts) == 1 and not parts[0].strip()):
        return ()
    if len(text) > 1000 or not all(_DIM.match(p) for p in parts):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise GraphError(f"{where}: attribute 'shape' {shown!r} is not a shape: write (2, 3), "
                         "[2, 3], 2,3 or 3")
    return tuple(int(p) for p in parts)


def loaded_shape(value, where):
    """A ``shape`` attribute read from a file: text and a bare int become tuples.

    Examples
    --------
    >>> loaded_shape(3, "x"), loaded_shape("2,3", "x"), loaded_shape([1, 2], "x")
    ((3,), (2, 3), (1, 2))
    """
    if isinstance(value, str):
        return shape_from_text(value, where)
    if _is_int(value):
        return (int(value),)
    if isinstance(value, list):
        return tuple(value)
    return value


def _shape(value, where, lowest):
    if isinstance(value, (tuple, list)) and all(
            (type(d) is int or _is_int(d)) and d >= lowest for d in value):
        return
    hint = " (a file may write it as \"2,3\")" if isinstance(value, str) else ""
    if isinstance(value, (tuple, list)):
        bad = next(d for d in value if not (_is_int(d) and d >= lowest))
        least = "non-negative ints" if lowest == 0 else f"ints >= {lowest}"
        raise GraphError(f"{where}: attribute 'shape' {_short(value)} must hold {least}, "
                         f"got {describe_value(bad)}")
    raise GraphError(f"{where}: attribute 'shape' must be a tuple of ints such as (2, 3), "
                     f"got {describe_value(value)}{hint}")


def _short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --------------------------------------------------------------- values
#: Largest magnitude a Python int may have to be read as a float64.
_FLOAT_MAX = int(np.finfo(np.float64).max)


def _value(value, where, op):
    if value is None:
        if op == "const":
            raise GraphError(f"{where}: a const needs a 'value', got None")
        return
    if isinstance(value, _BOOL) or isinstance(value, float):
        return
    if isinstance(value, int):
        if abs(value) > _FLOAT_MAX:
            raise GraphError(f"{where}: attribute 'value' (an int of {value.bit_length()} bits) "
                             "is too large for a float64")
        return
    if isinstance(value, (np.ndarray, np.generic)):
        kind = value.dtype.kind
    elif isinstance(value, (list, tuple)):
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError, OverflowError, RecursionError) as err:
            raise GraphError(f"{where}: attribute 'value' is not a regular numeric array: "
                             f"{type(err).__name__}") from None
        kind = arr.dtype.kind
        if kind == "O" and all(isinstance(x, int) for x in arr.flat):
            raise GraphError(f"{where}: attribute 'value' holds ints too large for a float64")
    else:
        kind = None
    if kind == "c" or isinstance(value, complex):
        raise GraphError(f"{where}: attribute 'value' is complex ({describe_value(value)}): "
                         "gcompile computes on real numbers")
    if kind not in tuple(_REAL_KINDS):
        raise GraphError(f"{where}: attribute 'value' must be a number or a numeric array, "
                         f"got {describe_value(value)}")


# ----------------------------------------------------------- attributes
def _axis(value, where, name="axis"):
    if value is None or _is_int(value):
        return
    if isinstance(value, (tuple, list)) and all(_is_int(a) for a in value):
        return
    raise GraphError(f"{where}: attribute {name!r} must be None, an int or a tuple of ints, "
                     f"got {describe_value(value)}")


def _axes(value, where):
    if value is None or (isinstance(value, (tuple, list)) and all(_is_int(a) for a in value)):
        return
    raise GraphError(f"{where}: attribute 'axes' must be None or a tuple of ints, "
                     f"got {describe_value(value)}")


def _typed(name, kinds, what):
    def check(value, where):
        if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, _BOOL)):
            raise GraphError(f"{where}: attribute {name!r} must be {what}, "
                             f"got {describe_value(value)}")
    return check


def _text(name):
    return _typed(name, (str, int, float, np.integer, np.floating), "a string")


def _key_attr(name):
    def check(value, where):
        check_key(value, f"{where}: attribute {name!r}")
    return check


def _count(name):
    def check(value, where):
        if not (_is_int(value) and value >= 0):
            raise GraphError(f"{where}: attribute {name!r} must be a non-negative int, "
                             f"got {describe_value(value)}")
    return check


def _along(value, where):
    ok = isinstance(value, (list, tuple)) and all(
        isinstance(e, (list, tuple)) and len(e) == 3 and _is_int(e[2]) and e[2] >= 0
        for e in value)
    if not ok:
        raise GraphError(f"{where}: attribute 'along' must be a list of (u, v, position) "
                         f"edges, got {describe_value(value)}")
    for u, v, _ in value:
        check_key(u, f"{where}: attribute 'along': node key")
        check_key(v, f"{where}: attribute 'along': node key")


_NODE_CHECKS = {
    "axis": _axis, "axes": _axes,
    "keepdims": _typed("keepdims", (bool, np.bool_), "True or False"),
    "feedable": _typed("feedable", (bool, np.bool_), "True or False"),
    "label": _text("label"), "group": _text("group"),
    "role": _typed("role", (str,), "a string"), "rule": _typed("rule", (str,), "a string"),
    "origin": _key_attr("origin"), "local": _key_attr("local"),
    "wrt_arg": _count("wrt_arg"), "order": _count("order"), "along": _along,
}


class _Where:
    """``node 'x'`` for messages, formatted only when a message is written."""

    __slots__ = ("v",)

    def __init__(self, v):
        self.v = v

    def __format__(self, spec):
        return f"node {self.v!r}"


#: Attributes for which a plain string, or a plain int >= 0, needs no further check.
_STRINGS = frozenset({"label", "group", "role", "rule", "origin", "local"})
_COUNTS = frozenset({"wrt_arg", "order", "axis", "label", "group", "origin", "local"})


def check_node_format(graph, v, data):
    """Check node ``v``'s key and documented attributes; return its ``op`` name.

    ``input`` and ``const`` nodes have no incoming edges and a const has a
    ``value``.  Whether an op name is registered is not checked here.
    """
    if type(v) is not str:
        check_key(v)
    if "op" not in data:
        raise GraphError(f"node {v!r} has no 'op' attribute (use 'input', 'const' or an op name)")
    name = data["op"]
    if type(name) is not str:
        raise GraphError(f"node {v!r}: attribute 'op' must be a string, got {describe_value(name)}")
    leaf = name in LEAF_OPS
    if len(data) == 1 and not leaf:
        return name
    for key, value in data.items():
        check = _NODE_CHECKS.get(key)
        if check is not None:
            kind = type(value)
            if (kind is str and key in _STRINGS) or (kind is int and value >= 0 and key in _COUNTS):
                continue
            check(value, _Where(v))
        elif key == "shape":
            if value is not None:
                _shape(value, _Where(v), 0 if leaf else -1)
        elif key == "value" and leaf:
            if type(value) is not float:
                _value(value, _Where(v), name)
    if leaf:
        if node_dicts(graph)[1][v]:
            preds = sorted(map(repr, node_dicts(graph)[1][v]))[:3]
            raise GraphError(f"node {v!r} is an {name!r} but has incoming edges from {', '.join(preds)}")
        if name == "const" and "value" not in data:
            raise GraphError(f"const node {v!r} has no 'value' attribute")
    return name


def check_arg(u, v, arg, op):
    """The operand positions an edge's ``arg`` names (ints >= 0), as a list.

    Examples
    --------
    >>> check_arg("x", "y", [0, 1], "mul")
    [0, 1]
    """
    args = arg if isinstance(arg, (list, tuple)) else (arg,)
    if not args:
        raise GraphError(f"edge {u!r} -> {v!r}: 'arg' is an empty list")
    for a in args:  # ints, numpy integers too; never bools or floats
        if not _is_int(a) or a < 0:
            raise GraphError(f"edge {u!r} -> {v!r}: 'arg' {_short(arg)} is not an operand "
                             f"position of op {op!r} (an int >= 0, or a list of them)")
    return [int(a) for a in args]


def check_edge_format(u, v, data, op):
    """Check an edge's ``arg`` type (its range is checked against the op's arity later)."""
    if "arg" in data and data["arg"] is not None:
        check_arg(u, v, data["arg"], op)


def check_graph_format(graph):
    """Check the graph attributes ``output``, ``wrt``, ``grads`` and ``seed``.

    ``output`` and ``seed`` are node keys, ``wrt`` a list of node keys (or one
    string), ``grads`` a dict from node key to node key; ``None`` means absent.

    Examples
    --------
    >>> import networkx as nx
    >>> check_graph_format(nx.DiGraph(wrt=5))
    Traceback (most recent call last):
    ...
    gcompile.errors.GraphError: graph attribute 'wrt' must be a list of node keys, got int 5
    """
    attrs = graph.graph
    if not attrs:
        return
    for name in ("output", "seed"):
        if attrs.get(name) is not None:
            check_key(attrs[name], f"graph attribute {name!r}")
    wrt = attrs.get("wrt")
    if wrt is not None and not isinstance(wrt, str):
        if not isinstance(wrt, (list, tuple)):
            raise GraphError(f"graph attribute 'wrt' must be a list of node keys, "
                             f"got {describe_value(wrt)}")
        for w in wrt:
            check_key(w, "graph attribute 'wrt': node key")
    grads = attrs.get("grads")
    if grads is not None:
        if not isinstance(grads, dict):
            raise GraphError(f"graph attribute 'grads' must be a dict from node key to node key, "
                             f"got {describe_value(grads)}")
        for k, g in grads.items():
            check_key(k, "graph attribute 'grads': key")
            check_key(g, f"graph attribute 'grads'[{k!r}]")


def check_format(graph):
    """Check a whole graph against the format: graph attributes, every node, every edge's ``arg``.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph([("x", "y")]); g.nodes["x"]["op"] = "input"; g.nodes["y"]["op"] = "exp"
    >>> g.edges["x", "y"]["arg"] = 0.5
    >>> check_format(g)
    Traceback (most recent call last):
    ...
    gcompile.errors.GraphError: edge 'x' -> 'y': 'arg' 0.5 is not an operand position of op 'exp' (an int >= 0, or a list of them)
    """
    check_graph_format(graph)
    nodes = node_dicts(graph)[0]
    for v, data in nodes.items():
        check_node_format(graph, v, data)
    for u, succ in successor_dicts(graph).items():
        for v, data in succ.items():
            if data:
                arg = data.get("arg", 0)
                if type(arg) is not int or arg < 0:
                    check_edge_format(u, v, data, nodes[v]["op"])
