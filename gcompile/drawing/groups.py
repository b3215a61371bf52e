"""Groups of nodes drawn as one box: a layer (``group`` attribute) or, in a big backward
graph, the nodes computing one gradient ``dX`` (:func:`gradient_groups`).

Helpers of :mod:`gcompile.drawing.draw` and :mod:`gcompile.drawing.pair`, which draw
graphs of :data:`BIG_NODES` nodes and more compactly, and backward graphs of more than
:data:`BIG_BACKWARD` nodes with one box per gradient, so that they stay readable at a
page's width.

Examples
--------
>>> import gcompile as gc
>>> from gcompile.examples import apple
>>> g, _ = apple()
>>> sorted(gradient_groups(gc.grad(g, "price", g.graph["wrt"])))[:3]
['dapple', 'dapple_num', 'dapple_price']
"""
from __future__ import annotations

from .nodes import SIZES
from .style import clean_text, format_value, html_label, plain_text

__all__ = ["BIG_NODES", "BIG_BACKWARD", "gradient_groups", "group_value", "group_box"]

#: Graphs of at least this many drawn nodes get compact nodes (one line, boxes), edge
#: values placed after layout and closer ranks, so that they stay readable at a page width.
BIG_NODES = 100
#: Backward graphs of more than this many nodes (and no groups) are drawn collapsed:
#: one box per gradient ``dX``, holding the nodes that compute it.
BIG_BACKWARD = 200


def gradient_groups(graph):
    """Backward graph -> {"dX": nodes computing the gradient of X (the forward value X
    it reads included)}: the column of each node (see
    :func:`gcompile.drawing.columns.backward_columns`), without a forward graph."""
    groups = {}
    for key, data in graph.nodes(data=True):
        along = data.get("along")
        column = data.get("origin")
        if isinstance(along, (list, tuple)) and along and isinstance(along[0], (list, tuple)) \
                and len(along[0]) == 3:
            column = along[0][0]
        if data.get("role") == "forward_value":
            column = key
        if column is not None:
            groups.setdefault("d" + clean_text(column, 58), []).append(key)
    return groups


def group_value(graph, members, values):
    """The value a collapsed gradient box shows: that of its sum of contributions
    (``accumulation``), else of its one contribution, else nothing."""
    for role in ("accumulation", "gradient"):
        held = [k for k in members if graph.nodes[k].get("role") == role]
        if len(held) == 1:
            return format_value(values[held[0]])[0] if held[0] in values else ""
    held = [k for k in members if graph.nodes[k].get("along")]
    if len(held) == 1 and held[0] in values:
        return format_value(values[held[0]])[0]
    return ""


def group_box(graph, group, members, values, colors, compact=False, show_values=True):
    """Graphviz attributes of the one node drawn for ``members``: the group's name, its
    node count (and ops, unless ``compact``) and, for a gradient, its value."""
    ops = sorted({str(graph.nodes[k].get("op")) for k in members})
    detail = f"{len(members)} node{'s' if len(members) != 1 else ''}" + (
        "" if compact else f": {', '.join(ops)}")
    value = group_value(graph, members, values or {}) if show_values else ""
    lines = [(group, SIZES["name"], colors["text"], True),
             (clean_text(detail, 48), SIZES["detail"] + (1 if compact else 0),
              colors["subtext"], False)]
    if value:
        lines.append(("= " + value, SIZES["value"], colors["text"], True))
    return dict(shape="box3d", style="filled", fillcolor=colors["cluster"],
                color=colors["cluster_border"], label=html_label(*lines),
                tooltip=plain_text(f"group {group}: " + ", ".join(clean_text(k, 40)
                                                                  for k in members)))
