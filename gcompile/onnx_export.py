"""Graphs out to ONNX: :func:`to_onnx` writes any gcompile graph, forward or backward, as a model.

Inputs are the graph's ``input`` nodes (those carrying a ``value`` become
initializers unless ``inputs=`` names them); outputs are ``outputs=``, else a
backward graph's ``graph["grads"]`` nodes, else ``graph["outputs"]`` or
``graph["output"]``.  ONNX tensor names are the node keys (``str(key)`` for
other keys, made unique).  Every op of the table is lowered by
:mod:`gcompile.onnx_lower` (a GraphError names any op without a lowering).
Shapes must be static: they come from ``shape``/``value`` attributes or from
``feeds`` (example values, which also give the dtypes).  So a gradient
compiled by gcompile runs on onnxruntime with nothing of gcompile installed.

Examples
--------
>>> import numpy as np, gcompile as gc, onnxruntime as ort
>>> from gcompile.examples import apple
>>> g, feeds = apple()
>>> bwd = gc.grad(g, "price", g.graph["wrt"])
>>> model = gc.to_onnx(gc.joint_graph(g, bwd), feeds=feeds)
>>> [o.name for o in model.graph.output]
['dapple', 'dapple_num', 'dtax']
>>> sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
>>> [round(float(v), 6) for v in sess.run(None, {k: np.asarray(v) for k, v in feeds.items()})]
[2.2, 110.0, 200.0]
"""
from __future__ import annotations

import os

import numpy as np

from .errors import GraphError, describe_value
from .graph import plan as make_plan
from .onnx_import import require_onnx
from .shapes import infer_shapes

__all__ = ["to_onnx"]


def to_onnx(graph, path=None, *, feeds=None, inputs=None, outputs=None, dtype=None, opset=19,
            name=None):
    """An ``onnx.ModelProto`` computing ``graph``; written to ``path`` when given.

    Parameters
    ----------
    graph : networkx.DiGraph
        A forward graph, a backward graph from :func:`gcompile.grad`, or
        :func:`gcompile.joint_graph` of both (self-contained: feed the forward
        inputs, get the gradients).
    path : str or os.PathLike, optional
        Where to write the model.
    feeds : dict, optional
        Example values for inputs: their shapes and dtypes (inputs without a
        ``shape`` or ``value`` need one).  Floating tensors all take the dtype
        of the first floating value (float64 when there is none).
    inputs : list, optional
        Input nodes with a ``value`` that should stay model inputs rather than
        become initializers; also a backward graph's seed (``graph["seed"]``),
        which then is fed like a vector-Jacobian product's vector.
    outputs : list, optional
        The nodes to output (default: see the module docstring).
    dtype : numpy dtype, optional
        The floating dtype of every float tensor (e.g. ``np.float32``: onnxruntime's
        CPU kernels for Conv, ConvTranspose and AveragePool are float32 only).
    opset : int
        The ONNX opset (at least 19, for AveragePool dilations and axes inputs).

    Raises
    ------
    GraphError
        For an op without an ONNX lowering, an unknown static shape, or a
        missing ``onnx`` extra.

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple
    >>> model = gc.to_onnx(apple()[0])
    >>> [n.op_type for n in model.graph.node], model.graph.output[0].name
    (['Mul', 'Mul'], 'price')
    """
    onnx = require_onnx()
    from .onnx_lower import LOWER

    if opset < 19:
        raise GraphError(f"to_onnx needs opset 19 or later, got {opset}")
    p = make_plan(graph)
    feeds = dict(feeds or {})
    examples = {v: feeds[v] for v in feeds if v in graph}
    for v, data in graph.nodes(data=True):
        if data["op"] == "input" and v not in examples and "value" in data:
            examples[v] = data["value"]
    shapes = infer_shapes(graph, examples, plan=p)
    ftype = np.dtype(dtype) if dtype is not None else _float_dtype(examples, graph)
    if ftype.kind != "f":
        raise GraphError(f"to_onnx: dtype must be a floating dtype, got {ftype}")
    ctx = _Context(onnx, graph, shapes, ftype)
    outs = _outputs(graph, outputs)
    keep = set(inputs or ())
    for v in p.order:
        data = graph.nodes[v]
        if data["op"] == "input":
            if "value" in data and v not in keep and v not in feeds:
                ctx.initializer(v, data["value"])
            else:
                ctx.graph_input(v, examples.get(v))
        elif data.get("feedable") and (v in keep or v in feeds):
            ctx.graph_input(v, feeds.get(v))  # a backward graph's seed, fed
        elif data["op"] == "const":
            ctx.initializer(v, data["value"])
        else:
            lower = LOWER.get(data["op"])
            if lower is None:
                raise GraphError(f"node {v!r}: op {data['op']!r} has no ONNX lowering "
                                 f"(lowered ops: {', '.join(sorted(LOWER))})")
            ctx.node_key = v
            operands = [ctx.names[u] for u in p.operands[v]]
            lower(ctx, ctx.name_of(v), operands, [shapes[u] for u in p.operands[v]],
                  p.params[v])
    model = ctx.model(outs, name or graph.graph.get("name") or "gcompile", opset)
    if path is not None:
        try:
            onnx.save(model, os.fspath(path))
        except (OSError, TypeError) as err:
            raise GraphError(f"cannot write ONNX model to {path!r}: {err}") from None
    return model


def _outputs(graph, outputs):
    if outputs is not None:
        outs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    elif graph.graph.get("grads"):
        outs = list(graph.graph["grads"].values())
    elif graph.graph.get("outputs"):
        outs = list(graph.graph["outputs"])
    elif graph.graph.get("output") is not None:
        outs = [graph.graph["output"]]
    else:
        outs = [v for v in graph if not graph.succ[v]]
    for v in outs:
        if v not in graph:
            raise GraphError(f"to_onnx: output {v!r} is not a node of the graph")
    return outs


def _float_dtype(examples, graph):
    for v in sorted(examples, key=lambda k: str(k)):
        dtype = getattr(np.asarray(examples[v]), "dtype", None)
        if dtype is not None and dtype.kind == "f" and np.ndim(examples[v]):
            return dtype
    for v in examples.values():
        dtype = np.asarray(v).dtype
        if dtype.kind == "f":
            return dtype
    return np.dtype(np.float64)


class _Context:
    """Collects ONNX nodes, initializers and value infos; names tensors uniquely."""

    def __init__(self, onnx, graph, shapes, ftype):
        self.onnx, self.graph, self.shapes, self.ftype = onnx, graph, shapes, np.dtype(ftype)
        self.names, self.taken = {}, set()
        self.nodes, self.inits, self.inputs = [], [], []
        self.dtypes = {}  # ONNX name -> numpy dtype
        self.node_key = None
        self._counter = 0

    def name_of(self, key):
        """The unique ONNX name of node ``key``."""
        base = key if isinstance(key, str) else str(key)
        name, k = base, 1
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        self.names[key] = name
        return name

    def temp(self, hint):
        self._counter += 1
        return self.name_of(f"{self.names.get(self.node_key, 'tmp')}/{hint}{self._counter}")

    def shape(self, key_or_shape):
        return key_or_shape

    def array(self, value):
        """A numpy value in the model's float dtype (integers stay integers)."""
        arr = np.asarray(value)
        if arr.dtype.kind in "fb" or isinstance(value, float):
            arr = arr.astype(self.ftype)
        elif arr.dtype.kind in "iu":
            arr = arr.astype(np.int64)
        else:
            raise GraphError(f"to_onnx: cannot store {describe_value(value)} in an ONNX tensor")
        return arr

    def initializer(self, key, value):
        name = self.name_of(key)
        arr = self.array(value)
        self.inits.append(self.onnx.numpy_helper.from_array(arr, name))
        self.dtypes[name] = arr.dtype
        return name

    def const(self, value, hint="c"):
        """An initializer holding ``value`` (floats in the model's dtype)."""
        name = self.temp(hint)
        arr = self.array(value) if not isinstance(value, np.ndarray) or value.dtype.kind != "i" \
            else value.astype(np.int64)
        self.inits.append(self.onnx.numpy_helper.from_array(arr, name))
        self.dtypes[name] = arr.dtype
        return name

    def ints(self, values, hint="i"):
        """An int64 1-D initializer (shapes, axes)."""
        return self.const(np.asarray(list(values), dtype=np.int64), hint)

    def graph_input(self, key, example):
        shape = self.shapes.get(key)
        if shape is None:
            raise GraphError(f"to_onnx: input {key!r} has no known shape: give it a 'shape' "
                             f"attribute or an example value in feeds=")
        dtype = np.asarray(example).dtype if example is not None else self.ftype
        dtype = self.ftype if dtype.kind in "fb" else np.dtype(np.int64)
        name = self.name_of(key)
        self.dtypes[name] = dtype
        self.inputs.append(self.onnx.helper.make_tensor_value_info(
            name, self.onnx.helper.np_dtype_to_tensor_dtype(dtype), list(shape)))
        return name

    def add(self, op_type, inputs, output=None, **attrs):
        """Emit one ONNX node; returns its (first) output name."""
        out = output or self.temp(op_type)
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [out],
                                                     name=out, **attrs))
        if output is not None:
            self.names[self.node_key] = output
        return out

    def add_multi(self, op_type, inputs, n_outputs, **attrs):
        outs = [self.temp(f"{op_type}_{i}") for i in range(n_outputs)]
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), outs, name=outs[0],
                                                     **attrs))
        return outs

    def tensor_type(self, dtype=None):
        return self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype or self.ftype))

    def model(self, outs, name, opset):
        helper = self.onnx.helper
        outputs = []
        for key in outs:
            shape = self.shapes.get(key)
            outputs.append(helper.make_tensor_value_info(
                self.names[key], self.tensor_type(self.dtypes.get(self.names[key])),
                None if shape is None else list(shape)))
        graph = helper.make_graph(self.nodes, name, self.inputs, outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                                  producer_name="gcompile")
        model.ir_version = min(model.ir_version, 9)  # readable by onnxruntime releases since 1.16
        try:
            self.onnx.checker.check_model(model)
        except self.onnx.checker.ValidationError as err:
            raise GraphError(f"to_onnx made an invalid model (please report): {err}") from None
        return model
