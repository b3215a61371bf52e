"""Gradients that have no node of their own: each still gets its ``dX`` label.

After :func:`gcompile.optimize` a gradient may be *aliased* to another node
(``d price / d tax`` is the forward value ``apple_price`` itself, so the node
``dtax`` is gone and ``bwd.graph["grads"]["tax"]`` names ``apple_price``) or
*merged* with another wrt's gradient.  Diagrams then draw a small note named
after the gradient (``dtax``) pointing at the node that holds its value, in the
backward, pair and book figures, so no gradient vanishes.

Examples
--------
>>> import gcompile as gc
>>> from gcompile.examples import apple
>>> g, _ = apple()
>>> bwd = gc.grad(g, "price", g.graph["wrt"], optimize=True)
>>> gradient_aliases(bwd)
[('tax', 'dtax', 'apple_price')]
"""
from __future__ import annotations

from .book import follow_aliases
from .style import clean_text

__all__ = ["gradient_aliases", "alias_label"]


def _name_of(wrt, holder, moved):
    for old, new in moved.items():
        if new == holder and isinstance(old, str) and old == f"d{wrt}":
            return old
    return f"d{clean_text(wrt, 40)}"


def _holds_own(bwd, holder, wrt):
    """Whether ``holder`` is ``wrt``'s own gradient node, as ``gc.grad`` makes it."""
    data = bwd.nodes[holder]
    along = data.get("along")
    try:
        if isinstance(along, (list, tuple)) and along and along[0][0] == wrt:
            return True
        return data.get("role") in ("seed", "accumulation", "zero") and data.get("origin") == wrt
    except (TypeError, ValueError, IndexError):
        return False


def gradient_aliases(bwd, drawn=None):
    """``[(wrt node, gradient name, holder)]`` for gradients drawn as no node of their own.

    A gradient needs a note unless the node holding it is drawn (``drawn``,
    default every node) and is that wrt node's own gradient node (it holds the
    gradient along an edge leaving it, or sums its contributions), not already
    labelled for another wrt node.
    """
    grads = bwd.graph.get("grads")
    if not isinstance(grads, dict):
        return []
    moved = follow_aliases(bwd)
    shown = set(bwd.nodes) if drawn is None else set(drawn)
    out, taken = [], set()
    for wrt, holder in grads.items():
        try:
            present = holder in bwd
        except TypeError:
            continue
        if not present:
            continue
        own = holder in shown and holder not in taken and _holds_own(bwd, holder, wrt)
        taken.add(holder)
        if not own:
            out.append((wrt, _name_of(wrt, holder, moved), holder))
    return out


def alias_label(name, holder_name, value_text, colors):
    """The HTML label of the note: ``dtax`` in bold, ``= apple_price`` and its value."""
    from .nodes import SIZES
    from .style import html_label
    lines = [(name, SIZES["name"], colors["text"], True),
             (f"same value as {holder_name}", SIZES["detail"], colors["subtext"], False)]
    if value_text:
        lines.append(("= " + value_text, SIZES["value"], colors["text"], True))
    return html_label(*lines)
