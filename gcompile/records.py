"""The backward graph as records: parallel lists a reverse sweep appends to, and their keys.

A :class:`RecordBuilder` holds one attribute dict, one operand tuple (ids of
earlier records) and one key hint per backward node; :func:`gcompile.sweep.backward_records`
fills it and :func:`gcompile.graph.from_records` turns it into the DiGraph
``gc.grad`` returns (or :func:`gcompile.lowering.lower_records` lowers it
directly).  The keys are made unique at the end (:meth:`RecordBuilder.name`,
or later, when asked, by :class:`Unnamed`): a node reading forward value ``k``
keeps ``k``; a rule's node is ``d<origin>.<op>``; fan-out parts are
``d<u>@<consumer>[#pos]``, summed into ``d<u>`` by ``add`` nodes.

Examples
--------
>>> import networkx as nx
>>> g = nx.DiGraph([("x", "y")]); g.nodes["x"]["op"] = "input"; g.nodes["y"]["op"] = "sin"
>>> b = RecordBuilder(g, {"x": (), "y": ()})
>>> seed = seed_record(b, "y", {"y": ()})
>>> x = b.read("x")
>>> b.name(g), b.operands
(['dy', 'x'], [(), ()])
"""
from __future__ import annotations

from collections import Counter

from .errors import label
from .graph import node_dicts

__all__ = ["RecordBuilder", "Unnamed", "unique_names", "seed_record", "accumulate", "name_parts",
           "LEAN_ADD", "LEAN_READ"]


class RecordBuilder:
    """Collects backward nodes as integer ids and names them at the end."""

    def __init__(self, fwd, shapes):
        self.fwd = node_dicts(fwd)[0]
        self.shapes = shapes
        self.attrs = []
        self.operands = []
        self.hints = []
        self.reads = {}
        self.locals = []  # ids of nodes whose "local" is an id until named

    def add_node(self, op, operands, attrs, *, origin, role, hint, **extra):
        attrs["op"] = op
        attrs["origin"] = origin
        attrs["role"] = role
        if extra:
            attrs.update(extra)
        self.attrs.append(attrs)
        self.operands.append(operands)
        self.hints.append(hint)
        return len(self.attrs) - 1

    def read(self, key):
        """The backward node holding forward value ``key`` (created once, keyed by ``key``)."""
        ref = self.reads.get(key)
        if ref is None:
            data = self.fwd[key]
            if data["op"] == "const":
                attrs = {"value": data["value"]}
                op = "const"
            else:
                shape = self.shapes.get(key)
                attrs = {} if shape is None else {"shape": shape}
                op = "input"
            if "label" in data:
                attrs["label"] = data["label"]
            attrs["op"] = op
            attrs["origin"] = key
            attrs["role"] = "forward_value"
            ref = self.reads[key] = len(self.attrs)
            self.attrs.append(attrs)
            self.operands.append(())
            self.hints.append(key)
        return ref

    def read_lean(self, key):
        """:meth:`read` for the compiler's records (``full=False``): one shared attribute
        dict, which is all :func:`~gcompile.lowering.lower_records` reads of such a node."""
        ref = self.reads[key] = len(self.attrs)
        self.attrs.append(LEAN_READ)
        self.operands.append(())
        self.hints.append(key)
        return ref

    def unbroadcast(self, ref, u, v, i):
        """Sum ``ref`` (operand ``i`` of ``v``'s contribution to ``u``) back to ``u``'s shape."""
        return self.add_node("sum_to_like", (ref, self.read(u)), {}, origin=v,
                             role="unbroadcast", hint=f"d{label(u)}@{label(v)}.unbroadcast",
                             wrt_arg=i, rule="sum over the axes broadcasting added")

    def name(self, fwd):
        """Give every node a unique readable key (``local`` ids become keys); return the keys.

        In id order, a hint that is a forward key or an earlier node's key gets
        ``_2``, ``_3``, ...; nodes reading forward values keep the forward key (one dict
        lookup per node)."""
        names = unique_names(self.hints, self.reads, node_dicts(fwd)[0])
        attrs = self.attrs
        for i in self.locals:
            attrs[i]["local"] = names[attrs[i]["local"]]
        self.hints = None
        return names


def unique_names(names, reads, fwd):
    """``names`` made unique in place, in order (see :meth:`RecordBuilder.name`)."""
    taken = dict.fromkeys(fwd)  # keys taken so far -> node id (None: a forward key)
    claim = taken.setdefault
    for i, hint in enumerate(names):
        if claim(hint, i) != i:  # a forward key or an earlier node's key
            if reads.get(hint) == i:
                continue
            k = 2
            while f"{hint}_{k}" in taken:
                k += 1
            hint = names[i] = f"{hint}_{k}"
            taken[hint] = i
    return names


class Unnamed:
    """The keys of backward records, named when first asked
    (:func:`~gcompile.sweep.backward_records`'s ``named=False``): naming hashes a fresh
    string per node, which the native tape never needs.

    ``hints`` are the keys before they are made unique (a node reading forward value
    ``k`` is hinted ``k``, the key it keeps); :meth:`resolve` makes them unique in
    place (the rule of :meth:`RecordBuilder.name`, so the same keys) and returns them."""

    def __init__(self, hints, reads, graph):
        # the forward keys as they are now (the graph may change before the naming)
        self.hints, self._reads, self._fwd = hints, reads, list(node_dicts(graph)[0])

    def __len__(self):
        return len(self.hints)

    def resolve(self):
        if self._fwd is not None:
            unique_names(self.hints, self._reads, self._fwd)
            self._reads = self._fwd = None
        return self.hints


def seed_record(b, output, shapes):
    shape = shapes.get(output)
    common = dict(origin=output, role="seed", hint=f"d{label(output)}", feedable=True,
                  rule=f"d{label(output)}/d{label(output)} = 1")
    if shape != ():
        return b.add_node("ones_like", (b.read(output),), {}, **common)
    return b.add_node("const", (), {"value": 1.0}, **common)


LEAN_ADD = {"op": "add", "role": "accumulation"}
LEAN_READ = {"op": "input", "role": "forward_value"}


def accumulate(b, v, name, parts, full=True):
    """Sum the contributions of fan-out (``add`` nodes hinted ``d<v>.sum<k>``, the last ``d<v>``)."""
    total = parts[0][0]
    last = len(parts) - 1
    attrs, operands, hints = b.attrs, b.operands, b.hints
    for k in range(1, last + 1):
        attrs.append({"op": "add", "origin": v, "role": "accumulation",
                      "rule": "fan-out: contributions add"} if full else LEAN_ADD)
        operands.append((total, parts[k][0]))
        hints.append(name if k == last else f"{name}.sum{k}")
        total = len(attrs) - 1
    return total


def name_parts(hints, name, parts):
    """Hint each rule's own result among several contributions summed into ``d<u>``
    (``name``): ``d<u>@<consumer>[#pos]``.  (A lone contribution is hinted ``d<u>``.)"""
    if len(parts) == 2:  # the common case, without a Counter
        (r0, own0, c0, p0), (r1, own1, c1, p1) = parts
        same = c0 == c1
        if own0:
            c0 = c0 if type(c0) is str else label(c0)
            hints[r0] = f"{name}@{c0}#{p0}" if same else f"{name}@{c0}"
        if own1:
            c1 = c1 if type(c1) is str else label(c1)
            hints[r1] = f"{name}@{c1}#{p1}" if same else f"{name}@{c1}"
        return
    seen = Counter([consumer for _, _, consumer, _ in parts])
    for ref, own, consumer, pos in parts:
        if own:
            hints[ref] = f"{name}@{label(consumer)}" + (f"#{pos}" if seen[consumer] > 1 else "")
