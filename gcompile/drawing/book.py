"""The book figure: one graph, forward values above each edge, gradients beneath.

*Deep Learning from Scratch* (chapter 5) draws the apple example once: every
edge carries the value flowing forward above it and, beneath it in red, the
gradient flowing back along it (2.2 under the apple edge, 110 under the count
edge, 200 under the tax edge); the output receives the seed ``1``.
:func:`book_to_dot` draws that figure for any forward graph and its backward
graph: the forward nodes once, each forward edge ``u -> v`` as a forward arrow
over a backward arrow (right to left, in the theme's ``book_grad`` colour),
labelled with the value of ``u`` and the gradient the backward graph sends
along that edge.  Where an operand is used twice (``x * x``), each use gets
its own backward arrow with its own contribution.

The backward node holding the gradient along a forward edge is found through
its ``along`` attribute (``[(u, v, operand position), ...]``, written by
:func:`gcompile.grad`); after :func:`gcompile.optimize` a node the passes merged
or aliased is followed to the node that holds its value.
``gc.render_pair(fwd, bwd, path, values, grads, style="book")`` writes it.

Examples
--------
>>> import gcompile as gc
>>> from gcompile.examples import apple
>>> g, feeds = apple()
>>> bwd = gc.grad(g, "price", g.graph["wrt"])
>>> values = gc.evaluate(g, feeds)
>>> along = edge_gradients(g, bwd)
>>> along[("apple", "apple_price", 0)], along[("tax", "price", 1)]
('dapple', 'dtax')
"""
from __future__ import annotations

from .base import auto_rankdir, check_values, new_diagram, theme_colors
from .highlight import HIGHLIGHT_EDGE, outline, pair_highlight
from .nodes import node_attrs, node_kind
from .style import clean_text, format_value, html_text, plain_text

__all__ = ["book_to_dot", "edge_gradients", "follow_aliases"]


def follow_aliases(bwd):
    """Backward node -> the node holding its value after ``gc.optimize`` (merged, aliased);
    ``{}`` when the graph was not optimized.

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple
    >>> g, _ = apple()
    >>> follow_aliases(gc.grad(g, "price", g.graph["wrt"], optimize=True))["dtax"]
    'apple_price'
    """
    log = bwd.graph.get("pass_log")
    if not isinstance(log, dict):
        return {}
    moved = {}
    for rec in log.get("records", []) if isinstance(log.get("records"), list) else []:
        for kind in ("aliased", "merged"):
            for pair in rec.get(kind, []) or []:
                try:
                    old, new = pair
                except (TypeError, ValueError):
                    continue
                moved[old] = new
    out = {}
    for key in moved:
        target, seen = moved[key], {key}
        while target in moved and target not in seen:
            seen.add(target)
            target = moved[target]
        out[key] = target
    return out


def _positions(arg, n):
    if isinstance(arg, (list, tuple)):
        return list(arg)
    return [0 if arg is None else arg] if n == 1 else [arg]


def _along(bwd):
    found = {}
    for key, along in bwd.nodes(data="along"):
        if isinstance(along, (list, tuple)):
            for item in along:
                if isinstance(item, (list, tuple)) and len(item) == 3:
                    found.setdefault(tuple(item), key)
    return found


def edge_gradients(fwd, bwd):
    """``(u, v, operand position) -> backward node`` holding the gradient along that use.

    Read from the ``along`` attribute of the backward nodes.  A graph
    :func:`gcompile.optimize` simplified (it has a ``pass_log``) lost the
    nodes the passes aliased or merged: the unsimplified backward graph is
    rebuilt from ``fwd`` and each of its nodes followed to the node that holds
    its value, so every gradient is still found.

    Examples
    --------
    >>> import gcompile as gc
    >>> import networkx as nx
    >>> sq = nx.DiGraph()
    >>> sq.add_node("x", op="input"); sq.add_node("y", op="mul")
    >>> sq.add_edge("x", "y", arg=[0, 1])
    >>> sorted(edge_gradients(sq, gc.grad(sq, "y", ["x"])).items())
    [(('x', 'y', 0), 'dx@y#0'), (('x', 'y', 1), 'dx@y#1')]
    """
    aliases = follow_aliases(bwd)
    found = _along(bwd)
    if aliases or isinstance(bwd.graph.get("pass_log"), dict):
        from ..autodiff import grad
        from ..errors import GraphError
        try:
            full = grad(fwd, bwd.graph.get("output"), bwd.graph.get("wrt"))
        except (GraphError, TypeError):
            full = None
        if full is not None:
            for edge, key in _along(full).items():
                found.setdefault(edge, aliases.get(key, key))
    return {edge: key for edge, key in found.items() if _in(key, bwd)}


def book_to_dot(fwd, bwd, values=None, grads=None, *, rankdir="auto", theme="light",
                show_values=True, rules=True, title=None, collapse=None, highlight=None):
    """Build the book figure (see the module docstring and :func:`gcompile.render_pair`).

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple
    >>> g, feeds = apple()
    >>> bwd = gc.grad(g, "price", g.graph["wrt"])
    >>> values = gc.evaluate(g, feeds)
    >>> src = book_to_dot(g, bwd, values, gc.evaluate(bwd, values)).source
    >>> all(f">{n}</FONT>" in src for n in ("2.2", "110", "1.1", "200", "220", "1"))
    True
    """
    values = {**check_values(values), **check_values(grads, "grads")}
    colors = theme_colors(theme)
    red = colors["book_grad"]
    if rankdir == "auto":
        rankdir = auto_rankdir(fwd)
    diagram = new_diagram(colors, rankdir, title)
    diagram.graph_attr.update(nodesep="0.6", ranksep="1.1")
    lit = pair_highlight(fwd, bwd, highlight)
    ids = {key: f"f{i}" for i, key in enumerate(fwd.nodes)}
    along = edge_gradients(fwd, bwd)
    for i, key in enumerate(fwd.nodes):
        kind = node_kind(fwd, key)
        attrs = node_attrs(fwd, key, kind, values, colors, colors[kind], show_values=False,
                           rules=rules)
        attrs["_attributes"] = {"class": f"gc-fwd gc-o{i}"}
        diagram.node(ids[key], id=f"fwd{i}", **outline(attrs, colors, key in lit.nodes))
        diagram.ids[("fwd", key)] = f"fwd{i}"

    def text(value, color):
        short = format_value(value)[0] if value is not None and show_values else ""
        return f'<<FONT COLOR="{color}">{html_text(short) or " "}</FONT>>'

    def backward(u_id, v_id, value, tip, on):
        attrs = dict(dir="back", arrowtail="normal", color=red, fontcolor=red,
                     label=text(value, red),
                     tooltip=plain_text(tip), _attributes={"class": "gc-book-grad"})
        diagram.edge(u_id, v_id, **outline(attrs, colors, on, HIGHLIGHT_EDGE))

    for u, v, arg in fwd.edges(data="arg"):
        on = (u, v) in lit.edges
        fwd_tip = f"{clean_text(u, 60)} → {clean_text(v, 60)}: forward value"
        diagram.edge(ids[u], ids[v], label=text(values.get(u), colors["text"]),
                     tooltip=plain_text(fwd_tip), color=colors["edge"],
                     **({"penwidth": HIGHLIGHT_EDGE, "color": colors["highlight"]} if on else {}))
        for pos in _positions(arg, len(list(fwd.predecessors(v)))):
            bkey = along.get((u, v, pos))
            if bkey is None:
                continue
            tip = (f"gradient flowing back from {clean_text(v, 40)} to {clean_text(u, 40)} "
                   f"(operand {pos}): backward node {clean_text(bkey, 40)}")
            backward(ids[u], ids[v], values.get(bkey), tip, on)
    output = bwd.graph.get("output")
    seed = bwd.graph.get("seed")
    if _in(output, fwd):
        diagram.node("end", id="end", shape="point", width="0.01", style="invis")
        seed_value = values.get(seed, 1) if values else None
        diagram.edge(ids[output], "end", label=text(values.get(output), colors["text"]),
                     color=colors["edge"], arrowhead="none",
                     tooltip=plain_text(f"{clean_text(output, 60)}: the output"))
        backward(ids[output], "end", seed_value, "the seed: d output / d output = 1", False)
    return diagram


def _in(key, graph):
    try:
        return key is not None and key in graph
    except TypeError:
        return False
