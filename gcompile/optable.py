"""THE TABLE: every built-in op, declared once.

Each block declares one op: arity, forward (array API, ``xp`` first), shape
rule, display symbol and one VJP rule per operand, written with ops of this
same table through the fragment builder ``f``.  In a rule, ``g`` is the
cotangent of the op's result, the next names are its operands and ``out`` is
its result; every rule returns ``f.mul(g, <local derivative>)`` where it can,
so diagrams read as the chain rule.

Besides its rules an op declares the facts the simplifier
(:mod:`gcompile.simplify`) and compiled code use: ``identity`` elements,
``unary_when`` (``x * -1`` is ``neg(x)``), ``involution``, ``noop_if_same_shape``,
``shape_only``, ``keeps_float64``, ``elementwise`` and its numpy ``ufunc``.

Examples
--------
>>> from gcompile.registry import lookup
>>> lookup("tanh").rules
('d tanh(x)/dx = 1 - tanh(x)²',)
"""
from __future__ import annotations

import math
import operator

import numpy as np

from .errors import GraphError
from .registry import broadcast_shape, defop

__all__ = ["normalize_axes", "reduced_shape"]


# ---------------------------------------------------------------- shape helpers
def normalize_axes(axis, ndim):
    """Axis parameter -> sorted tuple of non-negative axes (``None`` = all).

    Examples
    --------
    >>> normalize_axes(-1, 3), normalize_axes(None, 2), normalize_axes([0, 2], 3)
    ((2,), (0, 1), (0, 2))
    """
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) and not isinstance(axis, bool) else axis
    try:
        axes = tuple(axes)
    except TypeError:
        raise GraphError(f"axis must be an int, a sequence of ints or None, got {axis!r}") from None
    out = []
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, int):
            raise GraphError(f"axis must be an int, a sequence of ints or None, got {axis!r}")
        if not -ndim <= a < ndim:
            raise GraphError(f"axis {a} is out of range for an array of {ndim} dimensions")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise GraphError(f"axis {axis!r} repeats an axis")
    return tuple(sorted(out))


def reduced_shape(shape, axis=None, keepdims=False):
    """Shape after reducing ``axis`` (numpy semantics).

    Examples
    --------
    >>> reduced_shape((2, 3, 4), axis=1), reduced_shape((2, 3), keepdims=True)
    ((2, 4), (1, 1))
    """
    axes = normalize_axes(axis, len(shape))
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _same(s, *rest, **params):
    return s


def _bcast(*shapes, **params):
    return broadcast_shape(*shapes)


def _scalar(*shapes, **params):
    return ()


def _first(a, *rest, **params):
    return a


def _second(a, b, **params):
    return b


# ------------------------------------------------------------ array helpers
def _float_dtype(xp, *values):
    """The floating dtype of the operands (float64 unless one is a floating array)."""
    for v in values:
        dtype = getattr(v, "dtype", None)
        if dtype is not None and xp.isdtype(dtype, "real floating"):
            return dtype
    return xp.float64


def _mask(xp, condition, *like):
    """A 0/1 mask in the floating dtype of ``like`` (so float32 stays float32)."""
    return xp.astype(xp.asarray(condition), _float_dtype(xp, *like))


def _sigmoid(xp, x):
    """``1 / (1 + exp(-x))``: four array passes (the two-branch stable form took eight).

    ``exp(-x)`` overflows to ``inf`` only where σ(x) is below the smallest double
    anyway (x < -709), giving 0 exactly: numpy's overflow warning is silenced.
    """
    with np.errstate(over="ignore"):
        e = xp.exp(-x)
        if type(e) is np.ndarray:  # numpy: the same two operations in place, no temporaries
            e += 1.0
            return np.divide(1.0, e, out=e)
        return 1.0 / (1.0 + e)


def _expand(xp, a, ref_ndim, axis, keepdims):
    if keepdims or ref_ndim == 0:
        return a
    axes = normalize_axes(axis, ref_ndim)
    shape = list(getattr(a, "shape", ()))
    for ax in axes:
        shape.insert(ax, 1)
    return xp.reshape(xp.asarray(a), tuple(shape))


def _broadcast_like(xp, a, ref, axis=None, keepdims=True):
    ref = xp.asarray(ref)
    if isinstance(a, (int, float)):  # a Python number (the seed 1.0) takes ref's float dtype
        a = xp.asarray(a, dtype=_float_dtype(xp, ref))
    return xp.broadcast_to(_expand(xp, a, ref.ndim, axis, keepdims), ref.shape)


def _sum_to_like(xp, g, ref):
    g = xp.asarray(g)
    shape = tuple(getattr(ref, "shape", ()))
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, d in enumerate(shape)
                                      if d == 1 and g.shape[i + lead] != 1)
    out = xp.sum(g, axis=axes, keepdims=True) if axes else g
    return xp.reshape(out, shape)


def _count(xp, x, axis=None):
    shape = tuple(getattr(x, "shape", ()))
    return float(math.prod(shape[i] for i in normalize_axes(axis, len(shape))))


def _batch_size(xp, x):
    shape = tuple(getattr(x, "shape", ()))
    return float(shape[0]) if len(shape) >= 2 else 1.0


def _one_hot_like(xp, t, logits):
    """Integer class labels -> one-hot rows shaped like ``logits``; floats pass through."""
    t = xp.asarray(t)
    logits = xp.asarray(logits)
    if xp.isdtype(t.dtype, "integral") and t.ndim == logits.ndim - 1:
        n = logits.shape[-1]
        outside = (t < 0) | (t >= n)
        if bool(xp.any(outside)):
            bad = xp.reshape(t[outside], (-1,))
            raise GraphError(f"integer label {int(bad[0])} is out of range for {n} classes "
                             f"(labels are 0..{n - 1})")
        classes = xp.arange(n)
        return xp.astype(xp.reshape(t, t.shape + (1,)) == classes, logits.dtype)
    return t


def _log_softmax(xp, x, axis=-1):
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


def _softmax(xp, x, axis=-1):
    e = xp.exp(x - _reduce(xp, "max", x, axis, True))
    return e / _reduce(xp, "sum", e, axis, True)


_UFUNC_REDUCE = {"sum": np.add.reduce, "max": np.maximum.reduce}


def _reduce(xp, name, x, axis, keepdims):
    """``xp.sum``/``xp.max``; on a numpy array the ufunc's ``reduce`` they call, without
    their Python-level dispatch (the same result, a microsecond sooner)."""
    if type(x) is np.ndarray and x.size:
        return _UFUNC_REDUCE[name](x, axis=_ax(axis), keepdims=keepdims)
    return getattr(xp, name)(x, axis=_ax(axis), keepdims=keepdims)


def _sce(xp, logits, t):
    logits = xp.asarray(logits)
    t = _one_hot_like(xp, t, logits)
    return -xp.sum(t * _log_softmax(xp, logits, axis=-1)) / _batch_size(xp, logits)


def _label_mass(xp, t, logits):
    """Row sums of the targets (1 for one-hot rows and integer labels)."""
    return xp.sum(_one_hot_like(xp, t, xp.asarray(logits)), axis=-1, keepdims=True)


def _sce_grad(xp, logits, t):
    logits = xp.asarray(logits)
    t = _one_hot_like(xp, t, logits)
    mass = xp.sum(t, axis=-1, keepdims=True)
    return (_softmax(xp, logits, -1) * mass - t) / _batch_size(xp, logits)


def _matmul_shape(a, b, **params):
    if len(a) not in (1, 2) or len(b) not in (1, 2) or (len(a) == 1 and len(b) == 1):
        raise GraphError(f"matmul supports 2-D @ 2-D, 2-D @ 1-D and 1-D @ 2-D, got shapes {a} and {b}")
    if a[-1] != b[0]:
        raise GraphError(f"matmul: inner dimensions differ in shapes {a} and {b}")
    return a[:-1] + b[1:]


def _matmul_bt(xp, g, b):
    """Cotangent of ``a`` in ``a @ b``: ``g @ bᵀ`` (outer product when ``b`` is 1-D)."""
    g, b = xp.asarray(g), xp.asarray(b)
    if b.ndim == 1:
        return xp.reshape(g, g.shape + (1,)) * b
    if g.ndim == 1:
        return xp.matmul(b, g)
    return xp.matmul(g, xp.matrix_transpose(b))


def _matmul_at(xp, a, g):
    """Cotangent of ``b`` in ``a @ b``: ``aᵀ @ g`` (outer product when ``a`` is 1-D).

    A numpy result with more rows than columns is computed as ``(gᵀ @ a)ᵀ``, the
    same sums with BLAS writing the wide matrix (no copy; the result is a
    Fortran-ordered view).  Measured with OpenBLAS on the 2-core bench machine:
    0.61x-0.92x the time of ``aᵀ @ g`` for results of 784x50 (W2's dW1: 165 us
    against 195 us), 3000x100, 512x128 and 784x10, never slower beyond noise;
    results with fewer rows than columns are faster as written (1.18x at 50x784).
    """
    a, g = xp.asarray(a), xp.asarray(g)
    if a.ndim == 1:
        return xp.reshape(a, a.shape + (1,)) * g
    if type(a) is np.ndarray and type(g) is np.ndarray and g.ndim == 2 \
            and a.ndim == 2 and a.shape[1] > g.shape[1]:
        return np.matmul(g.T, a).T
    return xp.matmul(xp.matrix_transpose(a), g)


def _transpose(xp, x, axes=None):
    x = xp.asarray(x)
    axes = tuple(reversed(range(x.ndim))) if axes is None else tuple(axes)
    return xp.permute_dims(x, axes)


def _transpose_shape(s, axes=None):
    if axes is None:
        return tuple(reversed(s))
    if sorted(axes) != list(range(len(s))):
        raise GraphError(f"transpose axes {tuple(axes)} are not a permutation of {len(s)} axes")
    return tuple(s[a] for a in axes)


def _inverse_axes(axes):
    if axes is None:
        return None
    inv = [0] * len(axes)
    for i, a in enumerate(axes):
        inv[a] = i
    return tuple(inv)


def _reshape_shape(s, shape=None):
    shape = tuple(shape)
    known = math.prod(d for d in shape if d != -1)
    size = math.prod(s)
    if shape.count(-1) > 1 or (-1 in shape and (known == 0 or size % known)) or \
            (-1 not in shape and known != size):
        raise GraphError(f"cannot reshape shape {s} into {shape}")
    return tuple(size // known if d == -1 else d for d in shape)


def _max_weight(xp, x, y):
    """1 where x > y, 0.5 where x == y, 0 elsewhere (ties split the gradient)."""
    return (_mask(xp, x > y, x, y) + _mask(xp, x >= y, x, y)) * 0.5


def _max_mask(xp, x, out, axis=None, keepdims=False):
    """Where ``x`` attains its reduced max, 1 / (number of ties); else 0."""
    x = xp.asarray(x)
    hit = _mask(xp, x == _expand(xp, out, x.ndim, axis, keepdims), x)
    return hit / xp.sum(hit, axis=_ax(axis), keepdims=True)


# ----------------------------------------------------------- elementwise ops
defop("add", 2, lambda xp, x, y: xp.add(x, y), symbol="+", shape=_bcast, broadcasts=True,
      scalar=operator.add, expr="({0} + {1})",
      vjp=[lambda f, g, x, y, out: f.mul(g, 1.0), lambda f, g, x, y, out: f.mul(g, 1.0)],
      rules=["d(x+y)/dx = 1", "d(x+y)/dy = 1"],
      keeps_float64=True, identity=(0.0, 0.0), ufunc="add")
defop("sub", 2, lambda xp, x, y: xp.subtract(x, y), symbol="−", shape=_bcast, broadcasts=True,
      scalar=operator.sub, expr="({0} - {1})",
      vjp=[lambda f, g, x, y, out: f.mul(g, 1.0), lambda f, g, x, y, out: f.mul(g, -1.0)],
      rules=["d(x-y)/dx = 1", "d(x-y)/dy = -1"],
      keeps_float64=True, identity=(None, 0.0), ufunc="subtract")
defop("mul", 2, lambda xp, x, y: xp.multiply(x, y), symbol="×", shape=_bcast, broadcasts=True,
      scalar=operator.mul, expr="({0} * {1})",
      vjp=[lambda f, g, x, y, out: f.mul(g, y), lambda f, g, x, y, out: f.mul(g, x)],
      rules=["d(x*y)/dx = y", "d(x*y)/dy = x"],
      keeps_float64=True, identity=(1.0, 1.0), unary_when=[(0, -1.0, "neg"), (1, -1.0, "neg")],
      ufunc="multiply")
defop("div", 2, lambda xp, x, y: xp.divide(x, y), symbol="÷", shape=_bcast, broadcasts=True,
      scalar=operator.truediv, expr="({0} / {1})",
      vjp=[lambda f, g, x, y, out: f.mul(g, f.div(1.0, y)),
           lambda f, g, x, y, out: f.mul(g, f.neg(f.div(out, y)))],
      rules=["d(x/y)/dx = 1/y", "d(x/y)/dy = -x/y²"],
      keeps_float64=True, identity=(None, 1.0), ufunc="divide")
defop("neg", 1, lambda xp, x: xp.negative(x), symbol="−x", shape=_same,
      scalar=operator.neg, expr="(-{0})",
      vjp=[lambda f, g, x, out: f.mul(g, -1.0)], rules=["d(-x)/dx = -1"],
      keeps_float64=True, elementwise=True, involution=True, ufunc="negative")
defop("pow", 2, lambda xp, x, y: xp.pow(x, y), symbol="^", shape=_bcast, broadcasts=True,
      scalar=math.pow,
      vjp=[lambda f, g, x, y, out: f.mul(g, f.mul(y, f.pow(x, f.sub(y, 1.0)))),
           lambda f, g, x, y, out: f.mul(g, f.mul(out, f.log(x)))],
      rules=["d(x^y)/dx = y·x^(y-1)", "d(x^y)/dy = x^y·log x"],
      keeps_float64=True, identity=(None, 1.0), ufunc="power")
defop("exp", 1, lambda xp, x: xp.exp(x), symbol="exp", shape=_same, scalar=math.exp,
      vjp=[lambda f, g, x, out: f.mul(g, out)], rules=["d exp(x)/dx = exp(x)"],
      keeps_float64=True, elementwise=True, ufunc="exp")
defop("log", 1, lambda xp, x: xp.log(x), symbol="log", shape=_same, scalar=math.log,
      vjp=[lambda f, g, x, out: f.mul(g, f.div(1.0, x))], rules=["d log(x)/dx = 1/x"],
      keeps_float64=True, elementwise=True, ufunc="log")
defop("sin", 1, lambda xp, x: xp.sin(x), symbol="sin", shape=_same, scalar=math.sin,
      vjp=[lambda f, g, x, out: f.mul(g, f.cos(x))], rules=["d sin(x)/dx = cos(x)"],
      keeps_float64=True, elementwise=True, ufunc="sin")
defop("cos", 1, lambda xp, x: xp.cos(x), symbol="cos", shape=_same, scalar=math.cos,
      vjp=[lambda f, g, x, out: f.mul(g, f.neg(f.sin(x)))], rules=["d cos(x)/dx = -sin(x)"],
      keeps_float64=True, elementwise=True, ufunc="cos")
defop("tanh", 1, lambda xp, x: xp.tanh(x), symbol="tanh", shape=_same, scalar=math.tanh,
      vjp=[lambda f, g, x, out: f.mul(g, f.sub(1.0, f.mul(out, out)))],
      rules=["d tanh(x)/dx = 1 - tanh(x)²"],
      keeps_float64=True, elementwise=True, ufunc="tanh")
defop("sigmoid", 1, _sigmoid, symbol="σ", shape=_same,
      vjp=[lambda f, g, x, out: f.mul(g, f.mul(out, f.sub(1.0, out)))],
      rules=["d σ(x)/dx = σ(x)(1 - σ(x))"],
      keeps_float64=True, elementwise=True)
defop("relu", 1, lambda xp, x: xp.where(x > 0, x, xp.zeros_like(x)), symbol="ReLU", shape=_same,
      vjp=[lambda f, g, x, out: f.mul(g, f.step(x))], rules=["d relu(x)/dx = [x > 0]"],
      keeps_float64=True, elementwise=True)
defop("sqrt", 1, lambda xp, x: xp.sqrt(x), symbol="√", shape=_same, scalar=math.sqrt,
      vjp=[lambda f, g, x, out: f.mul(g, f.div(0.5, out))], rules=["d √x/dx = 1/(2√x)"],
      keeps_float64=True, elementwise=True, ufunc="sqrt")
defop("abs", 1, lambda xp, x: xp.abs(x), symbol="|x|", shape=_same, scalar=abs,
      vjp=[lambda f, g, x, out: f.mul(g, f.sign(x))], rules=["d|x|/dx = sign(x)"],
      keeps_float64=True, elementwise=True, ufunc="absolute")
defop("maximum", 2, lambda xp, x, y: xp.maximum(x, y), symbol="max", shape=_bcast,
      broadcasts=True,
      vjp=[lambda f, g, x, y, out: f.mul(g, f.max_weight(x, y)),
           lambda f, g, x, y, out: f.mul(g, f.max_weight(y, x))],
      rules=["d max(x,y)/dx = [x > y] (½ on ties)", "d max(x,y)/dy = [y > x] (½ on ties)"],
      keeps_float64=True, ufunc="maximum")
defop("minimum", 2, lambda xp, x, y: xp.minimum(x, y), symbol="min", shape=_bcast,
      broadcasts=True,
      vjp=[lambda f, g, x, y, out: f.mul(g, f.max_weight(y, x)),
           lambda f, g, x, y, out: f.mul(g, f.max_weight(x, y))],
      rules=["d min(x,y)/dx = [x < y] (½ on ties)", "d min(x,y)/dy = [y < x] (½ on ties)"],
      keeps_float64=True, ufunc="minimum")

# Piecewise-constant helpers: their derivative is zero almost everywhere.
defop("step", 1, lambda xp, x: _mask(xp, x > 0, x), symbol="[x>0]", shape=_same,
      doc="1 where x > 0, else 0 (the derivative of relu).",
      keeps_float64=True, elementwise=True)
defop("sign", 1, lambda xp, x: xp.astype(xp.sign(xp.asarray(x)), _float_dtype(xp, x)), symbol="sign",
      shape=_same,
      doc="-1, 0 or 1 (the derivative of abs).",
      keeps_float64=True, elementwise=True)
defop("max_weight", 2, _max_weight, symbol="[x>y]", shape=_bcast,
      doc="1 where x > y, ½ on ties, 0 elsewhere (the derivative of maximum).",
      keeps_float64=True)

# ---------------------------------------------------------- reductions, shape
_RED = dict(axis=None, keepdims=False)
defop("sum", 1, lambda xp, x, axis=None, keepdims=False: _reduce(xp, "sum", x, axis, keepdims),
      symbol="Σ", params=_RED, shape=lambda s, axis=None, keepdims=False: reduced_shape(s, axis, keepdims),
      vjp=[lambda f, g, x, out, axis=None, keepdims=False:
           f.broadcast_like(g, x, axis=axis, keepdims=keepdims)],
      rules=["d Σx/dx = 1 (broadcast back)"],
      keeps_float64=True)
defop("mean", 1, lambda xp, x, axis=None, keepdims=False: xp.mean(x, axis=_ax(axis), keepdims=keepdims),
      symbol="mean", params=_RED,
      shape=lambda s, axis=None, keepdims=False: reduced_shape(s, axis, keepdims),
      vjp=[lambda f, g, x, out, axis=None, keepdims=False:
           f.div(f.broadcast_like(g, x, axis=axis, keepdims=keepdims), f.count(x, axis=axis))],
      rules=["d mean(x)/dx = 1/n (broadcast back)"],
      keeps_float64=True)
defop("max", 1, lambda xp, x, axis=None, keepdims=False: _reduce(xp, "max", x, axis, keepdims),
      symbol="max", params=_RED,
      shape=lambda s, axis=None, keepdims=False: reduced_shape(s, axis, keepdims),
      vjp=[lambda f, g, x, out, axis=None, keepdims=False:
           f.mul(f.broadcast_like(g, x, axis=axis, keepdims=keepdims),
                 f.max_mask(x, out, axis=axis, keepdims=keepdims))],
      rules=["d max(x)/dx = [x is the max] / ties"],
      keeps_float64=True)
defop("max_mask", 2, _max_mask, symbol="[x=max]", params=_RED, shape=_first,
      doc="Where x attains the reduced max `out`, 1/ties; else 0 (the derivative of max).",
      keeps_float64=True)
defop("reshape", 1, lambda xp, x, shape=None: xp.reshape(xp.asarray(x), tuple(shape)), symbol="reshape",
      params=dict(shape=None), shape=_reshape_shape,
      vjp=[lambda f, g, x, out, shape=None: f.reshape_like(g, x)],
      rules=["d reshape(x)/dx = reshape back"],
      keeps_float64=True, noop_if_same_shape=True)
defop("reshape_like", 2, lambda xp, a, ref: xp.reshape(xp.asarray(a), tuple(getattr(ref, "shape", ()))),
      symbol="reshape", shape=_second,
      vjp=[lambda f, g, a, ref, out: f.reshape_like(g, a), None],
      rules=["reshape back", ""], doc="Reshape `a` to the shape of `ref`.",
      keeps_float64=True, noop_if_same_shape=True)
defop("transpose", 1, _transpose, symbol="ᵀ", params=dict(axes=None), shape=_transpose_shape,
      vjp=[lambda f, g, x, out, axes=None: f.transpose(g, axes=_inverse_axes(axes))],
      rules=["d xᵀ/dx = transpose back"],
      keeps_float64=True)
defop("broadcast_to", 1, lambda xp, x, shape=None: xp.broadcast_to(xp.asarray(x), tuple(shape)),
      symbol="bcast", params=dict(shape=None),
      shape=lambda s, shape=None: broadcast_shape(s, tuple(shape)) and tuple(shape),
      vjp=[lambda f, g, x, out, shape=None: f.sum_to_like(g, x)],
      rules=["d broadcast(x)/dx = sum back"],
      keeps_float64=True, noop_if_same_shape=True)
defop("broadcast_like", 2, _broadcast_like, symbol="bcast", params=dict(axis=None, keepdims=True),
      shape=_second,
      vjp=[lambda f, g, a, ref, out, axis=None, keepdims=True:
           f.sum_to_like(g, a) if keepdims else f.sum(g, axis=axis), None],
      rules=["sum back", ""],
      doc="Broadcast `a` (a reduction of `ref` over `axis`) back to the shape of `ref`.",
      keeps_float64=True, noop_if_same_shape=True)
defop("sum_to_like", 2, _sum_to_like, symbol="Σ→", shape=_second,
      vjp=[lambda f, g, a, ref, out: f.broadcast_like(g, a), None], rules=["broadcast back", ""],
      doc="Sum `a` down to the shape of `ref`: undoes numpy broadcasting.",
      keeps_float64=True, noop_if_same_shape=True)
defop("count", 1, lambda xp, x, axis=None: _count(xp, x, axis), symbol="n", params=dict(axis=None),
      shape=_scalar, doc="Number of elements a reduction over `axis` combines.",
      keeps_float64=True, shape_only=True)
defop("batch_size", 1, _batch_size, symbol="N", shape=_scalar,
      doc="Rows of a 2-D batch (1 for a single 1-D example).",
      keeps_float64=True, shape_only=True)
defop("ones_like", 1, lambda xp, x: xp.ones_like(xp.asarray(x)), symbol="1", shape=_same,
      doc="Ones shaped like x: the default seed cotangent.",
      keeps_float64=True, shape_only=True)
defop("zeros_like", 1, lambda xp, x: xp.zeros_like(xp.asarray(x)), symbol="0", shape=_same,
      doc="Zeros shaped like x: the gradient of a disconnected node.",
      keeps_float64=True, shape_only=True)

# --------------------------------------------------------------- linear algebra
defop("matmul", 2, lambda xp, a, b: xp.matmul(a, b), symbol="@", shape=_matmul_shape,
      vjp=[lambda f, g, a, b, out: f.matmul_bt(g, b), lambda f, g, a, b, out: f.matmul_at(a, g)],
      rules=["d(a@b)/da = g @ bᵀ", "d(a@b)/db = aᵀ @ g"],
      keeps_float64=True, ufunc="matmul")
defop("matmul_bt", 2, _matmul_bt, symbol="@ᵀ",
      shape=lambda g, b: g[:-1] + b[:-1] if len(b) == 2 else g + b,
      vjp=[lambda f, g, c, b, out: f.matmul(g, b), lambda f, g, c, b, out: f.matmul_at(g, c)],
      rules=["d(c@bᵀ)/dc = g @ b", "d(c@bᵀ)/db = gᵀ @ c"], doc="c @ bᵀ (outer product for 1-D b).",
      keeps_float64=True)
defop("matmul_at", 2, _matmul_at, symbol="ᵀ@",
      shape=lambda a, g: a[1:] + g[1:] if len(a) == 2 else a + g,
      vjp=[lambda f, g, a, c, out: f.matmul_bt(c, g), lambda f, g, a, c, out: f.matmul(a, g)],
      rules=["d(aᵀ@c)/da = c @ gᵀ", "d(aᵀ@c)/dc = a @ g"], doc="aᵀ @ c (outer product for 1-D a).",
      keeps_float64=True)

# ------------------------------------------------------------------ neural net
defop("softmax", 1, lambda xp, x, axis=-1: _softmax(xp, x, axis), symbol="softmax",
      params=dict(axis=-1), shape=_same,
      vjp=[lambda f, g, x, out, axis=-1:
           f.mul(out, f.sub(g, f.sum(f.mul(g, out), axis=axis, keepdims=True)))],
      rules=["d softmax/dx: y ⊙ (g - Σ g⊙y)"],
      keeps_float64=True)
defop("log_softmax", 1, lambda xp, x, axis=-1: _log_softmax(xp, x, axis), symbol="log softmax",
      params=dict(axis=-1), shape=_same,
      vjp=[lambda f, g, x, out, axis=-1:
           f.sub(g, f.mul(f.exp(out), f.sum(g, axis=axis, keepdims=True)))],
      rules=["d log_softmax/dx: g - softmax(x) Σ g"],
      keeps_float64=True)
defop("softmax_cross_entropy", 2, _sce, symbol="softmax+CE", shape=_scalar,
      vjp=[lambda f, g, x, t, out: f.mul(g, f.softmax_cross_entropy_grad(x, t)),
           lambda f, g, x, t, out: f.mul(g, f.div(f.neg(f.log_softmax(x, axis=-1)), f.batch_size(x)))],
      rules=["d L/d logits = (softmax(x) - t) / N", "d L/dt = -log softmax(x) / N"],
      doc="Mean over the batch of -Σ t·log softmax(logits); t one-hot or integer labels.",
      keeps_float64=True)
defop("softmax_cross_entropy_grad", 2, _sce_grad, symbol="(y−t)/N", shape=_first,
      vjp=[lambda f, g, x, t, out: _sce_grad_vjp_x(f, f.mul(g, f.label_mass(t, x)), x),
           lambda f, g, x, t, out: f.div(
               f.sub(f.sum(f.mul(g, f.softmax(x, axis=-1)), axis=-1, keepdims=True), g),
               f.batch_size(x))],
      rules=["d/dx: softmax Jacobian · Σt / N", "d/dt = (Σ g·y - g) / N"],
      doc="(softmax(logits)·Σt - t) / batch: the backward of SoftmaxWithLoss, (y - t) / batch "
          "for one-hot or integer labels.",
      keeps_float64=True)
defop("label_mass", 2, _label_mass, symbol="Σt",
      shape=lambda t, x: x[:-1] + (1,),
      vjp=[lambda f, g, t, x, out: f.broadcast_like(g, t), None], rules=["d Σt/dt = 1", ""],
      doc="Row sums of the targets t (one-hot rows or integer labels count 1), keepdims.",
      keeps_float64=True)


def _sce_grad_vjp_x(f, c, x):
    """Softmax Jacobian applied to ``c``, over the batch: s ⊙ (c - Σ c⊙s) / N."""
    s = f.softmax(x, axis=-1)
    return f.div(f.mul(s, f.sub(c, f.sum(f.mul(c, s), axis=-1, keepdims=True))), f.batch_size(x))


def _ax(axis):
    """Lists from JSON become tuples, as numpy expects."""
    return tuple(axis) if isinstance(axis, list) else axis
