"""Colour by derivative order: graphs from :mod:`gcompile.higher` (``gc.hvp``,
``gc.hessian``, ``gc.joint_graph``) carry an ``order`` on every node: 0 for the
forward graph, 1 for the first backward pass, 2 for the second.

:func:`gcompile.to_dot` uses these helpers when ``color_by="order"`` (or
``"auto"``, the default, and the graph carries ``order``): each node is filled
with its order's colour (shapes still tell the kind) and a legend gives the
colours and the node count per order, i.e. how the graph grows with each order.

Examples
--------
>>> import gcompile as gc
>>> from gcompile.examples import apple
>>> g, _ = apple()
>>> h = gc.hvp(g, "price", ["apple", "tax"])
>>> order_counts(h)
{0: 5, 1: 11, 2: 13}
"""
from __future__ import annotations

import numbers

from ..errors import GraphError
from .nodes import SIZES
from .style import html_text

__all__ = ["order_counts", "order_colors", "order_name", "legend_label", "uses_orders"]


def _order(value):
    return (isinstance(value, numbers.Integral) and not isinstance(value, bool)
            and value >= 0)


def uses_orders(graph, color_by="auto"):
    """Whether to colour ``graph`` by order; a :class:`GraphError` for a bad ``color_by``.

    Examples
    --------
    >>> import networkx as nx
    >>> uses_orders(nx.DiGraph()), uses_orders(nx.DiGraph(), "kind")
    (False, False)
    """
    if color_by not in ("auto", "kind", "order"):
        raise GraphError(f"color_by must be 'auto', 'kind' or 'order', got {color_by!r}")
    if color_by == "kind":
        return False
    orders = [d.get("order") for _, d in graph.nodes(data=True)]
    carried = bool(orders) and all(_order(o) for o in orders)
    if color_by == "order" and not carried:
        bad = next((k for k, d in graph.nodes(data=True) if not _order(d.get("order"))), None)
        raise GraphError(f"color_by='order' needs an integer order >= 0 on every node "
                         f"(gc.hvp, gc.hessian and gc.joint_graph set it); node {bad!r} has "
                         f"{graph.nodes[bad].get('order')!r}" if bad is not None
                         else "color_by='order' on an empty graph")
    return carried


def order_counts(graph):
    """``{order: number of nodes}``, orders ascending."""
    counts = {}
    for _, order in graph.nodes(data="order"):
        counts[order] = counts.get(order, 0) + 1
    return dict(sorted(counts.items()))


def order_colors(colors):
    """A function order -> ``(fill, border)`` from the theme's palette."""
    palette = colors["palette"]
    return lambda order: palette[order % len(palette)]


def order_name(order):
    """How the legend names an order.

    Examples
    --------
    >>> [order_name(k) for k in range(5)]
    ['forward', '1st backward', '2nd backward', '3rd backward', '4th backward']
    """
    if order == 0:
        return "forward"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(order if order < 20 else order % 10, "th")
    return f"{order}{suffix} backward"


def legend_label(graph, colors):
    """The legend: an HTML table, one row per order with its colour and node count.

    Examples
    --------
    >>> import networkx as nx
    >>> from gcompile.drawing.style import theme
    >>> g = nx.DiGraph(); g.add_node("x", order=0)
    >>> "forward: 1 node" in legend_label(g, theme("light"))
    True
    """
    color_of = order_colors(colors)
    rows = [f'<TR><TD COLSPAN="2"><FONT POINT-SIZE="{SIZES["name"]}" COLOR="{colors["text"]}">'
            f'<B>derivative order</B></FONT></TD></TR>']
    for order, count in order_counts(graph).items():
        fill, border = color_of(order)
        text = html_text(f"{order}: {order_name(order)}: {count} node{'s' if count != 1 else ''}")
        rows.append(f'<TR><TD BGCOLOR="{fill}" COLOR="{border}" WIDTH="16"> </TD>'
                    f'<TD ALIGN="LEFT"><FONT POINT-SIZE="{SIZES["detail"] + 1}" '
                    f'COLOR="{colors["text"]}">{text}</FONT></TD></TR>')
    return (f'<<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="3" CELLPADDING="2" '
            f'COLOR="{colors["cluster_border"]}" BGCOLOR="{colors["cluster"]}">'
            + "".join(rows) + "</TABLE>>")
