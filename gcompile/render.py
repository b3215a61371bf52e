"""Draw forward and backward graphs with Graphviz: ``to_dot``, ``render``, ``render_pair``.

:func:`to_dot` builds a :class:`Diagram` (a ``graphviz.Digraph`` that shows
itself in Jupyter through gcompile's engine); :func:`render` writes it as
SVG, PNG, PDF or DOT; :func:`render_pair` draws a forward graph and its
backward graph in one picture, each backward node in its forward node's
column and colour, the forward values the backward pass keeps (residuals) as
dashed links.  Engines are described in :mod:`gcompile.engines`.

Style options (keyword arguments of all three): ``rankdir`` ("LR" or "TB"),
``theme`` ("light" or "dark"), ``show_values`` (bool), ``rules`` (show the
local derivative rule on backward nodes), ``collapse`` (nodes sharing a
``group`` attribute: "cluster", "box" or None; single graphs only) and
``title``.

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

from collections.abc import Mapping
from pathlib import Path

import graphviz
import networkx as nx

from .engines import find_engine, run_engine, warn_missing_cjk
from .errors import GraphError
from .render_nodes import SIZES, edge_attrs, node_attrs, node_kind, node_name
from .render_style import FONT, FONT_STACK, clean_text, html_label, plain_text, theme as _theme

__all__ = ["Diagram", "to_dot", "pair_to_dot", "render", "render_pair", "export"]

#: Above this many edges, edge values become ``xlabel`` (placed after layout) to keep
#: big graphs fast.
XLABEL_EDGES = 400

#: Above this many nodes, an input or constant used by several ops is drawn once per
#: use: its edges would otherwise span the whole layout and dominate dot's time.
SPLIT_LEAVES_NODES = 1000

_SUFFIXES = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}


class Diagram(graphviz.Digraph):
    """A ``graphviz.Digraph`` that renders through gcompile's engine choice.

    Jupyter shows it inline (``_repr_svg_``, ``_repr_mimebundle_``) with system
    ``dot`` or, without it, the embedded graphviz-pure.

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple
    >>> d = gc.to_dot(apple()[0])
    >>> d._repr_svg_().lstrip().startswith("<?xml")
    True
    """

    gc_engine = "auto"

    def svg(self) -> str:
        """The SVG text of this diagram."""
        return export(self.source, "svg", self.gc_engine).decode("utf-8")

    def _repr_svg_(self):
        return self.svg()

    def _repr_mimebundle_(self, include=None, exclude=None, **_):
        return {"image/svg+xml": self.svg()}


def export(source: str, fmt: str, engine: str = "auto", dpi=None) -> bytes:
    """Lay out DOT ``source`` as ``fmt`` bytes; SVG gets a CJK-capable font stack.

    Examples
    --------
    >>> svg = export('digraph { a [fontname="Arial"] }', "svg", engine="graphviz-pure")
    >>> b"Noto Sans CJK KR" in svg
    True
    """
    name, _ = find_engine(engine)
    warn_missing_cjk(source, fmt, name)
    data = run_engine(source, fmt, name, dpi=dpi)
    if fmt == "svg":
        data = data.replace(f'font-family="{FONT}"'.encode(), f'font-family="{FONT_STACK}"'.encode())
    return data


def _check_graph(graph, what="graph"):
    if not isinstance(graph, nx.DiGraph) or graph.is_multigraph():
        raise GraphError(f"{what} must be a networkx DiGraph, got {type(graph).__name__}")


def _check_values(values, what="values"):
    if values is not None and not isinstance(values, Mapping):
        raise GraphError(f"{what} must be a dict node -> value (as gc.evaluate returns), "
                         f"got {type(values).__name__}")
    return values or {}


def _new_diagram(colors, rankdir, title, name="gcompile", **graph_attr):
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise GraphError(f"rankdir must be 'LR' or 'TB' (or 'RL', 'BT'), got {rankdir!r}")
    attrs = dict(rankdir=rankdir, bgcolor=colors["bg"], fontname=FONT, fontcolor=colors["text"],
                 nodesep="0.3", ranksep="0.5", pad="0.25", **graph_attr)
    if title is not None:
        attrs.update(label=html_label((clean_text(title, 80), 14, colors["text"], True)),
                     labelloc="t")
    diagram = Diagram(name=name, graph_attr=attrs,
                      node_attr=dict(fontname=FONT, fontsize="11", penwidth="1.2",
                                     margin="0.12,0.05"),
                      edge_attr=dict(fontname=FONT, fontsize=str(SIZES["edge"]), arrowsize="0.7",
                                     penwidth="1.1", fontcolor=colors["text"]))
    return diagram


def _cluster_attrs(text, colors, **extra):
    return dict(label=html_label((clean_text(text, 60), 10, colors["subtext"], True)),
                style="rounded,filled", fillcolor=colors["cluster"], color=colors["cluster_border"],
                fontname=FONT, labeljust="l", **extra)


def _groups(graph):
    groups = {}
    for key, data in graph.nodes(data=True):
        if data.get("group") is not None:
            groups.setdefault(clean_text(data["group"], 60), []).append(key)
    return groups


def to_dot(graph, values=None, *, rankdir="LR", theme="light", show_values=True, rules=True,
           collapse="cluster", title=None) -> Diagram:
    """Build the Graphviz diagram of one graph (forward or backward).

    Parameters
    ----------
    graph : networkx.DiGraph
        A graph in gcompile's format; a backward graph from :func:`gcompile.grad`
        draws its seed, rules, residual inputs and final gradients distinctly.
    values : dict, optional
        Node -> value (``gc.evaluate``): written on the edges leaving each node
        and inside sink nodes.
    rankdir, theme, show_values, rules, collapse, title
        See the module docstring.

    Returns
    -------
    Diagram
        A ``graphviz.Digraph``; its ``.source`` is byte-identical on every run.

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple
    >>> g, feeds = apple()
    >>> bwd = gc.grad(g, "price", g.graph["wrt"])
    >>> src = gc.to_dot(bwd, gc.evaluate(bwd, gc.evaluate(g, feeds))).source
    >>> all(text in src for text in ("2.2", "110", "200", "d(x*y)/dx = y = 1.1"))
    True
    """
    _check_graph(graph)
    values = _check_values(values)
    colors = _theme(theme)
    if collapse not in (None, False, "cluster", "box"):
        raise GraphError(f"collapse must be 'cluster', 'box' or None, got {collapse!r}")
    diagram = _new_diagram(colors, rankdir, title)
    ids = {key: f"n{i}" for i, key in enumerate(graph.nodes)}
    groups = _groups(graph) if collapse else {}
    grouped = {key for members in groups.values() for key in members}
    style = dict(show_values=show_values, rules=rules)

    split = set()
    if graph.number_of_nodes() > SPLIT_LEAVES_NODES:
        split = {k for k, op in graph.nodes(data="op")
                 if op in ("input", "const") and graph.out_degree(k) > 1 and k not in grouped}

    def add_node(target, key, node_id=None):
        kind = node_kind(graph, key)
        node_id = node_id or ids[key]
        target.node(node_id, id=node_id,
                    **node_attrs(graph, key, kind, values, colors, colors[kind], **style))

    for key in graph.nodes:
        if key not in grouped and key not in split:
            add_node(diagram, key)
    for j, (group, members) in enumerate(groups.items()):
        if collapse == "cluster":
            with diagram.subgraph(name=f"cluster_g{j}") as sub:
                sub.attr(**_cluster_attrs(group, colors))
                for key in members:
                    add_node(sub, key)
        else:
            ops = sorted({str(graph.nodes[k].get("op")) for k in members})
            detail = f"{len(members)} nodes: {', '.join(ops)}"
            diagram.node(f"g{j}", id=f"g{j}", shape="box3d", style="filled", fillcolor=colors["cluster"],
                         color=colors["cluster_border"],
                         label=html_label((group, SIZES["name"], colors["text"], True),
                                          (clean_text(detail, 48), SIZES["detail"],
                                           colors["subtext"], False)),
                         tooltip=plain_text(f"group {group}: "
                                            + ", ".join(clean_text(k, 40) for k in members)))
            for key in members:
                ids[key] = f"g{j}"
    label = "xlabel" if graph.number_of_edges() > XLABEL_EDGES else "label"
    seen = {}
    for u, v in graph.edges:
        pair = (ids[u], ids[v])
        if pair[0] == pair[1]:
            continue
        seen.setdefault(pair, []).append((u, v))
    for (tail, head), edges in seen.items():
        u, v = edges[0]
        shown = values if len({e[0] for e in edges}) == 1 else {}
        role = graph.nodes[u].get("role")   # backward graphs: gradients orange, residuals dashed
        color = None if role is None else colors[
            "residual" if role == "forward_value" else "grad_edge"]
        attrs = edge_attrs(graph, u, v, shown, colors, show_values=show_values, color=color,
                           label=label)
        if role == "forward_value":
            attrs["style"] = "dashed"
        if u in split:
            tail = f"{tail}_{head}"
            add_node(diagram, u, tail)
        diagram.edge(tail, head, **attrs)
    return diagram


def _same_key(key, graph):
    try:
        return key in graph
    except TypeError:
        return False


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


def pair_to_dot(fwd, bwd, values=None, grads=None, *, rankdir="LR", theme="light",
                show_values=True, rules=True, title=None, collapse=None) -> Diagram:
    """Build the diagram of a forward graph above its backward graph (see :func:`render_pair`).

    ``collapse`` is accepted for symmetry with :func:`to_dot` and ignored: the
    pair keeps every node so each backward node can sit in its forward column.

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
    _check_graph(fwd, "forward graph")
    _check_graph(bwd, "backward graph")
    values = {**_check_values(values), **_check_values(grads, "grads")}
    colors = _theme(theme)
    diagram = _new_diagram(colors, rankdir, title, newrank="true")
    fid = {key: f"f{i}" for i, key in enumerate(fwd.nodes)}
    residual = {k for k, d in bwd.nodes(data=True)
                if d.get("role") == "forward_value" and _same_key(k, fwd)}
    folded = _folded_constants(bwd)
    bkeys = [k for k in bwd.nodes if k not in residual and k not in folded]
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
    style = dict(show_values=show_values, rules=rules)
    with diagram.subgraph(name="cluster_forward") as sub:
        sub.attr(**_cluster_attrs("forward", colors))
        for i, key in enumerate(fwd.nodes):
            partners = ", ".join(clean_text(k, 30) for k in column.get(key, [])
                                 + [s for o, s in seeds if o == key])
            tip = f"backward nodes: {partners}" if partners else ""
            sub.node(fid[key], id=f"fwd{i}", _attributes={"class": f"gc-fwd gc-o{i}"},
                     **node_attrs(fwd, key, node_kind(fwd, key), values, colors, fill[key],
                                  extra_tip=tip, **style))
    order = {key: i for i, key in enumerate(fwd.nodes)}
    with diagram.subgraph(name="cluster_backward") as sub:
        sub.attr(**_cluster_attrs("backward", colors))
        for i, key in enumerate(bkeys):
            kind = node_kind(bwd, key)
            origin = bwd.nodes[key].get("origin")
            aligned = origin is not None and _same_key(origin, fwd)
            color = fill[origin] if aligned else colors[kind]
            klass = f"gc-bwd gc-o{order[origin]}" if aligned else "gc-bwd"
            sub.node(bid[key], id=f"bwd{i}", _attributes={"class": klass},
                     **node_attrs(bwd, key, kind, values, colors, color, **style))
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
        diagram.edge(fid[u], fid[v], **edge_attrs(fwd, u, v, values, colors, label=label,
                                                 show_values=show_values))
    for u, v in bwd.edges:
        if u in folded:
            continue
        if u in residual:
            tip = (f"residual: the forward value of {node_name(fwd, u)} is kept "
                   f"for backward node {clean_text(v, 40)}")
            diagram.edge(fid[u], bid[v], style="dashed", color=fill[u][1], arrowhead="empty",
                         constraint="false", tooltip=plain_text(tip))
        else:
            # declared against the flow (dir=back draws the arrow into v), so dot lays the
            # backward graph out in the forward graph's rank order: straight, parallel edges
            diagram.edge(bid[v], bid[u], dir="back", arrowtail="normal", constraint="false",
                         **edge_attrs(bwd, u, v, values, colors, show_values=show_values,
                                      color=colors["grad_edge"], label=label))
    return diagram


def _write(diagram, path, engine, dpi):
    try:
        path = Path(path)
    except TypeError:
        raise GraphError(f"path must be a file name, got {type(path).__name__}") from None
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise GraphError(f"cannot tell the image format of {str(path)!r}: use a name ending in "
                         + ", ".join(_SUFFIXES))
    data = diagram.source.encode("utf-8") if fmt == "dot" else export(
        diagram.source, fmt, engine, dpi=dpi if fmt == "png" else None)
    try:
        path.write_bytes(data)
    except OSError as err:
        raise GraphError(f"cannot write {str(path)!r}: {err.strerror or err}") from None
    return path


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
    dpi : float, optional
        Resolution of PNG output.
    **style
        ``rankdir``, ``theme``, ``show_values``, ``rules``, ``collapse``, ``title``.

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
    return diagram if path is None else _write(diagram, path, engine, dpi)


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
        As for :func:`render`; ``None`` returns the :class:`Diagram`.
    values : dict, optional
        Forward values, or forward and backward values merged.
    grads : dict, optional
        Backward values, e.g. ``gc.evaluate(bwd, values)``.

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
    return diagram if path is None else _write(diagram, path, engine, dpi)
