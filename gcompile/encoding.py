"""Lossless, code-free encoding of attribute values as JSON data.

JSON holds ``None``, ``bool``, ``int``, finite ``float``, ``str``, lists and
string-keyed objects as themselves.  Everything else becomes an object with a
single tag key:

======================  =========================================================
value                   JSON
======================  =========================================================
tuple                   ``{"__tuple__": [items]}``
NaN, inf, -inf          ``{"__float__": "nan"}`` (``"inf"``, ``"-inf"``)
complex                 ``{"__complex__": [real, imag]}``
numpy array             ``{"__ndarray__": {"dtype": "<f8", "shape": [2, 3],
                        "data": base64 of the C-order bytes}}`` (the dtype
                        string names the byte order)
numpy scalar            ``{"__scalar__": {"dtype": "<i8", "data": base64}}``
dict with a key that    ``{"__dict__": [[key, value], ...]}``
is not a string or
starts with ``__``
======================  =========================================================

Floats are written with Python's shortest repr, which reads back to the same
bits; arrays keep dtype, shape and every byte.  Decoding builds only these
types (no pickle, no eval) and reports anything malformed as a
:class:`~gcompile.GraphError` naming where it is.

Examples
--------
>>> import numpy as np
>>> encode((2, 3))
{'__tuple__': [2, 3]}
>>> a = np.array([0.1, np.nan, -np.inf], dtype=np.float32)
>>> b = decode(encode(a))
>>> b.dtype, b.tobytes() == a.tobytes()
(dtype('float32'), True)
>>> decode({"__ndarray__": {"dtype": "<f8", "shape": [2], "data": "AAAA"}}, "node 'w'")
Traceback (most recent call last):
...
gcompile.errors.GraphError: node 'w': array data holds 3 bytes, but dtype <f8 and shape (2,) need 16
"""
from __future__ import annotations

import base64
import binascii
import math

import networkx as nx
import numpy as np

from .errors import GraphError, describe_value
from .graph import plan

__all__ = ["encode", "decode", "to_tuples", "MAX_DEPTH", "TUPLE_ATTRS", "encode_key", "decode_key",
           "decode_attr", "check_digraph", "checked"]

#: Deepest nesting of lists, tuples and dicts inside one attribute value.
MAX_DEPTH = 100

_NUMERIC = "biufc"
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def encode(value, where="value", depth=0):
    """A JSON-ready form of ``value`` (see the module docstring for the tags).

    Examples
    --------
    >>> encode({"a": (1, float("inf")), 2: None})
    {'__dict__': [['a', {'__tuple__': [1, {'__float__': 'inf'}]}], [2, None]]}
    """
    if depth > MAX_DEPTH:
        raise GraphError(f"{where}: nested more than {MAX_DEPTH} levels deep")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.ndarray):
        return {"__ndarray__": dict(_array_fields(value, where), shape=list(value.shape))}
    if isinstance(value, np.generic):
        return {"__scalar__": _array_fields(np.asarray(value), where)}
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        return {"__float__": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, complex):
        return {"__complex__": [encode(value.real, where), encode(value.imag, where)]}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, where, depth + 1) for v in value]}
    if isinstance(value, list):
        return [encode(v, where, depth + 1) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: encode(v, where, depth + 1) for k, v in value.items()}
        return {"__dict__": [[encode(k, where, depth + 1), encode(v, where, depth + 1)]
                             for k, v in value.items()]}
    raise GraphError(f"{where}: cannot save {describe_value(value)} (supported: None, bool, "
                     "int, float, complex, str, list, tuple, dict, numeric numpy arrays and "
                     "scalars)")


def _array_fields(arr, where):
    if arr.dtype.kind not in _NUMERIC:
        raise GraphError(f"{where}: cannot save a numpy array of dtype {arr.dtype} "
                         "(numeric and bool dtypes only)")
    data = np.ascontiguousarray(arr).tobytes()
    return {"dtype": arr.dtype.str, "data": base64.b64encode(data).decode("ascii")}


def decode(obj, where="value", depth=0):
    """The value :func:`encode` made ``obj`` from; a GraphError naming ``where`` if malformed.

    Examples
    --------
    >>> decode({"__tuple__": [1, {"__float__": "-inf"}]})
    (1, -inf)
    >>> decode({"__float__": "big"}, "node 'x' attribute 'value'")
    Traceback (most recent call last):
    ...
    gcompile.errors.GraphError: node 'x' attribute 'value': __float__ must be 'nan', 'inf' or '-inf', got 'big'
    """
    if depth > MAX_DEPTH:
        raise GraphError(f"{where}: nested more than {MAX_DEPTH} levels deep")
    if isinstance(obj, list):
        return [decode(v, where, depth + 1) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) == 1:
        (tag, body), = obj.items()
        if tag in _DECODERS:
            return _DECODERS[tag](body, where, depth)
    return {k: decode(v, where, depth + 1) for k, v in obj.items()}


def _tuple(body, where, depth):
    return tuple(decode(v, where, depth + 1) for v in _expect(body, list, "__tuple__", where))


def _float(body, where, depth):
    if body not in _NONFINITE:
        raise GraphError(f"{where}: __float__ must be 'nan', 'inf' or '-inf', got {body!r}")
    return _NONFINITE[body]


def _complex(body, where, depth):
    parts = [decode(v, where, depth + 1) for v in _expect(body, list, "__complex__", where)]
    if len(parts) != 2 or not all(isinstance(p, (int, float)) and not isinstance(p, bool)
                                  for p in parts):
        raise GraphError(f"{where}: __complex__ must be [real, imag], got {body!r}")
    return complex(*parts)


def _dict(body, where, depth):
    out = {}
    for pair in _expect(body, list, "__dict__", where):
        if not isinstance(pair, list) or len(pair) != 2:
            raise GraphError(f"{where}: __dict__ must list [key, value] pairs, got {pair!r}")
        key = to_tuples(decode(pair[0], where, depth + 1), where)
        out[key] = decode(pair[1], where, depth + 1)
    return out


def _ndarray(body, where, depth):
    fields = _fields(body, ("dtype", "shape", "data"), "__ndarray__", where)
    shape = fields["shape"]
    if not isinstance(shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise GraphError(f"{where}: array shape must be a list of non-negative ints, got {shape!r}")
    shape = tuple(shape)
    dtype, raw = _bytes(fields, where)
    need = math.prod(shape) * dtype.itemsize
    if len(raw) != need:
        raise GraphError(f"{where}: array data holds {len(raw)} bytes, but dtype {dtype.str} and "
                         f"shape {shape} need {need}")
    try:
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    except ValueError as err:
        raise GraphError(f"{where}: cannot build an array of shape {shape}: {err}") from None


def _scalar(body, where, depth):
    fields = _fields(body, ("dtype", "data"), "__scalar__", where)
    dtype, raw = _bytes(fields, where)
    if len(raw) != dtype.itemsize:
        raise GraphError(f"{where}: scalar data holds {len(raw)} bytes, but dtype {dtype.str} "
                         f"needs {dtype.itemsize}")
    return np.frombuffer(raw, dtype=dtype)[0]


def _fields(body, names, tag, where):
    _expect(body, dict, tag, where)
    if set(body) != set(names):
        missing = [n for n in names if n not in body]
        extra = sorted(set(body) - set(names))
        what = f"missing {missing}" if missing else f"unexpected {extra}"
        raise GraphError(f"{where}: {tag} needs exactly the keys {list(names)} ({what})")
    return body


def _bytes(fields, where):
    text = fields["dtype"]
    try:
        dtype = np.dtype(text) if isinstance(text, str) else None
    except (TypeError, ValueError):
        dtype = None
    if dtype is None or dtype.kind not in _NUMERIC:
        raise GraphError(f"{where}: bad array dtype {text!r} (expected a numeric dtype string "
                         "such as '<f8', '<i8', '|b1')")
    data = fields["data"]
    if not isinstance(data, str):
        raise GraphError(f"{where}: array data must be a base64 string, got {describe_value(data)}")
    try:
        return dtype, base64.b64decode(data.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as err:
        raise GraphError(f"{where}: array data is not valid base64 ({err})") from None


def _expect(body, kind, tag, where):
    if not isinstance(body, kind):
        expected = "a list" if kind is list else "an object"
        raise GraphError(f"{where}: {tag} must hold {expected}, got {describe_value(body)}")
    return body


def to_tuples(value, where="node key"):
    """Lists (at any depth) become tuples, so the value can be a dict key or node key.

    Examples
    --------
    >>> to_tuples(["layer", [1, 2]])
    ('layer', (1, 2))
    """
    if isinstance(value, list):
        value = tuple(to_tuples(v, where) for v in value)
    try:
        hash(value)
    except TypeError:
        raise GraphError(f"{where}: {describe_value(value)} cannot be a key (not hashable)") from None
    return value


# ------------------------------------------------------------- keys and graphs
#: Attributes that hold tuples; lists found there (plain networkx files) become tuples.
TUPLE_ATTRS = ("shape", "axes", "axis")


def encode_key(key):
    """A node key as JSON data: tuples as arrays (as networkx writes them), the rest tagged.

    Examples
    --------
    >>> encode_key(("layer", (1, 2.5)))
    ['layer', [1, 2.5]]
    """
    if isinstance(key, tuple):
        return [encode_key(k) for k in key]
    return encode(key, f"node key {key!r}")


def decode_key(obj, where):
    """The node key :func:`encode_key` made ``obj`` from (arrays become tuples).

    Examples
    --------
    >>> decode_key(["layer", [1, 2.5]], "node 0")
    ('layer', (1, 2.5))
    """
    return to_tuples(decode(obj, where), where)


def decode_attr(name, obj, where):
    """An attribute value decoded, with lists in :data:`TUPLE_ATTRS` made tuples."""
    value = decode(obj, where)
    return to_tuples(value, where) if name in TUPLE_ATTRS and isinstance(value, list) else value


def check_digraph(graph, what):
    """A GraphError unless ``graph`` is a networkx DiGraph (not a multigraph)."""
    if not isinstance(graph, nx.DiGraph) or graph.is_multigraph():
        raise GraphError(f"{what} needs a networkx DiGraph, got {type(graph).__name__}")


def checked(graph, source, validate=True):
    """``graph`` after :func:`gcompile.plan` accepts it; errors are prefixed by ``source``."""
    if validate:
        try:
            plan(graph)
        except GraphError as err:
            raise GraphError(f"{source}: {err}") from None
    return graph


_DECODERS = {"__tuple__": _tuple, "__float__": _float, "__complex__": _complex,
             "__dict__": _dict, "__ndarray__": _ndarray, "__scalar__": _scalar}
