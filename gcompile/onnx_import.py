"""ONNX models in: :func:`from_onnx` turns an ``onnx.ModelProto`` into a forward DiGraph.

Graph inputs become ``input`` nodes keyed by their ONNX names (static shapes
kept); initializers become ``input`` nodes that carry their ``value`` (so they
can be fed, overridden and differentiated); every ONNX node's output is the
gcompile node keyed by that tensor's name.  An ONNX op that needs several
gcompile ops adds helper nodes keyed ``"<output>/<step>"``.  Every node made
for an ONNX node records ``onnx_op`` (its op type) and ``onnx_node`` (its
name); when one ONNX node needs several gcompile nodes, they share a ``group``
(drawn as a cluster) named after it.  The op handlers live in :mod:`gcompile.onnx_ops`.

Needs the ``onnx`` extra: ``pip install gcompile[onnx]``.

Examples
--------
>>> import numpy as np, gcompile as gc
>>> from onnx import TensorProto, helper, numpy_helper
>>> W = numpy_helper.from_array(np.array([[1.0, 2.0], [3.0, 4.0]]), "W")
>>> model = helper.make_model(helper.make_graph(
...     [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Tanh", ["h"], ["y"])],
...     "tiny", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 2])],
...     [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [1, 2])], [W]))
>>> g = gc.from_onnx(model)
>>> g.graph["output"], g.nodes["y"]["onnx_op"], g.nodes["W"]["op"]
('y', 'Tanh', 'input')
>>> gc.evaluate(g, {"x": np.array([[1.0, 0.0]])})["y"].round(4)
array([[0.7616, 0.964 ]])
"""
from __future__ import annotations

import os

import networkx as nx
import numpy as np

from .errors import GraphError, describe_value
from .registry import lookup

__all__ = ["from_onnx", "require_onnx"]


def require_onnx():
    """Import and return the ``onnx`` package, or raise a GraphError saying what to install.

    Examples
    --------
    >>> require_onnx().__name__
    'onnx'
    """
    try:
        import onnx
    except ImportError:
        raise GraphError("ONNX support needs the onnx extra: pip install gcompile[onnx]") from None
    return onnx


def from_onnx(model, *, shapes=None) -> nx.DiGraph:
    """A forward DiGraph in gcompile's format from an ONNX model (a path or an ``onnx.ModelProto``).

    Parameters
    ----------
    model : str, os.PathLike or onnx.ModelProto
        The model.  Only the default ONNX domain is supported.
    shapes : dict, optional
        ``{input name: shape or example value}`` for inputs whose ONNX shape is
        dynamic (``"batch"`` dimensions); ops such as Flatten and Reshape need
        static shapes.

    Returns
    -------
    networkx.DiGraph
        With ``graph["outputs"]`` (the model's outputs), ``graph["output"]``
        (the first) and ``graph["wrt"]`` (the floating-point initializers: the
        parameters).

    Raises
    ------
    GraphError
        For an unsupported op (naming the op type, the node and the supported
        set), a missing extra, or an unreadable file.

    Examples
    --------
    >>> import gcompile as gc
    >>> gc.from_onnx(42)
    Traceback (most recent call last):
    ...
    gcompile.errors.GraphError: from_onnx needs a .onnx path or an onnx.ModelProto, got int 42
    """
    onnx = require_onnx()
    if isinstance(model, (str, os.PathLike)):
        try:
            model = onnx.load(os.fspath(model))
        except (OSError, ValueError) as err:
            raise GraphError(f"cannot read ONNX model {os.fspath(model)!r}: {err}") from None
        except Exception as err:  # noqa: BLE001 -- protobuf's DecodeError and friends
            raise GraphError(f"cannot read ONNX model {os.fspath(model)!r}: "
                             f"{type(err).__name__}: {err}") from None
    elif not isinstance(model, onnx.ModelProto):
        raise GraphError(f"from_onnx needs a .onnx path or an onnx.ModelProto, got "
                         f"{describe_value(model)}")
    from .onnx_ops import HANDLERS

    return _Importer(onnx, model, shapes or {}, HANDLERS).run()


def _first_arg(arg):
    return arg[0] if isinstance(arg, list) else arg


class _Importer:
    """Walks the ONNX graph in order; handlers add gcompile nodes through :meth:`add`."""

    def __init__(self, onnx, model, shapes, handlers):
        self.onnx, self.model, self.handlers = onnx, model, handlers
        self.given = shapes
        self.g = nx.DiGraph(name=model.graph.name or "onnx")
        self.shapes, self.consts = {}, {}
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
        self.current = None

    # -- building blocks for handlers
    def add(self, key, op, operands=(), **attrs):
        """Add node ``key`` applying ``op`` to operand keys; returns ``key``."""
        if key in self.g:
            raise GraphError(f"{self.where()}: tensor name {key!r} is defined twice")
        info = {"onnx_op": self.current.op_type, "onnx_node": self.current.name or key}
        self.g.add_node(key, op=op, **attrs, **info)
        self.made.append(key)
        for pos, u in enumerate(operands):
            if self.g.has_edge(u, key):
                arg = self.g.edges[u, key]["arg"]
                self.g.edges[u, key]["arg"] = (arg if isinstance(arg, list) else [arg]) + [pos]
            else:
                self.g.add_edge(u, key, arg=pos)
        if op == "const":
            self.consts[key] = attrs["value"]
            self.shapes[key] = np.shape(attrs["value"])
        else:
            opdef = lookup(op)
            params = {k: attrs.get(k, d) for k, d in opdef.params.items()}
            try:
                self.shapes[key] = opdef.infer_shape([self.shapes.get(u) for u in operands], params)
            except GraphError as err:
                raise GraphError(f"{self.where()}: {err}") from None
        return key

    def where(self):
        """``ONNX node 'name' (OpType)`` for error messages (the output name if unnamed)."""
        node = self.current
        return f"ONNX node {node.name or node.output[0]!r} ({node.op_type})"

    def const(self, key, value):
        """A ``const`` node (Python floats stay Python floats: dtype-neutral)."""
        return self.add(key, "const", value=value)

    def shape(self, name):
        """The static shape of tensor ``name``; a GraphError when it is not known."""
        s = self.shapes.get(name)
        if s is None:
            raise GraphError(f"{self.where()} needs the "
                             f"static shape of {name!r}: pass shapes={{{name!r}: ...}} to from_onnx")
        return tuple(s)

    def constant(self, name, what):
        """The value of a constant input (an initializer or a Constant node)."""
        if name not in self.consts:
            raise GraphError(f"{self.where()}: its {what} "
                             f"input {name!r} must be a constant (an initializer or a Constant node)")
        return np.asarray(self.consts[name])

    def attrs(self, node):
        """The node's attributes as Python values."""
        return {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}

    # -- the walk
    def run(self):
        graph = self.model.graph
        numpy_helper = self.onnx.numpy_helper
        inits = {t.name: t for t in graph.initializer}
        for t in graph.initializer:
            value = numpy_helper.to_array(t)
            if value.dtype.kind not in "biuf":
                raise GraphError(f"ONNX initializer {t.name!r} holds {value.dtype} data; gcompile "
                                 "reads numeric tensors only")
            self.g.add_node(t.name, op="input", value=value, shape=tuple(value.shape))
            self.shapes[t.name] = tuple(value.shape)
            self.consts[t.name] = value
        for vi in graph.input:
            if vi.name in inits:
                continue
            shape = self._declared_shape(vi)
            if vi.name in self.given:
                from .shapes import shape_of
                shape = shape_of(self.given[vi.name])
            self.g.add_node(vi.name, op="input", **({} if shape is None else {"shape": shape}))
            self.shapes[vi.name] = shape
        for node in graph.node:
            self.current = node
            if node.domain not in ("", "ai.onnx"):
                self._unsupported(node, f"domain {node.domain!r}")
            handler = self.handlers.get(node.op_type)
            if handler is None:
                self._unsupported(node)
            missing = [i for i in node.input if i and i not in self.g]
            if missing:
                raise GraphError(f"ONNX node {node.name!r} ({node.op_type}) reads {missing[0]!r}, "
                                 "which no earlier node or input defines")
            self.made = []
            handler(self, node, self.attrs(node))
            if node.input and all(i in self.consts for i in node.input if i):
                self._fold()
            if len(self.made) > 1:  # one ONNX op, several gcompile nodes: draw them as a cluster
                for key in self.made:
                    self.g.nodes[key]["group"] = node.name or node.output[0]
        outputs = [o.name for o in graph.output]
        for name in outputs:
            if name not in self.g:
                raise GraphError(f"ONNX model output {name!r} is not computed by any node")
        unused = [v for v, d in self.g.nodes(data=True)  # shape/axes constants read statically
                  if v in self.consts and not self.g.succ[v] and v not in outputs]
        self.g.remove_nodes_from(unused)
        self.g.graph["outputs"] = outputs
        if outputs:
            self.g.graph["output"] = outputs[0]
        self.g.graph["wrt"] = [t.name for t in graph.initializer
                               if numpy_helper.to_array(t).dtype.kind == "f"
                               and nx.has_path(self.g, t.name, outputs[0])] if outputs else []
        return self.g

    def _fold(self):
        """A node of constants only (shape arithmetic such as Shape -> Gather -> Concat) becomes
        ``const`` nodes: the ops that read it as a shape or axes see a constant."""
        for key in self.made:
            data = self.g.nodes[key]
            if data["op"] == "const":
                continue
            opdef = lookup(data["op"])
            preds = sorted(self.g.pred[key].items(), key=lambda kv: _first_arg(kv[1]["arg"]))
            args = [None] * opdef.arity
            for u, edge in preds:
                for pos in (edge["arg"] if isinstance(edge["arg"], list) else [edge["arg"]]):
                    args[pos] = self.consts[u]
            params = {k: data.get(k, d) for k, d in opdef.params.items()}
            value = np.asarray(opdef.forward(np, *args, **params))
            self.g.remove_edges_from([(u, key) for u, _ in preds])
            keep = {k: data[k] for k in ("onnx_op", "onnx_node", "group") if k in data}
            data.clear()
            data.update(op="const", value=value, **keep)
            self.consts[key] = value
            self.shapes[key] = value.shape

    def _declared_shape(self, vi):
        tt = vi.type.tensor_type
        if not tt.HasField("shape"):
            return None
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
        return None if None in dims else tuple(dims)

    def _unsupported(self, node, why=None):
        supported = ", ".join(sorted(self.handlers))
        what = why or f"op type {node.op_type!r}"
        raise GraphError(f"ONNX node {node.name or node.output[0]!r}: unsupported {what} "
                         f"(supported: {supported})")
