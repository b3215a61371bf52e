"""The small builder a VJP rule writes its graph fragment into.

A rule receives ``f`` (a :class:`Fragment`), the cotangent ``g``, the op's
operands and its result ``out``.  It builds nodes by calling ops of the
registry as methods (``f.mul(g, y)``, ``f.sum(g, axis=0)``); Python numbers
become ``const`` nodes; operands and ``out`` become reads of forward values
only when a rule uses them, so a backward graph holds exactly the forward
values its rules need.

Examples
--------
>>> import networkx as nx, gcompile as gc
>>> g = nx.DiGraph()
>>> g.add_nodes_from([("x", {"op": "input"}), ("y", {"op": "tanh"})])
>>> g.add_edge("x", "y")
>>> bwd = gc.grad(g, "y", "x")
>>> sorted(d["op"] for _, d in bwd.nodes(data=True))
['const', 'input', 'mul', 'mul', 'ones_like', 'sub']
"""
from __future__ import annotations

import numbers

import numpy as np

from .errors import GraphError
from .registry import lookup

__all__ = ["Fragment", "ForwardValue", "Ref"]


class Ref:
    """A node of the backward graph under construction (what rules pass around)."""

    __slots__ = ("id",)

    def __init__(self, id_):
        self.id = id_

    def __repr__(self):
        return f"Ref({self.id})"


class ForwardValue:
    """A forward node's value as seen by a rule; read into the backward graph on first use."""

    __slots__ = ("key",)

    def __init__(self, key):
        self.key = key

    def __repr__(self):
        return f"ForwardValue({self.key!r})"


class Fragment:
    """Writes the nodes of one VJP rule into a backward-graph builder.

    Every node it makes is tagged with the forward node whose local derivative
    it computes (``origin``), the operand position (``wrt_arg``) and the role
    ``local_derivative``.
    """

    def __init__(self, builder, origin, wrt_arg, shapes=None):
        self._builder = builder
        self._origin = origin
        self._wrt_arg = wrt_arg
        self._shapes = shapes or {}
        self._prefix = f"d{_name(origin)}"

    def shape(self, ref):
        """The static shape of a forward value, or ``None`` when not known."""
        return self._shapes.get(ref.key) if isinstance(ref, ForwardValue) else None

    def const(self, value):
        """A constant node holding ``value``."""
        return self._builder.add_node("const", (), {"value": value}, origin=self._origin,
                                      role="local_derivative", hint=f"{self._prefix}.c",
                                      wrt_arg=self._wrt_arg)

    def op(self, name, *operands, **params):
        """A node applying registry op ``name`` to ``operands`` with ``params``."""
        opdef = lookup(name)
        if len(operands) != opdef.arity:
            raise GraphError(f"VJP rule of {self._origin!r}: op {name!r} takes {opdef.arity} "
                             f"operands, got {len(operands)}")
        attrs = {}
        if params:
            unknown = set(params) - set(opdef.params)
            if unknown:
                raise GraphError(f"VJP rule of {self._origin!r}: op {name!r} has no parameter "
                                 f"{sorted(unknown)[0]!r}")
            attrs = {k: v for k, v in params.items() if v != opdef.params[k]}
        resolve = self._resolve
        ids = tuple([a.id if type(a) is Ref else resolve(a) for a in operands])
        return self._builder.add_node(name, ids, attrs, origin=self._origin,
                                      role="local_derivative", hint=f"{self._prefix}.{name}",
                                      wrt_arg=self._wrt_arg)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        lookup(name)
        return lambda *operands, **params: self.op(name, *operands, **params)

    def _resolve(self, arg):
        if isinstance(arg, Ref):
            return arg.id
        if isinstance(arg, ForwardValue):
            return self._builder.read(arg.key).id
        if isinstance(arg, (numbers.Number, np.ndarray, np.generic)) and not isinstance(arg, bool):
            return self.const(arg).id
        raise GraphError(f"VJP rule of {self._origin!r}: {arg!r} is not a node or a number")


def _name(key) -> str:
    return key if isinstance(key, str) else repr(key)
