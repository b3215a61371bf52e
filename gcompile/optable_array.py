"""Array ops of the table for imported models: gather (embeddings), concat, batched matmul.

Declared with :func:`~gcompile.registry.defop` like every op of
:mod:`gcompile.optable`.  ``concat`` joins two arrays (several: a chain); its
VJPs slice the cotangent with ``head_like``/``tail_like``, whose VJPs pad with
zeros (``pad_end_like``/``pad_start_like``); ``gather``'s VJP is
``scatter_add`` and back, so second derivatives work too.

Examples
--------
>>> import numpy as np, networkx as nx, gcompile as gc
>>> g = nx.DiGraph()
>>> g.add_nodes_from([("E", {"op": "input"}), ("i", {"op": "input"}), ("e", {"op": "gather"})])
>>> g.add_edge("E", "e", arg=0); g.add_edge("i", "e", arg=1)
>>> gc.evaluate(g, {"E": np.arange(6.0).reshape(3, 2), "i": np.array([2, 0])})["e"]
array([[4., 5.],
       [0., 1.]])
"""
from __future__ import annotations

import math

from .errors import GraphError
from .registry import broadcast_shape, defop

__all__ = []


def _float_like(xp, x):
    x = xp.asarray(x)
    return x if xp.isdtype(x.dtype, "real floating") else xp.astype(x, xp.float64)


def _third(a, b, c, **params):
    return c


# ----------------------------------------------------------------------- gather
def _gather(xp, data, idx, axis=0):
    data, idx = xp.asarray(data), xp.asarray(idx)
    axis = axis % data.ndim
    n = data.shape[axis]
    flat = xp.reshape(idx, (-1,))
    flat = xp.where(flat < 0, flat + n, flat)
    out = xp.take(data, flat, axis=axis)
    return xp.reshape(out, data.shape[:axis] + idx.shape + data.shape[axis + 1:])


def _gather_shape(ds, ix, axis=0):
    if not -len(ds) <= axis < len(ds):
        raise GraphError(f"gather: axis {axis} is out of range for shape {tuple(ds)}")
    axis %= len(ds)
    return tuple(ds[:axis]) + tuple(ix) + tuple(ds[axis + 1:])


def _scatter_add(xp, g, idx, ref, axis=0):
    """Adjoint of gather: zeros shaped like ref with g added at the indexed positions."""
    g, idx, ref = _float_like(xp, g), xp.asarray(idx), xp.asarray(ref)
    axis = axis % ref.ndim
    n = ref.shape[axis]
    flat = xp.reshape(idx, (-1,))
    flat = xp.where(flat < 0, flat + n, flat)
    onehot = xp.astype(xp.reshape(flat, (-1, 1)) == xp.arange(n), g.dtype)  # (m, n)
    pre, post = ref.shape[:axis], ref.shape[axis + 1:]
    m = flat.shape[0]
    # g: pre + idx.shape + post -> (pre, m, post) -> move m first -> (m, rest)
    gm = xp.reshape(g, (math.prod(pre), m, math.prod(post)))
    gm = xp.reshape(xp.permute_dims(gm, (1, 0, 2)), (m, -1))
    out = xp.matmul(xp.matrix_transpose(onehot), gm)  # (n, pre*post)
    out = xp.permute_dims(xp.reshape(out, (n, math.prod(pre), math.prod(post))), (1, 0, 2))
    return xp.reshape(out, ref.shape)


defop("gather", 2, _gather, symbol="take", params=dict(axis=0), shape=_gather_shape,
      vjp=[lambda f, g, d, i, out, axis=0: f.scatter_add(g, i, d, axis=axis), None],
      rules=["d take(x, i)/dx = g added back at the rows i", ""],
      doc="Rows (along axis) of data picked by integer indices: an embedding lookup.")
defop("scatter_add", 3, _scatter_add, symbol="put+", params=dict(axis=0), shape=_third,
      vjp=[lambda f, c, g, i, ref, out, axis=0: f.gather(c, i, axis=axis), None, None],
      rules=["d put+(g)/dg = take the rows i of the cotangent", "", ""],
      doc="Zeros shaped like ref with g added at the indices along axis (adjoint of gather).")


# ----------------------------------------------------------------------- concat
def _cat_shape(a, b, axis=0):
    if len(a) != len(b) or not -len(a) <= axis < len(a):
        raise GraphError(f"concat: cannot join shapes {tuple(a)} and {tuple(b)} along axis {axis}")
    axis %= len(a)
    if any(x != y for k, (x, y) in enumerate(zip(a, b)) if k != axis):
        raise GraphError(f"concat: shapes {tuple(a)} and {tuple(b)} differ off axis {axis}")
    return tuple(a[:axis]) + (a[axis] + b[axis],) + tuple(a[axis + 1:])


def _take_axis(xp, x, axis, start, stop):
    x = xp.asarray(x)
    axis %= x.ndim
    return x[(slice(None),) * axis + (slice(start, stop),)]


def _pad_axis(xp, x, ref, axis, at_end):
    x, ref = xp.asarray(x), xp.asarray(ref)
    axis %= x.ndim
    shape = list(x.shape)
    shape[axis] = ref.shape[axis] - x.shape[axis]
    zeros = xp.zeros(tuple(shape), dtype=x.dtype)
    return xp.concat([x, zeros] if at_end else [zeros, x], axis=axis)


def _axis_of(s, ref, axis):
    return tuple(ref[:axis % len(ref)]) + (ref[axis % len(ref)],) + tuple(s[axis % len(s) + 1:])


defop("concat", 2, lambda xp, a, b, axis=0: xp.concat([xp.asarray(a), xp.asarray(b)], axis=axis),
      symbol="concat", params=dict(axis=0), shape=_cat_shape,
      vjp=[lambda f, g, a, b, out, axis=0: f.head_like(g, a, axis=axis),
           lambda f, g, a, b, out, axis=0: f.tail_like(g, b, axis=axis)],
      rules=["d concat(a, b)/da = the leading part of g", "d concat(a, b)/db = the trailing part of g"],
      doc="Two arrays joined along axis (several: a chain of concats).")
defop("head_like", 2, lambda xp, x, ref, axis=0: _take_axis(xp, x, axis, 0, ref.shape[axis]),
      symbol="head", params=dict(axis=0), shape=lambda s, r, axis=0: _axis_of(s, r, axis),
      vjp=[lambda f, c, x, ref, out, axis=0: f.pad_end_like(c, x, axis=axis), None],
      rules=["d head(x)/dx = the cotangent padded with zeros at the end", ""],
      doc="The first ref.shape[axis] entries of x along axis.")
defop("tail_like", 2, lambda xp, x, ref, axis=0: _take_axis(xp, x, axis, x.shape[axis] - ref.shape[axis],
                                                              x.shape[axis]),
      symbol="tail", params=dict(axis=0), shape=lambda s, r, axis=0: _axis_of(s, r, axis),
      vjp=[lambda f, c, x, ref, out, axis=0: f.pad_start_like(c, x, axis=axis), None],
      rules=["d tail(x)/dx = the cotangent padded with zeros at the start", ""],
      doc="The last ref.shape[axis] entries of x along axis.")
defop("pad_end_like", 2, lambda xp, x, ref, axis=0: _pad_axis(xp, x, ref, axis, True),
      symbol="pad→", params=dict(axis=0), shape=lambda s, r, axis=0: _axis_of(s, r, axis),
      vjp=[lambda f, c, x, ref, out, axis=0: f.head_like(c, x, axis=axis), None],
      rules=["d pad(x)/dx = the leading part of the cotangent", ""],
      doc="x followed by zeros along axis up to ref's length.")
defop("pad_start_like", 2, lambda xp, x, ref, axis=0: _pad_axis(xp, x, ref, axis, False),
      symbol="←pad", params=dict(axis=0), shape=lambda s, r, axis=0: _axis_of(s, r, axis),
      vjp=[lambda f, c, x, ref, out, axis=0: f.tail_like(c, x, axis=axis), None],
      rules=["d pad(x)/dx = the trailing part of the cotangent", ""],
      doc="Zeros followed by x along axis up to ref's length.")


# ------------------------------------------------------------- batched matmul
def _bmatmul_shape(a, b):
    if len(a) < 2 or len(b) < 2 or a[-1] != b[-2]:
        raise GraphError(f"bmatmul: shapes {tuple(a)} and {tuple(b)} do not multiply "
                         "(both need 2+ dimensions and matching inner sizes)")
    return broadcast_shape(tuple(a[:-2]), tuple(b[:-2])) + (a[-2], b[-1])


defop("bmatmul", 2, lambda xp, a, b: xp.matmul(a, b), symbol="@", shape=_bmatmul_shape,
      vjp=[lambda f, g, a, b, out: f.sum_to_like(f.bmatmul(g, f.matrix_transpose(b)), a),
           lambda f, g, a, b, out: f.sum_to_like(f.bmatmul(f.matrix_transpose(a), g), b)],
      rules=["d(a@b)/da = g @ bᵀ (summed over broadcast batches)",
             "d(a@b)/db = aᵀ @ g (summed over broadcast batches)"],
      doc="Batched matrix product over the last two axes (leading axes broadcast).")
defop("matrix_transpose", 1, lambda xp, x: xp.matrix_transpose(xp.asarray(x)), symbol="ᵀ",
      shape=lambda s: tuple(s[:-2]) + (s[-1], s[-2]),
      vjp=[lambda f, g, x, out: f.matrix_transpose(g)], rules=["d xᵀ/dx = transpose back"],
      doc="Swap the last two axes.")
