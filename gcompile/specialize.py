"""Static-shape specialization: cheaper table ops once a feed signature fixes the shapes.

:func:`specialize` is called by :mod:`gcompile.lowering` for each op of a
compiled program, after :mod:`gcompile.simplify`.  With the operands' static
shapes and dtypes known, two gradient helpers become plain ops that numpy runs
without the helpers' generic shape logic, giving the same values bit for bit:

- ``sum_to_like(g, ref)`` -> ``sum(g, axis=...)`` over the axes it would reduce
  (the leading axes broadcasting added, or the size-1 axes of ``ref`` with
  ``keepdims``), as ``db = da.sum(0)`` is written by hand;
- an elementwise broadcasting op reading ``broadcast_like(a, ref)`` where ``a``
  broadcasts against the op's other operands to the same result reads ``a``
  itself (``c * t`` rather than ``broadcast(c, t) * t``).

Both only for float64 values (static dtype ``"f8"``), where the op keeps the
dtype either way.

Examples
--------
>>> from gcompile.simplify import ValueFacts
>>> from gcompile.registry import lookup
>>> facts = ValueFacts([None, None], [(100, 10), (10,)])
>>> op, ids, params = specialize(lookup("sum_to_like"), [0, 1], {}, facts)
>>> op.name, ids, params
('sum', [0], {'axis': (0,), 'keepdims': False})
"""
from __future__ import annotations

from .registry import broadcast_shape, lookup
from .simplify import F8

__all__ = ["specialize"]


def specialize(opdef, ids, params, facts):
    """A cheaper ``(opdef, ids, params)`` computing the same value, or ``None``.

    ``facts`` is a :class:`gcompile.lowering.Program` (static shapes, dtypes,
    producers and their params, ``op_params(i)``, of the operands).
    """
    if opdef.name == "sum_to_like":
        return _sum_to_like(ids, facts)
    if opdef.broadcasts and opdef.elementwise and len(ids) == 2:
        return _unbroadcast_operands(opdef, ids, params, facts)
    return None


def _sum_to_like(ids, facts):
    g, ref = ids
    have, want = facts.shape(g), facts.shape(ref)
    if have is None or want is None or have == want or facts.dtype(g) != F8:
        return None
    lead = len(have) - len(want)
    if lead < 0:
        return None
    kept = tuple(i + lead for i, d in enumerate(want) if d == 1 and have[i + lead] != 1)
    if lead and not kept:
        return lookup("sum"), [g], {"axis": tuple(range(lead)), "keepdims": False}
    if kept and not lead:
        return lookup("sum"), [g], {"axis": kept, "keepdims": True}
    return None


def _unbroadcast_operands(opdef, ids, params, facts):
    shape, dtype = facts.shape, facts.dtype
    shapes = [shape(i) for i in ids]
    if any(s is None for s in shapes) or any(dtype(i) != F8 for i in ids):
        return None
    out = broadcast_shape(*shapes)
    new = list(ids)
    for pos, i in enumerate(ids):
        made = facts.producer(i)
        if made is None or made[0] != "broadcast_like":
            continue
        a, ref = made[1]
        inner = shape(a)
        if inner is None or dtype(a) != F8 or dtype(ref) != F8 or len(inner) > len(out):
            continue
        if not (inner == () or facts.op_params(i).get("keepdims", True)):
            continue
        others = [shapes[k] for k in range(len(ids)) if k != pos]
        try:
            if broadcast_shape(inner, *others) != out:
                continue
        except Exception:  # noqa: BLE001 -- shapes that do not broadcast: keep the op
            continue
        new[pos] = a
        shapes[pos] = inner
    return None if new == list(ids) else (opdef, new, params)
