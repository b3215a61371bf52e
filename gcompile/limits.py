"""Resource limits: refuse a graph whose tensors would not fit, before anything runs.

Shapes are known before a graph runs (from the feeds, the inputs' ``shape``
and the constants' ``value``, through each op's shape rule), so the bytes the
interpreter would hold are known too: every node's value is kept until the
end (:func:`gcompile.evaluate` returns them all).  When that total would pass
the limit, the run is refused with a :class:`~gcompile.GraphError` naming the
largest tensor, instead of allocating until the machine swaps or the process
is killed.

The limit, in bytes:

* the ``max_bytes`` argument of :func:`gcompile.evaluate` (and
  :func:`gcompile.evaluate.interpreter`), if given;
* else the environment variable ``GCOMPILE_MAX_BYTES`` (an int, optionally
  with a suffix ``K``, ``M``, ``G`` or ``T``, powers of 1024; ``0`` or ``none``
  turns the check off);
* else one eighth of the machine's physical memory (:data:`DEFAULT_FRACTION`).

Elements are counted at 8 bytes (float64) whatever their dtype, and a
broadcast view counts as the array it stands for (the next op makes it one).

Examples
--------
>>> parse_bytes("2G"), parse_bytes("1500"), parse_bytes("none")
(2147483648, 1500, None)
>>> import networkx as nx
>>> from gcompile.graph import plan
>>> g = nx.DiGraph([("x", "big")])
>>> g.nodes["x"].update(op="const", value=1.0)
>>> g.nodes["big"].update(op="broadcast_to", shape=(20000, 20000))
>>> check_sizes(g, plan(g), limit=10**9)
Traceback (most recent call last):
...
gcompile.errors.GraphError: the graph's tensors would take 3.2 GB, over the limit of 1 GB (GCOMPILE_MAX_BYTES or max_bytes=): node 'big' (op 'broadcast_to') alone has shape (20000, 20000), 3.2 GB
"""
from __future__ import annotations

import math
import os
import re
from itertools import filterfalse
from operator import attrgetter

from .errors import GraphError, node_error
from .nxdicts import node_dicts
from .shapes import infer_shapes, shape_of

__all__ = ["ENV", "DEFAULT_FRACTION", "ITEMSIZE", "physical_memory", "parse_bytes", "max_bytes",
           "check_sizes", "checked_shapes", "check_op", "check_shape", "human"]

#: The environment variable that sets the limit.
ENV = "GCOMPILE_MAX_BYTES"
#: The default limit as a fraction of physical memory.
DEFAULT_FRACTION = 1 / 8
#: Bytes counted per element.
ITEMSIZE = 8

_UNITS = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}
_TEXT = re.compile(r"^\s*(\d+)\s*([KMGT]?)i?B?\s*$", re.IGNORECASE)


def physical_memory() -> int:
    """Bytes of physical memory (8 GiB if the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 8 * 1024 ** 3


def parse_bytes(text):
    """``"2G"`` -> 2147483648; ``"0"``, ``"none"``, ``"off"`` -> ``None`` (no limit)."""
    if text.strip().lower() in ("none", "off", "0", ""):
        return None
    match = _TEXT.match(text)
    if not match:
        raise GraphError(f"{ENV}={text!r} is not a size: write bytes, e.g. 2000000000 or 2G")
    return int(match.group(1)) * _UNITS[match.group(2).upper()]


def max_bytes(override=None):
    """The limit in bytes (``None``: no limit): ``override``, else ``$GCOMPILE_MAX_BYTES``, else default.

    Examples
    --------
    >>> max_bytes(5000)
    5000
    """
    if override is not None:
        if isinstance(override, bool) or not isinstance(override, int) or override < 0:
            raise GraphError(f"max_bytes must be a non-negative int, got {override!r}")
        return override or None
    text = os.environ.get(ENV)
    if text is not None:
        return parse_bytes(text)
    return int(physical_memory() * DEFAULT_FRACTION)


def human(n) -> str:
    """Bytes as text: ``3.2 GB``, ``12 MB``, ``512 bytes`` (powers of 1000).

    Examples
    --------
    >>> human(3_200_000_000), human(512)
    ('3.2 GB', '512 bytes')
    """
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


def _leaf_shape(data, given):
    if given is not None:
        return given
    if data.get("op") == "input" and data.get("shape") is not None:
        return tuple(data["shape"])
    value = data.get("value")
    shape = getattr(value, "shape", None)
    if shape is not None:
        return tuple(shape)
    if isinstance(value, (list, tuple)):
        return None  # counted when it becomes an array
    return () if value is not None else None


def check_sizes(graph, plan, leaf_shapes=None, *, limit=None):
    """Raise a GraphError if the tensors of ``graph`` would pass the limit; return the byte total.

    ``leaf_shapes`` maps input and const nodes to their shapes (the feeds');
    others come from the nodes' ``shape`` and ``value``.  Nodes whose shape is
    unknown count as nothing.
    """
    limit = max_bytes(limit)
    if limit is None:
        return None
    leaf_shapes = leaf_shapes or {}
    nodes = node_dicts(graph)[0]
    shapes = {}
    tally = _Tally(limit, plan)
    for v in plan.order:
        opdef = plan.ops.get(v)
        if opdef is None:
            shape = _leaf_shape(nodes[v], leaf_shapes.get(v))
        else:
            args = [shapes[u] for u in plan.operands[v]]
            if opdef.elementwise and all([a == () for a in args]):
                shape = ()  # scalars stay scalars: no shape rule to run (W1's every node)
            else:
                try:
                    shape = opdef.infer_shape(args, plan.params[v])
                except Exception:  # a bad shape is reported by the run itself, as before
                    shape = None
        shapes[v] = shape
        if shape:
            tally.add(v, opdef, shape)
    return tally.total


_ELEMENTWISE = attrgetter("elementwise")


def checked_shapes(graph, plan, leaf_shapes, *, limit=None):
    """:func:`check_sizes` and :func:`gcompile.infer_shapes` in one walk: the static shapes.

    Returns what ``infer_shapes(graph, leaf_shapes, plan=plan)`` returns, after
    refusing (as :func:`check_sizes`, first) a graph whose tensors pass the
    limit; a shape error is raised as ``infer_shapes`` raises it, once the
    whole graph is known to fit.  ``gc.compile`` calls it once per signature.

    Examples
    --------
    >>> import networkx as nx
    >>> from gcompile.graph import plan
    >>> g = nx.DiGraph([("x", "s")]); g.nodes["x"]["op"] = "input"
    >>> g.nodes["s"].update(op="sum", axis=0)
    >>> checked_shapes(g, plan(g), {"x": (4, 3)})
    {'x': (4, 3), 's': (3,)}
    """
    nodes = node_dicts(graph)[0]
    leaf_shapes = leaf_shapes or {}
    scalars = True
    for v in filterfalse(plan.ops.__contains__, plan.order):  # leaves the two rules read
        # differently: one walk each, as before
        shape = _inferred_leaf(nodes[v], v, leaf_shapes)
        if _leaf_shape(nodes[v], leaf_shapes.get(v)) != shape:
            check_sizes(graph, plan, leaf_shapes, limit=limit)
            return infer_shapes(graph, leaf_shapes, plan=plan)
        scalars = scalars and type(shape) is tuple and not shape
    limit = max_bytes(limit)
    ops, operands, params = plan.ops, plan.operands, plan.params
    if scalars and all(map(_ELEMENTWISE, ops.values())) and not any(params.values()):
        # every node a scalar (as the walk below finds, node by node): nothing to count
        return dict.fromkeys(plan.order, ())
    out = {}
    failed = None
    tally = _Tally(limit, plan)
    for v in plan.order:
        opdef = ops.get(v)
        if opdef is None:
            shape = _inferred_leaf(nodes[v], v, leaf_shapes)
        else:
            args = operands[v]
            args = [out[args[0]], out[args[1]]] if len(args) == 2 else [out[u] for u in args]
            if args.count(()) == len(args) and opdef.elementwise and not params[v]:
                shape = ()  # scalars stay scalars: no shape rule to run (W1's every node)
            else:
                try:
                    shape = opdef.infer_shape(args, params[v])
                except GraphError as err:
                    shape, failed = None, failed or node_error(v, opdef.name, err)
                except (TypeError, ValueError) as err:
                    shape, failed = None, failed or node_error(
                        v, opdef.name, f"bad parameters {params[v]!r}: {err}")
                except Exception as err:  # noqa: BLE001 -- raised as infer_shapes raises it
                    shape, failed = None, failed or err
        out[v] = shape
        if shape and limit is not None:
            tally.add(v, opdef, shape)
    if failed is not None:
        raise failed
    return out


def _inferred_leaf(data, v, given):
    """A leaf's shape as :func:`gcompile.infer_shapes` reads it."""
    if v in given:
        return shape_of(given[v])
    if data["op"] == "input" and data.get("shape") is not None:
        return tuple(data["shape"])
    return shape_of(data.get("value"))


class _Tally:
    """The bytes of the tensors met so far; refuses (:func:`_refuse`) past ``limit``."""

    def __init__(self, limit, plan):
        self.limit, self.total, self.biggest, self.where = limit, 0, -1, None
        self.last = plan.order[-1] if plan.order else None

    def add(self, v, opdef, shape):
        """Count node ``v``'s tensor of ``shape`` (unknown dimensions count as nothing)."""
        try:
            size = math.prod(int(d) for d in shape) * ITEMSIZE
        except (TypeError, ValueError):
            return
        self.total += size
        if size > self.biggest:
            self.biggest, self.where = size, (v, opdef, shape)
        if self.total > self.limit:
            _refuse(self.total, self.limit, self.where, self.biggest, v != self.last)


def _refuse(total, limit, where, biggest, more):
    v, opdef, shape = where
    what = f"node {v!r}" + (f" (op {opdef.name!r})" if opdef is not None else "")
    raise GraphError(f"the graph's tensors would take {human(total)}{' or more' if more else ''}, "
                     f"over the limit of "
                     f"{human(limit)} ({ENV} or max_bytes=): {what} alone has shape "
                     f"{tuple(shape)}, {human(biggest)}")


def check_op(opdef, node, args, params, limit=None):
    """Refuse one op whose result would pass the limit (constant folding runs ops one by one).

    Examples
    --------
    >>> from gcompile.registry import lookup
    >>> check_op(lookup("broadcast_to"), "b", [1.0], {"shape": (10**6, 10**6)}, limit=10**9)
    Traceback (most recent call last):
    ...
    gcompile.errors.GraphError: node 'b' (op 'broadcast_to'): its result would take 8 TB, over the limit of 1 GB (GCOMPILE_MAX_BYTES or max_bytes=)
    """
    if opdef.shape is None:
        return
    try:
        shape = opdef.infer_shape([tuple(getattr(a, "shape", ())) for a in args], params)
    except Exception:  # a bad shape is reported by the op itself
        return
    check_shape(node, opdef.name, shape, limit)


def check_shape(node, op, shape, limit=None):
    """Refuse to make one array of ``shape`` for ``node`` if it would pass the limit.

    Examples
    --------
    >>> check_shape("z", "ones_like", (10, 10), limit=100)
    Traceback (most recent call last):
    ...
    gcompile.errors.GraphError: node 'z' (op 'ones_like'): its result would take 800 bytes, over the limit of 100 bytes (GCOMPILE_MAX_BYTES or max_bytes=)
    """
    limit = max_bytes(limit)
    try:
        size = math.prod(int(d) for d in shape) * ITEMSIZE
    except (TypeError, ValueError):
        return
    if limit is not None and size > limit:
        raise GraphError(f"node {node!r} (op {op!r}): its result would take {human(size)}, "
                         f"over the limit of {human(limit)} ({ENV} or max_bytes=)")
