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

from .base import (XLABEL_EDGES, Diagram, check_graph, check_values, cluster_attrs,
                   new_diagram, theme_colors, write_image)
from .highlight import HIGHLIGHT_EDGE, outline, pair_highlight
from .nodes import edge_attrs, node_attrs, node_kind, node_name
from .book import book_to_dot
from .options import document
from ..errors import GraphError
from .style import clean_text, plain_text

__all__ = ["pair_to_dot", "render_pair", "drawn_backward_nodes", "check_pair", "PAIR_STYLES"]

#: The pictures of a forward graph and its backward graph: "pair" (both graphs, the
#: backward one beneath) and "book" (one graph, gradients beneath the forward values).
PAIR_STYLES = ("pair", "book")


def _same_key(key, graph):
    try:
        return key in graph
    except TypeError:
        return False


def _is_backward(graph):
    return isinstance(graph.graph.get("grads"), dict) and any(
        "role" in data for _, data in graph.nodes(data=True))


def check_pair(fwd, bwd):
    """A :class:`GraphError` naming the wrong argument unless ``bwd`` is the backward graph
    of ``fwd`` (``gc.grad(fwd, ...)``): not swapped, not of another forward graph.

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple, apple_orange
    >>> g, _ = apple()
    >>> bwd = gc.grad(g, "price", g.graph["wrt"])
    >>> check_pair(g, bwd)
    >>> try:
    ...     check_pair(bwd, g)
    ... except gc.GraphError as err:
    ...     print(str(err)[:72])
    render_pair(fwd, bwd, ...): the arguments are swapped: the first is a ba
    """
    check_graph(fwd, "forward graph")
    check_graph(bwd, "backward graph")
    if _is_backward(fwd) and not _is_backward(bwd):
        raise GraphError("render_pair(fwd, bwd, ...): the arguments are swapped: the first is a "
                         "backward graph (it has 'grads' and node roles, as gc.grad makes), the "
                         "second a forward graph; call render_pair(fwd, bwd, ...)")
    if not _is_backward(bwd):
        raise GraphError("render_pair(fwd, bwd, ...): the second argument (bwd) is not a "
                         "backward graph: it has no 'grads' graph attribute and no node roles "
                         "(pass the result of gc.grad(fwd, output, wrt))")
    wanted = [("output", bwd.graph.get("output"))]
    wanted += [("wrt node", w) for w in bwd.graph["grads"]]
    wanted += [("origin of backward node " + clean_text(repr(k), 40), o)
               for k, o in bwd.nodes(data="origin") if o is not None]
    for what, key in wanted:
        if not _same_key(key, fwd):
            raise GraphError(f"render_pair(fwd, bwd, ...): bwd is not the backward graph of "
                             f"fwd: its {what} {clean_text(repr(key), 60)} is not a node of "
                             f"the forward graph (pass the graph gc.grad was called on)")


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
            if k not in folded and not (d.get("role") == "forward_value" and _same_key(k, fwd))]


def _origin_colors(fwd, bwd, residual, colors):
    """Forward node -> (fill, border): palette colours for the nodes the backward
    graph refers to (origins, residuals), in forward order; kind colours otherwise."""
    origins = set()
    for key, origin in bwd.nodes(data="origin"):
        if key not in residual and origin is not None and _same_key(origin, fwd):
            origins.add(origin)
    ranked = ([k for k in fwd.nodes if k in origins]
              + [k for k in fwd.nodes if k in residual and k not in origins])
    palette = colors["palette"]
    fill = {key: colors[node_kind(fwd, key)] for key in fwd.nodes}
    fill.update({key: palette[i % len(palette)] for i, key in enumerate(ranked)})
    return fill


@document("style", "rankdir", "theme", "show_values", "rules", "collapse", "title", "highlight")
def pair_to_dot(fwd, bwd, values=None, grads=None, *, style="pair", rankdir="LR", theme="light",
                show_values=True, rules=True, title=None, collapse=None,
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
    if style == "book":
        return book_to_dot(fwd, bwd, values, grads, rankdir=rankdir, theme=theme,
                           show_values=show_values, rules=rules, title=title,
                           collapse=collapse, highlight=highlight)
    values = {**check_values(values), **check_values(grads, "grads")}
    colors = theme_colors(theme)
    diagram = new_diagram(colors, rankdir, title, newrank="true")
    fid = {key: f"f{i}" for i, key in enumerate(fwd.nodes)}
    residual = {k for k, d in bwd.nodes(data=True)
                if d.get("role") == "forward_value" and _same_key(k, fwd)}
    folded = _folded_constants(bwd)
    bkeys = drawn_backward_nodes(fwd, bwd)
    lit = pair_highlight(fwd, bwd, highlight, bkeys)
    fill = _origin_colors(fwd, bwd, residual, colors)
    bid = {key: f"b{i}" for i, key in enumerate(bkeys)}
    column, seeds = {}, []
    for key in bkeys:
        origin = bwd.nodes[key].get("origin")
        if origin is not None and _same_key(origin, fwd):
            if bwd.nodes[key].get("role") == "seed":
                seeds.append((origin, key))  # enters from beyond the output: one column right
            else:
                column.setdefault(origin, []).append(key)
    shown = dict(show_values=show_values, rules=rules)
    with diagram.subgraph(name="cluster_forward") as sub:
        sub.attr(**cluster_attrs("forward", colors))
        for i, key in enumerate(fwd.nodes):
            partners = ", ".join(clean_text(k, 30) for k in column.get(key, [])
                                 + [s for o, s in seeds if o == key])
            tip = f"backward nodes: {partners}" if partners else ""
            attrs = node_attrs(fwd, key, node_kind(fwd, key), values, colors, fill[key],
                               extra_tip=tip, **shown)
            attrs["_attributes"] = {"class": f"gc-fwd gc-o{i}"}
            sub.node(fid[key], id=f"fwd{i}", **outline(attrs, colors, key in lit.nodes))
            diagram.ids[("fwd", key)] = f"fwd{i}"
    order = {key: i for i, key in enumerate(fwd.nodes)}
    with diagram.subgraph(name="cluster_backward") as sub:
        sub.attr(**cluster_attrs("backward", colors))
        for i, key in enumerate(bkeys):
            kind = node_kind(bwd, key)
            origin = bwd.nodes[key].get("origin")
            aligned = origin is not None and _same_key(origin, fwd)
            color = fill[origin] if aligned else colors[kind]
            klass = f"gc-bwd gc-o{order[origin]}" if aligned else "gc-bwd"
            attrs = node_attrs(bwd, key, kind, values, colors, color, **shown)
            attrs["_attributes"] = {"class": klass}
            sub.node(bid[key], id=f"bwd{i}", **outline(attrs, colors, key in lit.bwd_nodes))
            diagram.ids[("bwd", key)] = f"bwd{i}"
    for key in bwd.nodes:   # a forward value the backward graph reads: drawn as the forward node
        if key in residual:
            diagram.ids[("bwd", key)] = diagram.ids[("fwd", key)]
    for origin, members in column.items():
        with diagram.subgraph() as same:
            same.attr(rank="same")
            for node in [fid[origin]] + [bid[k] for k in members]:
                same.node(node)
    for origin, key in seeds:
        diagram.edge(fid[origin], bid[key], style="invis")
    label = ("xlabel" if fwd.number_of_edges() + bwd.number_of_edges() > XLABEL_EDGES
             else "label")
    for u, v in fwd.edges:
        attrs = edge_attrs(fwd, u, v, values, colors, label=label, show_values=show_values)
        diagram.edge(fid[u], fid[v], **outline(attrs, colors, (u, v) in lit.edges, HIGHLIGHT_EDGE))
    for u, v in bwd.edges:
        if u in folded:
            continue
        if u in residual:
            tip = (f"residual: the forward value of {node_name(fwd, u)} is kept "
                   f"for backward node {clean_text(v, 40)}")
            attrs = dict(style="dashed", color=fill[u][1], arrowhead="empty", constraint="false",
                         tooltip=plain_text(tip))
            diagram.edge(fid[u], bid[v], **outline(attrs, colors, u in lit.residual_from,
                                                   HIGHLIGHT_EDGE))
        else:
            # declared against the flow (dir=back draws the arrow into v), so dot lays the
            # backward graph out in the forward graph's rank order: straight, parallel edges
            attrs = edge_attrs(bwd, u, v, values, colors, show_values=show_values,
                               color=colors["grad_edge"], label=label)
            diagram.edge(bid[v], bid[u], dir="back", arrowtail="normal", constraint="false",
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
