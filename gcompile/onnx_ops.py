"""How each ONNX op becomes gcompile nodes: one handler per ONNX op type.

A handler ``handler(im, node, attrs)`` reads the ONNX node's inputs (gcompile
node keys: the tensor names), its attributes, and adds nodes through the
importer ``im`` (:mod:`gcompile.onnx_import`); the last node it adds is keyed by
the ONNX output name.

Examples
--------
>>> sorted(HANDLERS)[:4]
['Abs', 'Add', 'AveragePool', 'BatchNormalization']
"""
from __future__ import annotations

import math

import numpy as np

from .errors import GraphError

__all__ = ["HANDLERS"]

HANDLERS = {}


def handles(*names):
    def register(fn):
        for name in names:
            HANDLERS[name] = fn
        return fn
    return register


def _fail(im, node, why):
    raise GraphError(f"ONNX node {node.name or node.output[0]!r} ({node.op_type}): {why}")


_UNARY = {"Neg": "neg", "Exp": "exp", "Log": "log", "Sqrt": "sqrt", "Abs": "abs", "Tanh": "tanh",
          "Sigmoid": "sigmoid", "Relu": "relu", "Sin": "sin", "Cos": "cos"}
_BINARY = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "Pow": "pow",
           "Max": "maximum", "Min": "minimum"}


@handles(*_UNARY)
def _unary(im, node, attrs):
    im.add(node.output[0], _UNARY[node.op_type], [node.input[0]])


@handles(*_BINARY)
def _binary(im, node, attrs):
    if len(node.input) != 2:
        _fail(im, node, f"takes 2 inputs here, got {len(node.input)}")
    im.add(node.output[0], _BINARY[node.op_type], list(node.input))


@handles("Identity", "Dropout")
def _identity(im, node, attrs):
    if node.op_type == "Dropout" and len(node.output) > 1 and node.output[1]:
        _fail(im, node, "the mask output of Dropout is not supported (inference only)")
    if node.op_type == "Dropout" and attrs.get("training_mode"):
        _fail(im, node, "training_mode=1 is not supported (inference only)")
    x, out = node.input[0], node.output[0]
    shape = im.shapes.get(x)
    if shape is not None:
        im.add(out, "reshape", [x], shape=tuple(shape))
    else:
        im.add(out, "mul", [x, im.const(f"{out}/one", 1.0)])


@handles("Constant")
def _constant(im, node, attrs):
    numpy_helper = im.onnx.numpy_helper
    if "value" in attrs:
        value = numpy_helper.to_array(attrs["value"])
    elif "value_float" in attrs or "value_int" in attrs:
        value = np.asarray(attrs.get("value_float", attrs.get("value_int")))
    elif "value_floats" in attrs or "value_ints" in attrs:
        value = np.asarray(attrs.get("value_floats", attrs.get("value_ints")))
    else:
        _fail(im, node, f"unsupported Constant attribute {sorted(attrs)}")
    im.const(node.output[0], value)


@handles("Shape")
def _shape(im, node, attrs):
    shape = im.shape(node.input[0])
    start, end = attrs.get("start", 0), attrs.get("end", len(shape))
    im.const(node.output[0], np.asarray(shape[start:end], dtype=np.int64))


@handles("Cast")
def _cast(im, node, attrs):
    target = np.dtype(im.onnx.helper.tensor_dtype_to_np_dtype(attrs["to"]))
    x = node.input[0]
    if x in im.consts:
        im.const(node.output[0], np.asarray(im.consts[x]).astype(target))
    elif target.kind == "f":  # float -> float: gcompile keeps the operand's float dtype
        _identity(im, node, attrs)
    else:
        _fail(im, node, f"Cast of a computed tensor to {target} is not supported")


@handles("LeakyRelu")
def _leaky_relu(im, node, attrs):
    alpha, x, out = float(attrs.get("alpha", 0.01)), node.input[0], node.output[0]
    pos = im.add(f"{out}/pos", "relu", [x])
    neg = im.add(f"{out}/relu(-x)", "relu", [im.add(f"{out}/-x", "neg", [x])])
    im.add(out, "sub", [pos, im.add(f"{out}/alpha*relu(-x)", "mul",
                                    [neg, im.const(f"{out}/alpha", alpha)])])


@handles("Softmax", "LogSoftmax")
def _softmax(im, node, attrs):
    op = "softmax" if node.op_type == "Softmax" else "log_softmax"
    x, out = node.input[0], node.output[0]
    axis = attrs.get("axis", -1 if im.opset >= 13 else 1)
    if im.opset >= 13:
        im.add(out, op, [x], axis=axis)
        return
    shape = im.shape(x)  # opset < 13: softmax over the flattened trailing axes
    axis %= max(len(shape), 1)
    if axis == len(shape) - 1:
        im.add(out, op, [x], axis=-1)
        return
    flat = im.add(f"{out}/flat", "reshape", [x], shape=(math.prod(shape[:axis]), -1))
    im.add(out, "reshape", [im.add(f"{out}/2d", op, [flat], axis=-1)], shape=shape)


@handles("Gemm")
def _gemm(im, node, attrs):
    out = node.output[0]
    a, b = node.input[0], node.input[1]
    if attrs.get("transA", 0):
        a = im.add(f"{out}/Aᵀ", "transpose", [a])
    if attrs.get("transB", 0):
        b = im.add(f"{out}/Bᵀ", "transpose", [b])
    alpha, beta = float(attrs.get("alpha", 1.0)), float(attrs.get("beta", 1.0))
    has_c = len(node.input) > 2 and node.input[2]
    ab = im.add(out if not has_c and alpha == 1.0 else f"{out}/AB", "matmul", [a, b])
    if alpha != 1.0:
        ab = im.add(out if not has_c else f"{out}/alpha*AB", "mul",
                    [ab, im.const(f"{out}/alpha", alpha)])
    if has_c:
        c = node.input[2]
        if beta != 1.0:
            c = im.add(f"{out}/beta*C", "mul", [c, im.const(f"{out}/beta", beta)])
        im.add(out, "add", [ab, c])


@handles("MatMul")
def _matmul(im, node, attrs):
    a, b = node.input
    sa, sb = im.shapes.get(a), im.shapes.get(b)
    if sa is not None and sb is not None and len(sa) <= 2 and len(sb) <= 2:
        im.add(node.output[0], "matmul", [a, b])
    elif sa is not None and sb is not None and (len(sa) == 1 or len(sb) == 1):
        _fail(im, node, f"batched MatMul with a 1-D operand (shapes {sa} and {sb}) is not supported")
    else:
        im.add(node.output[0], "bmatmul", [a, b])


def _axes(im, node, attrs, attr_until):
    """Reduction/squeeze axes: an attribute up to opset ``attr_until``, an input after."""
    if "axes" in attrs:
        return tuple(int(a) for a in attrs["axes"])
    if len(node.input) > 1 and node.input[1]:
        return tuple(int(a) for a in im.constant(node.input[1], "axes").reshape(-1))
    return None


_REDUCE = {"ReduceSum": "sum", "ReduceMean": "mean", "ReduceMax": "max"}


@handles(*_REDUCE)
def _reduce(im, node, attrs):
    axes = _axes(im, node, attrs, 13)
    keep = bool(attrs.get("keepdims", 1))
    x, out = node.input[0], node.output[0]
    if not axes and attrs.get("noop_with_empty_axes", 0):
        return _identity(im, node, attrs)
    im.add(out, _REDUCE[node.op_type], [x], axis=axes or None, keepdims=keep)


@handles("Reshape")
def _reshape(im, node, attrs):
    target = [int(d) for d in im.constant(node.input[1], "shape").reshape(-1)]
    if 0 in target and not attrs.get("allowzero", 0):
        src = im.shape(node.input[0])
        target = [src[i] if d == 0 else d for i, d in enumerate(target)]
    im.add(node.output[0], "reshape", [node.input[0]], shape=tuple(target))


@handles("Flatten")
def _flatten(im, node, attrs):
    shape = im.shape(node.input[0])
    axis = attrs.get("axis", 1) % (len(shape) + 1) if shape else 0
    im.add(node.output[0], "reshape", [node.input[0]],
           shape=(math.prod(shape[:axis]), math.prod(shape[axis:])))


@handles("Transpose")
def _transpose(im, node, attrs):
    perm = attrs.get("perm")
    im.add(node.output[0], "transpose", [node.input[0]],
           axes=None if perm is None else tuple(int(p) for p in perm))


@handles("Squeeze", "Unsqueeze")
def _squeeze(im, node, attrs):
    shape = list(im.shape(node.input[0]))
    axes = _axes(im, node, attrs, 13)
    if node.op_type == "Squeeze":
        if axes is None:
            new = [d for d in shape if d != 1]
        else:
            drop = {a % len(shape) for a in axes}
            if any(shape[a] != 1 for a in drop):
                _fail(im, node, f"cannot squeeze axes {axes} of shape {tuple(shape)}")
            new = [d for i, d in enumerate(shape) if i not in drop]
    else:
        if axes is None:
            _fail(im, node, "Unsqueeze needs axes")
        rank = len(shape) + len(axes)
        new = shape
        for a in sorted(a % rank for a in axes):
            new.insert(a, 1)
    im.add(node.output[0], "reshape", [node.input[0]], shape=tuple(new))


@handles("Concat")
def _concat(im, node, attrs):
    parts = [i for i in node.input if i]
    out = node.output[0]
    rank = len(im.shape(parts[0])) if im.shapes.get(parts[0]) is not None else None
    axis = int(attrs["axis"])
    axis = axis % rank if rank else axis
    if len(parts) == 1:
        return _identity(im, node, attrs)
    acc = parts[0]
    for k, part in enumerate(parts[1:], start=1):
        acc = im.add(out if k == len(parts) - 1 else f"{out}/cat{k}", "concat", [acc, part],
                     axis=axis)


@handles("Gather")
def _gather(im, node, attrs):
    im.add(node.output[0], "gather", list(node.input[:2]), axis=int(attrs.get("axis", 0)))


def _window_attrs(im, node, attrs, rank_needed=4):
    shape = im.shapes.get(node.input[0])
    if shape is not None and len(shape) != rank_needed:
        _fail(im, node, f"only 2-D images (NCHW) are supported, got shape {tuple(shape)}")
    if attrs.get("ceil_mode", 0):
        _fail(im, node, "ceil_mode=1 is not supported")
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto not in ("NOTSET", "VALID"):
        _fail(im, node, f"auto_pad={auto} is not supported (give explicit pads)")
    pads = tuple(int(p) for p in attrs.get("pads", (0, 0, 0, 0)))
    if len(pads) != 4:
        _fail(im, node, f"expected 4 pads for a 2-D window, got {pads}")
    return dict(strides=tuple(int(s) for s in attrs.get("strides", (1, 1))), pads=pads,
                dilations=tuple(int(d) for d in attrs.get("dilations", (1, 1))))


@handles("Conv")
def _conv(im, node, attrs):
    geometry = _window_attrs(im, node, attrs)
    out = node.output[0]
    has_bias = len(node.input) > 2 and node.input[2]
    y = im.add(f"{out}/conv" if has_bias else out, "conv2d", list(node.input[:2]),
               groups=int(attrs.get("group", 1)), **geometry)
    if has_bias:
        bias = im.add(f"{out}/bias", "reshape", [node.input[2]], shape=(-1, 1, 1))
        im.add(out, "add", [y, bias])


@handles("MaxPool", "AveragePool")
def _pool(im, node, attrs):
    if len(node.output) > 1 and node.output[1]:
        _fail(im, node, "the Indices output of MaxPool is not supported")
    geometry = _window_attrs(im, node, attrs)
    kernel = tuple(int(k) for k in attrs["kernel_shape"])
    if node.op_type == "MaxPool":
        im.add(node.output[0], "max_pool2d", [node.input[0]], kernel=kernel, **geometry)
    else:
        im.add(node.output[0], "avg_pool2d", [node.input[0]], kernel=kernel,
               count_include_pad=bool(attrs.get("count_include_pad", 0)), **geometry)


@handles("GlobalAveragePool")
def _global_avg(im, node, attrs):
    shape = im.shapes.get(node.input[0])
    rank = len(shape) if shape is not None else 4
    im.add(node.output[0], "mean", [node.input[0]], axis=tuple(range(2, rank)), keepdims=True)


@handles("BatchNormalization")
def _batch_norm(im, node, attrs):
    if attrs.get("training_mode", 0) or (len(node.output) > 1 and any(node.output[1:])):
        _fail(im, node, "only inference mode (one output, training_mode=0) is supported")
    x, scale, bias, mean, var = node.input[:5]
    out = node.output[0]
    shape = im.shapes.get(x)
    per_channel = (-1,) + (1,) * ((len(shape) if shape is not None else 4) - 2)

    def channel(name, key):
        return im.add(f"{out}/{key}", "reshape", [name], shape=per_channel)

    eps = im.const(f"{out}/eps", float(attrs.get("epsilon", 1e-5)))
    sd = im.add(f"{out}/sd", "sqrt", [im.add(f"{out}/var+eps", "add", [channel(var, "var"), eps])])
    centered = im.add(f"{out}/x-mean", "sub", [x, channel(mean, "mean")])
    normed = im.add(f"{out}/normed", "div", [centered, sd])
    scaled = im.add(f"{out}/scaled", "mul", [normed, channel(scale, "scale")])
    im.add(out, "add", [scaled, channel(bias, "bias")])
