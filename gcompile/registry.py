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

__all__ = ["OpDef", "defop", "lookup", "registered_ops", "LEAF_OPS", "broadcast_shape"]

#: Node ``op`` values that are not registry ops: values that enter the graph.
LEAF_OPS = ("input", "const")

_REGISTRY: dict[str, "OpDef"] = {}


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
        Python expression template on operand names, e.g. ``"({0} * {1})"``.
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

    def infer_shape(self, shapes, params):
        """Output shape from operand shapes, or ``None`` when not known."""
        if self.shape is None or any(s is None for s in shapes):
            return None
        return tuple(self.shape(*shapes, **params))


def defop(name: str, arity: int, forward: Callable, *, vjp: Sequence = (), rules: Sequence = (),
          shape: Optional[Callable] = None, symbol: str = "", params: Optional[dict] = None,
          broadcasts: bool = False, scalar: Optional[Callable] = None, expr: Optional[str] = None,
          doc: str = "", replace: bool = False) -> OpDef:
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

    Examples
    --------
    >>> op = defop("double", 1, lambda xp, x: 2 * x, symbol="2·",
    ...            vjp=[lambda f, g, x, out: f.mul(g, 2.0)], rules=["d(2x)/dx = 2"],
    ...            shape=lambda s: s, replace=True)
    >>> op.symbol
    '2·'
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
    op = OpDef(name=name, arity=arity, forward=forward, shape=shape, symbol=symbol or name,
               vjp=vjp, rules=rules, params=dict(params or {}), broadcasts=broadcasts,
               scalar=scalar, expr=expr, doc=doc)
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
