"""Escaping user strings (node keys, labels, file names) for every text output.

Node keys come from the user's graph or file and may hold anything: a
newline that breaks a table row, a carriage return or an ESC sequence that
rewrites the terminal, ``|`` that adds a Markdown table cell, HTML such as
``<script>`` that a Markdown viewer would run.  One helper per output kind,
used by every printer (the command's tables, :func:`gcompile.explain`,
:func:`gcompile.compare`):

* :func:`text`: plain text and the terminal.  Control characters (C0, DEL,
  C1), line and paragraph separators and bidirectional overrides are written
  as Python escapes (``\\n``, ``\\x1b``, ``\\u202e``), so the result is one
  line that prints as it reads.
* :func:`markdown`: :func:`text`, then HTML's ``& < >`` as entities and
  Markdown's punctuation (`` \\ ` * _ [ ] | # ~ ``) behind a backslash (``_``
  inside a word is left alone: it cannot start emphasis), so a key is literal
  text in a table cell or a paragraph.

:func:`key_text` and :func:`key_markdown` do the same for a node key, shown
by :func:`gcompile.errors.label` (a string as itself, other keys by ``repr``).

Examples
--------
>>> print(text("a\\nb\\x1b[31m"))
a\\nb\\x1b[31m
>>> print(markdown("<script>|x"))
&lt;script&gt;\\|x
>>> key_text(("ap", 3))
"('ap', 3)"
"""
from __future__ import annotations

from .errors import label

__all__ = ["text", "markdown", "key_text", "key_markdown"]

_BIDI = set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A)) | {0x200E, 0x200F, 0x061C}
_UNSAFE = {c for c in range(0x20)} | set(range(0x7F, 0xA0)) | {0x2028, 0x2029} | _BIDI
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_MD_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MD_PUNCT = set("\\`*_[]|#~")


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if code not in _UNSAFE:
        return ch
    if ch in _NAMED:
        return _NAMED[ch]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def text(value) -> str:
    """``str(value)`` safe for plain text and terminals: one line, no control characters.

    Examples
    --------
    >>> text("price"), text("a\\rb")
    ('price', 'a\\\\rb')
    """
    s = str(value)
    if not any(ord(ch) in _UNSAFE for ch in s):
        return s
    return "".join(_escape_char(ch) for ch in s)


def markdown(value) -> str:
    """``str(value)`` as literal Markdown text (also inside a table cell).

    Examples
    --------
    >>> markdown("apple_price"), markdown("_x_")
    ('apple_price', '\\\\_x\\\\_')
    >>> print(markdown("\\n# H\\n<img src=x onerror=alert(1)>"))
    \\\\n\\# H\\\\n&lt;img src=x onerror=alert(1)&gt;
    """
    s = text(value)
    out = []
    for i, ch in enumerate(s):
        if ch in _MD_HTML:
            out.append(_MD_HTML[ch])
        elif ch == "_" and 0 < i < len(s) - 1 and s[i - 1].isalnum() and s[i + 1].isalnum():
            out.append(ch)          # inside a word (apple_price) it cannot start emphasis
        elif ch in _MD_PUNCT:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def key_text(key) -> str:
    """A node key for plain text and terminals: :func:`~gcompile.errors.label` then :func:`text`.

    Examples
    --------
    >>> key_text("a\\nb")
    'a\\\\nb'
    """
    return text(label(key))


def key_markdown(key) -> str:
    """A node key for Markdown: :func:`~gcompile.errors.label` then :func:`markdown`.

    Examples
    --------
    >>> key_markdown("a|b")
    'a\\\\|b'
    """
    return markdown(label(key))
