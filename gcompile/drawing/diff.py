"""A backward graph before and after :func:`gcompile.optimize`, side by side.

:func:`passes_to_dot` draws the graph as ``gc.grad`` made it (left) and as the
passes left it (right).  In the left picture every node the passes took away
is marked, with a note under it and an SVG class:

- ``gc-removed`` (dashed, greyed): dead code, nothing requested needs it;
- ``gc-merged`` / ``gc-aliased`` (dashed, pink): computed once elsewhere
  (common subexpression) or the same value as an operand (``x * 1``); the
  note names the node that holds the value afterwards;
- ``gc-folded`` (orange border): evaluated to a constant, in both pictures.

Each cluster's title gives the node count, the right one also the count after
each pass that changed something.  :func:`gcompile.render_passes` writes it.

Examples
--------
>>> import gcompile as gc
>>> from gcompile.examples import apple
>>> g, _ = apple()
>>> src = passes_to_dot(gc.grad(g, "price", g.graph["wrt"])).source
>>> "before: 9 nodes" in src and "after: 6 nodes" in src and src.count("gc-removed")
1
"""
from __future__ import annotations

from ..evaluate import evaluate
from ..passes import PASSES, optimize
from .base import (XLABEL_EDGES, Diagram, check_graph, check_values, cluster_attrs,
                   new_diagram, theme_colors, write_image)
from .nodes import SIZES, edge_attrs, node_attrs, node_kind, node_name
from .options import document
from .style import clean_text, html_label

__all__ = ["passes_to_dot", "render_passes", "pass_fates"]

_NOTES = {"removed": "removed by {pass_}", "merged": "merged into {target}",
          "aliased": "same value as {target}", "folded": "folded to a constant"}


def pass_fates(log):
    """Node -> ``(fate, target, pass)`` from a :class:`gcompile.PassLog`.

    ``fate`` is "removed", "merged", "aliased" or "folded"; ``target`` the node
    that holds the value afterwards (merged and aliased chains followed), the op
    a folded node was rewritten as (``x * -1`` -> ``neg``), else ``None``.  A node folded and later removed is "removed".

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple
    >>> g, _ = apple()
    >>> fates = pass_fates(gc.optimize(gc.grad(g, "price", g.graph["wrt"]))[1])
    >>> fates["dprice"], fates["dtax"]
    (('removed', None, 'eliminate_dead_code'), ('aliased', 'apple_price', 'fold_constants'))
    """
    fates = {}
    for rec in log.records:
        for kind in ("folded", "aliased", "merged"):
            for old, new in rec[kind]:
                # "folded" to "const", or rewritten as a cheaper op (x * -1 -> neg): its name
                fates[old] = (kind, None if kind == "folded" and new == "const" else new,
                              rec["pass"])
        for old in rec["removed"]:
            fates[old] = ("removed", None, rec["pass"])
    for key, (kind, target, pass_) in list(fates.items()):
        seen = {key}
        while target in fates and fates[target][0] in ("merged", "aliased") and target not in seen:
            seen.add(target)
            target = fates[target][1]
        fates[key] = (kind, target, pass_)
    return fates


def _draw(sub, graph, prefix, values, colors, style, marks, label, sub_ids):
    ids = {key: f"{prefix}{i}" for i, key in enumerate(graph.nodes)}
    side = "before" if prefix == "p" else "after"
    for key in graph.nodes:
        kind = node_kind(graph, key)
        fate = marks.get(key)
        tip = ""
        if fate is not None:
            kind_, target, pass_ = fate
            tip = f"{kind_} by {pass_}" + (f" into {clean_text(target, 40)}" if target is not None else "")
        attrs = node_attrs(graph, key, kind, values, colors, colors[kind], extra_tip=tip, **style)
        klass = "gc-" + ("before" if prefix == "p" else "after")
        if fate is not None:
            kind_, target, pass_ = fate
            klass += f" gc-{kind_}"
            note = f"rewritten as {clean_text(target, 40)}" if kind_ == "folded" and target \
                else _NOTES[kind_].format(pass_=pass_, target=(
                    node_name(graph, target) if target in graph else clean_text(target, 40)))
            tone = {"removed": colors["subtext"], "folded": colors["grad_edge"]}.get(
                kind_, colors["merged"])
            attrs["xlabel"] = html_label((note, SIZES["detail"], tone, kind_ != "folded"))
            attrs["color"] = tone
            if kind_ != "folded":
                attrs["style"] = attrs["style"] + ",dashed"
            if kind_ == "removed":
                attrs["fillcolor"] = colors["bg"]
        sub.node(ids[key], id=ids[key], _attributes={"class": klass}, **attrs)
        sub_ids[(side, key)] = ids[key]
    for u, v in graph.edges:
        role = graph.nodes[u].get("role")
        color = None if role is None else colors[
            "residual" if role == "forward_value" else "grad_edge"]
        attrs = edge_attrs(graph, u, v, values, colors, show_values=style["show_values"],
                           color=color, label=label)
        if role == "forward_value" or (marks.get(u) or marks.get(v) or ("",))[0] == "removed":
            attrs["style"] = "dashed"
        sub.edge(ids[u], ids[v], **attrs)


@document("passes", "keep", "fold_seed", "shapes", "rankdir", "theme", "show_values", "rules",
          "title")
def passes_to_dot(bwd, values=None, *, passes=PASSES, keep=None, fold_seed=True, shapes=None,
                  rankdir="TB", theme="light", show_values=True, rules=True, title=None) -> Diagram:
    """Build the before/after picture of ``gc.optimize(bwd)`` (see :func:`render_passes`).

    Parameters
    ----------
    bwd : networkx.DiGraph
        A backward graph (``gc.grad``), or any graph the passes accept; not modified.
    values : dict, optional
        Values of the graph's leaves.
    {options}

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple
    >>> g, _ = apple()
    >>> src = passes_to_dot(gc.grad(g, "price", g.graph["wrt"])).source
    >>> "same value as tax" in src and "removed by eliminate_dead_code" in src
    True
    """
    check_graph(bwd, "backward graph")
    values = check_values(values)
    small, log = optimize(bwd, keep, passes, shapes=shapes, fold_seed=fold_seed)
    before_values = after_values = {}
    if values:
        before_values, after_values = evaluate(bwd, values), evaluate(small, values)
    colors = theme_colors(theme)
    if title is None:
        title = f"gc.optimize: {log.before} → {log.after} nodes"
    diagram = new_diagram(colors, rankdir, title, name="gcompile_passes", newrank="true")
    fates = pass_fates(log)
    style = dict(show_values=show_values, rules=rules)
    label = ("xlabel" if bwd.number_of_edges() + small.number_of_edges() > XLABEL_EDGES
             else "label")
    steps = [f"{r['pass']}: {r['before']} → {r['after']}" for r in log.records
             if r["before"] != r["after"] or r["folded"] or r["aliased"] or r["merged"]]
    with diagram.subgraph(name="cluster_before") as sub:
        sub.attr(**cluster_attrs(f"before: {log.before} nodes", colors))
        _draw(sub, bwd, "p", before_values, colors, style,
                       {k: f for k, f in fates.items() if k in bwd}, label, diagram.ids)
    with diagram.subgraph(name="cluster_after") as sub:
        sub.attr(**cluster_attrs("\n".join([f"after: {log.after} nodes", *steps]), colors))
        _draw(sub, small, "q", after_values, colors, style,
                      {k: f for k, f in fates.items() if k in small and f[0] == "folded"}, label,
              diagram.ids)
    return diagram


@document("passes", "keep", "fold_seed", "shapes", "rankdir", "theme", "show_values", "rules",
          "title")
def render_passes(bwd, path=None, values=None, *, engine="auto", dpi=None, **options):
    """Draw a backward graph before and after :func:`gcompile.optimize`, side by side.

    Parameters
    ----------
    bwd : networkx.DiGraph
        A backward graph (``gc.grad``), or any graph the passes accept; not modified.
    path : str or Path, optional
        ``.svg``, ``.png``, ``.pdf`` or ``.dot``; ``None`` returns the :class:`Diagram`.
    values : dict, optional
        Values of the graph's leaves (e.g. ``gc.evaluate(fwd, feeds)``): both
        graphs are evaluated from them and show the same gradients.
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
    >>> out = gc.render_passes(bwd, os.path.join(tempfile.mkdtemp(), "passes.gv"),
    ...                        gc.evaluate(g, feeds))
    >>> "gc.optimize: 9 → 6 nodes" in out.read_text(encoding="utf-8")
    True
    """
    diagram = passes_to_dot(bwd, values, **options)
    diagram.gc_engine = engine
    return diagram if path is None else write_image(diagram, path, engine, dpi)
