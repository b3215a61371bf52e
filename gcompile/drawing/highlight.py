"""Which nodes and edges a ``highlight=`` option outlines in a diagram.

:func:`gcompile.to_dot`, :func:`gcompile.drawing.draw`, :func:`gcompile.render_pair`
and :func:`gcompile.render_passes` accept ``highlight``:

- **a node** of the (forward) graph: its correspondence.  The node, and every
  node whose ``origin`` is that node (in a pair picture: the backward nodes
  computing its local derivatives, and the dashed links of its value kept for
  the backward pass).
- **a list of nodes** (a path, e.g. from ``wrt`` to ``output``; consecutive
  nodes must be joined by an edge): the nodes and the edges between them; in a
  pair picture also the backward nodes that carry the gradient back along the
  path: those whose ``origin`` is on the path and that differentiate with
  respect to the path's previous node (``wrt_arg``), or that have no
  ``wrt_arg`` (seed, accumulation), with the backward edges between them.
- **a dict** naming exact nodes, nothing added: ``{"nodes": [...]}`` for one
  graph, ``{"forward": [...], "backward": [...]}`` for a pair.

Examples
--------
>>> import gcompile as gc
>>> from gcompile.examples import apple
>>> g, _ = apple()
>>> bwd = gc.grad(g, "price", g.graph["wrt"])
>>> hl = pair_highlight(g, bwd, ["apple", "apple_price", "price"])
>>> sorted(hl.bwd_nodes)
['dapple', 'dapple_price', 'dprice']
>>> sorted(pair_highlight(g, bwd, "apple_price").bwd_nodes)
['dapple', 'dapple_num']
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import GraphError
from .style import clean_text

__all__ = ["Highlight", "graph_highlight", "pair_highlight", "outline", "HIGHLIGHT_NODE",
           "HIGHLIGHT_EDGE"]

#: Pen widths of highlighted nodes and edges.
HIGHLIGHT_NODE = "4"
HIGHLIGHT_EDGE = "3"


@dataclass
class Highlight:
    """The highlighted parts of a diagram (forward/single graph and backward)."""

    nodes: set = field(default_factory=set)
    edges: set = field(default_factory=set)
    bwd_nodes: set = field(default_factory=set)
    bwd_edges: set = field(default_factory=set)
    residual_from: set = field(default_factory=set)


def _has(graph, key):
    try:
        return key in graph
    except TypeError:
        return False


def _keys(graph, keys, what):
    if isinstance(keys, (str, bytes)) or not hasattr(keys, "__iter__"):
        keys = [keys]
    keys = list(keys)
    for key in keys:
        if not _has(graph, key):
            raise GraphError(f"highlight: {clean_text(repr(key), 60)} is not a node of the {what}")
    return keys


def _path(graph, path, what):
    nodes = _keys(graph, path, what)
    if not nodes:
        raise GraphError("highlight: the path is empty")
    for u, v in zip(nodes, nodes[1:]):
        if not graph.has_edge(u, v):
            raise GraphError(f"highlight: no edge {clean_text(repr(u), 40)} -> "
                             f"{clean_text(repr(v), 40)} in the {what}: a path lists nodes "
                             f"joined by edges, e.g. from wrt to output")
    return nodes, set(zip(nodes, nodes[1:]))


def _is_path(graph, highlight):
    """A list is a path; a tuple too unless it is itself a node key."""
    if isinstance(highlight, list):
        return True
    return isinstance(highlight, tuple) and not _has(graph, highlight)


def _origin_of(graph, key, origin):
    org = graph.nodes[key].get("origin")
    try:
        return org is not None and org == origin
    except (TypeError, ValueError):
        return False


def graph_highlight(graph, highlight) -> Highlight:
    """Resolve ``highlight`` against one graph (see the module docstring).

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple
    >>> g, _ = apple()
    >>> sorted(graph_highlight(gc.grad(g, "price", ["apple"]), "price").nodes)
    ['dapple_price', 'dprice']
    """
    out = Highlight()
    if highlight is None:
        return out
    if isinstance(highlight, Mapping):
        unknown = set(highlight) - {"nodes"}
        if unknown:
            raise GraphError(f"highlight: a dict for one graph has the key 'nodes' only, got "
                             f"{sorted(map(repr, unknown))}")
        out.nodes = set(_keys(graph, highlight.get("nodes", []), "graph"))
    elif _is_path(graph, highlight):
        nodes, out.edges = _path(graph, highlight, "graph")
        out.nodes = set(nodes)
    else:
        out.nodes = {k for k in graph.nodes if _origin_of(graph, k, highlight)}
        if _has(graph, highlight):
            out.nodes.add(highlight)
        if not out.nodes:
            raise GraphError(f"highlight: {clean_text(repr(highlight), 60)} is neither a node of "
                             f"the graph nor the origin of one")
    return out


def _positions(fwd, u, v):
    arg = fwd.edges[u, v].get("arg")
    if arg is None:
        return {0}
    return set(arg) if isinstance(arg, (list, tuple)) else {arg}


def pair_highlight(fwd, bwd, highlight, drawn=None) -> Highlight:
    """Resolve ``highlight`` for a pair picture; ``drawn`` are the backward nodes it draws
    (default: all but the forward values read).

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple
    >>> g, _ = apple()
    >>> bwd = gc.grad(g, "price", g.graph["wrt"])
    >>> sorted(pair_highlight(g, bwd, {"backward": ["dtax"]}).bwd_nodes)
    ['dtax']
    """
    out = Highlight()
    if highlight is None:
        return out
    if drawn is None:  # forward values the backward graph reads are drawn as forward nodes
        drawn = [k for k, d in bwd.nodes(data=True)
                 if not (d.get("role") == "forward_value" and _has(fwd, k))]
    shown = set(drawn)
    if isinstance(highlight, Mapping):
        unknown = set(highlight) - {"forward", "backward"}
        if unknown:
            raise GraphError(f"highlight: a dict for a pair has the keys 'forward' and "
                             f"'backward', got {sorted(map(repr, unknown))}")
        out.nodes = set(_keys(fwd, highlight.get("forward", []), "forward graph"))
        back = _keys(bwd, highlight.get("backward", []), "backward graph")
        hidden = [k for k in back if k not in shown]
        if hidden:
            raise GraphError(f"highlight: backward node {clean_text(repr(hidden[0]), 60)} is not "
                             f"drawn in the pair picture (a forward value it reads, or a constant "
                             f"shown in its consumer's rule line)")
        out.bwd_nodes = set(back)
        return out
    if _is_path(fwd, highlight):
        nodes, out.edges = _path(fwd, highlight, "forward graph")
        out.nodes = set(nodes)
        before = {v: u for u, v in zip(nodes, nodes[1:])}
        for key in drawn:
            data = bwd.nodes[key]
            origin = data.get("origin")
            if not _has(fwd, origin) or origin not in out.nodes:
                continue
            arg = data.get("wrt_arg")
            if arg is None or (origin in before and arg in _positions(fwd, before[origin], origin)):
                out.bwd_nodes.add(key)
        out.bwd_edges = {(u, v) for u, v in bwd.edges if u in out.bwd_nodes and v in out.bwd_nodes}
        return out
    if not _has(fwd, highlight):
        raise GraphError(f"highlight: {clean_text(repr(highlight), 60)} is not a node of the "
                         f"forward graph")
    out.nodes = {highlight}
    out.bwd_nodes = {k for k in drawn if _origin_of(bwd, k, highlight)}
    out.residual_from = {highlight}
    return out


def outline(attrs, colors, on, width=HIGHLIGHT_NODE):
    """``attrs`` outlined in the theme's highlight colour (class ``gc-hl``) when ``on``.

    Examples
    --------
    >>> from gcompile.drawing.style import theme
    >>> outline({"color": "#000"}, theme("light"), True)
    {'color': '#d62728', 'penwidth': '4', '_attributes': {'class': 'gc-hl'}}
    >>> outline({"color": "#000"}, theme("light"), False)
    {'color': '#000'}
    """
    if not on:
        return attrs
    attrs.update(color=colors["highlight"], penwidth=width)
    extra = attrs.setdefault("_attributes", {})
    extra["class"] = (extra["class"] + " gc-hl") if "class" in extra else "gc-hl"
    return attrs
