"""Draw one graph (forward or backward) with Graphviz: ``to_dot`` and ``render``.

:func:`to_dot` builds a :class:`Diagram` (a ``graphviz.Digraph`` that shows
itself in Jupyter through gcompile's engine); :func:`render` writes it as
SVG, PNG, PDF or DOT.  The pair picture (:func:`render_pair`) lives in
:mod:`gcompile.drawing.pair`, the before/after picture of the passes in
:mod:`gcompile.drawing.diff`.  The style options are described once, in
:mod:`gcompile.drawing.options`, and listed in each function's docstring.
Engines are described in :mod:`gcompile.drawing.engines`.

Examples
--------
>>> import gcompile as gc
>>> from gcompile.examples import apple
>>> g, feeds = apple()
>>> dot = gc.to_dot(g, gc.evaluate(g, feeds))
>>> "220" in dot.source and "apple count" in dot.source
True
"""
from __future__ import annotations

import networkx as nx

from ..errors import GraphError
from .base import (XLABEL_EDGES, Diagram, auto_rankdir, check_graph, check_values, cluster_attrs, export,
                   new_diagram, theme_colors, write_image)
from .aliases import alias_label, gradient_aliases
from .nodes import SIZES, edge_attrs, node_attrs, node_kind, node_name
from .highlight import HIGHLIGHT_EDGE, graph_highlight, outline
from .orders import legend_label, order_colors, order_name, uses_orders
from .options import document
from .groups import BIG_BACKWARD, BIG_NODES, gradient_groups, group_box
from .pair import pair_to_dot, render_pair
from .style import clean_text, format_value, html_label, plain_text

__all__ = ["Diagram", "to_dot", "auto_rankdir", "pair_to_dot", "render", "render_pair", "export"]

#: Above this many nodes, an input or constant used by several ops is drawn once per
#: use: its edges would otherwise span the whole layout and dominate dot's time.
SPLIT_LEAVES_NODES = 1000
#: Top-to-bottom graphs of this many drawn nodes or more get compact nodes (boxes, wrapped
#: rules, array edges labelled by shape): they are drawn top to bottom to stay narrow.
COMPACT_TB_NODES = 40
#: Compact graphs with fewer nodes per rank than this on average keep wider node spacing.
THIN_RANK = 4.0


def _groups(graph):
    groups = {}
    for key, data in graph.nodes(data=True):
        if data.get("group") is not None:
            groups.setdefault(clean_text(data["group"], 60), []).append(key)
    return groups


@document("rankdir", "theme", "show_values", "rules", "collapse", "title", "highlight",
          "color_by")
def to_dot(graph, values=None, *, rankdir="auto", theme="light", show_values=True, rules=True,
           collapse="cluster", title=None, highlight=None, color_by="auto") -> Diagram:
    """Build the Graphviz diagram of one graph (forward or backward).

    Parameters
    ----------
    graph : networkx.DiGraph
        A graph in gcompile's format; a backward graph from :func:`gcompile.grad`
        draws its seed, rules, residual inputs and final gradients distinctly.
    values : dict, optional
        Node -> value (``gc.evaluate``): written on the edges leaving each node
        and inside sink nodes.
    {options}

    Returns
    -------
    Diagram
        A ``graphviz.Digraph``; its ``.source`` is byte-identical on every run.
        ``.ids`` maps each node key to the SVG element id of the node drawn
        for it (a collapsed group's box; an input drawn once per use in a big
        graph: its first copy).

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple
    >>> g, feeds = apple()
    >>> bwd = gc.grad(g, "price", g.graph["wrt"])
    >>> src = gc.to_dot(bwd, gc.evaluate(bwd, gc.evaluate(g, feeds))).source
    >>> all(text in src for text in ("2.2", "110", "200", "d(x*y)/dx = y = 1.1"))
    True
    >>> gc.to_dot(g).ids["apple_price"]
    'n3'
    """
    check_graph(graph)
    values = check_values(values)
    colors = theme_colors(theme)
    if rankdir == "auto":
        rankdir = auto_rankdir(graph)
    if collapse not in (None, False, "cluster", "box"):
        raise GraphError(f"collapse must be 'cluster', 'box' or None, got {collapse!r}")
    diagram = new_diagram(colors, rankdir, title)
    ids = {key: f"n{i}" for i, key in enumerate(graph.nodes)}
    by_order = uses_orders(graph, color_by)
    groups = _groups(graph) if collapse else {}
    if collapse and by_order and not groups:   # Hessians, joint graphs: one box per order
        for key, order in graph.nodes(data="order"):
            groups.setdefault(f"order {order}: {order_name(order)}", []).append(key)
    if (collapse and not groups and graph.number_of_nodes() > BIG_BACKWARD
            and any(role is not None for _, role in graph.nodes(data="role"))):
        groups, collapse = gradient_groups(graph), "box"
    grouped = {key for members in groups.values() for key in members}
    drawn_count = graph.number_of_nodes() - len(grouped) + len(groups) \
        if collapse == "box" else graph.number_of_nodes()
    compact = 2 if drawn_count >= BIG_NODES else int(rankdir in ("TB", "BT")
                                                     and drawn_count >= COMPACT_TB_NODES)
    style = dict(show_values=show_values, rules=rules, compact=compact)
    lit = graph_highlight(graph, highlight)
    color_of = order_colors(colors)

    split = set()
    if graph.number_of_nodes() > SPLIT_LEAVES_NODES:
        split = {k for k, op in graph.nodes(data="op")
                 if op in ("input", "const") and graph.out_degree(k) > 1 and k not in grouped}

    drawn = {}

    def add_node(target, key, node_id=None):
        kind = node_kind(graph, key)
        node_id = node_id or ids[key]
        drawn.setdefault(key, node_id)
        fill = color_of(graph.nodes[key]["order"]) if by_order else colors[kind]
        attrs = node_attrs(graph, key, kind, values, colors, fill, **style)
        target.node(node_id, id=node_id, **outline(attrs, colors, key in lit.nodes))

    for key in graph.nodes:
        if key not in grouped and key not in split:
            add_node(diagram, key)
    for j, (group, members) in enumerate(groups.items()):
        if collapse == "cluster":
            with diagram.subgraph(name=f"cluster_g{j}") as sub:
                sub.attr(**cluster_attrs(group, colors))
                for key in members:
                    add_node(sub, key)
        else:
            diagram.node(f"g{j}", id=f"g{j}", **group_box(graph, group, members, values, colors,
                                                          compact, show_values))
            for key in members:
                ids[key] = drawn[key] = f"g{j}"
    label = "xlabel" if graph.number_of_edges() > XLABEL_EDGES or compact == 2 else "label"
    seen = {}
    for u, v in graph.edges:
        pair = (ids[u], ids[v])
        if pair[0] == pair[1]:
            continue
        seen.setdefault(pair, []).append((u, v))
    if compact == 2:   # closer ranks; closer nodes too unless the graph is long and thin
        drawn_graph = nx.DiGraph(list(seen))
        drawn_graph.add_nodes_from(set(ids.values()))
        ranks = nx.dag_longest_path_length(drawn_graph) + 1 if nx.is_directed_acyclic_graph(
            drawn_graph) else 1
        thin = drawn_graph.number_of_nodes() / ranks < THIN_RANK
        diagram.graph_attr.update(ranksep="0.17", nodesep="0.2" if thin else "0.12")
    for (tail, head), edges in seen.items():
        u, v = edges[0]
        shown = values if len({e[0] for e in edges}) == 1 else {}
        role = graph.nodes[u].get("role")   # backward graphs: gradients orange, residuals dashed
        color = None if role is None else colors[
            "residual" if role == "forward_value" else "grad_edge"]
        if by_order:   # edges take the colour of the pass that reads them
            color = color_of(graph.nodes[v]["order"])[1]
        attrs = edge_attrs(graph, u, v, shown, colors, show_values=show_values, color=color,
                           label=label, compact=bool(compact))
        if role == "forward_value":
            attrs["style"] = "dashed"
        if u in split:
            tail = f"{tail}_{head}"
            add_node(diagram, u, tail)
        on = any(e in lit.edges for e in edges)
        diagram.edge(tail, head, **outline(attrs, colors, on, HIGHLIGHT_EDGE))
    for k, (wrt, name, holder) in enumerate(gradient_aliases(graph)):
        if holder in drawn:   # a gradient with no node of its own: a note pointing at its value
            note = f"a{k}"
            value = format_value(values[holder])[0] if show_values and holder in values else ""
            diagram.node(note, id=note, shape="box", style="rounded,filled,dashed",
                         fillcolor=colors["gradient"][0], color=colors["gradient"][1],
                         label=alias_label(name, node_name(graph, holder), value, colors),
                         tooltip=plain_text(f"{name}: the gradient with respect to "
                                            f"{clean_text(wrt, 40)} is the value of node "
                                            f"{clean_text(holder, 40)}"))
            diagram.edge(note, drawn[holder], style="dashed", color=colors["gradient"][1],
                         arrowhead="empty", constraint="false")
    if by_order:
        diagram.node("legend", id="legend", shape="plaintext", label=legend_label(graph, colors),
                     tooltip="node colours: derivative order (0 = forward graph)")
    diagram.ids = {key: drawn[key] for key in graph.nodes if key in drawn}
    return diagram


@document("rankdir", "theme", "show_values", "rules", "collapse", "title", "highlight",
          "color_by")
def render(graph, path=None, values=None, *, engine="auto", dpi=None, **style):
    """Draw ``graph`` into ``path``; the format comes from the suffix.

    Parameters
    ----------
    graph : networkx.DiGraph
    path : str or Path, optional
        ``.svg``, ``.png``, ``.pdf`` (needs system Graphviz) or ``.dot``/``.gv``
        (the DOT text).  ``None`` returns the :class:`Diagram` (shown inline by Jupyter).
    values : dict, optional
        Node -> value, as returned by :func:`gcompile.evaluate`.
    engine : {"auto", "dot", "graphviz-pure"}
        The layout engine: system Graphviz ``dot``, the embedded graphviz-pure, or
        "auto" (``dot`` when installed; see :mod:`gcompile.drawing.engines`).
    dpi : float, optional
        Resolution of PNG output.
    {options}

    Returns
    -------
    pathlib.Path or Diagram

    Examples
    --------
    >>> import os, tempfile, gcompile as gc
    >>> from gcompile.examples import apple
    >>> g, feeds = apple()
    >>> out = gc.render(g, os.path.join(tempfile.mkdtemp(), "apple.svg"), gc.evaluate(g, feeds))
    >>> out.read_text(encoding="utf-8").count("<svg")
    1
    """
    diagram = to_dot(graph, values, **style)
    diagram.gc_engine = engine
    return diagram if path is None else write_image(diagram, path, engine, dpi)

