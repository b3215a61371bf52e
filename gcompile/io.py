"""Save and load graphs: JSON in networkx's node-link form, and GraphML.

JSON files are what :func:`networkx.node_link_data` writes (edges under the
key ``"edges"``), one node or edge per line, with attribute values encoded by
:mod:`gcompile.encoding`: numpy arrays and scalars keep dtype, shape and
every byte; tuples (``shape``, ``axes``, ``axis``) are ``{"__tuple__": [...]}``.
Tuple node keys are written as JSON arrays, as networkx does, and read back as
tuples.  Files written by plain networkx load too (lists in ``shape``,
``axes`` and ``axis`` become tuples).

A ``.graphml`` path is read and written as GraphML instead (see
:mod:`gcompile.graphml`).

Loading parses data only (no pickle, no eval), checks the graph with
:func:`gcompile.plan` (unknown ops, arity, cycles), and reports every problem
as a :class:`~gcompile.GraphError` naming the file.

Examples
--------
>>> import gcompile as gc
>>> from gcompile.examples import apple
>>> g, feeds = apple()
>>> text = gc.to_json(g)
>>> print(text.splitlines()[2])
 "nodes": [
>>> h = gc.from_json(text)
>>> h.nodes["apple"]["shape"], float(gc.evaluate(h, feeds)["price"])
((), 220.00000000000003)
>>> gc.from_json('{"nodes": [}', source="bad.json")
Traceback (most recent call last):
...
gcompile.errors.GraphError: bad.json: invalid JSON at line 1, column 12: Expecting value
"""
from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import networkx as nx

from .encoding import check_digraph, checked, decode, decode_attr, decode_key, encode, encode_key
from .errors import GraphError, describe_value
from .graphml import from_graphml, to_graphml
from .schema import check_key, loaded_shape

__all__ = ["to_json", "from_json", "save", "load", "to_graphml", "from_graphml"]

_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(", ", ": "))
_ASCII = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(", ", ": "))
_SURROGATE = re.compile("[\ud800-\udfff]")  # not encodable as UTF-8: such rows are escaped
_PLAIN = frozenset({str, int, float, bool, type(None)})


# ------------------------------------------------------------------------ JSON
def to_json(graph) -> str:
    """The graph as node-link JSON text (deterministic: same graph, same text).

    Examples
    --------
    >>> import networkx as nx, numpy as np
    >>> g = nx.DiGraph(); g.add_node(("w", 1), op="const", value=np.float32(0.5))
    >>> print(to_json(g), end="")
    {"directed": true, "multigraph": false,
     "graph": {},
     "nodes": [
      {"id": ["w", 1], "op": "const", "value": {"__scalar__": {"dtype": "<f4", "data": "AAAAPw=="}}}
     ],
     "edges": []}
    """
    check_digraph(graph, "to_json")
    nodes = []
    for n, data in graph.nodes(data=True):
        if "id" in data:
            raise GraphError(f"node {n!r} has an attribute named 'id', which node-link JSON "
                             "uses for the node key: rename it")
        nodes.append(_encoded(data, {"id": _key(n)}, "node {!r}", n))
    edges = []
    for u, v, data in graph.edges(data=True):
        if "source" in data or "target" in data:
            raise GraphError(f"edge {u!r} -> {v!r} has an attribute named 'source' or 'target', "
                             "which node-link JSON uses for the endpoints: rename it")
        edges.append(_encoded(data, {"source": _key(u), "target": _key(v)}, "edge {!r} -> {!r}", u, v))
    head = encode(dict(graph.graph), "graph attributes")
    return ('{"directed": true, "multigraph": false,\n "graph": ' + _row(head)
            + ',\n "nodes": ' + _rows(nodes) + ',\n "edges": ' + _rows(edges) + "}\n")


def _encoded(data, out, where, *names):
    for k, v in data.items():
        if type(v) in _PLAIN and (type(v) is not float or math.isfinite(v)):
            out[k] = v
        else:
            out[k] = encode(v, where.format(*names) + f" attribute {k!r}")
    return out


def _key(key):
    return key if type(key) is str else encode_key(key)


def _rows(items):
    if not items:
        return "[]"
    return "[\n  " + ",\n  ".join(map(_row, items)) + "\n ]"


def _row(item):
    text = _ENCODER.encode(item)
    return _ASCII.encode(item) if _SURROGATE.search(text) else text


def from_json(text, *, source="<string>", validate=True) -> nx.DiGraph:
    """Read a graph from node-link JSON text (``str`` or UTF-8 ``bytes``).

    ``source`` names the text in error messages; with ``validate`` the graph
    is checked with :func:`gcompile.plan`.

    Examples
    --------
    >>> g = from_json('{"nodes": [{"id": "x", "op": "input", "shape": [2]}], "edges": []}')
    >>> g.nodes["x"]
    {'op': 'input', 'shape': (2,)}
    """
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as err:
            line = bytes(text[:err.start]).count(b"\n") + 1
            raise GraphError(f"{source}: not UTF-8 text: byte 0x{text[err.start]:02x} at line "
                             f"{line} (offset {err.start})") from None
    if not isinstance(text, str):
        raise GraphError(f"{source}: expected JSON text, got {describe_value(text)}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise GraphError(f"{source}: invalid JSON at line {err.lineno}, column {err.colno}: "
                         f"{err.msg}") from None
    except RecursionError:
        raise GraphError(f"{source}: invalid JSON: nested too deeply") from None
    except ValueError as err:
        raise GraphError(f"{source}: invalid JSON: {err}") from None
    try:
        graph = _from_node_link(data)
    except GraphError as err:
        raise GraphError(f"{source}: {err}") from None
    return checked(graph, source, validate)


def _from_node_link(data):
    if not isinstance(data, dict):
        raise GraphError(f"the top level is {describe_value(data)}, not an object with 'nodes' "
                         "and 'edges'")
    if data.get("directed", True) is not True:
        raise GraphError("'directed' is not true: gcompile graphs are directed")
    if data.get("multigraph", False) is not False:
        raise GraphError("'multigraph' is not false: use one edge with arg=[0, 1] for x*x")
    edges_key = "edges" if "edges" in data or "links" not in data else "links"
    for key in ("nodes", edges_key):
        if key not in data:
            raise GraphError(f"missing {key!r} (a node-link file has 'nodes' and 'edges' lists)")
        if not isinstance(data[key], list):
            raise GraphError(f"{key!r} must be a list, got {describe_value(data[key])}")
    head = decode(data.get("graph", {}), "graph attributes")
    if not isinstance(head, dict):
        raise GraphError(f"'graph' must be an object, got {describe_value(head)}")
    nodes, seen = [], set()
    for i, item in enumerate(data["nodes"]):
        if not isinstance(item, dict) or "id" not in item:
            raise GraphError(f"node {i} must be an object with an 'id', got {describe_value(item)}")
        key = item["id"] if type(item["id"]) is str else decode_key(item["id"], f"node {i}")
        check_key(key, f"node {i}: key")
        if key in seen:
            raise GraphError(f"node {key!r} is listed twice")
        seen.add(key)
        attrs = _attrs(item, ("id",), "node {!r}", key)
        if "shape" in attrs:
            attrs["shape"] = loaded_shape(attrs["shape"], f"node {key!r}")
        nodes.append((key, attrs))
    edges, pairs = [], set()
    for i, item in enumerate(data[edges_key]):
        if not isinstance(item, dict) or "source" not in item or "target" not in item:
            raise GraphError(f"edge {i} must be an object with 'source' and 'target', "
                             f"got {describe_value(item)}")
        u, v = (item[k] if type(item[k]) is str else decode_key(item[k], f"edge {i} {k}")
                for k in ("source", "target"))
        for end in (u, v):
            check_key(end, f"edge {i}: endpoint")
            if end not in seen:
                raise GraphError(f"edge {i} ({u!r} -> {v!r}): {end!r} is not a listed node")
        if (u, v) in pairs:
            raise GraphError(f"edge {u!r} -> {v!r} is listed twice (use arg=[0, 1] for x*x)")
        pairs.add((u, v))
        edges.append((u, v, _attrs(item, ("source", "target"), "edge {!r} -> {!r}", u, v)))
    graph = nx.DiGraph()
    graph.graph.update(head)
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    return graph


def _attrs(item, skip, where, *names):
    out = {}
    for k, v in item.items():
        if k in skip:
            continue
        if type(v) in _PLAIN:
            out[k] = v
        else:
            out[k] = decode_attr(k, v, where.format(*names) + f" attribute {k!r}")
    return out


# ----------------------------------------------------------------------- files
#: File suffixes gc.save and gc.load know, and the format each means.
SUFFIXES = {".json": "json", ".graphml": "graphml", ".xml": "graphml"}


def _format(path, fmt, also=()):
    if fmt is None:
        suffix = Path(path).suffix
        fmt = SUFFIXES.get(suffix.lower())
        if fmt is None:
            shown = f"suffix {suffix!r}" if suffix else "no suffix"
            raise GraphError(f"{os.fspath(path)!r} has {shown}: graph files end in "
                             f"{', '.join([*SUFFIXES, *also])} (or pass format='json' or "
                             "'graphml')")
    if fmt not in ("json", "graphml"):
        raise GraphError(f"unknown graph file format {fmt!r} (use 'json' or 'graphml')")
    return fmt


def save(graph, path, *, format=None) -> Path:
    """Write ``graph`` to ``path``: JSON for ``.json``, GraphML for ``.graphml`` (or ``.xml``).

    Any other suffix is a GraphError unless ``format`` (``"json"`` or
    ``"graphml"``) is given.  Returns the path written.

    Examples
    --------
    >>> import tempfile, os, gcompile as gc
    >>> from gcompile.examples import apple
    >>> path = gc.save(apple()[0], os.path.join(tempfile.mkdtemp(), "apple.json"))
    >>> sorted(gc.load(path).nodes) == sorted(apple()[0].nodes)
    True
    """
    if not isinstance(path, (str, os.PathLike)):
        raise GraphError(f"save needs a file path, got {describe_value(path)}")
    fmt = _format(path, format)
    text = to_graphml(graph) if fmt == "graphml" else to_json(graph)
    try:
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    except OSError as err:
        raise GraphError(f"cannot write {os.fspath(path)!r}: {err.strerror or err}") from None
    return Path(path)


def load(path, *, format=None, validate=True) -> nx.DiGraph:
    """Read a graph saved by :func:`save` (or by networkx) from ``path``; a ``.onnx`` path is
    imported with :func:`gcompile.from_onnx`.

    The suffix says the format, as for :func:`save` (or pass ``format``).

    Examples
    --------
    >>> load("no/such/file.json")
    Traceback (most recent call last):
    ...
    gcompile.errors.GraphError: cannot read 'no/such/file.json': No such file or directory
    """
    if not isinstance(path, (str, os.PathLike)):
        raise GraphError(f"load needs a file path, got {describe_value(path)}")
    name = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise GraphError(f"cannot read {name!r}: {err.strerror or err}") from None
    if format == "onnx" or (format is None and Path(path).suffix.lower() == ".onnx"):
        from .onnx_import import from_onnx  # an ONNX model: needs the onnx extra

        return from_onnx(path)
    if _format(path, format, also=(".onnx",)) == "graphml":
        return from_graphml(data, source=name, validate=validate)
    return from_json(data, source=name, validate=validate)
