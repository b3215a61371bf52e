"""What each node and edge of a diagram says: kind, label, tooltip, colours.

Helpers of :mod:`gcompile.drawing.draw`; they return Graphviz attribute dicts and
never touch an engine.

Examples
--------
>>> from gcompile.examples import apple
>>> g, feeds = apple()
>>> node_kind(g, "price"), node_kind(g, "apple")
('output', 'input')
"""
from __future__ import annotations

import textwrap

from ..errors import GraphError
from ..registry import LEAF_OPS, lookup
from .style import clean_text, format_value, html_label, html_text, min_width, plain_text

__all__ = ["node_kind", "node_name", "node_attrs", "edge_attrs", "SIZES"]

#: Point sizes of the label lines.
SIZES = {"symbol": 16, "name": 11, "detail": 9, "value": 11, "edge": 10}

_SHAPES = {
    "input": dict(shape="box", style="rounded,filled"),
    "const": dict(shape="box", style="filled"),
    "seed": dict(shape="box", style="rounded,filled"),
    "residual_node": dict(shape="box", style="rounded,filled,dashed"),
    "op": dict(shape="ellipse", style="filled"),
    "output": dict(shape="ellipse", style="filled", peripheries="2"),
    "gradient": dict(shape="ellipse", style="filled", peripheries="2"),
}


def node_kind(graph, key) -> str:
    """The drawing kind of a node: input, const, op, output, gradient, seed or residual_node.

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple
    >>> g, _ = apple()
    >>> bwd = gc.grad(g, "price", g.graph["wrt"])
    >>> [node_kind(bwd, k) for k in ("dprice", "tax", "dapple_price", "dapple")]
    ['seed', 'residual_node', 'op', 'gradient']
    """
    data = graph.nodes[key]
    role = data.get("role")
    if role == "seed":
        return "seed"
    if role == "forward_value":
        return "residual_node"
    grads = graph.graph.get("grads")
    if isinstance(grads, dict) and role is not None and key in set(grads.values()):
        return "gradient"
    op = data.get("op")
    if op in LEAF_OPS:
        return op
    if "role" not in data and _is_output(graph, key):
        return "output"
    return "op"


def _is_output(graph, key):
    out = graph.graph.get("output")
    try:
        return key == out if not isinstance(out, (list, tuple)) else key in out
    except (TypeError, ValueError):
        return False


def node_name(graph, key) -> str:
    """The text naming a node: its ``label`` attribute, else its key.

    Examples
    --------
    >>> from gcompile.examples import apple
    >>> g, _ = apple()
    >>> node_name(g, "apple_num")
    'apple count'
    """
    label = graph.nodes[key].get("label")
    return clean_text(key if label is None else label, 48)


def _symbol(op):
    try:
        return lookup(op).symbol
    except GraphError:
        return clean_text(op, 16)


def _params_text(data, op):
    try:
        names = lookup(op).params
    except GraphError:
        return ""
    shown = [f"{p}={data[p]}" for p in names if p in data and data[p] is not None]
    return clean_text(", ".join(shown), 48)


def _local_value(graph, local, values):
    """Text of the local factor's value: from ``values``, else a constant's ``value``."""
    if local is None:
        return None
    if values and local in values:
        return format_value(values[local])[0]
    if local in graph and graph.nodes[local].get("op") == "const":
        return format_value(graph.nodes[local].get("value"))[0]
    return None


#: ``compact`` nodes wrap rule lines longer than this many characters.
WRAP = 22


def _wrap(text, compact):
    """``text`` in lines of at most :data:`WRAP` characters where it can be (``compact``
    only); an equation breaks after its ``=`` first.

    >>> print(_wrap("d σ(x)/dx = σ(x)(1 - σ(x))", True))
    d σ(x)/dx =
    σ(x)(1 - σ(x))
    """
    if not compact or len(text) <= WRAP:
        return text
    head, equals, tail = text.partition(" = ")
    parts = [head + " =", tail] if equals and len(head) < WRAP else [text]
    return "\n".join(line for part in parts
                     for line in textwrap.wrap(part, WRAP, break_long_words=False))


def _is_array_text(text):
    """Whether a value's short text describes an array (``2×5 float64``), not a number."""
    return " " in text and text.split(" ", 1)[1].isidentifier()


def node_attrs(graph, key, kind, values, colors, fill, *, show_values=True, rules=True,
               extra_tip="", compact=False):
    """Graphviz attributes of one node (label, shape, colours, tooltip).

    ``fill`` is ``(fill, border)``; ``colors`` the theme.  ``compact`` (big
    pictures) draws ops as boxes instead of ellipses and wraps long rule lines
    (:data:`WRAP` characters), so that the nodes take less width; ``compact=2``
    (graphs of a hundred nodes and more) also writes an op's symbol and name on
    one line, so that the nodes take less height.

    Examples
    --------
    >>> from gcompile.examples import apple
    >>> from gcompile.drawing.style import theme
    >>> g, _ = apple()
    >>> t = theme("light")
    >>> node_attrs(g, "apple", "input", {}, t, t["input"])["shape"]
    'box'
    """
    data = graph.nodes[key]
    op = data.get("op")
    name = node_name(graph, key)
    detail = SIZES["detail"] + (1 if compact else 0)  # big pictures are shown scaled down
    value = values.get(key) if show_values and values else None
    short, preview = format_value(value) if value is not None else ("", "")
    sink = graph.out_degree(key) == 0
    lines = []
    tip = [clean_text(key if "label" not in data else f"{data['label']} ({key!r})", 80)]
    if kind in ("op", "output", "gradient"):
        symbol = _symbol(op)
        params = _params_text(data, op)
        if compact == 2:
            lines.append((f"{symbol} {name}", SIZES["name"] + 1, colors["text"], True))
            if params:
                lines.append((params, SIZES["detail"], colors["subtext"], False))
        else:
            lines.append((symbol, SIZES["symbol"], colors["text"], True))
            lines.append((name + (f"\n{params}" if params else ""), SIZES["detail"] + 1,
                          colors["subtext"], False))
        tip.append(f"op: {clean_text(op, 40)} ({symbol})" + (f", {params}" if params else ""))
    else:
        lines.append((name, SIZES["name"], colors["text"], kind == "input"))
        if kind == "const" and value is None and "value" in data and show_values:
            short, preview = format_value(data["value"])
        tip.append("kind: " + ("input (forward value kept for backward)"
                               if kind == "residual_node" else kind))
        shape = data.get("shape")
        if kind == "input" and isinstance(shape, tuple) and shape:
            lines.append(("×".join(map(str, shape)), detail, colors["subtext"], False))
    rule = data.get("rule")
    if kind == "const" and rule and short and not clean_text(rule, 48).endswith("= " + short):
        rule_shown = False    # a constant inside a rule (the 1 of 1 - σ): its value, not the rule
    else:
        rule_shown = rules and rule and kind != "seed"
    if rule_shown:
        text = clean_text(rule, 48)
        local = data.get("local")
        factor = _local_value(graph, local, values) if show_values else None
        if factor is not None and _is_array_text(factor):
            lines.append((_wrap(text, compact), detail, colors["subtext"], False))
            text = f"local factor: {factor}"   # a fact about the factor, not an equation
        elif factor is not None and not text.endswith("= " + factor):
            text += " = " + factor
        lines.append((_wrap(text, compact), detail, colors["subtext"], False))
        if kind == "const" and short and text.endswith("= " + short):
            short = ""        # the rule line already ends with the value: say it once
    if rule:
        tip.append("rule: " + clean_text(rule, 80))
    for attr in ("role", "origin"):
        if attr in data:
            tip.append(f"{attr}: {clean_text(data[attr], 60)}")
    if short and (sink or kind in ("const", "seed")):
        lines.append(("= " + short, SIZES["value"], colors["text"], True))
    if preview:
        tip.append("value: " + preview)
    if extra_tip:
        tip.append(extra_tip)
    attrs = dict(_SHAPES[kind])
    attrs.update(label=html_label(*lines), fillcolor=fill[0], color=fill[1],
                 tooltip=plain_text("\n".join(tip)))
    if kind in ("op", "output", "gradient") and len(lines) <= 2 and len(name) <= 3 \
            and compact != 2 and not _params_text(data, op):   # a circle of long params is huge
        attrs["shape"] = "circle"
    elif compact and attrs["shape"] == "ellipse":
        attrs["shape"] = "box"
    width = min_width([(text, size) for text, size, _, _ in lines])
    if width is not None:
        attrs["width"] = f"{width:g}"
    return attrs


def edge_attrs(graph, u, v, values, colors, *, show_values=True, color=None, label="label",
               compact=False):
    """Graphviz attributes of edge ``u -> v``: the value of ``u`` as label, operand in tooltip.

    ``label="xlabel"`` places the value after layout (big graphs: an edge
    ``label`` costs dot a virtual node per edge, five times the layout time).
    ``compact`` writes an array's shape alone (``2×5``; the tooltip keeps the dtype).

    Examples
    --------
    >>> from gcompile.examples import apple
    >>> from gcompile.drawing.style import theme
    >>> g, _ = apple()
    >>> edge_attrs(g, "apple", "apple_price", {"apple": 100.0}, theme("light"))["label"]
    '<<FONT COLOR="#1f2328">100</FONT>>'
    """
    arg = graph.edges[u, v].get("arg")
    where = "" if arg is None else f" (operand {arg})"
    tip = f"{clean_text(u, 60)} → {clean_text(v, 60)}{where}"
    attrs = {"color": color or colors["edge"]}
    value = values.get(u) if show_values and values else None
    if value is not None:
        short, preview = format_value(value)
        if compact and _is_array_text(short):
            short = short.split(" ", 1)[0]
        attrs[label] = f'<<FONT COLOR="{colors["text"]}">{html_text(short) or " "}</FONT>>'
        tip += f"\nvalue: {preview}"
    attrs["tooltip"] = plain_text(tip)
    return attrs

