"""Neural-network ops of the table: 2-D convolution and pooling (NCHW images).

Declared with :func:`~gcompile.registry.defop` like every op of
:mod:`gcompile.optable`: forward (array API), shape rule, symbol, one VJP rule
per operand written with table ops, and rule text.  The VJPs close over a few
linear "adjoint" ops (``conv2d_grad_input`` is the adjoint of ``conv2d`` in its
input, ``maxpool_scatter`` the adjoint of ``maxpool_gather``...), so second
derivatives work too.  Gather, concat and batched matmul are in
:mod:`gcompile.optable_array`.  Images are NCHW, kernels OIHW, ``pads`` is
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
from .registry import defop

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
