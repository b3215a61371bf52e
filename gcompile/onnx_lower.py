"""The ONNX lowering of every op of the table: ``LOWER[op](ctx, out, operands, shapes, params)``.

Each lowering emits ONNX nodes through the export context ``ctx``
(:mod:`gcompile.onnx_export`) whose last node writes the tensor named ``out``;
``operands`` are the ONNX names of the operands and ``shapes`` their static
shapes.

Examples
--------
>>> sorted(LOWER)[:4]
['abs', 'add', 'avg_pool2d', 'avgpool_scatter']
"""
from __future__ import annotations

import functools
import math

import numpy as np

from .optable import normalize_axes, reduced_shape

__all__ = ["LOWER"]

LOWER = {}

_SAME = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "neg": "Neg", "pow": "Pow",
         "exp": "Exp", "log": "Log", "sin": "Sin", "cos": "Cos", "tanh": "Tanh",
         "sigmoid": "Sigmoid", "relu": "Relu", "sqrt": "Sqrt", "abs": "Abs", "maximum": "Max",
         "minimum": "Min", "sign": "Sign", "matmul": "MatMul", "bmatmul": "MatMul"}


def lowers(*names, **variants):
    """Register ``fn`` as the lowering of ``names``; ``variants`` maps more op names to the
    ``kind`` argument ``fn`` gets for them (one lowering serving two ops of one family)."""
    def register(fn):
        for name in names:
            LOWER[name] = fn
        for name, kind in variants.items():
            LOWER[name] = functools.partial(fn, kind=kind)
        return fn
    return register


def _direct(op_type):
    return lambda ctx, out, xs, shapes, p: ctx.add(op_type, xs, out)


for _name, _type in _SAME.items():
    LOWER[_name] = _direct(_type)


def _cast(ctx, x, out=None):
    return ctx.add("Cast", [x], out, to=ctx.tensor_type())


@lowers("step")
def _step(ctx, out, xs, shapes, p):
    _cast(ctx, ctx.add("Greater", [xs[0], ctx.const(0.0)]), out)


@lowers("max_weight")
def _max_weight(ctx, out, xs, shapes, p):
    gt = _cast(ctx, ctx.add("Greater", xs))
    ge = _cast(ctx, ctx.add("GreaterOrEqual", xs))
    ctx.add("Mul", [ctx.add("Add", [gt, ge]), ctx.const(0.5)], out)


def _axes_input(ctx, axis, ndim):
    return [] if axis is None else [ctx.ints(normalize_axes(axis, ndim), "axes")]


@lowers(sum="ReduceSum", mean="ReduceMean", max="ReduceMax")
def _reduce(ctx, out, xs, shapes, p, kind):
    op_type = kind
    ndim = len(shapes[0])
    if ndim == 0:
        return ctx.add("Identity", xs, out)
    ctx.add(op_type, xs + _axes_input(ctx, p["axis"], ndim), out, keepdims=int(p["keepdims"]))


@lowers("max_mask")
def _max_mask(ctx, out, xs, shapes, p):
    x, m = xs
    keep = reduced_shape(shapes[0], p["axis"], keepdims=True)
    hit = _cast(ctx, ctx.add("Equal", [x, ctx.add("Reshape", [m, ctx.ints(keep)])]))
    total = ctx.add("ReduceSum", [hit] + _axes_input(ctx, p["axis"], len(shapes[0])), keepdims=1)
    ctx.add("Div", [hit, total], out)


@lowers("reshape")
def _reshape(ctx, out, xs, shapes, p):
    ctx.add("Reshape", [xs[0], ctx.ints(ctx.shapes[ctx.node_key])], out)


@lowers(reshape_like="Reshape", broadcast_to="Expand")
def _to_shape_of(ctx, out, xs, shapes, p, kind):
    ctx.add(kind, [xs[0], ctx.ints(ctx.shapes[ctx.node_key])], out)


@lowers("transpose")
def _transpose(ctx, out, xs, shapes, p):
    axes = p["axes"]
    perm = list(reversed(range(len(shapes[0])))) if axes is None else [int(a) for a in axes]
    ctx.add("Transpose", xs, out, perm=perm)


@lowers("matrix_transpose")
def _matrix_transpose(ctx, out, xs, shapes, p):
    n = len(shapes[0])
    ctx.add("Transpose", xs, out, perm=list(range(n - 2)) + [n - 1, n - 2])


@lowers("broadcast_like")
def _broadcast_like(ctx, out, xs, shapes, p):
    a, ref = xs
    target = shapes[1]
    keep = reduced_shape(target, p["axis"], keepdims=True) if not p["keepdims"] and target \
        else shapes[0]
    if tuple(keep) != tuple(shapes[0]):
        a = ctx.add("Reshape", [a, ctx.ints(keep)])
    ctx.add("Expand", [a, ctx.ints(target)], out)


@lowers("sum_to_like")
def _sum_to_like(ctx, out, xs, shapes, p):
    g, target = shapes[0], shapes[1]
    lead = len(g) - len(target)
    axes = list(range(lead)) + [i + lead for i, d in enumerate(target) if d == 1 and g[i + lead] != 1]
    x = xs[0]
    if axes:
        x = ctx.add("ReduceSum", [x, ctx.ints(axes, "axes")], keepdims=1)
    ctx.add("Reshape", [x, ctx.ints(target)], out)


def _count(shape, p):
    return float(math.prod(shape[i] for i in normalize_axes(p["axis"], len(shape))))


def _batch_size(shape, p):
    return float(shape[0]) if len(shape) >= 2 else 1.0


@lowers(count=_count, batch_size=_batch_size)
def _static_number(ctx, out, xs, shapes, p, kind):
    ctx.add("Identity", [ctx.const(kind(shapes[0], p))], out)


@lowers(ones_like=1.0, zeros_like=0.0)
def _filled(ctx, out, xs, shapes, p, kind):
    ctx.add("Expand", [ctx.const(kind), ctx.ints(shapes[0])], out)


@lowers("matmul_bt")
def _matmul_bt(ctx, out, xs, shapes, p):
    g, b = xs
    if len(shapes[1]) == 1:
        ctx.add("Mul", [ctx.add("Reshape", [g, ctx.ints(tuple(shapes[0]) + (1,))]), b], out)
    elif len(shapes[0]) == 1:
        ctx.add("MatMul", [b, g], out)
    else:
        ctx.add("MatMul", [g, ctx.add("Transpose", [b], perm=[1, 0])], out)


@lowers("matmul_at")
def _matmul_at(ctx, out, xs, shapes, p):
    a, g = xs
    if len(shapes[0]) == 1:
        ctx.add("Mul", [ctx.add("Reshape", [a, ctx.ints(tuple(shapes[0]) + (1,))]), g], out)
    elif len(shapes[1]) == 1:  # aᵀ @ g = g @ a (onnxruntime 1.32 fuses Transpose+MatMul wrongly here)
        ctx.add("MatMul", [g, a], out)
    else:
        ctx.add("MatMul", [ctx.add("Transpose", [a], perm=[1, 0]), g], out)


@lowers(softmax="Softmax", log_softmax="LogSoftmax")
def _softmax(ctx, out, xs, shapes, p, kind):
    ctx.add(kind, xs, out, axis=int(p["axis"]))


def _targets(ctx, t, tshape, xshape):
    """Integer labels -> one-hot rows in the float dtype; float targets pass through."""
    if ctx.dtypes.get(t, ctx.ftype).kind != "i" or len(tshape) != len(xshape) - 1:
        return t
    classes = ctx.const(np.arange(xshape[-1], dtype=np.int64), "classes")
    return _cast(ctx, ctx.add("Equal", [ctx.add("Reshape", [t, ctx.ints(tuple(tshape) + (1,))]),
                                        classes]))


def _batch(xshape):
    return float(xshape[0]) if len(xshape) >= 2 else 1.0


@lowers("softmax_cross_entropy")
def _sce(ctx, out, xs, shapes, p):
    x, t = xs
    t = _targets(ctx, t, shapes[1], shapes[0])
    total = ctx.add("ReduceSum", [ctx.add("Mul", [t, ctx.add("LogSoftmax", [x], axis=-1)])],
                    keepdims=0)
    ctx.add("Div", [ctx.add("Neg", [total]), ctx.const(_batch(shapes[0]))], out)


@lowers("softmax_cross_entropy_grad")
def _sce_grad(ctx, out, xs, shapes, p):
    x, t = xs
    t = _targets(ctx, t, shapes[1], shapes[0])
    mass = ctx.add("ReduceSum", [t, ctx.ints([-1], "axes")], keepdims=1)
    y = ctx.add("Mul", [ctx.add("Softmax", [x], axis=-1), mass])
    ctx.add("Div", [ctx.add("Sub", [y, t]), ctx.const(_batch(shapes[0]))], out)


@lowers("label_mass")
def _label_mass(ctx, out, xs, shapes, p):
    t = _targets(ctx, xs[0], shapes[0], shapes[1])
    ctx.add("ReduceSum", [t, ctx.ints([-1], "axes")], out, keepdims=1)


from . import onnx_lower_nn  # noqa: E402,F401  (conv, pooling, gather, concat lowerings)
