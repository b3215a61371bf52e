"""GraphML files: strings, numbers and booleans native, everything else as ``json:`` text.

GraphML holds strings, numbers and booleans natively; any other value (tuple,
list, dict, None, numpy array, ...) is stored as the string ``"json:"``
followed by its :mod:`gcompile.encoding` JSON, and so is a string that itself
starts with ``json:`` or holds characters XML cannot carry (control characters,
``\\r``).  When some node key is not a string, every node id is
the JSON encoding of its key and the graph attribute ``gcompile_node_keys``
is ``"json"``.

Examples
--------
>>> import gcompile as gc
>>> from gcompile.examples import apple
>>> g, feeds = apple()
>>> h = from_graphml(to_graphml(g))
>>> h.nodes["tax"], float(gc.evaluate(h, feeds)["price"])
({'op': 'input', 'shape': (), 'label': 'tax'}, 220.00000000000003)
"""
from __future__ import annotations

import io
import json
import re

import networkx as nx

from .encoding import check_digraph, checked, decode_attr, decode_key, encode, encode_key
from .errors import GraphError
from .schema import check_key, loaded_shape

__all__ = ["to_graphml", "from_graphml"]

_KEYS_ATTR = "gcompile_node_keys"
_PREFIX = "json:"
#: Characters XML 1.0 cannot carry unchanged in element text (``\r`` reads back as ``\n``)
#: and, in attribute values such as node ids, also tab and newline (read back as spaces).
_BAD_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]")
_BAD_IN_ATTRIBUTE = re.compile("[\x00-\x1f\ud800-\udfff\ufffe\uffff]")


def to_graphml(graph) -> str:
    """The graph as GraphML text; values GraphML cannot hold become ``json:`` strings.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph(); g.add_node("x", op="input", shape=(2, 3))
    >>> [line.strip() for line in to_graphml(g).splitlines() if "json:" in line]
    ['<data key="d1">json:{"__tuple__":[2,3]}</data>']
    """
    check_digraph(graph, "to_graphml")
    reserved = {"node_default", "edge_default", _KEYS_ATTR} & set(graph.graph)
    if reserved:
        raise GraphError(f"graph attribute {sorted(reserved)[0]!r} is reserved in GraphML files")
    plain = all(type(n) is str and not _BAD_IN_ATTRIBUTE.search(n) for n in graph)
    ids = {n: n if plain else _compact(encode_key(n)) for n in graph}
    out = nx.DiGraph()
    out.graph.update(_native_attrs(graph.graph, "graph attribute"))
    if not plain:
        out.graph[_KEYS_ATTR] = "json"
    for n, data in graph.nodes(data=True):
        out.add_node(ids[n], **_native_attrs(data, f"node {n!r} attribute"))
    for u, v, data in graph.edges(data=True):
        out.add_edge(ids[u], ids[v], **_native_attrs(data, f"edge {u!r} -> {v!r} attribute"))
    buffer = io.BytesIO()
    nx.write_graphml(out, buffer, encoding="utf-8")
    return buffer.getvalue().decode("utf-8") + "\n"


def _compact(obj):
    """ASCII JSON: escapes keep every character, even those XML cannot hold."""
    return json.dumps(obj, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def _native_attrs(attrs, where):
    out = {}
    for k, v in attrs.items():
        if not isinstance(k, str) or _BAD_IN_ATTRIBUTE.search(k):
            raise GraphError(f"{where} name {k!r} cannot be a GraphML attribute name (a string "
                             "without control characters is needed)")
        native = (type(v) in (bool, int, float) or
                  (type(v) is str and not v.startswith(_PREFIX) and not _BAD_IN_TEXT.search(v)))
        out[k] = v if native else _PREFIX + _compact(encode(v, f"{where} {k!r}"))
    return out


def from_graphml(text, *, source="<string>", validate=True) -> nx.DiGraph:
    """Read a graph written by :func:`to_graphml` (or any directed GraphML).

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph(); g.add_node((1, "x"), op="input", shape=(2, 3))
    >>> from_graphml(to_graphml(g)).nodes[(1, "x")]
    {'op': 'input', 'shape': (2, 3)}
    """
    try:
        raw = nx.parse_graphml(text)
    except Exception as err:  # expat and networkx raise many types for a bad file
        where = getattr(err, "position", None)  # expat: (line, 0-based column)
        if where:
            text = str(err).split(": line ")[0]
            raise GraphError(f"{source}: invalid GraphML at line {where[0]}, column "
                             f"{where[1] + 1}: {text}") from None
        raise GraphError(f"{source}: invalid GraphML: {type(err).__name__}: {err}") from None
    if not raw.is_directed() or raw.is_multigraph():
        raise GraphError(f"{source}: the GraphML graph must be directed without parallel edges")
    try:
        graph = _decode_graphml(raw)
    except GraphError as err:
        raise GraphError(f"{source}: {err}") from None
    return checked(graph, source, validate)


def _decode_graphml(raw):
    head = {k: v for k, v in raw.graph.items() if k not in ("node_default", "edge_default")}
    json_keys = head.pop(_KEYS_ATTR, None) == "json"
    ids = {n: decode_key(_parse(n, f"node id {n!r}"), f"node id {n!r}") if json_keys else n
           for n in raw}
    graph = nx.DiGraph()
    graph.graph.update(_decoded_attrs(head, "graph attribute"))
    for n, data in raw.nodes(data=True):
        check_key(ids[n], f"node id {n!r}")
        attrs = _decoded_attrs(data, f"node {ids[n]!r} attribute")
        if "shape" in attrs:
            attrs["shape"] = loaded_shape(attrs["shape"], f"node {ids[n]!r}")
        graph.add_node(ids[n], **attrs)
    for u, v, data in raw.edges(data=True):
        graph.add_edge(ids[u], ids[v], **_decoded_attrs(data, f"edge {ids[u]!r} -> {ids[v]!r} attribute"))
    return graph


def _decoded_attrs(attrs, where):
    out = {}
    for k, v in attrs.items():
        if isinstance(v, str) and v.startswith(_PREFIX):
            v = decode_attr(k, _parse(v[len(_PREFIX):], f"{where} {k!r}"), f"{where} {k!r}")
        out[k] = v
    return out


def _parse(text, where):
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise GraphError(f"{where}: invalid JSON at column {err.colno}: {err.msg}") from None
    except (RecursionError, ValueError) as err:
        raise GraphError(f"{where}: invalid JSON: {type(err).__name__}") from None
