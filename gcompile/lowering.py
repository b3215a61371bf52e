"""Lowering: a forward graph and its backward graph become one flat program.

:func:`lower_records` numbers the nodes of both graphs in one topological order
(backward leaves that read a forward value become that forward node), and
simplifies while it goes with :func:`gcompile.simplify.simplify` (the same
simplifier as ``gc.optimize``), using the static shapes and dtypes of one feed
signature: constant subexpressions (and shape-only ops of known shapes) are
evaluated once, identities such as ``x * 1`` become aliases of their operand
and ``x * -1`` becomes ``neg(x)`` -- only where the static shape and dtype
prove the interpreter's result is the same.

Nodes nothing needs are dropped later, by :mod:`gcompile.emit`.

Examples
--------
>>> import gcompile as gc
>>> from gcompile.examples import apple
>>> g, feeds = apple()
>>> from gcompile.autodiff import backward_records
>>> records = backward_records(g, "price", g.graph["wrt"], feeds, "zero")
>>> prog = lower_records(g, records, "price", {k: ((), "f8") for k in feeds}, gc.plan(g))
>>> sorted(prog.op_names[i] for i in range(len(prog.kinds)) if prog.kinds[i] == OP)
['mul', 'mul', 'mul', 'mul']
"""
from __future__ import annotations

import numpy as np

from .errors import GraphError, node_error
from .feeds import const_value
from .graph import node_dicts
from .registry import lookup
from .simplify import ALIAS, F8, REWRITE, Facts, simplify, uniform
from .specialize import specialize

__all__ = ["Program", "lower_records", "demand_order", "INPUT", "CONST", "OP", "F8"]

INPUT, CONST, OP = "input", "const", "op"

class Program(Facts):
    """Flat arrays indexed by node id: what :mod:`gcompile.emit` turns into source.

    ``kinds[i]`` is ``INPUT`` (``payload[i]`` = input position), ``CONST``
    (``payload[i]`` = value) or ``OP`` (``payload[i]`` = ``(opdef, operand ids,
    params)``); ``keys[i]`` the graph node; ``shapes``/``dtypes`` the static
    shape and dtype (``None`` if unknown).  ``alias`` maps every graph key to
    the id holding its value.  As :class:`gcompile.simplify.Facts` it tells the
    simplifier what is known about each id.
    """

    def __init__(self):
        self.kinds, self.payload, self.keys, self.op_names = [], [], [], []
        self.shapes, self.dtypes, self.scalar = [], [], []
        self.alias = {}
        self.uniforms = {}
        self.floats = {}
        self.folded = 0
        # the Facts the simplifier reads, as C-level lookups (this runs once per node)
        self.shape, self.dtype = self.shapes.__getitem__, self.dtypes.__getitem__
        self.value, self.uniform = self.payload.__getitem__, self.uniforms.get

    def is_const(self, i):
        return self.kinds[i] == CONST

    def producer(self, i):
        if self.kinds[i] != OP:
            return None
        opdef, ids, _ = self.payload[i]
        return opdef.name, ids

    def op_params(self, i):
        return self.payload[i][2]

    def fold(self, opdef, args, params):
        """Evaluate an op at compile time; ``None`` when it fails (the call will report it)."""
        value = Facts.fold(self, opdef, args, params)
        if type(value) is int:
            value = float(value)
        if not isinstance(value, (float, np.ndarray, np.generic)):
            return None
        if isinstance(value, np.ndarray) and not value.flags.owndata:
            value = value.copy()
        return value

    def add(self, kind, payload, key, op_name, shape, dtype):
        self.kinds.append(kind)
        self.payload.append(payload)
        self.keys.append(key)
        self.op_names.append(op_name)
        self.shapes.append(shape)
        self.dtypes.append(dtype)
        self.scalar.append(shape == () and dtype == F8)
        return len(self.kinds) - 1


def lower_records(graph, records, output, signature, plan):
    """Number and simplify ``graph`` and its backward graph; return a :class:`Program`.

    ``records`` are the backward graph as ``gcompile.autodiff.backward_records``
    gives it (what ``gc.grad`` makes its DiGraph of; operands are list
    indices, not keys).  ``signature`` maps each input node to ``(shape, dtype
    str)`` of its feed, in the order of the generated function's parameters;
    ``plan`` is the forward graph's :func:`~gcompile.plan`.
    """
    names, attrs, operands, meta = records
    prog = _lower_forward(graph, plan, [output] + list(meta["grads"]), signature)
    alias = prog.alias
    ids = [0] * len(names)
    opdefs = {}
    for i, data in enumerate(attrs):
        v, name = names[i], data["op"]
        if data["role"] == "forward_value":
            if v not in alias:
                raise GraphError(f"backward graph reads forward node {v!r}, which is not needed "
                                 f"for the output")
            ids[i] = alias[v]
        elif name == "const":
            ids[i] = _add_const(prog, v, const_value(data["value"], v), name)
        else:
            opdef = opdefs.get(name)
            if opdef is None:
                opdef = opdefs[name] = lookup(name, node=v)
            params = {k: data.get(k, d) for k, d in opdef.params.items()} if opdef.params else {}
            ids[i] = _add_op(prog, v, opdef, [ids[u] for u in operands[i]], params)
    return prog


def _lower_forward(graph, p, targets, signature):
    prog = Program()
    nodes = node_dicts(graph)[0]
    inputs = {v: k for k, v in enumerate(signature)}
    for v in demand_order(p, targets):
        if v in p.ops:
            _add_op(prog, v, p.ops[v], [prog.alias[u] for u in p.operands[v]], p.params[v])
        elif nodes[v]["op"] == "const":
            _add_const(prog, v, const_value(nodes[v]["value"], v))
        else:
            shape, dtype = signature[v]
            prog.alias[v] = prog.add(INPUT, inputs[v], v, "input", shape, dtype)
    prog.inputs = list(inputs)
    return prog


def demand_order(p, targets):
    """Topological order of the ancestors of ``targets``, each node just before its first use.

    An iterative depth-first post-order over the operands of the plan ``p``:
    values are computed close to where they are read, which keeps them alive
    for short spans.
    """
    done = set()
    order = []
    operands = p.operands
    for t in targets:
        if t in done:
            continue
        stack = [(t, iter(operands.get(t, ())))]
        done.add(t)
        while stack:
            v, it = stack[-1]
            for u in it:
                if u not in done:
                    done.add(u)
                    stack.append((u, iter(operands.get(u, ()))))
                    break
            else:
                stack.pop()
                order.append(v)
    return order


def _dtype_of(value):
    if type(value) is float:
        return F8
    dtype = getattr(value, "dtype", None)
    return None if dtype is None else dtype.str[1:]


def _add_const(prog, key, value, op_name="const"):
    if type(value) is float and value:  # equal nonzero float constants share one entry
        i = prog.floats.get(value)
        if i is None:
            i = prog.floats[value] = prog.add(CONST, value, key, op_name, (), F8)
            prog.uniforms[i] = value
        prog.alias[key] = i
        return i
    shape = tuple(getattr(value, "shape", ()))
    i = prog.alias[key] = prog.add(CONST, value, key, op_name, shape, _dtype_of(value))
    same = uniform(value)
    if same is not None:
        prog.uniforms[i] = same
    return i


def _shape(opdef, key, shapes, params):
    if opdef.broadcasts and not params and shapes[0] is not None \
            and all(s == shapes[0] for s in shapes):
        return shapes[0]
    try:
        return opdef.infer_shape(shapes, params)
    except GraphError as err:
        raise node_error(key, opdef.name, err) from None


def _add_op(prog, key, opdef, ids, params):
    shapes, dtypes, kinds = prog.shapes, prog.dtypes, prog.kinds
    if len(ids) == 1:
        a = ids[0]
        shape = shapes[a] if opdef.elementwise else _shape(opdef, key, [shapes[a]], params)
        dtype = F8 if dtypes[a] == F8 and opdef.keeps_float64 else None
        constant = kinds[a] == CONST
    else:
        shape = _shape(opdef, key, [shapes[i] for i in ids], params)
        dtype = F8 if opdef.keeps_float64 and all([dtypes[i] == F8 for i in ids]) else None
        constant = all([kinds[i] == CONST for i in ids])
    if constant or opdef.simplifies:
        found = simplify(opdef, ids, params, prog, shape, constant=constant)
        if found is not None:
            prog.folded += 1
            if found[0] == ALIAS:
                prog.alias[key] = found[1]
                return found[1]
            if found[0] != REWRITE:
                return _add_const(prog, key, found[1], opdef.name)
            _, opdef, ids = found
            params = {k: d for k, d in opdef.params.items()}
            dtype = F8 if opdef.keeps_float64 and all([dtypes[i] == F8 for i in ids]) else None
    if shape and (opdef.broadcasts or opdef.name == "sum_to_like"):  # arrays: gcompile.specialize
        found = specialize(opdef, ids, params, prog)
        if found is not None:
            opdef, ids, params = found
    i = prog.alias[key] = prog.add(OP, (opdef, tuple(ids), params), key, opdef.name, shape, dtype)
    return i
