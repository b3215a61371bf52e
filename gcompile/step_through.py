"""Step-through backpropagation: one self-contained HTML page stepping through the pair picture.

:func:`step_through` evaluates the forward graph node by node, then the
backward graph op by op.  The pair picture (:func:`gcompile.drawing.pair.pair_to_dot`,
forward graph above, backward graph below) is laid out ONCE, with every value;
each step only changes what is shown: the current node is outlined, nodes not
reached yet are faded, and only the values known so far are visible, so no node
moves between steps.  A last step outlines the gradients.  The page has no
external resources (a Content-Security-Policy forbids any network access); the
buttons (plain text every font has), the arrow keys (and Home/End) and the URL
fragment (``page.html#3``) move between steps; the figure scales to the window.

Examples
--------
>>> import tempfile, pathlib
>>> from gcompile.examples import apple
>>> g, feeds = apple()
>>> with tempfile.TemporaryDirectory() as tmp:
...     page = step_through(g, feeds, "price", g.graph["wrt"], pathlib.Path(tmp) / "apple.html")
...     text = page.read_text(encoding="utf-8")
>>> text.count('class="frame"'), text.count("<svg"), "d price/d apple = 2.2" in text
(11, 1, True)
"""
from __future__ import annotations

import html
import json
from pathlib import Path

from .autodiff import grad
from .errors import GraphError, label
from .evaluate import evaluate
from .graph import as_node_list, plan as make_plan
from .drawing.pair import drawn_backward_nodes, pair_to_dot
from .drawing.style import format_value

__all__ = ["step_through", "frames"]

def _short(value):
    return format_value(value)[0]


def _describe(graph, p, key, values, symbol_of):
    data = graph.nodes[key]
    if key not in p.ops:
        kind = "constant" if data["op"] == "const" else "input"
        return f"{label(key)} = {_short(values[key])} ({kind})"
    args = ", ".join(label(u) for u in p.operands[key])
    return f"{label(key)} = {symbol_of(data['op'])}({args}) = {_short(values[key])}"


def frames(fwd, feeds, output, wrt):
    """The steps of the page: a list of ``(phase, highlighted nodes, known values, caption)``.

    ``highlighted`` holds ``("fwd", key)`` / ``("bwd", key)`` pairs.  Also
    returns the backward graph and all values.

    Examples
    --------
    >>> from gcompile.examples import apple
    >>> g, feeds = apple()
    >>> steps, bwd, values = frames(g, feeds, "price", g.graph["wrt"])
    >>> [s[3] for s in steps][4]
    'forward 5/5: price = mul(apple_price, tax) = 220'
    """
    wrt_list = as_node_list(fwd, wrt, "wrt")
    values = evaluate(fwd, feeds)
    leaves = {k: v for k, v in values.items() if fwd.nodes[k]["op"] in ("input", "const")}
    bwd = grad(fwd, output, wrt_list, shapes=leaves)
    back = evaluate(bwd, values)
    fp, bp = make_plan(fwd), make_plan(bwd)
    drawn = set(drawn_backward_nodes(fwd, bwd))
    steps, known = [], {}
    for i, key in enumerate(fp.order):
        known[key] = values[key]
        text = _describe(fwd, fp, key, values, lambda op: op)
        steps.append(("forward", [("fwd", key)], dict(known), f"forward {i + 1}/{len(fp.order)}: {text}"))
    order = [k for k in bp.order if k in drawn]
    for i, key in enumerate(order):
        known[key] = back[key]
        data = bwd.nodes[key]
        text = _describe(bwd, bp, key, back, lambda op: op)
        extra = ""
        if data.get("rule"):
            extra = f"; {data['rule']}"
        origin = data.get("origin")
        if origin is not None and data.get("role") != "seed":
            extra += f" (local derivative of {label(origin)})"
        steps.append(("backward", [("bwd", key)], dict(known),
                      f"backward {i + 1}/{len(order)}: {text}{extra}"))
    grads = bwd.graph["grads"]
    lines = [f"d {label(output)}/d {label(w)} = {_short(back[grads[w]])}" for w in wrt_list]
    final = [("bwd", grads[w]) if grads[w] in drawn else ("fwd", grads[w]) for w in wrt_list]
    steps.append(("done", final, {**values, **back}, "gradients: " + ", ".join(lines)))
    return steps, bwd, {**values, **back}


_STYLE = """
body { font-family: Arial, Helvetica, sans-serif; margin: 1.5em; color: #1f2328; }
#controls { display: flex; gap: .5em; align-items: center; margin: .5em 0; }
button { font-size: 1em; padding: .3em .8em; }
#caption { font-family: Menlo, Consolas, monospace; min-height: 2.6em; }
#figure svg { display: block; width: 100%; max-height: calc(100vh - 15em);
              height: auto; }
#figure g.node, #figure g.edge text { transition: opacity .2s; }
#figure g.gc-later { opacity: .3; }
#figure .gc-now ellipse, #figure .gc-now polygon, #figure .gc-now path {
  stroke: #d62728; stroke-width: 4px; }
.gc-hidden { visibility: hidden; }
.phase-forward #caption { color: #0969da; } .phase-backward #caption { color: #bc4c00; }
"""

_SCRIPT = """
(function () {
  var frames = document.querySelectorAll('.frame');
  var current = 0;
  var edges = JSON.parse(document.getElementById('edges').textContent);
  function title(g) { var t = g.querySelector('title'); return t ? t.textContent : ''; }
  function apply(f) {
    var known = {}, now = {};
    f.getAttribute('data-known').split(' ').forEach(function (n) { known[n] = true; });
    f.getAttribute('data-now').split(' ').forEach(function (n) { now[n] = true; });
    document.querySelectorAll('#figure g.node').forEach(function (g) {
      var name = title(g);
      g.classList.toggle('gc-now', !!now[name]);
      g.classList.toggle('gc-later', !known[name] && !now[name]);
      g.querySelectorAll('text').forEach(function (t) {
        if (/^= /.test(t.textContent)) { t.classList.toggle('gc-hidden', !known[name]); }
      });
    });
    document.querySelectorAll('#figure g.edge').forEach(function (g) {
      var source = edges[title(g)];
      g.querySelectorAll('text').forEach(function (t) {
        t.classList.toggle('gc-hidden', !(source && known[source]));
      });
    });
  }
  function show(k) {
    if (isNaN(k)) { k = 0; }
    k = Math.max(0, Math.min(frames.length - 1, k));
    frames[current].hidden = true;
    current = k;
    var f = frames[current];
    f.hidden = false;
    apply(f);
    document.getElementById('caption').textContent = f.getAttribute('data-caption');
    document.getElementById('counter').textContent = 'step ' + (k + 1) + ' / ' + frames.length;
    document.body.setAttribute('data-step', String(k));
    document.body.className = 'phase-' + f.getAttribute('data-phase');
    try { history.replaceState(null, '', '#' + k); } catch (e) { /* opaque origins */ }
  }
  document.getElementById('first').onclick = function () { show(0); };
  document.getElementById('prev').onclick = function () { show(current - 1); };
  document.getElementById('next').onclick = function () { show(current + 1); };
  document.getElementById('last').onclick = function () { show(frames.length - 1); };
  document.addEventListener('keydown', function (e) {
    var moves = {ArrowRight: 1, ArrowDown: 1, ' ': 1, ArrowLeft: -1, ArrowUp: -1};
    if (e.key in moves) { show(current + moves[e.key]); e.preventDefault(); }
    else if (e.key === 'Home') { show(0); e.preventDefault(); }
    else if (e.key === 'End') { show(frames.length - 1); e.preventDefault(); }
  });
  window.addEventListener('hashchange', function () {
    show(parseInt(location.hash.slice(1), 10));
  });
  show(parseInt((location.hash || '#0').slice(1), 10));
})();
"""


def _figure(fwd, bwd, values, engine):
    """The pair picture with every value, laid out once; DOT names of nodes and edges.

    Returns ``(svg, names, edges)``: ``names`` maps ``("fwd"|"bwd", key)`` to the
    node's DOT name (the SVG ``<title>``), ``edges`` an edge's title to the DOT name
    of the node whose value its label shows.  DOT names hold no user text.
    """
    diagram = pair_to_dot(fwd, bwd, values=values)
    diagram.gc_engine = engine
    svg = diagram.svg()
    names = {("fwd", k): f"f{i}" for i, k in enumerate(fwd.nodes)}
    drawn = drawn_backward_nodes(fwd, bwd)
    names.update({("bwd", k): f"b{i}" for i, k in enumerate(drawn)})
    for k in bwd.nodes:
        if ("bwd", k) not in names and ("fwd", k) in names:
            names[("bwd", k)] = names[("fwd", k)]   # a forward value read: the forward node
    edges = {f"{names['fwd', u]}->{names['fwd', v]}": names["fwd", u] for u, v in fwd.edges}
    shown = set(drawn)
    for u, v in bwd.edges:   # backward edges are declared v -> u (dir=back); label: u's value
        if u in shown and v in shown:
            edges[f"{names['bwd', v]}->{names['bwd', u]}"] = names["bwd", u]
    return svg[svg.index("<svg"):], names, edges


def _same(fwd, key):
    try:
        return key in fwd
    except TypeError:
        return False


def _dot_names(names, keys):
    return " ".join(sorted({names[k] for k in keys if k in names}))


def step_through(fwd, feeds, output, wrt, path, *, engine="auto", title=None, max_steps=300):
    """Write the step-through page of d ``output`` / d ``wrt`` at ``feeds`` to ``path``.

    Parameters
    ----------
    fwd : nx.DiGraph
        The forward graph; not modified.
    feeds : dict
        Input values.
    output, wrt
        As for :func:`gcompile.grad`.
    path : str or Path
        The HTML file to write.
    engine : str
        Graphviz engine (see :mod:`gcompile.drawing.engines`).
    title : str, optional
        Page heading (default: ``d output / d wrt``).
    max_steps : int
        Refuse graphs with more steps (a page for teaching-sized graphs).

    Returns
    -------
    Path
        The file written.
    """
    steps, bwd, _ = frames(fwd, feeds, output, wrt)
    if len(steps) > max_steps:
        raise GraphError(f"step_through: {len(steps)} steps (one per forward and backward node) "
                         f"exceed max_steps={max_steps}; it is meant for teaching-sized graphs")
    wrt_list = as_node_list(fwd, wrt, "wrt")
    heading = title or f"d {label(output)} / d " + ", ".join(label(w) for w in wrt_list)
    svg, names, edges = _figure(fwd, bwd, steps[-1][2], engine)
    parts = []
    for k, (phase, highlighted, known, caption) in enumerate(steps):
        fwd_known = [("fwd", key) for key in known if ("fwd", key) in names]
        bwd_known = [("bwd", key) for key in known if k and phase != "forward"
                     and ("bwd", key) in names and not _same(fwd, key)]
        parts.append(f'<div class="frame" id="frame-{k}" data-phase="{phase}" '
                     f'data-caption="{html.escape(caption, quote=True)}" '
                     f'data-known="{_dot_names(names, fwd_known + bwd_known)}" '
                     f'data-now="{_dot_names(names, highlighted)}" hidden></div>')
    edges_json = json.dumps(edges).replace("</", "<\\/")
    page = "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        'style-src \'unsafe-inline\'; script-src \'unsafe-inline\'">',
        f"<title>{html.escape(heading)}</title>",
        f"<style>{_STYLE}</style></head>",
        "<body>",
        f"<h1>{html.escape(heading)}</h1>",
        '<div id="controls"><button id="first" title="Home">&#xAB; first</button>'
        '<button id="prev" title="left arrow">&#x2039; back</button>'
        '<span id="counter"></span>'
        '<button id="next" title="right arrow">next &#x203A;</button>'
        '<button id="last" title="End">last &#xBB;</button></div>',
        '<p id="caption"></p>',
        f'<div id="figure">\n{svg}\n</div>',
        *parts,
        f'<script type="application/json" id="edges">{edges_json}</script>',
        f"<script>{_SCRIPT}</script>",
        "</body></html>", ""])
    out = Path(path)
    try:
        out.write_text(page, encoding="utf-8")
    except OSError as err:
        raise GraphError(f"cannot write step-through page {str(out)!r}: {err}") from None
    return out
