"""The pair picture: a forward graph above its backward graph, linked.

Each backward node sits in the column and colour of its ``origin`` forward
node; the forward values the backward pass reads (residuals) are dashed links
from the forward node; constants that only serve as a rule's local factor are
folded into that rule's line.  :func:`pair_to_dot` builds it, :func:`render_pair`
(``gc.render_pair``) writes it.

Examples
--------
>>> import gcompile as gc
>>> from gcompile.examples import apple
>>> g, _ = apple()
>>> bwd = gc.grad(g, "price", g.graph["wrt"])
>>> pair_to_dot(g, bwd).source.count("cluster_")
2
"""
from __future__ import annotations

from .base import (XLABEL_EDGES, Diagram, auto_rankdir, check_values, cluster_attrs,
                   new_diagram, theme_colors, write_image)
from .highlight import HIGHLIGHT_EDGE, outline, pair_highlight
from .nodes import edge_attrs, node_attrs, node_kind, node_name
from .book import book_to_dot
from .aliases import alias_label, gradient_aliases
from .columns import backward_columns, check_pair, same_key
from .options import document
from .groups import BIG_BACKWARD, BIG_NODES, group_box
from ..errors import GraphError
from .style import clean_text, format_value, plain_text

__all__ = ["pair_to_dot", "render_pair", "drawn_backward_nodes", "check_pair", "backward_columns",
           "PAIR_STYLES"]

#: The pictures of a forward graph and its backward graph: "pair" (both graphs, the
#: backward one beneath) and "book" (one graph, gradients beneath the forward values).
PAIR_STYLES = ("pair", "book")


def _folded_constants(bwd):
    """Constants whose only use is as the local factor of their consumers: the
    consumer's rule line already shows the value, so the pair picture omits them."""
    folded = set()
    for key, data in bwd.nodes(data=True):
        succ = list(bwd.successors(key))
        if (data.get("op") == "const" and data.get("role") != "seed" and succ
                and all(bwd.nodes[v].get("local") == key for v in succ)):
            folded.add(key)
    return folded


def drawn_backward_nodes(fwd, bwd):
    """The backward nodes the pair picture draws in its backward box, in graph order.

    Left out: reads of forward values (drawn as the forward node, with dashed
    links) and constants that only serve as a local factor (shown in their
    consumer's rule line).

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple
    >>> g, _ = apple()
    >>> drawn_backward_nodes(g, gc.grad(g, "price", g.graph["wrt"]))
    ['dprice', 'dapple_price', 'dtax', 'dapple', 'dapple_num']
    """
    folded = _folded_constants(bwd)
    return [k for k, d in bwd.nodes(data=True)
            if k not in folded and not (d.get("role") == "forward_value" and same_key(k, fwd))]


def _group_of(graph, key):
    group = graph.nodes[key].get("group")
    return None if group is None else clean_text(group, 60)


def _origin_colors(fwd, bwd, residual, colors):
    """Forward node -> (fill, border): palette colours for the nodes the backward
    graph draws under (columns) or reads (residuals), in forward order; kind colours
    otherwise."""
    origins = {column for key, column in backward_columns(fwd, bwd).items()
               if key not in residual}
    ranked = ([k for k in fwd.nodes if k in origins]
              + [k for k in fwd.nodes if k in residual and k not in origins])
    palette = colors["palette"]
    fill = {key: colors[node_kind(fwd, key)] for key in fwd.nodes}
    fill.update({key: palette[i % len(palette)] for i, key in enumerate(ranked)})
    return fill


@document("style", "rankdir", "theme", "show_values", "rules", "collapse", "title", "highlight")
def pair_to_dot(fwd, bwd, values=None, grads=None, *, style="pair", rankdir="auto", theme="light",
                show_values=True, rules=True, title=None, collapse="auto",
                highlight=None) -> Diagram:
    """Build the diagram of a forward graph above its backward graph (see :func:`render_pair`).

    Parameters
    ----------
    fwd, bwd : networkx.DiGraph
        A forward graph and the result of ``gc.grad`` on it.
    values, grads : dict, optional
        Forward and backward values (merged).
    {options}

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple
    >>> g, feeds = apple()
    >>> bwd = gc.grad(g, "price", g.graph["wrt"])
    >>> src = pair_to_dot(g, bwd).source
    >>> "cluster_forward" in src and "cluster_backward" in src and "style=dashed" in src
    True
    """
    check_pair(fwd, bwd)
    if style not in PAIR_STYLES:
        raise GraphError(f"style must be one of {', '.join(map(repr, PAIR_STYLES))}, "
                         f"got {clean_text(repr(style), 40)}")
    if rankdir == "auto":   # a big forward graph: top to bottom, the backward part beside it
        rankdir = auto_rankdir(fwd)
    if style == "book":
        return book_to_dot(fwd, bwd, values, grads, rankdir=rankdir, theme=theme,
                           show_values=show_values, rules=rules, title=title,
                           collapse=collapse, highlight=highlight)
    values = {**check_values(values), **check_values(grads, "grads")}
    colors = theme_colors(theme)
    # top to bottom (a big graph: the backward part beside the forward one), the picture
    # must stay narrow: compact nodes (boxes, wrapped rules), less space between them
    compact = rankdir in ("TB", "BT")
    fid = {key: f"f{i}" for i, key in enumerate(fwd.nodes)}
    residual = {k for k, d in bwd.nodes(data=True)
                if d.get("role") == "forward_value" and same_key(k, fwd)}
    folded = _folded_constants(bwd)
    bkeys = drawn_backward_nodes(fwd, bwd)
    # a big backward part: one box per column (the nodes computing dX, beside X)
    boxes = collapse == "auto" and len(bkeys) > BIG_BACKWARD
    if boxes or fwd.number_of_nodes() >= BIG_NODES:
        compact = 2
    spacing = {"nodesep": "0.15"} if compact == 1 else {}
    if compact == 2:
        spacing = {"nodesep": "0.12", "ranksep": "0.2"}
    diagram = new_diagram(colors, rankdir, title, newrank="true", **spacing)
    lit = pair_highlight(fwd, bwd, highlight, bkeys)
    fill = _origin_colors(fwd, bwd, residual, colors)
    bid = {key: f"b{i}" for i, key in enumerate(bkeys)}
    col = backward_columns(fwd, bwd, bkeys)
    column = {}
    for key in bkeys:
        if key in col:
            column.setdefault(col[key], []).append(key)
    box_of = {}   # boxes: backward node -> index of the first node of its column
    if boxes:
        for i, key in enumerate(bkeys):
            if key in col:
                box_of[key] = bkeys.index(column[col[key]][0])
                bid[key] = f"b{box_of[key]}"
    shown = dict(show_values=show_values, rules=rules, compact=compact)
    order = {key: i for i, key in enumerate(fwd.nodes)}
    groups = list(dict.fromkeys(g for g in (_group_of(fwd, k) for k in fwd.nodes) if g))

    def add_forward(target, i, key):
        partners = ", ".join(clean_text(k, 30) for k in column.get(key, []))
        tip = f"backward nodes: {partners}" if partners else ""
        attrs = node_attrs(fwd, key, node_kind(fwd, key), values, colors, fill[key],
                           extra_tip=tip, **shown)
        attrs["_attributes"] = {"class": f"gc-fwd gc-o{i}"}
        target.node(fid[key], id=f"fwd{i}", **outline(attrs, colors, key in lit.nodes))
        diagram.ids[("fwd", key)] = f"fwd{i}"

    def add_backward(target, i, key):
        kind = node_kind(bwd, key)
        origin = bwd.nodes[key].get("origin")
        where = col.get(key)
        color = fill[where] if where is not None else colors[kind]
        klass = "gc-bwd"
        if origin is not None and same_key(origin, fwd):
            klass += f" gc-o{order[origin]}"
        if where is not None:
            klass += f" gc-c{order[where]}"
        if key in box_of:
            diagram.ids[("bwd", key)] = f"bwd{box_of[key]}"
            if box_of[key] != i:
                return
            members = column[where]
            attrs = group_box(bwd, "d" + clean_text(where, 40), members, values, colors,
                              compact, show_values)
            attrs.update(fillcolor=color[0], color=color[1])
            lit_box = any(k in lit.bwd_nodes for k in members)
            target.node(bid[key], id=f"bwd{i}", _attributes={"class": klass},
                        **outline(attrs, colors, lit_box))
            return
        attrs = node_attrs(bwd, key, kind, values, colors, color, **shown)
        attrs["_attributes"] = {"class": klass}
        target.node(bid[key], id=f"bwd{i}", **outline(attrs, colors, key in lit.bwd_nodes))
        diagram.ids[("bwd", key)] = f"bwd{i}"

    def add_aliases(sub):
        """Gradients with no node of their own (aliased, merged): a note in wrt's column."""
        for k, (wrt, name, holder) in enumerate(gradient_aliases(bwd, bkeys)):
            target = fid.get(holder) if holder in residual else bid.get(holder)
            if target is None or not same_key(wrt, fwd):
                continue
            value = format_value(values[holder])[0] if show_values and holder in values else ""
            sub.node(f"a{k}", id=f"alias{k}", shape="box", style="rounded,filled,dashed",
                     fillcolor=fill[wrt][0], color=fill[wrt][1],
                     label=alias_label(name, node_name(bwd, holder), value, colors),
                     tooltip=plain_text(f"{name}: the gradient with respect to "
                                        f"{clean_text(wrt, 40)} is the value of node "
                                        f"{clean_text(holder, 40)}"),
                     _attributes={"class": f"gc-bwd gc-alias gc-c{order[wrt]}"})
            diagram.edge(fid[wrt], f"a{k}", style="invis", minlen="0", weight="100")
            diagram.edge(f"a{k}", target, style="dashed", color=fill[wrt][1], arrowhead="empty",
                         constraint="false")

    def fill_part(part, items, group_of, add, extra=None):
        """Nodes of one part; those of a forward group inside a cluster named after it."""
        with diagram.subgraph(name=f"cluster_{part}") as sub:
            sub.attr(**cluster_attrs(part, colors))
            for i, key in items:
                if group_of(key) is None:
                    add(sub, i, key)
            for j, group in enumerate(groups):
                members = [(i, key) for i, key in items if group_of(key) == group]
                if members:
                    with sub.subgraph(name=f"cluster_{part}_g{j}") as inner:
                        inner.attr(**cluster_attrs(group, colors))
                        for i, key in members:
                            add(inner, i, key)
            if extra is not None:
                extra(sub)

    fill_part("backward", list(enumerate(bkeys)),
              lambda k: _group_of(fwd, col[k]) if k in col else None, add_backward, add_aliases)
    fill_part("forward", list(enumerate(fwd.nodes)), lambda k: _group_of(fwd, k), add_forward)
    for key in bwd.nodes:   # a forward value the backward graph reads: drawn as the forward node
        if key in residual:
            diagram.ids[("bwd", key)] = diagram.ids[("fwd", key)]
    # each backward node under its forward node: a heavy invisible edge of length 0 pulls it
    # into the forward node's rank.  Not rank=same: a rank=same set spanning two clusters
    # makes dot fail ("trouble in init_rank") on some graphs; a weight never fails.
    for where, members in column.items():
        for key in dict.fromkeys(bid[k] for k in members):
            diagram.edge(fid[where], key, style="invis", minlen="0", weight="100")
    label = ("xlabel" if fwd.number_of_edges() + bwd.number_of_edges() > XLABEL_EDGES
             or compact == 2 else "label")
    done = set()   # boxes: one edge between two boxes
    for u, v in fwd.edges:
        attrs = edge_attrs(fwd, u, v, values, colors, label=label, show_values=show_values,
                           compact=compact)
        diagram.edge(fid[u], fid[v], **outline(attrs, colors, (u, v) in lit.edges, HIGHLIGHT_EDGE))
    for u, v in bwd.edges:
        if u in folded:
            continue
        if u in residual:
            tip = (f"residual: the forward value of {node_name(fwd, u)} is kept "
                   f"for backward node {clean_text(v, 40)}")
            attrs = dict(style="dashed", color=fill[u][1], arrowhead="empty", constraint="false",
                         tooltip=plain_text(tip))
            if (fid[u], bid[v]) in done:
                continue
            done.add((fid[u], bid[v]))
            diagram.edge(fid[u], bid[v], **outline(attrs, colors, u in lit.residual_from,
                                                   HIGHLIGHT_EDGE))
        else:
            # declared against the flow (dir=back draws the arrow into v), so dot lays the
            # backward graph out in the forward graph's rank order: straight, parallel edges.
            # They take part in ranking (constraint=false edges with labels make newrank fail:
            # "trouble in init_rank"); within one column they may stay in the rank (minlen 0).
            attrs = edge_attrs(bwd, u, v, values, colors, show_values=show_values and not boxes,
                               color=colors["grad_edge"], label=label, compact=compact)
            if col.get(u) is not None and col.get(u) == col.get(v):
                attrs["minlen"] = "0"
            if bid[u] == bid[v] or (bid[v], bid[u]) in done:
                continue
            done.add((bid[v], bid[u]))
            diagram.edge(bid[v], bid[u], dir="back", arrowtail="normal",
                         **outline(attrs, colors, (u, v) in lit.bwd_edges, HIGHLIGHT_EDGE))
    return diagram


@document("style", "rankdir", "theme", "show_values", "rules", "collapse", "title", "highlight")
def render_pair(fwd, bwd, path=None, values=None, grads=None, *, engine="auto", dpi=None,
                **style):
    """Draw a forward graph and its backward graph in one picture.

    The forward graph flows one way in the upper box; the backward graph flows
    back beneath it, each backward node in the column and colour of its
    ``origin`` forward node.  Forward values read by backward ops are dashed
    edges from the forward node (what memory the backward pass holds);
    forward edges carry values and backward edges gradients; backward op nodes
    show their rule and, with values, the local factor.

    Parameters
    ----------
    fwd, bwd : networkx.DiGraph
        A forward graph and the result of ``gc.grad`` on it.
    path : str or Path, optional
        As for :func:`gcompile.render`; ``None`` returns the :class:`Diagram`.
    values : dict, optional
        Forward values, or forward and backward values merged.
    grads : dict, optional
        Backward values, e.g. ``gc.evaluate(bwd, values)``.
    engine : {"auto", "dot", "graphviz-pure"}
        The layout engine, as for :func:`gcompile.render`.
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
    >>> bwd = gc.grad(g, "price", g.graph["wrt"])
    >>> vals = gc.evaluate(g, feeds)
    >>> out = gc.render_pair(g, bwd, os.path.join(tempfile.mkdtemp(), "pair.gv"),
    ...                      vals, gc.evaluate(bwd, vals))
    >>> "d(x*y)/dx = y = 1.1" in out.read_text(encoding="utf-8")
    True
    """
    diagram = pair_to_dot(fwd, bwd, values, grads, **style)
    diagram.gc_engine = engine
    return diagram if path is None else write_image(diagram, path, engine, dpi)
