"""The lowered program: flat lists indexed by node id, and how one node is added to it.

:class:`Program` holds what :mod:`gcompile.lowering` numbers (inputs, constants
and ops of the forward and backward graphs in one order) and what
:mod:`gcompile.emit` and :mod:`gcompile.native` read.  :func:`add_op` adds an
op after asking :func:`gcompile.simplify.simplify` (fold, alias, rewrite) and
:func:`gcompile.specialize.specialize` (arrays); :func:`add_plain` is the
fast path of float64 scalar ops simplify has nothing to say about
(:func:`fast_kind`); :func:`add_const` merges equal nonzero float constants.

Examples
--------
>>> from gcompile.registry import lookup
>>> prog = Program()
>>> x = prog.add(INPUT, 0, "x", "input", (), F8)
>>> one = add_const(prog, "one", 1.0)
>>> add_op(prog, "y", lookup("mul"), (x, one), {}) == x  # x * 1 is x
True
>>> prog.folded
1
"""
from __future__ import annotations

import numpy as np

from .errors import GraphError, node_error
from .registry import lookup
from .simplify import ALIAS, F8, REWRITE, Facts, simplify, uniform
from .specialize import specialize

__all__ = ["Program", "INPUT", "CONST", "OP", "F8", "add_op", "add_plain", "add_const",
           "fast_kind", "rewrite_units"]

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


def dtype_of(value):
    if type(value) is float:
        return F8
    dtype = getattr(value, "dtype", None)
    return None if dtype is None else dtype.str[1:]


def add_const(prog, key, value, op_name="const"):
    if type(value) is float and value:  # equal nonzero float constants share one entry
        i = prog.floats.get(value)
        if i is None:
            i = prog.floats[value] = prog.add(CONST, value, key, op_name, (), F8)
            prog.uniforms[i] = value
        return i
    shape = tuple(getattr(value, "shape", ()))
    i = prog.add(CONST, value, key, op_name, shape, dtype_of(value))
    same = uniform(value)
    if same is not None:
        prog.uniforms[i] = same
    return i


def shape_of(opdef, key, shapes, params):
    if opdef.broadcasts and not params and shapes[0] is not None \
            and all(s == shapes[0] for s in shapes):
        return shapes[0]
    try:
        return opdef.infer_shape(shapes, params)
    except GraphError as err:
        raise node_error(key, opdef.name, err) from None


def add_plain(prog, key, opdef, ids, params):
    """Append ``opdef(*ids)`` whose operands are all ``prog.plain`` and ``fast_kind(opdef)``.

    The fast path of big scalar graphs: an elementwise op keeping float64 whose
    operands are float64 scalars, none a constant, has a float64 scalar result,
    and :func:`gcompile.simplify.simplify` has nothing to say about it (the
    identities need a constant operand, folding needs all of them; involutions,
    shape-only ops and no-ops on equal shapes are not :func:`fast_kind`).
    """
    if len(prog.payload) >= len(prog.kinds):
        return prog.add(OP, (opdef, ids, params), key, opdef.name, (), F8)
    prog.payload.append((opdef, ids, params))  # the other columns hold a scalar op already
    prog.keys.append(key)
    prog.op_names.append(opdef.name)
    return len(prog.payload) - 1


def fast_kind(opdef):
    """1: a unary op of the fast path, 2: a binary one, 0: neither (see :func:`_op_adder`)."""
    if not opdef.elementwise or not opdef.keeps_float64 or opdef.shape_only \
            or opdef.noop_if_same_shape or opdef.involution:
        return 0
    if opdef.arity == 1:
        return 1
    return 2 if opdef.arity == 2 and opdef.broadcasts else 0


def rewrite_units(opdef):
    """Per operand position of a binary op: ``(identity, rewrites)``, the constant at which
    :func:`gcompile.simplify.simplify` turns the op into its other operand, and a dict
    from each constant it turns the op into a unary op at to that op, where the unary op
    of a float64 scalar is a float64 scalar op simplify has nothing more to say about
    than ``neg(neg(x)) = x`` (else ``None``: lowering asks simplify)."""
    identity = tuple(opdef.identity) + (None, None)
    return tuple((identity[pos], {c: plain_unary(lookup(name))
                                  for p, c, name in opdef.unary_when if p == pos})
                 for pos in (0, 1))


def plain_unary(opdef):
    if opdef.arity == 1 and opdef.elementwise and opdef.keeps_float64 and not opdef.params \
            and not opdef.shape_only and not opdef.noop_if_same_shape:
        return opdef
    return None


def add_op(prog, key, opdef, ids, params):
    shapes, dtypes, kinds = prog.shapes, prog.dtypes, prog.kinds
    if len(ids) == 1:
        a = ids[0]
        shape = shapes[a] if opdef.elementwise else shape_of(opdef, key, [shapes[a]], params)
        dtype = F8 if dtypes[a] == F8 and opdef.keeps_float64 else None
        constant = kinds[a] == CONST
    else:
        shape = shape_of(opdef, key, [shapes[i] for i in ids], params)
        dtype = F8 if opdef.keeps_float64 and all([dtypes[i] == F8 for i in ids]) else None
        constant = all([kinds[i] == CONST for i in ids])
    if constant or opdef.simplifies:
        found = simplify(opdef, ids, params, prog, shape, constant=constant)
        if found is not None:
            prog.folded += 1
            if found[0] == ALIAS:
                return found[1]
            if found[0] != REWRITE:
                return add_const(prog, key, found[1], opdef.name)
            _, opdef, ids = found
            params = {k: d for k, d in opdef.params.items()}
            dtype = F8 if opdef.keeps_float64 and all([dtypes[i] == F8 for i in ids]) else None
    if shape and (opdef.broadcasts or opdef.name == "sum_to_like"):  # arrays: gcompile.specialize
        found = specialize(opdef, ids, params, prog)
        if found is not None:
            opdef, ids, params = found
    return prog.add(OP, (opdef, tuple(ids), params), key, opdef.name, shape, dtype)
