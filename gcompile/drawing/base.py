"""What every diagram shares: the :class:`Diagram` class, export through an
engine, argument checks, the graph and cluster attributes, writing a file.

Helpers of :mod:`gcompile.drawing.draw`, :mod:`gcompile.drawing.pair` and
:mod:`gcompile.drawing.diff`.

Examples
--------
>>> d = new_diagram(theme_colors("light"), "LR", "title")
>>> d.graph_attr["rankdir"], "title" in d.source
('LR', True)
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import graphviz
import networkx as nx

from .engines import find_engine, run_engine, warn_missing_cjk
from ..errors import GraphError
from .nodes import SIZES
from .style import FONT, FONT_STACK, clean_text, html_label, theme as theme_colors

__all__ = ["Diagram", "export", "check_graph", "check_values", "new_diagram", "cluster_attrs",
           "write_image", "theme_colors", "XLABEL_EDGES", "SUFFIXES"]

#: Above this many edges, edge values become ``xlabel`` (placed after layout) to keep
#: big graphs fast.
XLABEL_EDGES = 400

#: File suffix -> output format.
SUFFIXES = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}


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

    def _repr_html_(self):
        svg = self.svg()
        return f'<div style="max-width:100%;overflow-x:auto">{svg[svg.find("<svg"):]}</div>'

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


def check_graph(graph, what="graph"):
    """A :class:`GraphError` unless ``graph`` is a networkx DiGraph (not a multigraph)."""
    if not isinstance(graph, nx.DiGraph) or graph.is_multigraph():
        raise GraphError(f"{what} must be a networkx DiGraph, got {type(graph).__name__}")


def check_values(values, what="values"):
    """``values`` as a mapping (``{}`` for None); a :class:`GraphError` for anything else."""
    if values is not None and not isinstance(values, Mapping):
        raise GraphError(f"{what} must be a dict node -> value (as gc.evaluate returns), "
                         f"got {type(values).__name__}")
    return values or {}


def new_diagram(colors, rankdir, title, name="gcompile", **graph_attr):
    """An empty :class:`Diagram` with the theme's graph, node and edge defaults."""
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise GraphError(f"rankdir must be 'LR' or 'TB' (or 'RL', 'BT'), got {rankdir!r}")
    attrs = dict(rankdir=rankdir, bgcolor=colors["bg"], fontname=FONT, fontcolor=colors["text"],
                 nodesep="0.3", ranksep="0.5", pad="0.25", **graph_attr)
    if title is not None:
        attrs.update(label=html_label((clean_text(title, 80), 14, colors["text"], True)),
                     labelloc="t")
    return Diagram(name=name, graph_attr=attrs,
                   node_attr=dict(fontname=FONT, fontsize="11", penwidth="1.2",
                                  margin="0.12,0.05"),
                   edge_attr=dict(fontname=FONT, fontsize=str(SIZES["edge"]), arrowsize="0.7",
                                  penwidth="1.1", fontcolor=colors["text"]))


def cluster_attrs(text, colors, **extra):
    """Attributes of a titled, filled cluster (forward, backward, a group, before/after)."""
    return dict(label=html_label((clean_text(text, 60), 10, colors["subtext"], True)),
                style="rounded,filled", fillcolor=colors["cluster"], color=colors["cluster_border"],
                fontname=FONT, labeljust="l", **extra)


def write_image(diagram, path, engine, dpi):
    """Write ``diagram`` to ``path`` in the format its suffix names; returns the Path."""
    try:
        path = Path(path)
    except TypeError:
        raise GraphError(f"path must be a file name, got {type(path).__name__}") from None
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise GraphError(f"cannot tell the image format of {str(path)!r}: use a name ending in "
                         + ", ".join(SUFFIXES))
    data = diagram.source.encode("utf-8") if fmt == "dot" else export(
        diagram.source, fmt, engine, dpi=dpi if fmt == "png" else None)
    try:
        path.write_bytes(data)
    except OSError as err:
        raise GraphError(f"cannot write {str(path)!r}: {err.strerror or err}") from None
    return path
