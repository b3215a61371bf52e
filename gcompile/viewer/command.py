"""``gcompile view GRAPH -o page.html``: the interactive viewer page from the shell.

GRAPH is a graph file or a bundled example's name; the page shows the graph
above its backward graph (d ``--output`` / d ``--wrt``), with values when
every input has one (fed, its ``value`` attribute or the example's feeds).
``--forward-only`` draws the graph alone.

Examples
--------
>>> import contextlib, io, os, tempfile
>>> from gcompile.cli import main
>>> out = os.path.join(tempfile.mkdtemp(), "apple.html")
>>> with contextlib.redirect_stdout(io.StringIO()) as said:
...     status = main(["view", "apple", "-o", out])
>>> status, said.getvalue().startswith("wrote "), os.path.getsize(out) > 10000
(0, True, True)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import GraphError

__all__ = ["add_view_parser", "run_view", "VIEW_EPILOG"]

VIEW_EPILOG = """\
examples:
  gcompile view apple -o apple.html
  gcompile view two_layer_net --wrt W1,b1 -o net.html
  gcompile view net.json --feed x=@x.npy --output loss -o net.html
  gcompile view net.json --forward-only -o forward.html

Opens from file:// with no network access: pan and zoom (wheel, drag, arrows,
+ - 0), search (/), hover or Tab for a tooltip, click or Enter to light up a
node's gradient and backward nodes (Escape clears), collapse groups, and the
chain-rule paths of an output and a wrt node. Docs: docs/viewer.md."""


def add_view_parser(sub, target_options, debug_option, formatter):
    """Add the ``view`` subcommand to ``sub`` (the subparsers of :func:`gcompile.cli.app.build_parser`).

    ``target_options`` and ``debug_option`` are the app's shared option helpers.

    Examples
    --------
    >>> from gcompile.cli.app import build_parser
    >>> args = build_parser().parse_args(["view", "apple", "-o", "a.html", "--wrt", "tax"])
    >>> args.command, args.out, args.wrt, args.engine
    ('view', 'a.html', 'tax', 'auto')
    """
    p = sub.add_parser("view", help="write an interactive HTML page of a graph and its gradient",
                       description="Write one self-contained HTML page showing GRAPH above its "
                                   "backward graph, linked: search, tooltips, collapse, paths.",
                       epilog=VIEW_EPILOG, formatter_class=formatter)
    p.add_argument("graph", metavar="GRAPH", help="graph file (.json, .graphml) or example name")
    target_options(p)
    p.add_argument("-o", "--out", metavar="FILE", required=True, help="the .html page to write")
    p.add_argument("--forward-only", action="store_true",
                   help="draw the graph alone (no backward graph)")
    p.add_argument("--engine", choices=("auto", "dot", "graphviz-pure"), default="auto",
                   help="Graphviz engine for the layout (default: auto)")
    p.add_argument("--rankdir", choices=("LR", "TB"), default="LR",
                   help="direction of the flow (default: LR)")
    debug_option(p, argparse.SUPPRESS)
    p.set_defaults(run=run_view)
    return p


def run_view(args) -> int:
    """Run ``gcompile view``: write the page, print one line saying what it holds."""
    from ..autodiff import grad
    from ..cli.inputs import default_output, default_wrt, load_graph, parse_feeds
    from ..cli.outputs import Outputs, input_paths
    from ..evaluate import evaluate
    from .page import view

    target = Path(args.out)
    if target.suffix.lower() not in (".html", ".htm"):
        raise GraphError(f"-o {args.out!r}: the viewer page is HTML; give a .html file name")
    if target.is_dir():
        raise GraphError(f"-o {args.out!r} is a directory; give a .html file name")
    outs = Outputs(input_paths(args.graph, args.feed))   # never over an input, all or nothing
    outs.add(target)
    outs.check()
    src = load_graph(args.graph)
    graph = src.graph
    feeds = parse_feeds(graph, args.feed, src.feeds)
    try:
        values = evaluate(graph, feeds)
    except GraphError as err:
        if args.feed:
            raise
        print(f"gcompile: note: drawing without values ({err})", file=sys.stderr)
        values = None
    bwd = None
    if not args.forward_only:
        output = default_output(graph, args.output)
        wrt = default_wrt(graph, args.wrt)
        leaves = {k: v for k, v in (values or {}).items()
                  if graph.nodes[k].get("op") in ("input", "const")}
        bwd = grad(graph, output, wrt, shapes=leaves or None)
    (line,) = outs.write([lambda tmp: view(graph, bwd, tmp, values, engine=args.engine,
                                           rankdir=args.rankdir)])
    what = "forward graph" if bwd is None else "forward and backward graphs"
    print(f"{line} ({graph.number_of_nodes()} forward nodes"
          + ("" if bwd is None else f", {bwd.number_of_nodes()} backward nodes")
          + f"; {what}, open it in a browser)")
    return 0
