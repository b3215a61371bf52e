"""Lowering: a forward graph and its backward graph become one flat program.

:func:`lower_records` numbers the nodes of both graphs in one topological order
(backward leaves that read a forward value become that forward node), and
simplifies while it goes, using the static shapes and dtypes of one feed
signature:

- constant subexpressions are evaluated once (``count``, ``batch_size``,
  ``ones_like`` of a known shape are constants too);
- identities become aliases of their operand: ``x * 1``, ``1 * x``, ``x / 1``,
  ``x + 0``, ``0 + x``, ``x - 0``, and ``sum_to_like``/``reshape_like``/
  ``broadcast_like`` to the shape the value already has -- only where the
  static shape and dtype prove the interpreter's result equals ``x``;
- ``x * -1`` becomes ``neg(x)``.

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
from .registry import broadcast_shape, lookup

__all__ = ["Program", "lower_records", "demand_order", "INPUT", "CONST", "OP", "F8"]

INPUT, CONST, OP = "input", "const", "op"
#: Static dtype marker of float64 values (numpy ``dtype.str`` without byte order).
F8 = "f8"

#: Built-in ops that map float64 operands to a float64 result (the dtype rule of folding).
_F64_OPS = frozenset(
    "add sub mul div neg pow exp log sin cos tanh sigmoid relu sqrt abs maximum minimum step sign "
    "max_weight sum mean max max_mask reshape reshape_like transpose broadcast_to broadcast_like "
    "sum_to_like count batch_size ones_like zeros_like matmul matmul_bt matmul_at softmax "
    "log_softmax softmax_cross_entropy softmax_cross_entropy_grad".split())
_SAME_UNARY = frozenset("neg exp log sin cos tanh sigmoid relu sqrt abs step sign".split())
_SHAPE_ONLY = frozenset(("count", "batch_size", "ones_like", "zeros_like"))
_UNIT = {"add": 0, "sub": 0, "mul": 1, "div": 1}
_SAME_SHAPE = frozenset(("sum_to_like", "reshape_like", "broadcast_like"))


class Program:
    """Flat arrays indexed by node id: what :mod:`gcompile.emit` turns into source.

    ``kinds[i]`` is ``INPUT`` (``payload[i]`` = input position), ``CONST``
    (``payload[i]`` = value) or ``OP`` (``payload[i]`` = ``(opdef, operand ids,
    params)``); ``keys[i]`` the graph node; ``shapes``/``dtypes`` the static
    shape and dtype (``None`` if unknown).  ``alias`` maps every graph key to
    the id holding its value.
    """

    def __init__(self):
        self.kinds, self.payload, self.keys, self.op_names = [], [], [], []
        self.shapes, self.dtypes, self.scalar = [], [], []
        self.alias = {}
        self.units = {}
        self.floats = {}
        self.folded = 0

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
            if value in (1.0, -1.0):
                prog.units[i] = int(value)
        prog.alias[key] = i
        return i
    shape = tuple(getattr(value, "shape", ()))
    i = prog.alias[key] = prog.add(CONST, value, key, op_name, shape, _dtype_of(value))
    if type(value) is float:
        if value in (1.0, 0.0, -1.0):
            prog.units[i] = int(value)
        return i
    for unit in (1, 0, -1):
        if _is_all(value, unit):
            prog.units[i] = unit
            break
    return i


def _is_all(value, target):
    """True when the constant ``value`` equals ``target`` everywhere."""
    try:
        return bool(np.all(np.asarray(value) == target))
    except (TypeError, ValueError):
        return False


def _identity(prog, name, ids):
    """The operand id ``name(*ids)`` equals (value, shape and dtype), or ``None``."""
    shapes, dtypes, units = prog.shapes, prog.dtypes, prog.units
    if name in _SAME_SHAPE:
        a, ref = ids  # broadcast_like casts a Python number to ref's dtype: same dtype too
        return a if shapes[a] is not None and shapes[a] == shapes[ref] \
            and dtypes[a] is not None and dtypes[a] == dtypes[ref] else None
    if name not in _UNIT:
        return None
    a, b = ids
    if dtypes[a] != F8 or dtypes[b] != F8 or shapes[a] is None or shapes[b] is None:
        return None
    unit = _UNIT[name]
    if units.get(b) == unit and (shapes[a] == shapes[b] or
                                 broadcast_shape(shapes[a], shapes[b]) == shapes[a]):
        return a
    if name in ("add", "mul") and units.get(a) == unit and (
            shapes[a] == shapes[b] or broadcast_shape(shapes[a], shapes[b]) == shapes[b]):
        return b
    return None


def _shape(opdef, key, shapes, params):
    if opdef.name in _SAME_UNARY and opdef.arity == 1:
        return shapes[0]
    if opdef.broadcasts and not params and shapes[0] is not None \
            and all(s == shapes[0] for s in shapes):
        return shapes[0]
    try:
        return opdef.infer_shape(shapes, params)
    except GraphError as err:
        raise node_error(key, opdef.name, err) from None


def _add_op(prog, key, opdef, ids, params):
    name = opdef.name
    shapes, dtypes, kinds = prog.shapes, prog.dtypes, prog.kinds
    if name in _UNIT or name in _SAME_SHAPE:
        same = _identity(prog, name, ids)
        if same is not None:
            prog.alias[key] = same
            prog.folded += 1
            return same
    if len(ids) == 1:
        a = ids[0]
        shape = shapes[a] if name in _SAME_UNARY else _shape(opdef, key, [shapes[a]], params)
        dtype = F8 if dtypes[a] == F8 and name in _F64_OPS else None
        constant = kinds[a] == CONST
    else:
        shape = _shape(opdef, key, [shapes[i] for i in ids], params)
        dtype = F8 if name in _F64_OPS and all([dtypes[i] == F8 for i in ids]) else None
        constant = all([kinds[i] == CONST for i in ids])
    if name == "mul" and dtype == F8:
        for keep, other in ((ids[0], ids[1]), (ids[1], ids[0])):
            if prog.units.get(other) == -1 and shapes[keep] == shape:
                opdef, ids = lookup("neg"), [keep]
                prog.folded += 1
                break
    if constant or (name in _SHAPE_ONLY and all(shapes[i] is not None for i in ids)
                    and (name in ("count", "batch_size") or dtypes[ids[0]] is not None)):
        value = _fold(prog, opdef, ids, params)
        if value is not None:
            prog.folded += 1
            return _add_const(prog, key, value, name)
    i = prog.alias[key] = prog.add(OP, (opdef, tuple(ids), params), key, opdef.name, shape, dtype)
    return i


def _fold(prog, opdef, ids, params):
    """Evaluate an op at compile time; ``None`` when it fails (the call will report it)."""
    args = []
    for i in ids:
        if prog.kinds[i] == CONST:
            args.append(prog.payload[i])
        else:  # shape-only op: a zero-stride stand-in of the right shape and dtype
            dtype = prog.dtypes[i] or "f8"
            args.append(np.broadcast_to(np.zeros((), dtype=dtype), prog.shapes[i]))
    try:
        with np.errstate(all="ignore"):
            value = opdef.forward(np, *args, **params)
    except Exception:  # noqa: BLE001 -- left to run time, where it is reported with the node
        return None
    if type(value) is int:
        value = float(value)
    if not isinstance(value, (float, np.ndarray, np.generic)):
        return None
    if isinstance(value, np.ndarray) and not value.flags.owndata:
        value = value.copy()
    return value
