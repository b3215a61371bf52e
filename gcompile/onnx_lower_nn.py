"""ONNX lowerings of the ops of :mod:`gcompile.optable_nn` (registered into ``LOWER``).

The adjoint ops become real ONNX computations: ``conv2d_grad_input`` a
ConvTranspose, ``conv2d_grad_weight`` a Conv of the input with the cotangent,
``maxpool_scatter`` a ScatterElements at MaxPool's indices, ``scatter_add`` a
ScatterND with ``reduction="add"``.

Examples
--------
>>> from gcompile.onnx_lower import LOWER
>>> "conv2d_grad_weight" in LOWER
True
"""
from __future__ import annotations

import math

import numpy as np

from .onnx_lower import lowers
from .optable_nn import _avg_count

__all__ = []


def _window(p, kernel):
    attrs = dict(strides=list(p["strides"]), pads=list(p["pads"]), kernel_shape=list(kernel))
    if tuple(p["dilations"]) != (1, 1):
        attrs["dilations"] = list(p["dilations"])
    return attrs


@lowers("conv2d")
def _conv(ctx, out, xs, shapes, p):
    ctx.add("Conv", xs, out, group=int(p["groups"]), **_window(p, shapes[1][2:]))


def _output_padding(p, gshape, kernel, ref):
    pad = []
    for k in range(2):
        full = (p["strides"][k] * (gshape[2 + k] - 1) + p["dilations"][k] * (kernel[k] - 1) + 1
                - p["pads"][k] - p["pads"][k + 2])
        pad.append(int(ref[2 + k] - full))
    return pad


@lowers("conv2d_grad_input")
def _conv_grad_input(ctx, out, xs, shapes, p):
    g, w = xs[0], xs[1]
    kernel = shapes[1][2:]
    ctx.add("ConvTranspose", [g, w], out, group=int(p["groups"]),
            output_padding=_output_padding(p, shapes[0], kernel, shapes[2]), **_window(p, kernel))


@lowers("conv2d_grad_weight")
def _conv_grad_weight(ctx, out, xs, shapes, p):
    x, g = xs[0], xs[1]
    o, cg, kh, kw = shapes[2]
    groups = int(p["groups"])
    xt = ctx.add("Transpose", [x], perm=[1, 0, 2, 3])  # (C, N, H, W): batch as channels
    gt = ctx.add("Transpose", [g], perm=[1, 0, 2, 3])  # (O, N, OH, OW): the kernel
    attrs = dict(strides=list(p["dilations"]), pads=list(p["pads"]))
    if tuple(p["strides"]) != (1, 1):
        attrs["dilations"] = list(p["strides"])
    full = ctx.add("Conv", [xt, gt], **attrs)  # (C, O, >=kh, >=kw)
    full = ctx.add("Slice", [full, ctx.ints([0, 0]), ctx.ints([kh, kw]), ctx.ints([2, 3])])
    full = ctx.add("Transpose", [full], perm=[1, 0, 2, 3])  # (O, C, kh, kw)
    if groups == 1:
        ctx.add("Identity", [full], out)
        return
    og = o // groups  # keep the diagonal blocks: out channel group k reads input group k
    blocks = ctx.add("Reshape", [full, ctx.ints([groups, og, groups, cg, kh, kw])])
    eye = np.eye(groups).reshape(groups, 1, groups, 1, 1, 1)
    diag = ctx.add("ReduceSum", [ctx.add("Mul", [blocks, ctx.const(eye)]), ctx.ints([2])],
                   keepdims=0)
    ctx.add("Reshape", [diag, ctx.ints([o, cg, kh, kw])], out)


def _pool_attrs(p):
    return _window(p, p["kernel"])


@lowers("max_pool2d")
def _maxpool(ctx, out, xs, shapes, p):
    ctx.add("MaxPool", xs, out, **_pool_attrs(p))


def _pool_indices(ctx, x, p):
    return ctx.add_multi("MaxPool", [x], 2, **_pool_attrs(p))[1]


@lowers("maxpool_gather")
def _maxpool_gather(ctx, out, xs, shapes, p):
    c, x = xs
    idx = _pool_indices(ctx, x, p)
    flat = ctx.add("GatherElements", [ctx.add("Reshape", [c, ctx.ints([-1])]),
                                      ctx.add("Reshape", [idx, ctx.ints([-1])])], axis=0)
    ctx.add("Reshape", [flat, ctx.ints(ctx.shapes[ctx.node_key])], out)


@lowers("maxpool_scatter")
def _maxpool_scatter(ctx, out, xs, shapes, p):
    g, x = xs
    idx = _pool_indices(ctx, x, p)
    size = math.prod(shapes[1])
    zeros = ctx.const(np.zeros(size), "zeros")
    flat = ctx.add("ScatterElements", [zeros, ctx.add("Reshape", [idx, ctx.ints([-1])]),
                                       ctx.add("Reshape", [g, ctx.ints([-1])])],
                   axis=0, reduction="add")
    ctx.add("Reshape", [flat, ctx.ints(shapes[1])], out)


@lowers("avg_pool2d")
def _avgpool(ctx, out, xs, shapes, p):
    ctx.add("AveragePool", xs, out, count_include_pad=int(bool(p["count_include_pad"])),
            **_pool_attrs(p))


@lowers("avgpool_scatter")
def _avgpool_scatter(ctx, out, xs, shapes, p):
    g = xs[0]
    ref = shapes[1]
    count = _avg_count(np, np.zeros(ref), p["kernel"], p["strides"], p["pads"], p["dilations"],
                       p["count_include_pad"], np.float64)
    scaled = ctx.add("Div", [g, ctx.const(np.asarray(count, dtype=np.float64))])
    channels = ref[1]
    ones = ctx.const(np.ones((channels, 1) + tuple(p["kernel"])), "ones")
    ctx.add("ConvTranspose", [scaled, ones], out, group=int(channels),
            output_padding=_output_padding(p, shapes[0], p["kernel"], ref), **_pool_attrs(p))


@lowers("gather")
def _gather(ctx, out, xs, shapes, p):
    ctx.add("Gather", xs, out, axis=int(p["axis"]))


@lowers("scatter_add")
def _scatter_add(ctx, out, xs, shapes, p):
    g, idx = xs[0], xs[1]
    ref = shapes[2]
    axis = int(p["axis"]) % len(ref)
    n, pre, post = ref[axis], math.prod(ref[:axis]), math.prod(ref[axis + 1:])
    m = math.prod(shapes[1])
    upd = ctx.add("Transpose", [ctx.add("Reshape", [g, ctx.ints([pre, m, post])])], perm=[1, 0, 2])
    size = ctx.const(np.asarray(n, dtype=np.int64), "n")
    flat = ctx.add("Mod", [ctx.add("Add", [ctx.add("Reshape", [idx, ctx.ints([m, 1])]), size]),
                           size])  # negative indices count from the end
    zeros = ctx.const(np.zeros((n, pre, post)), "zeros")
    summed = ctx.add("ScatterND", [zeros, flat, upd], reduction="add")
    ctx.add("Reshape", [ctx.add("Transpose", [summed], perm=[1, 0, 2]), ctx.ints(ref)], out)


@lowers("concat")
def _concat(ctx, out, xs, shapes, p):
    ctx.add("Concat", xs, out, axis=int(p["axis"]) % len(shapes[0]))


@lowers(head_like="head", tail_like="tail")
def _slice(ctx, out, xs, shapes, p, kind):
    axis = int(p["axis"]) % len(shapes[0])
    size, keep = shapes[0][axis], shapes[1][axis]
    start = 0 if kind == "head" else size - keep
    ctx.add("Slice", [xs[0], ctx.ints([start]), ctx.ints([start + keep]), ctx.ints([axis])], out)


@lowers(pad_end_like="end", pad_start_like="start")
def _pad(ctx, out, xs, shapes, p, kind):
    axis = int(p["axis"]) % len(shapes[0])
    zshape = list(shapes[0])
    zshape[axis] = shapes[1][axis] - shapes[0][axis]
    zeros = ctx.const(np.zeros(zshape), "zeros")
    parts = [xs[0], zeros] if kind == "end" else [zeros, xs[0]]
    ctx.add("Concat", parts, out, axis=axis)

