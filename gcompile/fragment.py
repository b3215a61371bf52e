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
from operator import itemgetter

import numpy as np

from .errors import GraphError, label
from .registry import lookup

__all__ = ["Fragment", "ForwardValue", "Ref", "Recorder", "Template"]


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
    it computes (``origin``), the operand position (``wrt_arg``), the role
    ``local_derivative`` and the text of the rule (``rule``).
    """

    def __init__(self, builder, origin=None, wrt_arg=None, shapes=None):
        self._builder = builder
        self._shapes = shapes or {}
        self.at(origin, wrt_arg)

    def at(self, origin, wrt_arg, rule=None):
        """Point the fragment at the rule of ``origin``'s operand ``wrt_arg``, whose text
        ``rule`` (if given) every node it makes carries; returns self.

        One fragment serves a whole backward pass: the op methods it caches
        (``f.mul``) are then looked up once, not once per node.
        """
        self._origin = origin
        self._tags = {"wrt_arg": wrt_arg} if rule is None else {"wrt_arg": wrt_arg, "rule": rule}
        self._prefix = f"d{label(origin)}"
        return self

    @property
    def origin(self):
        """The forward node whose rule the fragment is writing."""
        return self._origin

    def shape(self, ref):
        """The static shape of a forward value, or ``None`` when not known."""
        return self._shapes.get(ref.key) if isinstance(ref, ForwardValue) else None

    def const(self, value):
        """A constant node holding ``value``."""
        return Ref(self._builder.add_node("const", (), {"value": value}, origin=self._origin,
                                          role="local_derivative", hint=f"{self._prefix}.c",
                                          **self._tags))

    def op(self, name, *operands, **params):
        """A node applying registry op ``name`` to ``operands`` with ``params``."""
        return getattr(self, name)(*operands, **params)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        opdef = lookup(name)
        method = self._make_method(opdef)
        self.__dict__[name] = method
        return method

    def _make_method(self, opdef):
        name, arity, defaults = opdef.name, opdef.arity, opdef.params
        add_node, resolve = self._builder.add_node, self._resolve

        def method(*operands, **params):
            if len(operands) != arity:
                raise GraphError(f"VJP rule of {self._origin!r}: op {name!r} takes {arity} "
                                 f"operands, got {len(operands)}")
            attrs = {}
            if params:
                unknown = set(params) - set(defaults)
                if unknown:
                    raise GraphError(f"VJP rule of {self._origin!r}: op {name!r} has no "
                                     f"parameter {sorted(unknown)[0]!r}")
                attrs = {k: v for k, v in params.items() if v != defaults[k]}
            ids = tuple([a.id if type(a) is Ref else resolve(a) for a in operands])
            return Ref(add_node(name, ids, attrs, origin=self._origin, role="local_derivative",
                                hint=f"{self._prefix}.{name}", **self._tags))

        method.__doc__ = f"Add a {name!r} node to the fragment."
        return method

    def _resolve(self, arg):
        if isinstance(arg, Ref):
            return arg.id
        if isinstance(arg, ForwardValue):
            return self._builder.read(arg.key)
        if isinstance(arg, (numbers.Number, np.ndarray, np.generic)) and not isinstance(arg, bool):
            return self.const(arg).id
        raise GraphError(f"VJP rule of {self._origin!r}: {arg!r} is not a node or a number")


class Template:
    """What one VJP rule wrote, replayable at another forward node without running the rule.

    ``events`` in order: an int ``j`` reads forward value ``keys[j]`` (the
    node's operands, then the node itself) into the next slot; a tuple
    ``(get, n, attrs, suffix, lean)`` adds a node whose ``n`` operands are
    ``get(slots)`` (slot 0 is the cotangent ``g``), attributes a copy of
    ``attrs`` with ``origin`` set (or, for the compiler, the shared ``lean``:
    ``attrs`` without ``origin``, ``wrt_arg``, ``rule``), hint ``d<origin>`` + ``suffix``.
    ``result`` is the slot the rule returned, ``local`` the slot of its
    factor (see :func:`gcompile.autodiff.grad`) or ``None``.  ``specs`` are
    the operand slots of each node event (for :mod:`gcompile.replay`).
    """

    __slots__ = ("events", "result", "own", "local", "shaped", "specs", "const_keys")

    def __init__(self, events, result, own, local, shaped, specs=()):
        self.events, self.result, self.own, self.local, self.shaped = \
            events, result, own, local, shaped
        self.specs = specs
        self.const_keys = {}  # slot of a shared constant -> its key (see const_key)

    def const_key(self, slot):
        """The key of the constant at ``slot`` in a sweep's shared constants (one per
        template and slot: see :func:`gcompile.replay.write_node_replay`)."""
        key = self.const_keys.get(slot)
        if key is None:
            key = self.const_keys[slot] = object()
        return key


#: What only readers of gc.grad's DiGraph use (the compiler's records leave it out).
_USER_TEXT = ("origin", "wrt_arg", "rule")

_IMMUTABLE = (bool, int, float, complex, str, bytes, type(None), np.generic)


def _immutable(value):
    if isinstance(value, tuple):
        return all(_immutable(v) for v in value)
    return isinstance(value, _IMMUTABLE)


class _Watched:
    """A shapes mapping that notes whether a rule asked for a shape."""

    def __init__(self, shapes):
        self.shapes, self.asked = shapes, False

    def get(self, key, default=None):
        self.asked = True
        return self.shapes.get(key, default)


class Recorder:
    """A builder that records a rule's nodes as a :class:`Template` (slots instead of ids).

    Examples
    --------
    >>> from gcompile.registry import lookup
    >>> rec = Recorder({"x": (), "y": ()})
    >>> t = rec.record(lookup("mul"), 0, "z", ("x", "y"), {})
    >>> t.events[0], t.events[1][2]["op"], t.events[1][3], t.result, t.local
    (1, 'mul', '.mul', 2, 1)
    """

    def __init__(self, shapes):
        self._watch = _Watched(shapes)
        self._frag = Fragment(self, shapes=self._watch)

    def record(self, op, i, origin, operands, params):
        """Run VJP rule ``i`` of ``op`` at forward node ``origin``; its :class:`Template`,
        or ``None`` when what it wrote cannot be shared (a mutable value, or a forward
        value returned as the result).  A :class:`GraphError` of the rule propagates."""
        self.keys, self.slots, self.events = tuple(operands) + (origin,), {}, []
        self.n, self.cacheable = 1, True
        self._watch.asked = False
        f = self._frag.at(origin, i, op.rules[i])
        self._prefix = f._prefix
        ref = op.vjp[i](f, Ref(0), *[ForwardValue(u) for u in operands], ForwardValue(origin),
                        **params)
        if not isinstance(ref, Ref):
            raise GraphError(f"VJP rule {i} of op {op.name!r} returned {ref!r}, not a node")
        nodes = {}  # slot -> its node event
        slot = 1
        for ev in self.events:
            if type(ev) is not int:
                nodes[slot] = ev
            slot += 1
        if not self.cacheable or (ref.id != 0 and ref.id not in nodes):
            return None
        local = None
        if ref.id in nodes and nodes[ref.id][2]["op"] == "mul":
            spec = nodes[ref.id][4]
            if 0 in spec:
                local = next((s for s in spec if s != 0), None)
        events = [ev if type(ev) is int else ev[:4] + ({k: x for k, x in ev[2].items()
                                                        if k not in _USER_TEXT},)
                  for ev in self.events]
        specs = tuple([ev[4] for ev in self.events if type(ev) is not int])
        return Template(events, ref.id, ref.id in nodes, local, self._watch.asked, specs)

    def read(self, key):
        slot = self.slots.get(key)
        if slot is None:
            slot = self.slots[key] = self.n
            self.n += 1
            self.events.append(self.keys.index(key))
        return slot

    def add_node(self, op, operands, attrs, *, origin, role, hint, **extra):
        attrs["op"] = op
        attrs["origin"] = None
        attrs["role"] = role
        attrs.update(extra)
        if not all(_immutable(v) for v in attrs.values()) or not hint.startswith(self._prefix):
            self.cacheable = False
        n = len(operands)
        get = itemgetter(*operands) if n else None
        self.events.append((get, n, attrs, hint[len(self._prefix):], tuple(operands)))
        self.n += 1
        return self.n - 1
