"""Neural-network ops of the table: convolution, pooling, gather, concat, batched matmul.

Declared with :func:`~gcompile.registry.defop` like every op of
:mod:`gcompile.optable`: forward (array API), shape rule, symbol, one VJP rule
per operand written with table ops, and rule text.  The VJPs close over a few
linear "adjoint" ops (``conv2d_grad_input`` is the adjoint of ``conv2d`` in its
input, ``maxpool_scatter`` the adjoint of ``maxpool_gather``...), so second
derivatives work too.  Images are NCHW, kernels OIHW, ``pads`` is
``(top, left, bottom, right)`` as in ONNX.

Examples
--------
>>> import numpy as np, networkx as nx, gcompile as gc
>>> g = nx.DiGraph()
>>> g.add_nodes_from([("x", {"op": "input"}), ("w", {"op": "input"}),
...                   ("y", {"op": "conv2d", "pads": (1, 1, 1, 1)})])
>>> g.add_edge("x", "y", arg=0); g.add_edge("w", "y", arg=1)
>>> x, w = np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3))
>>> gc.evaluate(g, {"x": x, "w": w})["y"][0, 0]
array([[4., 6., 4.],
       [6., 9., 6.],
       [4., 6., 4.]])
"""
from __future__ import annotations

import math

from .errors import GraphError
from .registry import broadcast_shape, defop

__all__ = ["conv_output_size"]

_CONV = dict(strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1), groups=1)
_POOL = dict(kernel=(2, 2), strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1))


def conv_output_size(size, kernel, stride, dilation, pad_begin, pad_end):
    """Output length of a convolution or pooling window along one axis.

    Examples
    --------
    >>> conv_output_size(5, 3, 2, 1, 1, 1)
    3
    """
    out = (size + pad_begin + pad_end - dilation * (kernel - 1) - 1) // stride + 1
    if out < 1:
        raise GraphError(f"a window of size {kernel} (dilation {dilation}) does not fit an axis "
                         f"of length {size} with pads ({pad_begin}, {pad_end})")
    return out


def _geometry(xshape, kernel, strides, pads, dilations):
    if len(xshape) != 4:
        raise GraphError(f"expected an NCHW image of 4 dimensions, got shape {tuple(xshape)}")
    oh = conv_output_size(xshape[2], kernel[0], strides[0], dilations[0], pads[0], pads[2])
    ow = conv_output_size(xshape[3], kernel[1], strides[1], dilations[1], pads[1], pads[3])
    return oh, ow


def _pad(xp, x, pads, fill=0.0):
    t, l, b, r = pads
    if not (t or l or b or r):
        return x
    n, c, h, w = x.shape
    out = xp.full((n, c, h + t + b, w + l + r), fill, dtype=x.dtype)
    out[:, :, t:t + h, l:l + w] = x
    return out


def _crop(x, pads, h, w):
    t, l = pads[0], pads[1]
    return x[:, :, t:t + h, l:l + w]


def _windows(kernel, strides, dilations, oh, ow):
    """For each kernel offset, the slice of the padded input it reads."""
    sh, sw = strides
    dh, dw = dilations
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            yield i, j, (slice(None), slice(None), slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
                         slice(j * dw, j * dw + sw * (ow - 1) + 1, sw))


def _float_like(xp, x):
    x = xp.asarray(x)
    return x if xp.isdtype(x.dtype, "real floating") else xp.astype(x, xp.float64)


# ------------------------------------------------------------------ convolution
def _conv_dims(xs, ws, groups):
    n, c = xs[0], xs[1]
    o, cg = ws[0], ws[1]
    if groups < 1 or c % groups or o % groups or c // groups != cg:
        raise GraphError(f"conv2d: input of {c} channels, kernel of shape {tuple(ws)} and "
                         f"groups={groups} do not fit (kernel dim 1 must be channels / groups)")
    return n, c, o, cg, o // groups


def _conv2d(xp, x, w, strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1), groups=1):
    x, w = _float_like(xp, x), _float_like(xp, w)
    n, c, o, cg, og = _conv_dims(x.shape, w.shape, groups)
    oh, ow = _geometry(x.shape, w.shape[2:], strides, pads, dilations)
    xpad = _pad(xp, x, pads)
    y = None
    for i, j, sl in _windows(w.shape[2:], strides, dilations, oh, ow):
        patch = xp.reshape(xpad[sl], (n, groups, cg, oh * ow))
        term = xp.matmul(xp.reshape(w[:, :, i, j], (groups, og, cg)), patch)
        y = term if y is None else y + term
    return xp.reshape(y, (n, o, oh, ow))


def _conv2d_shape(xs, ws, strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1), groups=1):
    if len(ws) != 4:
        raise GraphError(f"conv2d: expected an OIHW kernel of 4 dimensions, got shape {tuple(ws)}")
    n, c, o, cg, og = _conv_dims(xs, ws, groups)
    return (n, o) + _geometry(xs, ws[2:], strides, pads, dilations)


def _conv2d_grad_input(xp, g, w, ref, strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1),
                       groups=1):
    g, w = _float_like(xp, g), _float_like(xp, w)
    n, c, h, wd = ref.shape
    o, cg, og = w.shape[0], w.shape[1], w.shape[0] // groups
    oh, ow = g.shape[2], g.shape[3]
    gg = xp.reshape(g, (n, groups, og, oh * ow))
    dx = xp.zeros((n, c, h + pads[0] + pads[2], wd + pads[1] + pads[3]), dtype=g.dtype)
    for i, j, sl in _windows(w.shape[2:], strides, dilations, oh, ow):
        wt = xp.reshape(w[:, :, i, j], (groups, og, cg))
        dx[sl] += xp.reshape(xp.matmul(xp.matrix_transpose(wt), gg), (n, c, oh, ow))
    return _crop(dx, pads, h, wd)


def _conv2d_grad_weight(xp, x, g, ref, strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1),
                        groups=1):
    x, g = _float_like(xp, x), _float_like(xp, g)
    n, c = x.shape[0], x.shape[1]
    o, cg, kh, kw = ref.shape
    og = o // groups
    oh, ow = g.shape[2], g.shape[3]
    xpad = _pad(xp, x, pads)
    gg = xp.reshape(g, (n, groups, og, oh * ow))
    cols = []
    for i, j, sl in _windows((kh, kw), strides, dilations, oh, ow):
        patch = xp.reshape(xpad[sl], (n, groups, cg, oh * ow))
        cols.append(xp.reshape(xp.sum(xp.matmul(gg, xp.matrix_transpose(patch)), axis=0), (o, cg)))
    return xp.reshape(xp.stack(cols, axis=-1), (o, cg, kh, kw))


def _third(a, b, c, **params):
    return c


_C = _CONV
defop("conv2d", 2, _conv2d, symbol="conv", params=_C, shape=_conv2d_shape,
      vjp=[lambda f, g, x, w, out, **p: f.conv2d_grad_input(g, w, x, **p),
           lambda f, g, x, w, out, **p: f.conv2d_grad_weight(x, g, w, **p)],
      rules=["d conv(x, w)/dx = transposed conv of g with w",
             "d conv(x, w)/dw = correlation of x with g"],
      doc="2-D convolution (cross-correlation) of an NCHW image x with an OIHW kernel w.")
defop("conv2d_grad_input", 3, _conv2d_grad_input, symbol="convᵀ", params=_C, shape=_third,
      vjp=[lambda f, c, g, w, ref, out, **p: f.conv2d(c, w, **p),
           lambda f, c, g, w, ref, out, **p: f.conv2d_grad_weight(c, g, w, **p), None],
      rules=["d convᵀ(g, w)/dg = conv of the cotangent with w",
             "d convᵀ(g, w)/dw = correlation of the cotangent with g", ""],
      doc="Adjoint of conv2d in its input: the transposed convolution of g with w, "
          "shaped like ref.")
defop("conv2d_grad_weight", 3, _conv2d_grad_weight, symbol="conv_w", params=_C, shape=_third,
      vjp=[lambda f, c, x, g, ref, out, **p: f.conv2d_grad_input(g, c, x, **p),
           lambda f, c, x, g, ref, out, **p: f.conv2d(x, c, **p), None],
      rules=["d conv_w(x, g)/dx = transposed conv of g with the cotangent",
             "d conv_w(x, g)/dg = conv of x with the cotangent", ""],
      doc="Adjoint of conv2d in its kernel: the correlation of x with g, shaped like ref.")


# ---------------------------------------------------------------------- pooling
def _pool_windows(xp, x, kernel, strides, pads, dilations, fill):
    oh, ow = _geometry(x.shape, kernel, strides, pads, dilations)
    xpad = _pad(xp, x, pads, fill)
    return [xpad[sl] for _, _, sl in _windows(kernel, strides, dilations, oh, ow)]


def _argmax_window(xp, x, kernel, strides, pads, dilations):
    """Which kernel offset holds each window's max (the first one on ties, as torch)."""
    x = _float_like(xp, x)
    return xp.argmax(xp.stack(_pool_windows(xp, x, kernel, strides, pads, dilations,
                                            -math.inf), axis=0), axis=0)


def _maxpool(xp, x, kernel=(2, 2), strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1)):
    x = _float_like(xp, x)
    return xp.max(xp.stack(_pool_windows(xp, x, kernel, strides, pads, dilations, -math.inf),
                           axis=0), axis=0)


def _maxpool_gather(xp, c, x, kernel=(2, 2), strides=(1, 1), pads=(0, 0, 0, 0),
                    dilations=(1, 1)):
    which = _argmax_window(xp, x, kernel, strides, pads, dilations)
    parts = _pool_windows(xp, _float_like(xp, c), kernel, strides, pads, dilations, 0.0)
    out = None
    for k, part in enumerate(parts):
        term = xp.where(which == k, part, xp.zeros_like(part))
        out = term if out is None else out + term
    return out


def _maxpool_scatter(xp, g, x, kernel=(2, 2), strides=(1, 1), pads=(0, 0, 0, 0),
                     dilations=(1, 1)):
    g = _float_like(xp, g)
    which = _argmax_window(xp, x, kernel, strides, pads, dilations)
    n, c, h, w = x.shape
    dx = xp.zeros((n, c, h + pads[0] + pads[2], w + pads[1] + pads[3]), dtype=g.dtype)
    for k, (_, _, sl) in enumerate(_windows(kernel, strides, dilations, g.shape[2], g.shape[3])):
        dx[sl] += xp.where(which == k, g, xp.zeros_like(g))
    return _crop(dx, pads, h, w)


def _pool_shape(xs, kernel=(2, 2), strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1), **p):
    return tuple(xs[:2]) + _geometry(xs, kernel, strides, pads, dilations)


_P = _POOL
defop("max_pool2d", 1, _maxpool, symbol="maxpool", params=_P, shape=_pool_shape,
      vjp=[lambda f, g, x, out, **p: f.maxpool_scatter(g, x, **p)],
      rules=["d maxpool(x)/dx = g routed to each window's max"],
      doc="Max over 2-D windows of an NCHW image (padding never wins).")
defop("maxpool_gather", 2, _maxpool_gather, symbol="pick", params=_P,
      shape=lambda cs, xs, **p: _pool_shape(xs, **p),
      vjp=[lambda f, g, c, x, out, **p: f.maxpool_scatter(g, x, **p), None],
      rules=["d pick(c)/dc = scatter to each window's max", ""],
      doc="c read at the position of each window's max of x (linear in c).")
defop("maxpool_scatter", 2, _maxpool_scatter, symbol="route", params=_P,
      shape=lambda gs, xs, **p: tuple(xs),
      vjp=[lambda f, c, g, x, out, **p: f.maxpool_gather(c, x, **p), None],
      rules=["d route(g)/dg = gather at each window's max", ""],
      doc="g added at the position of each window's max of x, shaped like x (linear in g).")


def _avg_count(xp, x, kernel, strides, pads, dilations, count_include_pad, dtype):
    if count_include_pad:
        return float(kernel[0] * kernel[1])
    ones = xp.ones((1, 1) + tuple(x.shape[2:]), dtype=dtype)
    parts = _pool_windows(xp, ones, kernel, strides, pads, dilations, 0.0)
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def _avgpool(xp, x, kernel=(2, 2), strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1),
             count_include_pad=False):
    x = _float_like(xp, x)
    parts = _pool_windows(xp, x, kernel, strides, pads, dilations, 0.0)
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total / _avg_count(xp, x, kernel, strides, pads, dilations, count_include_pad, x.dtype)


def _avgpool_grad(xp, g, ref, kernel=(2, 2), strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1),
                  count_include_pad=False):
    g = _float_like(xp, g)
    g = g / _avg_count(xp, ref, kernel, strides, pads, dilations, count_include_pad, g.dtype)
    n, c, h, w = ref.shape
    dx = xp.zeros((n, c, h + pads[0] + pads[2], w + pads[1] + pads[3]), dtype=g.dtype)
    for _, _, sl in _windows(kernel, strides, dilations, g.shape[2], g.shape[3]):
        dx[sl] += g
    return _crop(dx, pads, h, w)


_A = dict(_POOL, count_include_pad=False)
defop("avg_pool2d", 1, _avgpool, symbol="avgpool", params=_A, shape=_pool_shape,
      vjp=[lambda f, g, x, out, **p: f.avgpool_scatter(g, x, **p)],
      rules=["d avgpool(x)/dx = g / count spread over each window"],
      doc="Mean over 2-D windows of an NCHW image (pads excluded from the count unless "
          "count_include_pad).")
defop("avgpool_scatter", 2, _avgpool_grad, symbol="spread", params=_A,
      shape=lambda gs, xs, **p: tuple(xs),
      vjp=[lambda f, c, g, x, out, **p: f.avg_pool2d(c, **p), None],
      rules=["d spread(g)/dg = average pool of the cotangent", ""],
      doc="Adjoint of avg_pool2d: g / count added over each window, shaped like ref.")


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
