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

import re
from collections.abc import Mapping
from pathlib import Path

import graphviz
import networkx as nx

from .engines import find_engine, run_engine, warn_missing_cjk
from ..errors import GraphError
from .nodes import SIZES
from .style import FONT, FONT_STACK, clean_text, html_label, theme as theme_colors

__all__ = ["Diagram", "export", "layout", "layout_variants", "auto_rankdir", "check_graph", "check_values", "new_diagram", "cluster_attrs",
           "write_image", "theme_colors", "XLABEL_EDGES", "SUFFIXES"]

#: Above this many edges, edge values become ``xlabel`` (placed after layout) to keep
#: big graphs fast.
XLABEL_EDGES = 400

#: File suffix -> output format.
SUFFIXES = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}


class Diagram(graphviz.Digraph):
    """A ``graphviz.Digraph`` that renders through gcompile's engine choice.

    Jupyter shows it inline (``_repr_svg_``, ``_repr_mimebundle_``) with system
    ``dot`` or, without it, the embedded graphviz-pure; ``pipe``, ``render``
    and ``view`` (the graphviz package's methods) use the same engine choice,
    :attr:`gc_engine` (``"auto"``, ``"dot"`` or ``"graphviz-pure"``), so they
    need no system Graphviz.  The default ``format`` is ``"svg"``.

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple
    >>> d = gc.to_dot(apple()[0])
    >>> d._repr_svg_().lstrip().startswith("<?xml")
    True
    """

    gc_engine = "auto"
    #: Node -> SVG element id, filled by the function that drew the diagram: a graph key
    #: (:func:`gcompile.to_dot`), ``("fwd", key)`` / ``("bwd", key)`` (pairs),
    #: ``("before", key)`` / ``("after", key)`` (:func:`gcompile.render_passes`).  The
    #: element ids hold no user text (keys may be hostile); nodes not drawn are absent.
    ids: dict

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ids = {}

    def svg(self) -> str:
        """The SVG text of this diagram."""
        return layout(self, "svg", self.gc_engine).decode("utf-8")

    def _repr_svg_(self):
        return self.svg()

    def _repr_html_(self):
        svg = self.svg()
        return f'<div style="max-width:100%;overflow-x:auto">{svg[svg.find("<svg"):]}</div>'

    def _repr_mimebundle_(self, include=None, exclude=None, **_):
        return {"image/svg+xml": self.svg()}

    def pipe(self, format=None, renderer=None, formatter=None, neato_no_op=None, quiet=False,
             *, engine=None, encoding=None):
        """The diagram as ``format`` bytes (``str`` with ``encoding``), through gcompile's engine.

        Replaces ``graphviz.Digraph.pipe``, which needs system ``dot``: this one
        uses :attr:`gc_engine` (``"auto"``: ``dot`` when present, else the
        embedded graphviz-pure).  ``format`` is ``"svg"`` (the default),
        ``"png"``, ``"pdf"`` (system Graphviz only) or ``"dot"``; ``engine``
        names a layout engine and only ``"dot"`` is drawn; ``renderer``,
        ``formatter`` and ``neato_no_op`` are not supported.

        Examples
        --------
        >>> import gcompile as gc
        >>> from gcompile.examples import apple
        >>> gc.to_dot(apple()[0]).pipe(encoding="utf-8").lstrip().startswith("<?xml")
        True
        """
        fmt = _pipe_format(format or self.format, renderer, formatter, neato_no_op, engine)
        data = self.source.encode("utf-8") if fmt == "dot" else layout(
            self, fmt, self.gc_engine)
        return data if encoding is None else data.decode(encoding)

    def render(self, filename=None, directory=None, view=False, cleanup=False, format=None,
               renderer=None, formatter=None, neato_no_op=None, quiet=False, quiet_view=False,
               *, outfile=None, engine=None, raise_if_result_exists=False,
               overwrite_source=False):
        """Save the DOT source and write the image beside it, through gcompile's engine.

        Replaces ``graphviz.Digraph.render`` (same arguments, same file names:
        ``filename`` or ``name + ".gv"`` for the source, that name plus
        ``"." + format`` for the image, or ``outfile``, whose suffix gives the
        format); only the layout runs on :attr:`gc_engine` instead of system
        ``dot``.  ``gc.render(graph, path)`` is the simpler call.

        Returns
        -------
        str
            The path of the image written.

        Examples
        --------
        >>> import os, tempfile, gcompile as gc
        >>> from gcompile.examples import apple
        >>> out = gc.to_dot(apple()[0]).render(directory=tempfile.mkdtemp(), cleanup=True)
        >>> out.endswith("gcompile.gv.svg") and os.path.getsize(out) > 0
        True
        """
        if outfile is not None:
            outfile = Path(outfile)
            if format is None:
                format = SUFFIXES.get(outfile.suffix.lower())
                if format is None:
                    raise GraphError(f"cannot tell the image format of {str(outfile)!r}: use "
                                     "a name ending in " + ", ".join(SUFFIXES))
            if directory is not None:
                outfile = Path(directory, outfile)
        fmt = _pipe_format(format or self.format, renderer, formatter, neato_no_op, engine)
        source = Path(directory or self.directory or "", filename or self.filename)
        if outfile is None:
            outfile = source.with_name(f"{source.name}.{fmt}")
        if outfile.resolve() == source.resolve() and not overwrite_source:
            raise GraphError(f"outfile {str(outfile)!r} is the DOT source file itself: "
                             "choose another name (or pass overwrite_source=True)")
        if raise_if_result_exists and outfile.exists():
            raise GraphError(f"{str(outfile)!r} exists (raise_if_result_exists=True)")
        data = self.pipe(format=fmt)
        try:
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_text(self.source, encoding="utf-8")
            outfile.parent.mkdir(parents=True, exist_ok=True)
            outfile.write_bytes(data)
            if cleanup and outfile.resolve() != source.resolve():
                source.unlink()
        except OSError as err:
            raise GraphError(f"cannot write {str(outfile)!r}: {err.strerror or err}") from None
        if view or quiet_view:
            graphviz.view(outfile, quiet=quiet_view)
        return str(outfile)


def _pipe_format(fmt, renderer, formatter, neato_no_op, engine):
    if renderer is not None or formatter is not None or neato_no_op:
        raise GraphError("gcompile diagrams take no renderer, formatter or neato_no_op: "
                         "gcompile lays them out with 'dot' and writes svg, png, pdf or dot")
    if engine not in (None, "dot"):
        raise GraphError(f"layout engine {engine!r} is not supported: gcompile diagrams are "
                         "laid out by 'dot' (choose system dot or graphviz-pure with "
                         "gc_engine or gc.render(..., engine=...))")
    fmt = "dot" if fmt == "gv" else fmt
    if fmt not in ("svg", "png", "pdf", "dot"):
        raise GraphError(f"cannot write format {fmt!r}: choose svg, png, pdf or dot")
    return fmt


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


def layout_variants(source: str):
    r"""``source``, then simpler layouts of the same picture to fall back on.

    Graphviz's ranking fails on some graphs ("trouble in init_rank"), most often
    with ``newrank`` and edges of length 0 between clusters: the first fallback
    drops ``newrank``, the second also lets no edge stay within its rank.  The
    nodes, edges, labels and ids are the same in every variant.

    Examples
    --------
    >>> src = "\n".join(["digraph {", "\tgraph [newrank=true rankdir=LR]",
    ...                   "\ta -> b [minlen=0]", "}"])
    >>> [v.count("newrank") + v.count("minlen") for v in layout_variants(src)]
    [2, 1, 0]
    """
    yield source
    lines = source.split("\n")
    lines = [line.replace(" newrank=true", "").replace("newrank=true ", "")
             if line.startswith("\tgraph [") else line for line in lines]
    yield "\n".join(lines)
    yield "\n".join(_MINLEN0.sub("", line) if "->" in line else line for line in lines)


_MINLEN0 = re.compile(r"(?<=[\[ ])minlen=0 ?")


def layout(diagram, fmt: str, engine: str = "auto", dpi=None) -> bytes:
    """Lay ``diagram`` out as ``fmt`` bytes; if the engine fails on its DOT, fall back
    on :func:`layout_variants` so that every graph gcompile accepts gets a picture.

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple
    >>> layout(gc.to_dot(apple()[0]), "svg", "graphviz-pure")[:5]
    b'<?xml'
    """
    first = None
    for source in layout_variants(diagram.source):
        try:
            return export(source, fmt, engine, dpi=dpi)
        except GraphError as err:
            if " failed on " not in str(err):   # not a layout failure: no variant helps
                raise
            first = first or err
    raise first


#: ``rankdir="auto"``: graphs of at least this many nodes whose left-to-right layout
#: would be more than this many times wider than tall are drawn top to bottom.
AUTO_TB_NODES, AUTO_TB_RATIO = 10, 4.0
#: Estimated width of a rank and height of a node (points) in a left-to-right layout.
RANK_WIDTH, NODE_HEIGHT = 170, 60

def auto_rankdir(graph) -> str:
    """"TB" for a graph that would be long and thin left to right, else "LR".

    A left-to-right layout is as wide as the graph is deep (ranks) and as tall as
    its ranks are full; past :data:`AUTO_TB_NODES` nodes, when the estimate of
    width over height exceeds :data:`AUTO_TB_RATIO`, the graph is drawn top to
    bottom, so that at a page's width its text stays readable.

    Examples
    --------
    >>> import networkx as nx
    >>> chain = nx.path_graph(30, create_using=nx.DiGraph)
    >>> auto_rankdir(chain), auto_rankdir(nx.path_graph(3, create_using=nx.DiGraph))
    ('TB', 'LR')
    """
    n = graph.number_of_nodes()
    if n < AUTO_TB_NODES:
        return "LR"
    depth = {}
    try:
        for key in nx.topological_sort(graph):
            depth[key] = max((depth[p] + 1 for p in graph.predecessors(key)), default=0)
    except nx.NetworkXUnfeasible:   # a cycle: the check of the graph reports it elsewhere
        return "LR"
    ranks = max(depth.values()) + 1
    wide = (ranks * RANK_WIDTH) / ((n / ranks) * NODE_HEIGHT)
    return "TB" if wide > AUTO_TB_RATIO else "LR"


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
    rankdir = "LR" if rankdir == "auto" else rankdir   # pictures of two graphs flow LR
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise GraphError(f"rankdir must be 'auto', 'LR' or 'TB' (or 'RL', 'BT'), got {rankdir!r}")
    attrs = dict(rankdir=rankdir, bgcolor=colors["bg"], fontname=FONT, fontcolor=colors["text"],
                 nodesep="0.3", ranksep="0.5", pad="0.25")
    attrs.update(graph_attr)
    if title is not None:
        attrs.update(label=html_label((clean_text(title, 80), 14, colors["text"], True)),
                     labelloc="t")
    return Diagram(name=name, format="svg", graph_attr=attrs,
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
    data = diagram.source.encode("utf-8") if fmt == "dot" else layout(
        diagram, fmt, engine, dpi=dpi if fmt == "png" else None)
    try:
        path.write_bytes(data)
    except OSError as err:
        raise GraphError(f"cannot write {str(path)!r}: {err.strerror or err}") from None
    return path
