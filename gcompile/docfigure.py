"""One diagram for a documentation page: what the Sphinx directive and the Markdown fence share.

A figure is described by text options (as a page writes them) and drawn in
two steps: :func:`build_figure` reads the graph, differentiates it, runs the
optional gradient check and returns the DOT source with a content hash
(cheap, done when the page is read, so errors name the page and line);
:func:`draw_figure` lays the DOT out (only when no file of that hash exists).

Options: ``source`` (a graph file, a bundled example name or
``module:callable`` returning ``(graph, feeds)`` or a graph), ``output``,
``wrt``, ``feed`` (``name=value`` items separated by commas), ``show``
(:data:`SHOWS`), ``check`` (finite-difference gradient check), ``theme``,
``rankdir``, ``highlight``, ``engine`` (default graphviz-pure, the same bytes on
every machine), ``caption``, ``alt``.

Examples
--------
>>> spec = parse_options({"source": "apple", "show": "pair", "wrt": "apple, tax"})
>>> fig = build_figure(spec)
>>> fig.name.startswith("gcompile-pair-"), "d(x*y)/dx" in fig.dot
(True, True)
>>> draw_figure(fig)[:5]
b'<?xml'
"""
from __future__ import annotations

import hashlib
import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import GraphError

__all__ = ["SHOWS", "OPTIONS", "FigureSpec", "Figure", "GradientCheckError", "parse_options",
           "build_figure", "draw_figure", "load_source", "split_feeds"]

#: What a figure can show.
SHOWS = ("forward", "backward", "pair", "book", "passes", "hessian", "hvp", "view")
#: Every option a figure accepts.
OPTIONS = ("source", "output", "wrt", "feed", "show", "check", "optimize", "theme", "rankdir",
           "highlight", "engine", "caption", "alt")
_CALLABLE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class GradientCheckError(GraphError):
    """A figure's ``check`` found a gradient that disagrees with finite differences."""


@dataclass(frozen=True)
class FigureSpec:
    """A figure's options, parsed and checked (but the graph not yet read)."""

    source: str
    output: str | None = None
    wrt: tuple = ()
    feed: tuple = ()
    show: str = "pair"
    check: bool = False
    optimize: bool = False
    theme: str | None = None
    rankdir: str | None = None
    highlight: tuple = ()
    engine: str = "graphviz-pure"
    caption: str | None = None
    alt: str | None = None


@dataclass
class Figure:
    """A built figure: DOT source (or an HTML page for ``show="view"``) and its file name."""

    spec: FigureSpec
    dot: str
    name: str
    fmt: str = "svg"
    files: list = field(default_factory=list)
    html: str | None = None

    @property
    def alt(self):
        """The alternative text: ``alt``, else the caption, else what is shown of what."""
        return self.spec.alt or self.spec.caption or f"{self.spec.show} graph of {self.spec.source}"


def _names(text):
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def split_feeds(text):
    """``"x=1, W=[[1, 2], [3, 4]]"`` -> ``("x=1", "W=[[1, 2], [3, 4]]")`` (commas in brackets kept).

    Examples
    --------
    >>> split_feeds("tax=1.2, W=[[1, 2], [3, 4]]")
    ('tax=1.2', 'W=[[1, 2], [3, 4]]')
    """
    items, depth, current = [], 0, ""
    for ch in text or "":
        depth += (ch == "[") - (ch == "]")
        if ch == "," and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += ch
    items.append(current.strip())
    return tuple(item for item in items if item)


def parse_options(options) -> FigureSpec:
    """Check a figure's text options (a dict) and return its :class:`FigureSpec`.

    Examples
    --------
    >>> parse_options({"source": "apple", "show": "sideways"})
    Traceback (most recent call last):
    ...
    gcompile.errors.GraphError: show: unknown value 'sideways'; choose one of forward, backward, pair, book, passes, hessian, hvp, view
    """
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise GraphError(f"unknown option {unknown[0]!r}; the options are {', '.join(OPTIONS)}")
    source = (options.get("source") or "").strip()
    if not source:
        raise GraphError("no graph given: name a graph file, a bundled example or module:callable")
    show = (options.get("show") or "pair").strip()
    if show not in SHOWS:
        raise GraphError(f"show: unknown value {show!r}; choose one of {', '.join(SHOWS)}")
    check, optimize = (_flag(options.get(k)) for k in ("check", "optimize"))
    text = {k: (options.get(k) or "").strip() or None
            for k in ("output", "theme", "rankdir", "caption", "alt")}
    return FigureSpec(source=source, show=show, check=check, optimize=optimize, wrt=_names(options.get("wrt")),
                      feed=split_feeds(options.get("feed")),
                      highlight=_names(options.get("highlight")),
                      engine=(options.get("engine") or "graphviz-pure").strip(), **text)


def _flag(value):
    """A flag option: given (empty or true) or not (absent, false, no, 0)."""
    return value is not None and str(value).strip().lower() not in ("false", "no", "0")


def load_source(source, base_dirs=()):
    """``(graph, feeds, files)`` of a figure's source; ``files`` are the files it was read from.

    A ``module:callable`` is imported and called; an existing file (looked up
    in ``base_dirs``, then as given) is read with :func:`gcompile.load`;
    anything else must be a bundled example name.

    Examples
    --------
    >>> g, feeds, files = load_source("apple_orange")
    >>> g.graph["output"], feeds["tax"], files
    ('price', 1.1, [])
    """
    from . import io
    from .examples import EXAMPLES

    if _CALLABLE.match(source):
        module_name, attr = source.split(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            raise GraphError(f"cannot import {module_name!r} for {source!r}: {err}") from None
        fn = getattr(module, attr, None)
        if not callable(fn):
            raise GraphError(f"{module_name!r} has no callable {attr!r}")
        made = fn()
        graph, feeds = made if isinstance(made, tuple) and len(made) == 2 else (made, {})
        files = [getattr(module, "__file__", None)] if getattr(module, "__file__", None) else []
        return graph, dict(feeds or {}), files
    for base in [*base_dirs, None]:
        path = Path(source) if base is None else Path(base) / source
        if path.is_file():
            return io.load(path), {}, [str(path.resolve())]
    if source in EXAMPLES:
        graph, feeds = EXAMPLES[source]()
        return graph, dict(feeds), []
    raise GraphError(f"no graph file, bundled example or module:callable {source!r} "
                     f"(bundled examples: {', '.join(EXAMPLES)})")


def _feeds(graph, spec, feeds):
    from .cli.inputs import find_node, parse_feed

    feeds = dict(feeds)
    for item in spec.feed:
        name, value = parse_feed(item)
        node = find_node(graph, name, f"feed {name}")
        if graph.nodes[node].get("op") != "input":
            raise GraphError(f"feed {name}: node {node!r} is not an input node")
        feeds[node] = value
    for node, data in graph.nodes(data=True):
        if data.get("op") == "input" and node not in feeds and "value" in data:
            feeds[node] = data["value"]
    inputs = [n for n, d in graph.nodes(data=True) if d.get("op") == "input"]
    return feeds, all(n in feeds for n in inputs)


def _book(fwd, bwd, values, grads, style):
    import gcompile as gc

    try:
        return gc.render_pair(fwd, bwd, None, values, grads, style="book", **style)
    except TypeError as err:
        if "style" not in str(err):
            raise
    raise GraphError("show: book needs gc.render_pair(..., style='book'), which this version of "
                     "gcompile does not have")


def _diagram(spec, graph, bwd, output, wrt, feeds, values, grads, style):
    import gcompile as gc

    show = spec.show
    if show == "forward":
        return gc.render(graph, None, values, **style)
    if show == "backward":
        return gc.render(bwd, None, grads, **style)
    if show == "pair":
        return gc.render_pair(graph, bwd, None, values, grads, **style)
    if show == "book":
        return _book(graph, bwd, values, grads, style)
    if show == "passes":
        return gc.render_passes(bwd, None, values, **style)
    if show == "hvp":
        return gc.render(gc.hvp(graph, output, wrt), None, **style)
    h = gc.hessian(graph, output, wrt)
    return gc.render(h, None, gc.evaluate(h, feeds) if values is not None else None, **style)


def _view(spec, graph, bwd, values, grads, style):
    import gcompile as gc

    view = getattr(gc, "view", None)
    if view is None:
        raise GraphError("show: view needs gc.view (the interactive viewer), which this version "
                         "of gcompile does not have")
    page = view(graph, bwd, None, values, grads, engine=spec.engine, **style)
    return page if isinstance(page, str) else page.html


def build_figure(spec: FigureSpec, base_dirs=()) -> Figure:
    """Read, differentiate, check and describe the figure ``spec`` asks for (no layout yet).

    Raises :class:`GraphError` for a bad graph or option, and when ``check`` is
    set and a gradient disagrees with finite differences.

    Examples
    --------
    >>> fig = build_figure(parse_options({"source": "apple", "show": "forward", "check": ""}))
    >>> fig.spec.check, "220" in fig.dot
    (True, True)
    """
    import gcompile as gc
    from .cli.inputs import default_output, default_wrt

    graph, feeds, files = load_source(spec.source, base_dirs)
    output = default_output(graph, spec.output)
    wrt = default_wrt(graph, ", ".join(spec.wrt) if spec.wrt else None)
    feeds, fed = _feeds(graph, spec, feeds)
    if spec.check:
        if not fed:
            raise GraphError("check needs a value for every input: give them with feed")
        try:
            gc.check_grads(graph, feeds, output, wrt)
        except GraphError as err:
            raise GradientCheckError(f"gradient check of {spec.source!r} failed: {err}") from None
    bwd = gc.grad(graph, output, wrt, optimize=spec.optimize)
    values = gc.evaluate(graph, feeds) if fed else None
    grads = gc.evaluate(bwd, values) if fed else None
    style = {k: v for k, v in (("theme", spec.theme), ("rankdir", spec.rankdir)) if v}
    if spec.highlight:
        style["highlight"] = list(spec.highlight)
    if spec.show == "view":
        html = _view(spec, graph, bwd, values, grads, style)
        return Figure(spec, "", _name(spec, html), "html", files, html)
    dot = _diagram(spec, graph, bwd, output, wrt, feeds, values, grads, style).source
    return Figure(spec, dot, _name(spec, dot), "svg", files)


def _name(spec, text):
    from . import __version__

    key = "\0".join([__version__, spec.engine, spec.show, text])
    return f"gcompile-{spec.show}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:16]}"


def draw_figure(figure: Figure, fmt=None) -> bytes:
    """The bytes of ``figure`` as ``fmt`` (default its own: SVG, or HTML for a view).

    Examples
    --------
    >>> fig = build_figure(parse_options({"source": "apple", "show": "backward"}))
    >>> b"<svg" in draw_figure(fig)
    True
    """
    from .drawing.base import export

    if figure.html is not None:
        return figure.html.encode("utf-8")
    return export(figure.dot, fmt or figure.fmt, figure.spec.engine)

