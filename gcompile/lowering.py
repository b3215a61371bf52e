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

from itertools import compress

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
    shape and dtype (``None`` if unknown); ``scalar`` whether a float64 scalar,
    ``plain`` whether one that is not a constant.  ``alias`` maps every forward
    key (and the backward graph's gradient keys) to the id holding its value.
    As :class:`gcompile.simplify.Facts` it tells the simplifier what is known
    about each id.
    """

    def __init__(self, capacity=0):
        # ``kinds``, ``shapes``, ``dtypes``, ``scalar``, ``plain`` are made ``capacity`` long
        # with the values of a float64 scalar op, so lowering's fast path writes none of them;
        # :meth:`trim` cuts them to the ids used (``len(payload)``)
        self.payload, self.keys, self.op_names = [], [], []
        self.kinds, self.shapes, self.dtypes = [OP] * capacity, [()] * capacity, [F8] * capacity
        self.scalar, self.plain = [True] * capacity, [True] * capacity
        self.alias = {}
        self.grad_ids = {}
        self.namer = None  # a KeyNamer while the backward nodes' keys are record ids
        self.uniforms = {}
        self.floats = {}
        self.folded = 0
        # the Facts the simplifier reads, as C-level lookups (this runs once per node)
        self.shape, self.dtype = self.shapes.__getitem__, self.dtypes.__getitem__
        self.value, self.uniform = self.payload.__getitem__, self.uniforms.get

    def name_keys(self):
        """``keys``, with the backward nodes' keys named if lowering left them record ids."""
        return self.keys if self.namer is None else self.namer()

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
        i = len(self.payload)
        self.payload.append(payload)
        self.keys.append(key)
        self.op_names.append(op_name)
        scalar = shape == () and dtype == F8
        if i < len(self.kinds):
            self.kinds[i], self.shapes[i], self.dtypes[i] = kind, shape, dtype
            self.scalar[i], self.plain[i] = scalar, scalar and kind != CONST
        else:
            self.kinds.append(kind)
            self.shapes.append(shape)
            self.dtypes.append(dtype)
            self.scalar.append(scalar)
            self.plain.append(scalar and kind != CONST)
        return i

    def trim(self):
        """Cut the lists made ``capacity`` long to the ids in use."""
        n = len(self.payload)
        for column in (self.kinds, self.shapes, self.dtypes, self.scalar, self.plain):
            del column[n:]
        return self


def lower_records(graph, records, output, signature, plan, order=None):
    """Number and simplify ``graph`` and its backward graph; return a :class:`Program`.

    ``records`` are the backward graph as ``gcompile.sweep.backward_records``
    gives it (what ``gc.grad`` makes its DiGraph of; operands are list
    indices, not keys).  ``signature`` maps each input node to ``(shape, dtype
    str)`` of its feed, in the order of the generated function's parameters;
    ``plan`` is the forward graph's :func:`~gcompile.plan`.  ``prog.alias``
    maps the forward keys (and, of named records, the gradients' keys
    ``meta["grads"]``) to ids; ``prog.grad_ids`` maps each ``wrt`` node to the
    id of its gradient.  Records of ``backward_records(..., named=False)`` are
    lowered with record ids for keys, named by :meth:`Program.name_keys` when
    asked (the same keys).  ``order``: ``demand_order(plan, [output] + wrt)``
    when the caller has it already.
    """
    names, attrs, operands, meta = records
    # room for every record: a node makes one id at most
    prog = _lower_forward(graph, plan, [output] + list(meta["grads"]), signature,
                          spare=len(names), order=order)
    if type(names) is list:
        ids = _lower_backward(prog, names, names, attrs, operands)
        wanted = set(meta["grads"].values())  # the only backward keys looked up (a dict of
        # all of them cost as much as the rest of this loop)
        for i in compress(range(len(names)), map(wanted.__contains__, names)):
            prog.alias[names[i]] = ids[i]
        prog.grad_ids = {w: prog.alias[k] for w, k in meta["grads"].items()}
        return prog.trim()
    # unnamed records (gcompile.records.Unnamed): the program's keys of backward nodes are
    # record ids until a reader asks for them (Program.name_keys); where lowering fails, it
    # runs again on the named records, so that the error names the node
    start = len(prog.payload)
    try:
        ids = _lower_backward(prog, names.hints, range(len(attrs)), attrs, operands)
    except GraphError:
        keyed = names.resolve()
        grads = {w: keyed[r] for w, r in meta["grads"].items()}
        return lower_records(graph, (keyed, attrs, operands, dict(meta, grads=grads,
                                                                    seed=keyed[meta["seed"]])),
                             output, signature, plan, order)
    prog.grad_ids = {w: ids[r] for w, r in meta["grads"].items()}
    prog.namer = KeyNamer(prog.keys, start, names)
    return prog.trim()


class KeyNamer:
    """Names the keys ``keys[start:]`` (ids of the records ``unnamed``, an
    :class:`gcompile.records.Unnamed`) in place, once, when first called; returns ``keys``."""

    def __init__(self, keys, start, unnamed):
        self.keys, self.start, self.unnamed = keys, start, unnamed

    def __call__(self):
        if self.unnamed is not None:
            named, keys = self.unnamed.resolve(), self.keys
            keys[self.start:] = [named[r] for r in keys[self.start:]]
            self.unnamed = None
        return self.keys


def _lower_backward(prog, reads, keyed, attrs, operands):
    """The backward records' loop of :func:`lower_records`: their ids in ``prog``.  ``reads[r]``
    is the forward key record ``r`` reads (where it does), ``keyed[r]`` its key in ``prog``."""
    alias, floats = prog.alias, prog.floats
    kinds, payload, keys, op_names = prog.kinds, prog.payload, prog.keys, prog.op_names
    shapes, dtypes, scalar, plain = prog.shapes, prog.dtypes, prog.scalar, prog.plain
    uniforms = prog.uniforms
    ids = []
    ids_append = ids.append
    opdefs = {}
    for r, v, data, args in zip(reads, keyed, attrs, operands):
        name = data["op"]
        if data["role"] == "forward_value":
            j = alias.get(r)
            if j is None:
                raise GraphError(f"backward graph reads forward node {r!r}, which is not needed "
                                 f"for the output")
            ids_append(j)
            continue
        if name == "const":
            value = data["value"]
            j = floats.get(value) if type(value) is float and value else None
            ids_append(_add_const(prog, v, const_value(value, v), name) if j is None else j)
            continue
        found = opdefs.get(name)
        if found is None:
            opdef = lookup(name, node=v)
            fast = _fast(opdef) if not opdef.params else 0
            found = opdefs[name] = (opdef, fast, _units(opdef) if fast == 2 else None)
        opdef, fast, units = found
        if fast == 2 and len(args) == 2:
            a, b = ids[args[0]], ids[args[1]]
            pa = plain[a]
            if pa or plain[b]:
                if not (pa and plain[b]):  # one float64 scalar constant: simplify, written inline
                    c = b if pa else a
                    unit = uniforms.get(c)
                    if unit is None or not scalar[c]:
                        ids_append(_add_op(prog, v, opdef, (a, b), {}))
                        continue
                    identity, rewrites = units[c == b]
                    if unit == identity:  # x * 1, x + 0, ...: x itself
                        prog.folded += 1
                        ids_append(a if pa else b)
                        continue
                    if unit in rewrites:  # x * -1 -> neg(x), ...
                        unary = rewrites[unit]
                        if unary is None:  # not a plain unary op: the general path
                            ids_append(_add_op(prog, v, opdef, (a, b), {}))
                            continue
                        prog.folded += 1
                        keep = a if pa else b
                        made = payload[keep]  # neg(neg(x)) is x (simplify's involution)
                        if unary.involution and kinds[keep] == OP and made[0] is unary:
                            ids_append(made[1][0])
                            continue
                        ids_append(len(payload))  # a float64 scalar op: see below
                        payload.append((unary, (keep,), {}))
                        keys.append(v)
                        op_names.append(unary.name)
                        continue
                # _add_plain written inline: most ops of big scalar graphs (capacity suffices)
                ids_append(len(payload))
                payload.append((opdef, (a, b), {}))
                keys.append(v)
                op_names.append(name)
                continue
            args = (a, b)
        elif len(args) == 1:
            args = (ids[args[0]],)
        else:
            args = tuple([ids[u] for u in args])
        params = {k: data.get(k, d) for k, d in opdef.params.items()} if opdef.params else {}
        ids_append(_add_plain(prog, v, opdef, args, params) if fast == 1 and plain[args[0]]
                   else _add_op(prog, v, opdef, args, params))
    return ids


def _lower_forward(graph, p, targets, signature, spare=0, order=None):
    """The forward part of :func:`lower_records` (with room for ``spare`` more ids), in
    ``order`` (``demand_order(p, targets)`` when not given)."""
    prog = Program(len(p.order) + spare)
    nodes = node_dicts(graph)[0]
    inputs = {v: k for k, v in enumerate(signature)}
    alias, ops, operands, params = prog.alias, p.ops, p.operands, p.params
    kinds, payload, keys, op_names = prog.kinds, prog.payload, prog.keys, prog.op_names
    shapes, dtypes, scalar, plain = prog.shapes, prog.dtypes, prog.scalar, prog.plain
    fast = {}
    for v in demand_order(p, targets) if order is None else order:
        opdef = ops.get(v)
        if opdef is None:
            if nodes[v]["op"] == "const":
                alias[v] = _add_const(prog, v, const_value(nodes[v]["value"], v))
            else:
                shape, dtype = signature[v]
                alias[v] = prog.add(INPUT, inputs[v], v, "input", shape, dtype)
            continue
        args = operands[v]
        args = (alias[args[0]], alias[args[1]]) if len(args) == 2 else \
            (alias[args[0]],) if len(args) == 1 else tuple([alias[u] for u in args])
        kind = fast.get(id(opdef))
        if kind is None:
            kind = fast[id(opdef)] = _fast(opdef)
        if kind and plain[args[0]] and (kind == 1 or (
                len(args) == 2 and plain[args[1]] and not params[v])):
            alias[v] = len(payload)  # _add_plain inline: most ops of big scalar graphs
            payload.append((opdef, args, params[v]))
            keys.append(v)
            op_names.append(opdef.name)
        else:
            alias[v] = _add_op(prog, v, opdef, args, params[v])
    prog.inputs = list(inputs)
    return prog if spare else prog.trim()


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
        return i
    shape = tuple(getattr(value, "shape", ()))
    i = prog.add(CONST, value, key, op_name, shape, _dtype_of(value))
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


def _add_plain(prog, key, opdef, ids, params):
    """Append ``opdef(*ids)`` whose operands are all ``prog.plain`` and ``_fast(opdef)``.

    The fast path of big scalar graphs: an elementwise op keeping float64 whose
    operands are float64 scalars, none a constant, has a float64 scalar result,
    and :func:`gcompile.simplify.simplify` has nothing to say about it (the
    identities need a constant operand, folding needs all of them; involutions,
    shape-only ops and no-ops on equal shapes are not :func:`_fast`).
    """
    if len(prog.payload) >= len(prog.kinds):
        return prog.add(OP, (opdef, ids, params), key, opdef.name, (), F8)
    prog.payload.append((opdef, ids, params))  # the other columns hold a scalar op already
    prog.keys.append(key)
    prog.op_names.append(opdef.name)
    return len(prog.payload) - 1


def _fast(opdef):
    """1: a unary op of the fast path, 2: a binary one, 0: neither (see :func:`_op_adder`)."""
    if not opdef.elementwise or not opdef.keeps_float64 or opdef.shape_only \
            or opdef.noop_if_same_shape or opdef.involution:
        return 0
    if opdef.arity == 1:
        return 1
    return 2 if opdef.arity == 2 and opdef.broadcasts else 0


def _units(opdef):
    """Per operand position of a binary op: ``(identity, rewrites)``, the constant at which
    :func:`gcompile.simplify.simplify` turns the op into its other operand, and a dict
    from each constant it turns the op into a unary op at to that op, where the unary op
    of a float64 scalar is a float64 scalar op simplify has nothing more to say about
    than ``neg(neg(x)) = x`` (else ``None``: lowering asks simplify)."""
    identity = tuple(opdef.identity) + (None, None)
    return tuple((identity[pos], {c: _plain_unary(lookup(name))
                                  for p, c, name in opdef.unary_when if p == pos})
                 for pos in (0, 1))


def _plain_unary(opdef):
    if opdef.arity == 1 and opdef.elementwise and opdef.keeps_float64 and not opdef.params \
            and not opdef.shape_only and not opdef.noop_if_same_shape:
        return opdef
    return None


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
    return prog.add(OP, (opdef, tuple(ids), params), key, opdef.name, shape, dtype)
