"""What the viewer's tooltip says about a value: scalars in full, tensors summarised.

Examples
--------
>>> import numpy as np
>>> summarize(np.float64(0.1) + 0.2)["text"]
'0.30000000000000004'
>>> s = summarize(np.arange(6.0).reshape(2, 3))
>>> s["shape"], s["dtype"], s["stats"]
('2×3', 'float64', 'min 0  mean 2.5  max 5')
"""
from __future__ import annotations

import numbers

import numpy as np

from ..drawing.style import clean_text, format_number
from ..errors import label

__all__ = ["summarize", "display_key", "FIRST_ENTRIES"]

#: How many leading entries of a tensor the tooltip lists.
FIRST_ENTRIES = 8


def display_key(key) -> str:
    """A node key as text: strings as they are, anything else as its ``repr``.

    Examples
    --------
    >>> display_key("apple"), display_key(("layer", 1))
    ('apple', "('layer', 1)")
    """
    return clean_text(label(key), 200)


def _full(x) -> str:
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (numbers.Integral, np.integer)):
        return str(int(x))
    if isinstance(x, (numbers.Complex, np.complexfloating)) and not isinstance(x, numbers.Real):
        return repr(complex(x))
    return repr(float(x))


def summarize(value):
    """A dict of texts describing ``value``: ``text``, and for arrays ``shape``, ``dtype``,
    ``stats`` (min, mean, max) and ``first`` (the leading entries).  ``None`` for ``None``.

    Examples
    --------
    >>> summarize(2.0)
    {'text': '2.0', 'shape': '()', 'dtype': 'float64'}
    >>> summarize(np.arange(20))["first"]
    '0, 1, 2, 3, 4, 5, 6, 7, …'
    """
    if value is None:
        return None
    try:
        arr = np.asarray(value)
    except Exception:  # an object numpy cannot hold: say what it is
        return {"text": clean_text(repr(value), 200)}
    if arr.dtype.kind not in "biufc":
        return {"text": clean_text(repr(value), 200), "shape": _shape(arr.shape),
                "dtype": str(arr.dtype)}
    if arr.ndim == 0:
        return {"text": _full(arr[()]), "shape": "()", "dtype": str(arr.dtype)}
    shape = _shape(arr.shape)
    out = {"text": f"{shape} {arr.dtype}", "shape": shape, "dtype": str(arr.dtype)}
    if arr.size:
        flat = arr.reshape(-1)
        first = ", ".join(format_number(x) for x in flat[:FIRST_ENTRIES])
        out["first"] = first + (", …" if arr.size > FIRST_ENTRIES else "")
        if arr.dtype.kind != "c":
            with np.errstate(all="ignore"):
                lo, mean, hi = flat.min(), flat.astype(float).mean(), flat.max()
            out["stats"] = (f"min {format_number(lo)}  mean {format_number(mean)}  "
                            f"max {format_number(hi)}")
    return out


def _shape(shape) -> str:
    return "×".join(str(n) for n in shape) if shape else "()"
