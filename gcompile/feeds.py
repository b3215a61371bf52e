"""The feed reader: how a value fed to an input (or held by a ``const``) is read.

The interpreter (:func:`gcompile.evaluate`) and compiled code
(:func:`gcompile.compile`) read feeds here, so both accept the same values,
give them the same dtypes and raise the same errors:

- Python numbers become float64 (``2`` is ``2.0``), bools ``np.bool_``;
- numpy arrays and numpy scalars keep their dtype, 0-d ones too (an integer
  label stays an integer, a float32 weight stays float32);
- lists and tuples become arrays; torch tensors and dask arrays are kept
  (see :mod:`gcompile.namespace`);
- complex values are refused (the VJP rules are for real numbers);
- anything else, a missing feed, or a value whose shape differs from the
  input's declared ``shape`` is a :class:`~gcompile.GraphError` naming the input.

A ``const`` node's Python number stays a Python float: numpy treats it as
"weak", so a float32 array times a const ``1.0`` stays float32.

Examples
--------
>>> read_input("x", 2, None), read_input("t", np.array(2, np.int32), ()).dtype
(np.float64(2.0), dtype('int32'))
>>> read_input("x", MISSING, None)
Traceback (most recent call last):
...
gcompile.errors.GraphError: missing feed for input node 'x'
"""
from __future__ import annotations

import numbers

import numpy as np

from .errors import GraphError, describe_value
from .namespace import is_foreign_array

__all__ = ["MISSING", "as_value", "const_value", "read_input", "check_shape"]

#: What an input without a feed and without a ``value`` attribute holds.
MISSING = object()


def as_value(value, node):
    """Check and convert a fed value: numbers become float64, sequences arrays.

    Examples
    --------
    >>> as_value(2, "x"), as_value([1, 2], "x").dtype
    (np.float64(2.0), dtype('int64'))
    """
    if isinstance(value, (np.ndarray, np.generic)):
        if value.dtype.kind not in "biuf":
            raise _not_real(value, node)
        return value
    if isinstance(value, bool):
        return np.bool_(value)
    if isinstance(value, numbers.Real):
        return np.float64(value)
    if isinstance(value, numbers.Complex):
        raise _not_real(value, node)
    if isinstance(value, (list, tuple)):
        try:
            arr = np.asarray(value)
        except ValueError as err:
            raise GraphError(f"feed for input {node!r} is not a regular array: {err}") from None
        if arr.dtype.kind not in "biuf":
            raise _not_real(value, node)
        return arr
    if hasattr(value, "__array_namespace__") or is_foreign_array(value):
        return value  # a torch tensor, a dask array...: see gcompile.namespace
    raise GraphError(f"feed for input {node!r} is not numeric: {describe_value(value)}")


def _not_real(value, node):
    """Complex values are refused (the rules are for real numbers), others are not numeric."""
    if isinstance(value, numbers.Complex) or np.asarray(value).dtype.kind == "c":
        return GraphError(f"value of {node!r} is complex ({describe_value(value)}): gcompile "
                          f"computes on real numbers (feed the real and imaginary parts as "
                          f"two inputs)")
    return GraphError(f"feed for input {node!r} is not numeric: {describe_value(value)}")


def const_value(value, node):
    """A const node's value: Python numbers stay (weak) Python floats, the rest as fed.

    Examples
    --------
    >>> const_value(1, "c"), const_value(np.float32(1), "c").dtype
    (1.0, dtype('float32'))
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return as_value(value, node)


def check_shape(node, value, declared):
    """Raise when input ``node`` declares shape ``declared`` (``None``: any) and was fed
    ``value`` of another shape; return ``value``."""
    if declared is not None:
        got = tuple(getattr(value, "shape", ()))
        if got != tuple(declared):
            raise GraphError(f"input {node!r} declares shape {tuple(declared)} but was fed "
                             f"{describe_value(value)}")
    return value


def read_input(node, value, declared):
    """The value of input ``node``: its feed (or default ``value``; :data:`MISSING` if
    none), read by :func:`as_value` and checked against the ``declared`` shape."""
    if value is MISSING:
        raise GraphError(f"missing feed for input node {node!r}")
    return check_shape(node, as_value(value, node), declared)
