"""The simplifier: constant folding and algebraic identities, written once.

:func:`simplify` looks at one op and what is known about its operands and says
what the op's value is without running it:

- ``(CONST, value)``: every operand is a constant (or the op is
  ``shape_only`` and the shapes are known): evaluated once;
- ``(ALIAS, operand)``: an identity, where static shapes prove the result is
  that operand: ``x * 1``, ``1 * x``, ``x + 0``, ``x - 0``, ``x / 1``,
  ``x ** 1`` (the op's ``identity``), ``neg(neg(x))`` (``involution``), a
  reshape or broadcast to the shape ``x`` already has (``noop_if_same_shape``);
- ``(REWRITE, opdef, operands)``: a cheaper op, ``x * -1`` -> ``neg(x)`` (the
  op's ``unary_when``);
- ``None``: nothing to do.

Every fact comes from the op's declaration (:func:`gcompile.defop`), so a
user-declared op is simplified like a built-in one.  Both ``gc.optimize``
(:func:`gcompile.passes.fold_constants`) and ``gc.compile`` (its lowering) call
it, each through an object describing its operands (see :class:`Facts`).
``x * 0`` is never folded: it is ``nan`` when ``x`` is ``inf``.

With ``exact=True`` (compiled code, which knows the feeds' dtypes) an identity
is used only where it also keeps the dtype: float64 operands of an op that
``keeps_float64``.  ``gc.optimize`` works on graphs without dtypes and keeps
values, not dtypes (``exact=False``).

Examples
--------
>>> from gcompile.registry import lookup
>>> facts = ValueFacts([None, 1.0], [(3,), ()])
>>> simplify(lookup("mul"), [0, 1], {}, facts, (3,))
('alias', 0)
>>> simplify(lookup("mul"), [0, 1], {}, ValueFacts([None, -1.0], [(3,), ()]), (3,))[:1]
('rewrite',)
>>> kind, value = simplify(lookup("add"), [0, 1], {}, ValueFacts([2.0, 3.0], [(), ()]), ())
>>> kind, float(value)
('const', 5.0)
"""
from __future__ import annotations

import numpy as np

from .registry import lookup

__all__ = ["simplify", "uniform", "Facts", "ValueFacts", "CONST", "ALIAS", "REWRITE", "F8"]

CONST, ALIAS, REWRITE = "const", "alias", "rewrite"
#: Static dtype marker of float64 values (numpy ``dtype.str`` without byte order).
F8 = "f8"


def uniform(value):
    """The number a constant equals everywhere (real or bool dtype), else ``None``.

    Examples
    --------
    >>> uniform(1.0), uniform(np.ones((2, 2))), uniform([1.0, 2.0]), uniform(np.zeros(0))
    (1.0, 1.0, None, None)
    """
    if type(value) is float:
        return value
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        return None
    if arr.dtype.kind not in "biuf" or arr.size == 0:
        return None
    first = arr.flat[0]
    if not bool(np.all(arr == first)):
        return None
    return float(first)


class Facts:
    """What a caller knows about operands ``i`` (ids of its own choosing).

    Subclasses answer ``shape(i)`` (static shape or ``None``), ``dtype(i)``
    (``"f8"``-style string or ``None``), ``is_const(i)``, ``value(i)`` (of a
    constant), ``uniform(i)`` (:func:`uniform` of a constant, else ``None``),
    ``producer(i)`` (``(op name, operand ids)`` of the op computing ``i``, or
    ``None``) and ``fold(opdef, args, params)`` (evaluate, or ``None`` to leave
    the op to run time).
    """

    def producer(self, i):
        return None

    def fold(self, opdef, args, params):
        try:
            with np.errstate(all="ignore"):
                return opdef.forward(np, *args, **params)
        except Exception:  # noqa: BLE001 -- left to run time, which reports it with the node
            return None


class ValueFacts(Facts):
    """Facts from lists: ``values[i]`` (``None`` = not a constant) and ``shapes[i]``.

    The dtype of a constant is its own; other operands are taken as float64.
    """

    def __init__(self, values, shapes, producers=None):
        self.values, self.shapes = values, shapes
        self.producers = producers or {}

    def shape(self, i):
        return self.shapes[i]

    def dtype(self, i):
        v = self.values[i]
        return F8 if v is None or type(v) is float else np.asarray(v).dtype.str[1:]

    def is_const(self, i):
        return self.values[i] is not None

    def value(self, i):
        return self.values[i]

    def uniform(self, i):
        return None if self.values[i] is None else uniform(self.values[i])

    def producer(self, i):
        return self.producers.get(i)


def simplify(opdef, ids, params, facts, out_shape, *, exact=True, constant=None):
    """What ``opdef(*ids, **params)`` is without running it (see the module notes).

    ``out_shape`` is the op's static result shape (``None`` if unknown);
    ``constant`` whether every operand is a constant, when the caller knows.
    """
    if constant is None:
        is_const = facts.is_const
        constant = all([is_const(i) for i in ids])
    if constant:
        value = facts.fold(opdef, [facts.value(i) for i in ids], params)
        return None if value is None else (CONST, value)
    if not opdef.simplifies:
        return None
    if opdef.shape_only:
        value = _fold_shape_only(opdef, ids, params, facts, exact)
        if value is not None:
            return CONST, value
    if out_shape is None:
        return None
    shape = facts.shape
    if opdef.noop_if_same_shape and shape(ids[0]) == out_shape and (
            not exact or len(ids) == 1 or _same_dtype(facts, ids[0], ids[-1])):
        return ALIAS, ids[0]   # broadcast_like casts a Python number to ref's dtype: same dtype too
    if opdef.involution and len(ids) == 1:
        made = facts.producer(ids[0])
        if made is not None and made[0] == opdef.name and shape(made[1][0]) == out_shape \
                and (not exact or _float(facts.dtype(made[1][0]))):
            return ALIAS, made[1][0]
    if len(ids) != 2:
        return None
    uniform = facts.uniform
    units = (uniform(ids[0]), uniform(ids[1]))
    if units[0] is None and units[1] is None:
        return None
    if exact and not (opdef.keeps_float64 and facts.dtype(ids[0]) == F8
                      and facts.dtype(ids[1]) == F8):
        return None
    for pos, unit in enumerate(opdef.identity):
        keep = ids[1 - pos]
        if unit is not None and units[pos] == unit and shape(keep) == out_shape:
            return ALIAS, keep
    for pos, constant, name in opdef.unary_when:
        keep = ids[1 - pos]
        if units[pos] == constant and shape(keep) == out_shape:
            unary = lookup(name)
            found = simplify(unary, [keep], {}, facts, out_shape, exact=exact, constant=False)
            return found if found is not None and found[0] != REWRITE else (REWRITE, unary, [keep])
    return None


def _same_dtype(facts, a, b):
    dtype = facts.dtype(a)
    return dtype is not None and dtype == facts.dtype(b)


def _float(dtype):
    return dtype is not None and dtype[:1] in ("f", "c")


def _fold_shape_only(opdef, ids, params, facts, exact):
    """Evaluate a shape-only op on zero-stride stand-ins of the operands' shapes and dtypes.

    With ``exact`` and an unknown dtype, fold only when float64 and float32
    stand-ins give the same value and type (``count``: yes; ``ones_like``: no).
    """
    shapes = [facts.shape(i) for i in ids]
    if any(s is None for s in shapes):
        return None
    dtypes = [facts.dtype(i) for i in ids]
    if not exact or all(d is not None for d in dtypes):
        return facts.fold(opdef, _stand_ins(shapes, dtypes, F8), params)
    a = facts.fold(opdef, _stand_ins(shapes, dtypes, F8), params)
    b = facts.fold(opdef, _stand_ins(shapes, dtypes, "f4"), params)
    if a is None or b is None or type(a) is not type(b) \
            or getattr(a, "dtype", None) != getattr(b, "dtype", None):
        return None
    return a if bool(np.all(np.asarray(a) == np.asarray(b))) else None


def _stand_ins(shapes, dtypes, default):
    return [np.broadcast_to(np.zeros((), dtype=d or default), s) for s, d in zip(shapes, dtypes)]
