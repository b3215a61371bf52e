"""What the ``gcompile`` command prints: values and aligned tables, deterministic text.

Scalars are shown with 12 significant digits, so float noise such as
``220.00000000000003`` prints as ``220`` while real precision is kept.  In a
table a tensor gets its shape, its norm and a few entries (the first three and
the last, 4 significant digits), so a row stays one short line.  Every node
key and name passes through :func:`gcompile.escape.text`: newlines, carriage
returns and ESC sequences in a key print as escapes, never as themselves.

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

from ..escape import key_text, text

__all__ = ["format_value", "format_shape", "format_entries", "format_norm", "node_label", "table",
           "value_table", "gradient_report", "passes_report"]

#: Tensors with more entries than this are shown by a few of them (see :func:`format_entries`).
FULL_ENTRIES = 4


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


def format_entries(value) -> str:
    """A value for a table cell: a scalar in full, a tensor by a few entries in row-major order.

    A tensor shows all its entries when it has at most :data:`FULL_ENTRIES`,
    else the first three, ``...`` and the last; 4 significant digits.

    Examples
    --------
    >>> format_entries(220.00000000000003)
    '220'
    >>> format_entries(np.array([[1.0, 0.5], [0.25, 1e-3]]))
    '1, 0.5, 0.25, 0.001'
    >>> format_entries(np.arange(20.0).reshape(4, 5) / 3)
    '0, 0.3333, 0.6667, ..., 6.333'
    """
    arr = np.asarray(value)
    if arr.ndim == 0:
        return format_value(arr)
    flat = [_scalar(np.asarray(x).item(), 4) for x in arr.reshape(-1)[:FULL_ENTRIES]]
    if arr.size > FULL_ENTRIES:
        flat = flat[:3] + ["...", _scalar(np.asarray(arr.reshape(-1)[-1]).item(), 4)]
    return ", ".join(flat) if flat else "(empty)"


def format_norm(value) -> str:
    """The 2-norm (Frobenius norm) of a value, 4 significant digits; ``""`` if not numeric.

    Examples
    --------
    >>> format_norm(np.array([3.0, 4.0])), format_norm(-2.0)
    ('5', '2')
    """
    arr = np.asarray(value)
    if arr.dtype.kind not in "biufc":
        return ""
    return _scalar(float(np.linalg.norm(arr.astype(float).reshape(-1))), 4) if arr.size else "0"


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
    return key_text(key)


def table(rows, header) -> str:
    """Left-aligned columns, two-space indent, a dashed rule under the header.

    Cells are escaped (:func:`gcompile.escape.text`), so a cell is one line.
    """
    header = [text(h) for h in header]
    rows = [tuple(text(c) for c in row) for row in rows]
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
    return _value_rows([(n, graph.nodes[n].get("op", "?")) for n in nodes], values,
                       ("node", "op", "shape", "value"))


def _value_rows(keyed, values, header):
    """Rows ``(node, *extra, shape, [norm,] value)``: a norm column when a tensor is shown."""
    tensors = any(np.ndim(values[k[0]]) > 0 for k in keyed)
    rows = []
    for key, *extra in keyed:
        value = values[key]
        cells = [node_label(key), *extra, format_shape(value)]
        cells += [format_norm(value), format_entries(value)] if tensors else [format_value(value)]
        rows.append(cells)
    header = list(header[:-1]) + (["norm"] if tensors else []) + [header[-1]]
    return table(rows, header)


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
    head = f"{node_label(output)} = {format_entries(value)}"
    keyed = [(w,) for w in grads]
    return head + "\n\n" + _value_rows(keyed, grads, (f"d {node_label(output)} / d", "shape",
                                                         "gradient"))


def passes_report(log) -> str:
    """What each simplification pass did, from a :class:`~gcompile.PassLog` or its ``to_dict()``.

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple
    >>> g, _ = apple()
    >>> print(passes_report(gc.optimize(gc.grad(g, "price", g.graph["wrt"]))[1]))
    passes: 9 nodes -> 6 nodes
      fold_constants: 9 -> 7
        dapple_price  replaced by its operand tax
        dtax          replaced by its operand apple_price
      eliminate_common_subexpressions: 7 -> 7 (nothing merged)
      eliminate_dead_code: 7 -> 6
        dprice        removed: no gradient needs it
    """
    log = log if isinstance(log, dict) else log.to_dict()
    idle = {"fold_constants": "nothing folded", "eliminate_dead_code": "nothing removed"}
    done = [(rec, _pass_items(rec)) for rec in log["records"]]
    width = max((len(old) for _, items in done for old, _ in items), default=0)
    lines = [f"passes: {log['before']} nodes -> {log['after']} nodes"]
    for rec, items in done:
        quiet = "" if items else f" ({idle.get(rec['pass'], 'nothing merged')})"
        lines.append(f"  {rec['pass']}: {rec['before']} -> {rec['after']}{quiet}")
        lines += [f"    {old.ljust(width)}  {what}" for old, what in items]
    return "\n".join(lines)


def _pass_items(rec):
    """``[(node, what happened to it)]`` for one record of a pass log, keys escaped."""
    items = [(old, f"folded to the constant {text(new)}") for old, new in rec["folded"]]
    items += [(old, f"replaced by its operand {key_text(new)}") for old, new in rec["aliased"]]
    items += [(old, f"merged into {key_text(new)} (the same computation)")
              for old, new in rec["merged"]]
    items += [(old, "removed: no gradient needs it") for old in rec["removed"]]
    return [(key_text(old), what) for old, what in items]
