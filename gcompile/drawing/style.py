"""How diagrams look: themes, fonts, human numbers and safe label text.

Pure formatting helpers for :mod:`gcompile.drawing.draw`: nothing here runs an
engine.  Every piece of user text (node keys, labels, values) passes through
:func:`clean_text` and then :func:`html_text` (for HTML-like labels) or
:func:`plain_text` (for escString attributes such as tooltips), so quotes,
``<``, ``&``, newlines, backslashes and control characters always reach the
picture literally.

Examples
--------
>>> format_number(220.00000000000003), format_number(110.00000000000001), format_number(2.2)
('220', '110', '2.2')
>>> html_text('a<b & "c"')
'a&lt;b &amp; &quot;c&quot;'
"""
from __future__ import annotations

import html
import math
import numbers
import unicodedata

import graphviz
import numpy as np

__all__ = ["THEMES", "FONT", "FONT_STACK", "format_number", "format_value", "clean_text",
           "html_text", "plain_text", "html_label", "min_width", "theme"]

#: The font the layout is measured with.  Both engines know Arial's metrics
#: (system Graphviz through fontconfig, graphviz-pure from its bundled Arimo).
FONT = "Arial"
#: What SVG files name instead, so browsers find a Korean (CJK) face.
FONT_STACK = ("Arial,Helvetica,Noto Sans CJK KR,Noto Sans KR,Apple SD Gothic Neo,"
              "Malgun Gothic,NanumGothic,sans-serif")

_LIGHT = {
    "bg": "white", "text": "#1f2328", "subtext": "#57606a", "edge": "#57606a",
    "grad_edge": "#b35900", "residual": "#8250df", "cluster": "#f6f8fa",
    "cluster_border": "#d0d7de", "highlight": "#d62728", "merged": "#bf3989",
    "book_grad": "#d1242f",   # the book figure's gradients, beneath the edges
    # kind -> (fill, border)
    "input": ("#ddf4ff", "#0969da"), "const": ("#f6f8fa", "#8c959f"),
    "op": ("#fff8c5", "#9a6700"), "output": ("#ffebe9", "#cf222e"),
    "gradient": ("#dafbe1", "#1a7f37"), "seed": ("#fff1e5", "#bc4c00"),
    "residual_node": ("#fbefff", "#8250df"),
    # origin colours of the pair picture: (fill, border)
    "palette": [("#ddf4ff", "#0969da"), ("#fff1e5", "#bc4c00"), ("#dafbe1", "#1a7f37"),
                ("#fbefff", "#8250df"), ("#fff8c5", "#9a6700"), ("#ffeff7", "#bf3989"),
                ("#e0f7f7", "#0a7b83"), ("#ffebe9", "#cf222e"), ("#eef1ff", "#4052b5"),
                ("#f4f9e4", "#5a7a00")],
}
_DARK = {
    "bg": "#0d1117", "text": "#e6edf3", "subtext": "#9198a1", "edge": "#9198a1",
    "grad_edge": "#f0883e", "residual": "#bc8cff", "cluster": "#161b22",
    "cluster_border": "#30363d", "highlight": "#ff7b72", "merged": "#f778ba",
    "book_grad": "#ff7b72",
    "input": ("#0c2d6b", "#4493f8"), "const": ("#21262d", "#6e7681"),
    "op": ("#3d2e00", "#d29922"), "output": ("#5d0f12", "#f85149"),
    "gradient": ("#04260f", "#3fb950"), "seed": ("#3d1d00", "#f0883e"),
    "residual_node": ("#2c1a4d", "#bc8cff"),
    "palette": [("#0c2d6b", "#4493f8"), ("#3d1d00", "#f0883e"), ("#04260f", "#3fb950"),
                ("#2c1a4d", "#bc8cff"), ("#3d2e00", "#d29922"), ("#4f1334", "#f778ba"),
                ("#05393c", "#39c5cf"), ("#5d0f12", "#f85149"), ("#1b2459", "#8c9eff"),
                ("#283006", "#a5c93b")],
}
#: Theme name -> colours.
THEMES = {"light": _LIGHT, "dark": _DARK}


def theme(name):
    """The colours of theme ``name``; a :class:`GraphError` for an unknown name.

    Examples
    --------
    >>> theme("dark")["bg"]
    '#0d1117'
    """
    from ..errors import GraphError, did_you_mean
    if name not in THEMES:
        raise GraphError(f"unknown theme {name!r}; choose one of {sorted(THEMES)}"
                         + did_you_mean(name, THEMES))
    return THEMES[name]


def format_number(x, digits: int = 6) -> str:
    """A number the way a person writes it: float noise dropped, integers bare.

    Examples
    --------
    >>> [format_number(v) for v in (220.00000000000003, 0.1 + 0.2, -0.0, 1e-20, 1234567.0)]
    ['220', '0.3', '0', '1e-20', '1234567']
    >>> format_number(float("nan")), format_number(np.int64(3)), format_number(True)
    ('nan', '3', 'True')
    """
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (numbers.Integral, np.integer)):
        return str(int(x))
    if isinstance(x, (numbers.Complex, np.complexfloating)) and not isinstance(x, numbers.Real):
        real, imag = format_number(x.real, digits), format_number(abs(x.imag), digits)
        return f"{real}{'-' if x.imag < 0 else '+'}{imag}j"
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    rounded = float(f"{x:.12g}")
    if rounded == int(rounded) and abs(rounded) < 1e15:
        return str(int(rounded))
    return f"{rounded:.{digits}g}"


def format_value(value):
    """``(short, preview)`` texts of a value: a number, or shape and dtype of an array.

    ``short`` goes on edges and nodes; ``preview`` (a few entries) goes into the
    SVG tooltip.

    Examples
    --------
    >>> format_value(np.float64(2.2))
    ('2.2', '2.2')
    >>> short, preview = format_value(np.arange(6.0).reshape(2, 3))
    >>> short
    '2×3 float64'
    >>> print(preview)
    [[0. 1. 2.]
     [3. 4. 5.]]
    """
    if value is None:
        return "", ""
    shape = getattr(value, "shape", None)
    if shape is not None and len(shape) > 0:
        arr = np.asarray(value)
        short = "×".join(str(n) for n in arr.shape) + f" {arr.dtype}"
        if arr.dtype.kind in "biufc":
            preview = np.array2string(arr, precision=4, threshold=24, edgeitems=2,
                                      max_line_width=64, suppress_small=True)
        else:
            preview = clean_text(repr(arr), 200)
        return short, preview
    if isinstance(value, (numbers.Number, np.generic)) or (shape == () and hasattr(value, "dtype")):
        try:
            text = format_number(value[()] if hasattr(value, "dtype") else value)
        except (TypeError, ValueError, OverflowError):
            text = clean_text(repr(value), 40)
        return text, text
    text = clean_text(str(value), 200)
    return clean_text(text, 24), text


def clean_text(text, limit: int = 60) -> str:
    """Printable text: control characters escaped, lone surrogates replaced, long lines cut.

    Newlines are kept (they become line breaks); tabs become spaces.

    Examples
    --------
    >>> clean_text("a\\x00b\\tc")
    'a\\\\x00b c'
    >>> clean_text("x" * 10, limit=5)
    'xxxx…'
    """
    text = str(text).encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    out = []
    for ch in text.replace("\r\n", "\n").replace("\t", " "):
        if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn"):
            out.append(ch.encode("unicode_escape").decode("ascii") if ord(ch) < 0x10000
                       else "\\U%08x" % ord(ch))
        else:
            out.append(ch)
    lines = "".join(out).split("\n")
    return "\n".join(line if len(line) <= limit else line[:limit - 1] + "…" for line in lines)


def html_text(text) -> str:
    """Escape clean text for a Graphviz HTML-like label (newlines become ``<BR/>``).

    Graphviz reads escString sequences (``\\N``, ``\\G``) even inside HTML
    labels, so backslashes are doubled too.

    Examples
    --------
    >>> print(html_text("x\\ny & \\\\N"))
    x<BR/>y &amp; \\\\N
    """
    return "<BR/>".join(html.escape(line, quote=True).replace("\\", "\\\\")
                        for line in str(text).split("\n"))


def plain_text(text):
    """Escape clean text for an escString attribute (tooltip): literal backslashes,
    ``&`` and quotes, newlines as line breaks, never read as an HTML label.

    Examples
    --------
    >>> print(plain_text('a\\\\n & "b"\\nc'))
    a\\\\n &amp; "b"\\nc
    """
    body = str(text).replace("\\", "\\\\").replace("&", "&amp;").replace("\n", "\\n")
    return graphviz.nohtml(body)


def html_label(*lines) -> str:
    """An HTML-like label from ``(text, point_size, colour, bold)`` lines.

    The text is escaped here; pass it raw (after :func:`clean_text`).

    Examples
    --------
    >>> html_label(("×", 18, "#000", True), ("a&b", 9, "#555", False))
    '<<FONT POINT-SIZE="18" COLOR="#000"><B>×</B></FONT><BR/><FONT POINT-SIZE="9" COLOR="#555">a&amp;b</FONT>>'

    An empty line keeps its height as one space (Graphviz's parser rejects
    empty ``FONT`` and ``B`` elements):

    >>> html_label(("", 11, "#000", True))
    '<<FONT POINT-SIZE="11" COLOR="#000"><B> </B></FONT>>'
    """
    parts = []
    for text, size, color, bold in lines:
        body = html_text(text) or " "   # Graphviz rejects an empty <FONT></FONT> or <B></B>
        if bold:
            body = f"<B>{body}</B>"
        parts.append(f'<FONT POINT-SIZE="{size:g}" COLOR="{color}">{body}</FONT>')
    return "<" + "<BR/>".join(parts) + ">"


def _char_em(ch) -> float:
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    return 0.56 if ord(ch) < 128 else 0.62


def min_width(lines, margin: float = 0.5):
    """Minimum node width in inches for text with wide (CJK) characters, else ``None``.

    graphviz-pure measures every non-ASCII character as a space, so a Korean
    label would overflow its node; a minimum width set from our own estimate
    (1 em per wide character) keeps it inside.  System Graphviz measures
    properly and takes the larger of the two.

    Examples
    --------
    >>> min_width([("price", 14)]) is None
    True
    >>> round(min_width([("가격", 14)]), 2)
    0.89
    """
    if not any(unicodedata.east_asian_width(ch) in ("W", "F")
               for text, _ in lines for ch in str(text)):
        return None
    widest = max(sum(_char_em(ch) for ch in line) * size
                 for text, size in lines for line in str(text).split("\n"))
    return round(widest / 72.0 + margin, 2)
