"""The op registry: where every op is declared once.

An :class:`OpDef` holds everything gcompile knows about an op: its arity, its
forward function (written against the Python array API, taking the array
namespace ``xp`` first), its shape rule, its display symbol, the parameters it
accepts, and one VJP rule per operand.  A VJP rule is a function
``rule(f, g, *operands, out, **params)`` that writes the operand's cotangent as
graph nodes into the fragment builder ``f`` (see :mod:`gcompile.fragment`),
using only ops of this same registry, so a backward graph can itself be
evaluated, rendered and differentiated.  ``None`` in place of a rule means the
operand gets no gradient (labels, masks, shapes).

Examples
--------
>>> import gcompile as gc
>>> op = gc.defop("cube", arity=1, symbol="³",
...               forward=lambda xp, x: x * x * x,
...               vjp=[lambda f, g, x, out: f.mul(g, f.mul(3.0, f.mul(x, x)))],
...               rules=["d(x³)/dx = 3x²"], replace=True)
>>> gc.lookup("cube").arity
1
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from .errors import GraphError, did_you_mean
from .schema import LEAF_OPS  # the format's leaf ops: values that enter the graph

__all__ = ["OpDef", "defop", "lookup", "registered_ops", "op_for_ufunc", "LEAF_OPS",
           "broadcast_shape"]


_REGISTRY: dict[str, "OpDef"] = {}
_UFUNCS: dict[str, str] = {}  # numpy ufunc name -> op name, from the ``ufunc`` fields


def broadcast_shape(*shapes):
    """Numpy broadcasting of shapes; ``None`` if any shape is unknown.

    Examples
    --------
    >>> broadcast_shape((2, 1), (3,))
    (2, 3)
    >>> broadcast_shape((2,), None) is None
    True
    """
    if any(s is None for s in shapes):
        return None
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise GraphError("shapes " + " and ".join(str(tuple(s)) for s in shapes)
                         + " do not broadcast together") from None


@dataclass(frozen=True)
class OpDef:
    """One op of the registry.  Build it with :func:`defop`.

    Attributes
    ----------
    name : str
        The value of a node's ``op`` attribute.
    arity : int
        Number of operands.
    forward : callable
        ``forward(xp, *operands, **params)`` computing the value.
    shape : callable or None
        ``shape(*operand_shapes, **params)`` -> output shape (``None`` = unknown).
    symbol : str
        Short text drawn in diagrams (``×``, ``+``, ``σ``).
    vjp : tuple
        One rule per operand (or ``None``: no gradient flows to it).
    rules : tuple of str
        Human text of each local derivative, e.g. ``d(x*y)/dx = y``.
    params : dict
        Accepted node attributes and their defaults.
    broadcasts : bool
        True for elementwise ops whose operands numpy may broadcast: their
        cotangents are summed back to each operand's shape.
    scalar : callable or None
        Pure-Python version on floats (``math.tanh``), for compiled code.
    expr : str or None
        Python expression template on operand names, e.g. ``"({0} * {1})"``,
        used by compiled code for scalars and arrays alike.
    elementwise : bool
        The result has the operand's shape (unary) or the operands' broadcast
        shape: compiled code then skips the shape rule.
    keeps_float64 : bool
        float64 operands give a float64 result: compiled code may keep such
        values as Python floats and alias identities.
    identity : tuple
        Per operand position, the constant ``e`` that makes the op return its
        other operand (``x * 1``, ``1 * x``: ``(1.0, 1.0)``), or ``None``.
    unary_when : tuple
        ``(position, constant, op name)`` triples: when the operand at
        ``position`` is ``constant`` everywhere, the result is that unary op of
        the other operand (``x * -1`` is ``neg(x)``: ``((1, -1.0, "neg"),)``).
    involution : bool
        The op undoes itself: ``op(op(x)) == x`` (``neg``).
    noop_if_same_shape : bool
        The op returns its first operand unchanged when the result has that
        operand's shape (reshapes, broadcasts, ``sum_to_like``).
    shape_only : bool
        The value depends only on the operands' shapes (and dtypes), not on
        their values (``ones_like``, ``count``): folded once shapes are known.
    ufunc : str or None
        Name of the numpy ufunc a traced value answers with this op (``"multiply"``).
    """

    name: str
    arity: int
    forward: Callable
    shape: Optional[Callable] = None
    symbol: str = ""
    vjp: tuple = ()
    rules: tuple = ()
    params: dict = field(default_factory=dict)
    broadcasts: bool = False
    scalar: Optional[Callable] = None
    expr: Optional[str] = None
    doc: str = ""
    elementwise: bool = False
    keeps_float64: bool = False
    identity: tuple = ()
    unary_when: tuple = ()
    involution: bool = False
    noop_if_same_shape: bool = False
    shape_only: bool = False
    ufunc: Optional[str] = None
    #: True when :mod:`gcompile.simplify` has an algebraic fact to use (set by ``__post_init__``).
    simplifies: bool = field(init=False, default=False)

    def __post_init__(self):
        object.__setattr__(self, "simplifies", bool(
            any(e is not None for e in self.identity) or self.unary_when or self.involution
            or self.noop_if_same_shape or self.shape_only))

    def infer_shape(self, shapes, params):
        """Output shape from operand shapes, or ``None`` when not known."""
        if self.shape is None or any(s is None for s in shapes):
            return None
        return tuple(self.shape(*shapes, **params))


def defop(name: str, arity: int, forward: Callable, *, vjp: Sequence = (), rules: Sequence = (),
          shape: Optional[Callable] = None, symbol: str = "", params: Optional[dict] = None,
          broadcasts: bool = False, scalar: Optional[Callable] = None, expr: Optional[str] = None,
          doc: str = "", replace: bool = False, elementwise: Optional[bool] = None,
          keeps_float64: bool = False, identity: Sequence = (), unary_when: Sequence = (),
          involution: bool = False, noop_if_same_shape: bool = False, shape_only: bool = False,
          ufunc: Optional[str] = None) -> OpDef:
    """Declare an op in one statement and register it.

    Parameters
    ----------
    name, arity, forward
        The op's name, operand count and ``forward(xp, *operands, **params)``.
    vjp
        One rule per operand: ``rule(f, g, *operands, out, **params)`` returning
        the node of that operand's cotangent built with the fragment ``f``, or
        ``None`` for an operand that gets no gradient.
    rules
        Text of each local derivative, shown in diagrams.
    shape, symbol, params, broadcasts, scalar, expr, doc
        See :class:`OpDef`.
    replace
        Allow re-declaring an existing name (otherwise a :class:`GraphError`).
    elementwise, keeps_float64, identity, unary_when, involution, noop_if_same_shape, shape_only
        Algebraic facts (see :class:`OpDef`): with them ``gc.optimize`` and
        ``gc.compile`` fold and simplify the op as they do the built-in ones
        (:mod:`gcompile.simplify`).  ``elementwise`` defaults to ``broadcasts``.
    ufunc
        The numpy ufunc (by name) that, called on a traced value, adds this op.

    Examples
    --------
    >>> op = defop("double", 1, lambda xp, x: 2 * x, symbol="2·",
    ...            vjp=[lambda f, g, x, out: f.mul(g, 2.0)], rules=["d(2x)/dx = 2"],
    ...            shape=lambda s: s, replace=True)
    >>> op.symbol
    '2·'

    An op with its algebraic facts: ``scale(x, 1)`` is ``x`` and ``scale(x, -1)`` is ``neg(x)``.

    >>> op = defop("scale", 2, lambda xp, x, k: x * k, shape=broadcast_shape, broadcasts=True,
    ...            keeps_float64=True, identity=(None, 1.0), unary_when=[(1, -1.0, "neg")],
    ...            replace=True)
    >>> op.identity, op.simplifies
    ((None, 1.0), True)
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise GraphError(f"op name must be an identifier string, got {name!r}")
    if name in LEAF_OPS:
        raise GraphError(f"op name {name!r} is reserved for graph leaves")
    if name in _REGISTRY and not replace:
        raise GraphError(f"op {name!r} is already registered (pass replace=True to redefine it)")
    if not isinstance(arity, int) or arity < 0:
        raise GraphError(f"op {name!r}: arity must be a non-negative int, got {arity!r}")
    vjp = tuple(vjp) if vjp else (None,) * arity
    if len(vjp) != arity:
        raise GraphError(f"op {name!r}: {len(vjp)} VJP rules for arity {arity}")
    rules = tuple(rules) if rules else ("",) * arity
    if len(rules) != arity:
        raise GraphError(f"op {name!r}: {len(rules)} rule texts for arity {arity}")
    identity = tuple(identity) if identity else ()
    if identity and len(identity) != arity:
        raise GraphError(f"op {name!r}: {len(identity)} identity elements for arity {arity}")
    unary_when = tuple(tuple(t) for t in unary_when)
    for t in unary_when:
        if len(t) != 3 or arity != 2 or t[0] not in (0, 1) or not isinstance(t[2], str):
            raise GraphError(f"op {name!r}: unary_when takes (position 0 or 1, constant, op name) "
                             f"triples for a binary op, got {t!r}")
    if ufunc is not None and not isinstance(ufunc, str):
        raise GraphError(f"op {name!r}: ufunc must be a numpy ufunc name, got {ufunc!r}")
    op = OpDef(name=name, arity=arity, forward=forward, shape=shape, symbol=symbol or name,
               vjp=vjp, rules=rules, params=dict(params or {}), broadcasts=broadcasts,
               scalar=scalar, expr=expr, doc=doc,
               elementwise=broadcasts if elementwise is None else bool(elementwise),
               keeps_float64=bool(keeps_float64), identity=identity, unary_when=unary_when,
               involution=bool(involution), noop_if_same_shape=bool(noop_if_same_shape),
               shape_only=bool(shape_only), ufunc=ufunc)
    old = _REGISTRY.get(name)
    if old is not None and old.ufunc is not None:
        _UFUNCS.pop(old.ufunc, None)
    if ufunc is not None:
        _UFUNCS[ufunc] = name
    _REGISTRY[name] = op
    return op


def lookup(name, node=None) -> OpDef:
    """The :class:`OpDef` registered as ``name``; a :class:`GraphError` otherwise.

    Examples
    --------
    >>> lookup("mul").symbol
    '×'
    """
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        where = "" if node is None else f"node {node!r}: "
        raise GraphError(f"{where}unknown op {name!r}"
                         + did_you_mean(name, list(_REGISTRY) + list(LEAF_OPS))) from None


def registered_ops() -> dict:
    """A copy of the registry: name -> :class:`OpDef`, in declaration order.

    Examples
    --------
    >>> "matmul" in registered_ops()
    True
    """
    return dict(_REGISTRY)


def op_for_ufunc(ufunc_name):
    """The name of the op declared with ``ufunc=ufunc_name``, or ``None``.

    Examples
    --------
    >>> op_for_ufunc("multiply"), op_for_ufunc("arctan2")
    ('mul', None)
    """
    return _UFUNCS.get(ufunc_name)
