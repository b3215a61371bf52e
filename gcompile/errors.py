"""The one exception family of gcompile, and helpers that name the culprit.

Every error a user can cause (a bad graph, a bad feed, a bad file, a bad
argument) is raised as :class:`GraphError`, a :class:`ValueError`.

Examples
--------
>>> try:
...     raise GraphError("node 'z': unknown op 'mull'" + did_you_mean("mull", ["mul", "add"]))
... except ValueError as err:
...     print(err)
node 'z': unknown op 'mull' (did you mean 'mul'?)
"""
from __future__ import annotations

import difflib

__all__ = ["GraphError", "did_you_mean", "describe_value", "node_name", "label", "resolve",
           "node_error"]


class GraphError(ValueError):
    """Raised for every bad graph, bad feed, bad file or bad argument.

    Examples
    --------
    >>> issubclass(GraphError, ValueError)
    True
    """


def did_you_mean(name, choices, n: int = 3) -> str:
    """Return ``" (did you mean 'a', 'b'?)"`` for close matches, or ``""``.

    Examples
    --------
    >>> did_you_mean("sigmod", ["sigmoid", "sin"])
    " (did you mean 'sigmoid'?)"
    >>> did_you_mean("zzz", ["add"])
    ''
    """
    strs = {str(c): c for c in choices}
    close = difflib.get_close_matches(str(name), list(strs), n=n, cutoff=0.5)
    if not close:
        return ""
    return " (did you mean " + ", ".join(repr(strs[c]) for c in close) + "?)"


def node_name(key) -> str:
    """A short printable name for a node key (its ``repr`` for non-strings).

    Examples
    --------
    >>> node_name("x"), node_name(("layer", 1))
    ("'x'", "('layer', 1)")
    """
    text = repr(key)
    return text if len(text) <= 80 else text[:77] + "..."


def label(key) -> str:
    """A node key as text: string keys as they are, other keys as their ``repr``.

    Examples
    --------
    >>> label("x"), label(("layer", 1))
    ('x', "('layer', 1)")
    """
    return key if isinstance(key, str) else repr(key)


def resolve(alias, key):
    """Follow ``alias`` (a dict from a key to the key replacing it) to its end.

    Examples
    --------
    >>> resolve({"a": "b", "b": "c"}, "a"), resolve({}, "a")
    ('c', 'a')
    """
    while key in alias:
        key = alias[key]
    return key


def node_error(node, op, err, operands=None) -> GraphError:
    """The error ``node X (op Y): ...`` naming a node, its op and (for a failure
    that is not a GraphError) the operands it failed on.

    Examples
    --------
    >>> import numpy as np
    >>> print(node_error("z", "mul", "operand shapes (2,) and (3,) do not broadcast"))
    node 'z' (op 'mul'): operand shapes (2,) and (3,) do not broadcast
    >>> print(node_error("z", "log", ZeroDivisionError("division by zero"), [np.zeros(2)]))
    node 'z' (op 'log') failed on operands [array of shape (2,) and dtype float64]: \
ZeroDivisionError: division by zero
    """
    if operands is None or isinstance(err, (GraphError, str)):
        return GraphError(f"node {node!r} (op {op!r}): {err}")
    shapes = ", ".join(describe_value(a) for a in operands)
    return GraphError(f"node {node!r} (op {op!r}) failed on operands [{shapes}]: "
                      f"{type(err).__name__}: {err}")


def describe_value(value) -> str:
    """Describe a value by type, shape and dtype, for error messages.

    Examples
    --------
    >>> import numpy as np
    >>> describe_value(np.zeros((2, 3)))
    'array of shape (2, 3) and dtype float64'
    >>> describe_value(1.5)
    'float 1.5'
    """
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is not None and dtype is not None and shape != ():
        return f"array of shape {tuple(shape)} and dtype {dtype}"
    if dtype is not None:
        return f"scalar {value!r} of dtype {dtype}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"
