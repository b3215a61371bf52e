"""The symbolic value traced code computes with.

A :class:`Value` stands for one node of a :class:`~gcompile.GraphBuilder`.
Python operators, numpy ufuncs and registry ops called as methods on it add
nodes to its builder; it holds no number, so code that branches on it or
converts it is an error.

Examples
--------
>>> import numpy as np, gcompile as gc
>>> b = gc.GraphBuilder()
>>> x = b.input("x", shape=(2, 2))
>>> [v.key for v in (x * 2.0, np.exp(x), x.sum(axis=0), x.T, 1.0 - x)]
['mul', 'exp', 'sum', 'transpose', 'sub']
"""
from __future__ import annotations

import dis
import math
import sys

from .errors import GraphError
from .registry import lookup, op_for_ufunc, registered_ops

__all__ = ["Value", "UnknownOpError", "op_attribute"]


class UnknownOpError(GraphError, AttributeError):
    """An attribute that names no registry op (also an AttributeError, so
    ``hasattr`` and ``from gcompile.ops import name`` behave)."""


def op_attribute(name):
    """The registry op ``name``, or :class:`UnknownOpError` (a GraphError and AttributeError).

    Examples
    --------
    >>> op_attribute("exp").arity
    1
    >>> op_attribute("sigmod")
    Traceback (most recent call last):
    ...
    gcompile.value.UnknownOpError: unknown op 'sigmod' (did you mean 'sigmoid', 'sign'?)
    """
    if name.startswith("_"):
        raise AttributeError(name)
    try:
        return lookup(name)
    except GraphError as err:
        raise UnknownOpError(str(err)) from None


class Value:
    """A node under construction: what traced code computes with.

    Supports ``+ - * / ** @``, unary ``-``, the numpy ufuncs ops declare with
    ``ufunc=`` (``np.exp``, ``np.multiply``), ``.T`` and every registry op as a method
    (``x.sum(axis=1)``, ``x.exp()``).  It has no number inside: ``bool(x)``,
    ``float(x)`` and comparisons are errors, since the graph cannot branch.
    """

    __slots__ = ("builder", "id")

    def __init__(self, builder, id_):
        self.builder = builder
        self.id = id_

    @property
    def shape(self):
        """Static shape when known from declared input shapes, else ``None``."""
        return self.builder._shapes[self.id]

    @property
    def key(self):
        """The node's key in ``builder.graph`` (automatic keys may still change
        until every user name is given)."""
        return self.builder._keys()[self.id]

    def __repr__(self):
        return f"<Value {self.key!r} op={self.builder._ops[self.id]!r} shape={self.shape}>"

    def _op(self, name, *operands):
        return self.builder.op(name, *operands)

    def __add__(self, other): return self._op("add", self, other)
    def __radd__(self, other): return self._op("add", other, self)
    def __sub__(self, other): return self._op("sub", self, other)
    def __rsub__(self, other): return self._op("sub", other, self)
    def __mul__(self, other): return self._op("mul", self, other)
    def __rmul__(self, other): return self._op("mul", other, self)
    def __truediv__(self, other): return self._op("div", self, other)
    def __rtruediv__(self, other): return self._op("div", other, self)
    def __pow__(self, other): return self._op("pow", self, other)
    def __rpow__(self, other): return self._op("pow", other, self)
    def __matmul__(self, other): return self._op("matmul", self, other)
    def __rmatmul__(self, other): return self._op("matmul", other, self)
    def __neg__(self): return self._op("neg", self)
    def __pos__(self): return self

    @property
    def T(self):
        """Transpose (reverses the axes)."""
        return self._op("transpose", self)

    def __getattr__(self, name):
        op_attribute(name)
        return lambda *args, **params: self.builder.op(name, self, *args, **params)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        op = op_for_ufunc(ufunc.__name__)
        if method != "__call__" or kwargs or op is None:
            raise GraphError(f"numpy {ufunc.__name__}.{method} cannot take a traced value: use "
                             f"the ops of gcompile.ops (e.g. gc.ops.exp(x), gc.ops.sum(x, axis=0))")
        return self.builder.op(op, *inputs)

    def _no_value(self, *args, **kwargs):
        raise GraphError(f"traced value {self.key!r} has no number while tracing: the graph cannot "
                         "branch on it or convert it (use ops such as gc.ops.maximum instead)")

    def _no_number(self, *args, **kwargs):
        name = _math_call(sys._getframe(1))
        hint = (f"math.{name} reads a Python number: use gc.ops.{name}({self.key}) instead"
                if name else "float(), int() or a math function reads a Python number: use the "
                "ops of gcompile.ops instead (e.g. gc.ops.exp, gc.ops.log, gc.ops.sqrt)")
        raise GraphError(f"traced value {self.key!r} has no number while tracing: {hint}")

    __float__ = __int__ = __index__ = __complex__ = _no_number
    __bool__ = __array__ = _no_value
    __lt__ = __le__ = __gt__ = __ge__ = __eq__ = __ne__ = __iter__ = __len__ = _no_value
    __hash__ = object.__hash__  # identity, so values can still key dicts and sets


def _math_call(frame):
    """The ``math`` function the code of ``frame`` was calling (``math.exp(x)``), if an op has it."""
    try:
        names = [ins.argval for ins in dis.get_instructions(frame.f_code)
                 if ins.offset <= frame.f_lasti and isinstance(ins.argval, str)
                 and getattr(ins.positions, "lineno", frame.f_lineno) == frame.f_lineno]
    except Exception:  # noqa: BLE001 - only a hint: never let it hide the real error
        return None
    ops = registered_ops()
    for name in reversed(names):
        if callable(getattr(math, name, None)) and name in ops:
            return name
    return None
