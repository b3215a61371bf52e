"""``--feed NAME=VALUE``: a number, a JSON array or ``@FILE.npy``, read defensively.

Every problem is a :class:`~gcompile.GraphError` naming the option: a JSON
array nested deeper than numpy's 64 axes is refused before it is parsed (no
RecursionError), and a ``.npy`` header is read and its declared size checked
against the file's size before any data is (a small file declaring a huge
shape is not allocated); pickles are never loaded.

Examples
--------
>>> import numpy as np
>>> parse_feed("tax=1.1")
('tax', np.float64(1.1))
>>> name, value = parse_feed("W=[[1.0, 2.0], [3.0, 4.0]]")
>>> value.shape
(2, 2)
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..errors import GraphError

__all__ = ["parse_feed", "FEED_HELP", "MAX_FEED_DEPTH"]

FEED_HELP = "expected NAME=VALUE, e.g. --feed x=1.5, --feed W=[[1,2],[3,4]] or --feed W=@w.npy"

#: Deepest nesting of a JSON array given to ``--feed`` (numpy arrays have at most 64 axes).
MAX_FEED_DEPTH = 64


def parse_feed(text: str):
    """``NAME=VALUE`` -> ``(name, value)``; VALUE is a number, a JSON array or ``@file.npy``.

    Examples
    --------
    >>> parse_feed("x=-2")
    ('x', np.float64(-2.0))
    >>> parse_feed("x")
    Traceback (most recent call last):
    ...
    gcompile.errors.GraphError: --feed 'x': expected NAME=VALUE, e.g. --feed x=1.5, --feed W=[[1,2],[3,4]] or --feed W=@w.npy
    """
    name, sep, raw = text.partition("=")
    name, raw = name.strip(), raw.strip()
    if not sep or not name or not raw:
        raise GraphError(f"--feed {text!r}: {FEED_HELP}")
    if raw.startswith("@"):
        return name, _load_array(raw[1:], name)
    try:
        return name, np.float64(float(raw))
    except ValueError:
        pass
    depth = _nesting(raw)
    if depth > MAX_FEED_DEPTH:
        raise GraphError(f"--feed {name}: the JSON array is nested {depth} deep; arrays have at "
                         f"most {MAX_FEED_DEPTH} axes")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        raise GraphError(f"--feed {text!r}: {raw!r} is not a number, a JSON array or "
                         f"@FILE.npy") from None
    try:
        value = np.asarray(data)
    except ValueError:
        raise GraphError(f"--feed {text!r}: the JSON array is not rectangular") from None
    if value.dtype.kind not in "biuf":
        raise GraphError(f"--feed {text!r}: {raw!r} is not a number, a JSON array or @FILE.npy")
    return name, value


def _nesting(raw: str) -> int:
    """The deepest ``[`` nesting of a JSON text (strings skipped), counted without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in raw:
        if in_string:
            escaped, in_string = (False, True) if escaped else (ch == "\\", ch != '"')
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _load_array(filename: str, name: str):
    """Read a ``.npy`` file (never pickles: loading executes no code).

    The header is read first and its declared size checked against the file's
    size, so a small file declaring a huge shape is refused before anything is
    allocated.
    """
    if not filename:
        raise GraphError(f"--feed {name}=@: give a file name after '@', e.g. {name}=@{name}.npy")
    path = Path(filename)
    if not path.is_file():
        raise GraphError(f"--feed {name}: no such file {filename!r}")
    where = f"--feed {name}: cannot read {filename!r} as a .npy array"
    try:
        with path.open("rb") as fh:
            if fh.read(4) == b"PK\x03\x04":
                raise GraphError(f"--feed {name}: {filename!r} is an .npz archive; save one array "
                                 f"with np.save")
            fh.seek(0)
            shape, dtype = _npy_header(fh, where)
            if dtype.kind not in "biuf":
                raise GraphError(f"--feed {name}: {filename!r} holds {dtype} values, not numbers")
            declared = math.prod(shape) * dtype.itemsize
            held = path.stat().st_size - fh.tell()
            if declared > held:
                raise GraphError(f"{where}: its header declares shape {shape} ({declared:,} bytes) "
                                 f"but the file holds {held:,} bytes after the header")
            fh.seek(0)
            value = np.load(fh, allow_pickle=False)
    except OSError as err:
        raise GraphError(f"{where}: {err.strerror or err}") from None
    except (ValueError, EOFError) as err:
        if isinstance(err, GraphError):
            raise
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise GraphError(f"{where}: {first}") from None
    return value


def _npy_header(fh, where):
    """``(shape, dtype)`` from a ``.npy`` header; any malformed header is a GraphError."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, _, dtype = read(fh)
    except Exception as err:  # noqa: BLE001 - untrusted bytes: every parser failure is bad input
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise GraphError(f"{where}: bad header ({first})") from None
    return tuple(int(n) for n in shape), dtype
