"""What the ``gcompile`` command prints: values and aligned tables, deterministic text.

Scalars are shown with 12 significant digits, so float noise such as
``220.00000000000003`` prints as ``220`` while real precision is kept; array
elements with 6, and large arrays are summarised (``[0, 1, ..., 28, 29]``).

Examples
--------
>>> import numpy as np
>>> print(format_value(220.00000000000003), format_value(np.float64(2.2)), format_value(7))
220 2.2 7
>>> print(table([("apple", "2.2"), ("tax", "200")], header=("node", "value")))
  node   value
  -----  -----
  apple  2.2
  tax    200
"""
from __future__ import annotations

import numpy as np

__all__ = ["format_value", "format_shape", "node_label", "table", "value_table", "gradient_report"]


def format_value(value) -> str:
    """One line for a scalar or an array (large arrays summarised by numpy).

    Examples
    --------
    >>> format_value(np.array([[1.0, 0.5], [0.25, 1e-3]]))
    '[[1, 0.5], [0.25, 0.001]]'
    >>> format_value(np.arange(30.0))
    '[0, 1, ..., 28, 29]'
    """
    arr = np.asarray(value)
    if arr.ndim == 0:
        return _scalar(arr.item())
    text = np.array2string(arr, separator=", ", threshold=8, edgeitems=2, max_line_width=10**6,
                           formatter={"all": lambda x: _scalar(np.asarray(x).item(), 6)})
    return " ".join(text.split())


def _scalar(x, digits=12) -> str:
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x)
    if isinstance(x, complex):
        return f"{x.real:.{digits}g}{x.imag:+.{digits}g}j"
    text = f"{x:.{digits}g}"
    return "0" if text == "-0" else text


def format_shape(value) -> str:
    """``"()"`` for scalars, ``"(2, 3)"`` for arrays.

    Examples
    --------
    >>> format_shape(1.0), format_shape(np.zeros((2, 3)))
    ('()', '(2, 3)')
    """
    return str(tuple(np.shape(value)))


def node_label(key) -> str:
    """A node key as printed: strings bare, other keys by ``repr``.

    Examples
    --------
    >>> node_label("x"), node_label(("layer", 1))
    ('x', "('layer', 1)")
    """
    return key if isinstance(key, str) else repr(key)


def table(rows, header) -> str:
    """Left-aligned columns, two-space indent, a dashed rule under the header."""
    rows = [tuple(str(c) for c in row) for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(header)]

    def line(cells):
        return ("  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths))).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def value_table(graph, values, nodes) -> str:
    """Table of node, op, shape and value for ``nodes`` (in the given order).

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple
    >>> g, feeds = apple()
    >>> print(value_table(g, gc.evaluate(g, feeds), ["apple_price", "price"]))
      node         op   shape  value
      -----------  ---  -----  -----
      apple_price  mul  ()     200
      price        mul  ()     220
    """
    rows = [(node_label(n), graph.nodes[n].get("op", "?"), format_shape(values[n]),
             format_value(values[n])) for n in nodes]
    return table(rows, ("node", "op", "shape", "value"))


def gradient_report(output, value, grads) -> str:
    """``output = value`` then the table of d output / d node for each ``wrt`` node.

    Examples
    --------
    >>> print(gradient_report("price", 220.00000000000003, {"apple": 2.2, "tax": 200.0}))
    price = 220
    <BLANKLINE>
      d price / d  shape  gradient
      -----------  -----  --------
      apple        ()     2.2
      tax          ()     200
    """
    head = f"{node_label(output)} = {format_value(value)}"
    rows = [(node_label(w), format_shape(g), format_value(g)) for w, g in grads.items()]
    return head + "\n\n" + table(rows, (f"d {node_label(output)} / d", "shape", "gradient"))
