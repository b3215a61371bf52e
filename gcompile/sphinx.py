"""Sphinx extension: the ``gcompile`` directive draws gradient diagrams when the docs build.

In ``conf.py``: ``extensions = ["gcompile.sphinx"]``; then in a page::

    .. gcompile:: examples/apple.json      (or a bundled example name, or module:callable)
       :output: price
       :wrt: apple, tax
       :feed: tax=1.1
       :show: pair        (forward | backward | pair | book | passes | hessian | hvp | view)
       :check:            (finite-difference gradient check; a mismatch fails the build)
       :optimize:         (draw the backward graph after gc.optimize's passes)
       :caption: The apple price and its gradients
       :alt: text for screen readers

(In MyST Markdown: a ```` ```{gcompile} ```` fence with the same options.)
Also ``:theme:``, ``:rankdir:``, ``:highlight:`` (as in ``gc.render``) and
``:engine:`` (default ``graphviz-pure``: the embedded engine, so no system
Graphviz is needed and every machine writes the same bytes).

The graph is read, differentiated and checked when the page is read (errors
name the page and line; a failed ``:check:`` stops the build); the image is
laid out when the page is written, into the build's image folder under a name
hashed from the diagram's content and options, and skipped when that file is
already there.  HTML gets the SVG (``:show: view``: the viewer page in a
frame); LaTeX gets a PDF made by system ``dot``, or a PNG with a warning when
``dot`` is missing.  Needs the ``sphinx`` extra: ``pip install 'gcompile[sphinx]'``.
"""
from __future__ import annotations

import os
from html import escape
from pathlib import Path

from .errors import GraphError

try:
    from docutils import nodes
    from docutils.parsers.rst import directives
    from sphinx.errors import SphinxError
    from sphinx.util import logging
    from sphinx.util.docutils import SphinxDirective
except ImportError:  # pragma: no cover - exercised by a subprocess test without sphinx
    raise GraphError("gcompile.sphinx needs Sphinx: pip install 'gcompile[sphinx]'") from None

from . import __version__
from .docfigure import GradientCheckError, build_figure, draw_figure, parse_options

__all__ = ["GcompileDirective", "gcompile_diagram", "setup"]

logger = logging.getLogger(__name__)


class gcompile_diagram(nodes.General, nodes.Element):
    """A diagram in the doctree: its DOT source (or viewer page) and hashed file name."""


class GcompileDirective(SphinxDirective):
    """``.. gcompile:: SOURCE`` with the options of :mod:`gcompile.docfigure`."""

    required_arguments = 1
    final_argument_whitespace = True
    option_spec = {"output": directives.unchanged, "wrt": directives.unchanged,
                   "feed": directives.unchanged, "show": directives.unchanged,
                   "check": directives.flag, "optimize": directives.flag, "theme": directives.unchanged,
                   "rankdir": directives.unchanged, "highlight": directives.unchanged,
                   "engine": directives.unchanged, "caption": directives.unchanged,
                   "alt": directives.unchanged}

    def run(self):
        options = dict(self.options, source=self.arguments[0])
        for flag in ("check", "optimize"):
            if flag in options:
                options[flag] = "yes"
        doc_dir = Path(self.env.doc2path(self.env.docname)).parent
        try:
            figure = build_figure(parse_options(options), [doc_dir, self.env.srcdir])
        except GradientCheckError as err:
            where = f"{self.env.doc2path(self.env.docname)}:{self.lineno}"
            raise SphinxError(f"{where}: gcompile directive: {err}") from None
        except GraphError as err:
            raise self.error(f"gcompile directive: {err}") from None
        for file in figure.files:
            self.env.note_dependency(file)
        text_nodes, messages = [], []
        alt = figure.alt
        if figure.spec.caption:
            text_nodes, messages = self.state.inline_text(figure.spec.caption, self.lineno)
            alt = figure.spec.alt or "".join(n.astext() for n in text_nodes)
        node = gcompile_diagram(name=figure.name, dot=figure.dot, fmt=figure.fmt,
                                html=figure.html, engine=figure.spec.engine, alt=alt)
        self.set_source_info(node)
        if not figure.spec.caption:
            return [node]
        wrapper = nodes.figure("", node, nodes.caption(figure.spec.caption, "", *text_nodes))
        self.set_source_info(wrapper)
        return [wrapper, *messages]


def _write(path: Path, node, fmt, engine=None):
    """Draw ``node`` into ``path`` unless a file of that (hashed) name is already there."""
    if path.is_file():
        return path
    if node["html"] is not None:
        data = node["html"].encode("utf-8")
    else:
        from .drawing.base import export

        data = export(node["dot"], fmt, engine or node["engine"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # atomic: parallel writers of the same diagram cannot tear it
    return path


def _html_visit(self, node):
    fname = f"{node['name']}.{node['fmt']}"
    try:
        _write(Path(self.builder.outdir) / self.builder.imagedir / fname, node, node["fmt"])
    except GraphError as err:
        logger.error(f"gcompile directive: {err}", location=node)
        raise nodes.SkipNode from None
    uri = f"{self.builder.imgpath}/{fname}"
    alt = escape(node["alt"], quote=True)
    if node["html"] is not None:
        self.body.append(f'<div class="gcompile-diagram"><iframe src="{uri}" title="{alt}" '
                         f'style="width:100%;height:40em;border:1px solid #ccc"></iframe></div>\n')
    else:
        # <object>, not <img>: the SVG's node tooltips (op, rule, value) work on hover
        self.body.append(f'<div class="gcompile-diagram"><object data="{uri}" '
                         f'type="image/svg+xml" role="img" aria-label="{alt}" '
                         f'style="max-width:100%;height:auto">{alt}</object></div>\n')
    raise nodes.SkipNode


def _latex_visit(self, node):
    if node["html"] is not None:
        logger.warning("gcompile directive: the interactive viewer (:show: view) has no LaTeX "
                       "form; the PDF shows its alternative text", location=node)
        self.body.append(self.encode(node["alt"]))
        raise nodes.SkipNode
    from .drawing.engines import find_engine

    try:
        find_engine("dot")
        fmt, engine = "pdf", "dot"
    except GraphError:
        fmt, engine = "png", None
        logger.warning("gcompile directive: no system Graphviz `dot` for a vector PDF figure; "
                       "the LaTeX build gets a PNG (install graphviz for PDF figures)",
                       location=node)
    fname = f"{node['name']}.{fmt}"
    try:
        _write(Path(self.builder.outdir) / fname, node, fmt, engine)
    except GraphError as err:
        logger.error(f"gcompile directive: {err}", location=node)
        raise nodes.SkipNode from None
    self.body.append("\n\\begin{center}\\sphinxincludegraphics[width=\\linewidth,"
                     f"height=0.8\\textheight,keepaspectratio]{{{fname}}}\\end{{center}}\n")
    raise nodes.SkipNode


def _text_visit(self, node):
    text = f"[diagram: {node['alt']}]"
    if hasattr(self, "add_text"):
        self.add_text(text)
    else:
        self.body.append(text)
    raise nodes.SkipNode


def setup(app):
    """Register the directive and its node; parallel reading and writing are safe."""
    app.add_node(gcompile_diagram, html=(_html_visit, None), latex=(_latex_visit, None),
                 text=(_text_visit, None), man=(_text_visit, None),
                 texinfo=(_text_visit, None))
    app.add_directive("gcompile", GcompileDirective)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
