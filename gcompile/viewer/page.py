"""The viewer page: Graphviz SVG, the embedded data (JSON) and the script, in one HTML file.

:func:`view` lays a graph (or a forward graph above its backward graph) out
with the same diagrams as :func:`gcompile.render` / :func:`gcompile.render_pair`
and adds pan and zoom, search, tooltips, forward/backward linking, group
collapse, chain-rule paths and toggles (``static/viewer.js``).  Nothing is
fetched at view time: a Content-Security-Policy forbids any network access and
admits only the page's own script, by its hash.  User text reaches the page
only as escaped SVG text (Graphviz) and as JSON (``<``, ``>`` and ``&``
escaped) that the script shows with ``textContent``.

Examples
--------
>>> import gcompile as gc
>>> from gcompile.examples import apple
>>> g, feeds = apple()
>>> page = gc.view(g, gc.grad(g, "price", g.graph["wrt"]), values=gc.evaluate(g, feeds))
>>> page.html.count("<svg"), "http://" in page.html.split("<svg")[0]
(1, False)
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from importlib import resources
from pathlib import Path

from ..drawing.base import check_graph, check_values
from ..drawing.draw import to_dot
from ..drawing.pair import pair_to_dot
from ..drawing.style import FONT_STACK, format_number
from ..errors import GraphError
from .model import build_model
from .paths import chain_paths, targets

__all__ = ["view", "ViewerPage", "page_json"]


class ViewerPage:
    """A viewer page: ``.html`` (the text), ``.save(path)``, shown inline by Jupyter.

    Examples
    --------
    >>> page = ViewerPage("<!DOCTYPE html><p>x</p>")
    >>> page._repr_html_().startswith('<iframe srcdoc="&lt;!DOCTYPE html&gt;')
    True
    """

    def __init__(self, text: str, height: int = 640):
        self.html = text
        self.height = height

    def save(self, path) -> Path:
        """Write the page to ``path`` (UTF-8); returns the Path."""
        try:
            out = Path(path)
        except TypeError:
            raise GraphError(f"path must be a file name, got {type(path).__name__}") from None
        try:
            out.write_text(self.html, encoding="utf-8")
        except OSError as err:
            raise GraphError(f"cannot write viewer page {str(out)!r}: "
                             f"{err.strerror or err}") from None
        return out

    def _repr_html_(self):
        # an iframe keeps the page's ids, styles and keyboard handling apart from the notebook's
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
                f'style="width:100%;height:{int(self.height)}px;border:1px solid #d0d7de" '
                f'title="gcompile viewer"></iframe>')


def page_json(data) -> str:
    """``data`` as JSON safe inside ``<script type="application/json">``: no ``<``, ``>``
    or ``&`` (so no ``</script>`` or ``<!--``); the page reads it with ``JSON.parse``.

    Examples
    --------
    >>> page_json({"key": "</script><b>"})
    '{"key": "\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e"}'
    """
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _static(name):
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


def slim_svg(svg: str) -> str:
    """Graphviz's SVG as the page inlines it: from ``<svg``, without comments, the
    font stack (set once by the page's style) or tooltips (the page draws its own); a node's
    or edge's ``<title>`` (DOT names, made from positions) becomes its ``data-dot``.

    Examples
    --------
    >>> slim_svg('<?xml?><!-- x --><svg><title>g</title><!-- n0 -->\\n<g id="n0" class="node">'
    ...          '\\n<title>n0</title>\\n<a xlink:title="k&#10;v"><text '
    ...          f'font-family="{FONT_STACK}">k</text></a></g></svg>')
    '<svg><g id="n0" class="node" data-dot="n0">\\n<a><text>k</text></a></g></svg>'
    """
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<!--.*?-->\n?", "", svg, flags=re.S)
    svg = re.sub(r'(<g id="[^"]*" class="(?:node|edge)[^"]*")>\n<title>([^<]*)</title>',
                 r'\1 data-dot="\2">', svg)
    svg = re.sub(r"<title>[^<]*</title>\n?", "", svg)
    svg = svg.replace(f' font-family="{FONT_STACK}"', "")
    return re.sub(r' xlink:title="[^"]*"', "", svg)


def _css_fonts():
    return ", ".join(f'"{name}"' if " " in name else name for name in FONT_STACK.split(","))


def _paths_data(fwd, bwd, values, index):
    outputs, wrts = targets(fwd, bwd)
    terms = []
    for term in chain_paths(fwd, values, outputs, wrts):
        entry = {"output": index["f", term["output"]], "wrt": index["f", term["wrt"]],
                 "capped": term["capped"], "paths": []}
        for path in term["paths"]:
            item = {"nodes": [index["f", k] for k in path["nodes"]]}
            if "product" in path:
                item["factors"] = [format_number(f) for f in path["factors"]]
                item["product"] = format_number(path["product"])
            entry["paths"].append(item)
        for k in ("total", "backward"):
            if k in term:
                entry[k] = format_number(term[k])
        terms.append(entry)
    return terms


def _grads_for(bwd, values, grads):
    if grads is not None or bwd is None or not values:
        return grads
    from ..evaluate import evaluate
    try:
        return evaluate(bwd, values)
    except GraphError:  # values that do not cover what the backward graph reads: no gradients
        return None


def view(fwd, bwd=None, path=None, values=None, grads=None, *, engine="auto", title=None,
         height=640, **style):
    """Write (or return) the interactive viewer page of ``fwd`` and its backward graph ``bwd``.

    Parameters
    ----------
    fwd : networkx.DiGraph
        A graph in gcompile's format (forward, or any graph alone).
    bwd : networkx.DiGraph, optional
        The result of :func:`gcompile.grad` on ``fwd``: the page shows the pair
        picture and links each forward node to its gradient and backward nodes.
    path : str or Path, optional
        The ``.html`` file to write; ``None`` returns a :class:`ViewerPage`
        (Jupyter shows it inline).
    values, grads : dict, optional
        Forward values (``gc.evaluate``) and backward values; with ``values``
        and no ``grads`` the backward graph is evaluated on ``values``.
    engine : {"auto", "dot", "graphviz-pure"}
        The Graphviz engine laying the diagram out.
    title : str, optional
    height : int
        Height in pixels of the inline (Jupyter) frame.
    **style
        As for :func:`gcompile.render`: ``rankdir``, ``theme``, ``show_values``,
        ``rules``, ``collapse``, ``highlight``.

    Returns
    -------
    pathlib.Path or ViewerPage

    Examples
    --------
    >>> import os, tempfile, gcompile as gc
    >>> from gcompile.examples import two_layer_net
    >>> g, feeds = two_layer_net()
    >>> out = gc.view(g, path=os.path.join(tempfile.mkdtemp(), "net.html"),
    ...               values=gc.evaluate(g, feeds))
    >>> text = out.read_text(encoding="utf-8")
    >>> text.count('id="gc-data"'), '"name": "affine1"' in text
    (1, True)
    """
    check_graph(fwd, "forward graph")
    values = check_values(values)
    if bwd is not None:
        check_graph(bwd, "backward graph")
    grads = check_values(_grads_for(bwd, values, check_values(grads, "grads") or None), "grads")
    if bwd is None:
        diagram = to_dot(fwd, values, **{"collapse": "cluster", **style})
    else:
        diagram = pair_to_dot(fwd, bwd, values, grads, **style)
    diagram.gc_engine = engine
    svg = slim_svg(diagram.svg())
    data, index = build_model(fwd, bwd, values, grads, title=title)
    data["paths"] = _paths_data(fwd, bwd, values, index)
    data["theme"] = style.get("theme", "light")
    heading = title or _heading(fwd, bwd)
    script = _static("viewer.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    page = "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        f'style-src \'unsafe-inline\'; script-src \'sha256-{digest}\'">',
        f"<title>{html.escape(heading)}</title>",
        f"<style>{_static('viewer.css')}\n#gc-canvas text {{ font-family: {_css_fonts()}; }}"
        "</style>",
        # the diagram stays hidden until the script has folded big graphs (no layout of
        # nodes nobody sees); without scripts it shows at once
        "<noscript><style>#gc-canvas.gc-loading #gc-stage { display: block; }</style></noscript>",
        "</head>",
        f'<body class="gc-theme-{"dark" if data["theme"] == "dark" else "light"}">',
        _static("viewer.html").replace("{heading}", html.escape(heading)),
        f'<div id="gc-canvas" class="gc-loading" tabindex="0" aria-label="graph (arrow keys pan, + and - zoom, '
        f'0 fits)"><div id="gc-stage">\n{svg}\n</div></div></main>',
        '<div id="gc-tip" role="tooltip" hidden></div>',
        f'<script type="application/json" id="gc-data">{page_json(data)}</script>',
        f"<script>{script}</script>",
        "</body></html>", ""])
    result = ViewerPage(page, height)
    return result if path is None else result.save(path)


def _heading(fwd, bwd):
    name = fwd.graph.get("name")
    name = name if isinstance(name, str) and name else "graph"
    return f"{name}: forward and backward" if bwd is not None else name
