"""The teaching subcommands of ``gcompile``: compare, explain and step-through.

Each ``run_*`` function takes the parsed arguments, prints on stdout and
returns the exit status; user errors are raised as :class:`~gcompile.GraphError`
and printed by :func:`gcompile.cli.app` as one line (exit status 2).

- ``compare``: :func:`gcompile.compare` of GRAPH and its backward graph, as a
  text table, Markdown or JSON.  When every input has a value (fed, its
  ``value`` attribute or the example's feeds) the graph is evaluated and the
  residual bytes are exact; otherwise they come from declared ``shape``
  attributes and an unknown size prints as ``?``.
- ``explain``: :func:`gcompile.explain`, the chain rule path by path with numbers.
- ``step-through``: :func:`gcompile.step_through`, one HTML page.

Examples
--------
>>> from gcompile.cli import main
>>> main(["explain", "apple", "--wrt", "apple"])
d price / d apple = 2.2
  path price <- apple_price <- apple: 1 * 1.1 * 2 = 2.2
    d price/d price = 1  (seed)
    d price/d apple_price = 1.1  (d(x*y)/dx = y)
    d apple_price/d apple = 2  (d(x*y)/dx = y)
  sum over 1 path: 2.2  (backward pass: 2.2)
0
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .inputs import (check_float_wrt, default_output, default_wrt, leaf_shapes, load_graph,
                     missing_inputs, parse_feeds, require_values)
from .outputs import Outputs, input_paths
from ..autodiff import grad
from ..compare import compare
from ..errors import GraphError, describe_value
from ..evaluate import evaluate
from ..explain import explain
from ..graph import active_nodes, plan
from ..step_through import frames, step_through

__all__ = ["COMPARE_FORMATS", "compare_format", "run_compare", "run_explain", "run_step_through"]

#: Formats of ``gcompile compare --format``.
COMPARE_FORMATS = ("text", "markdown", "json")

_SUFFIX_FORMATS = {".md": "markdown", ".markdown": "markdown", ".json": "json"}

#: ``--help`` epilogs of the three subcommands.
COMPARE_EPILOG = """\
examples:
  gcompile compare apple
  gcompile compare apple_orange --wrt orange,tax --format markdown
  gcompile compare net.json --feed x=@x.npy -o report.json

Prints node and edge counts by op and the depth of the forward and backward
graphs, which backward nodes compute each forward node's local derivatives,
the residuals (forward values the backward pass reads) with their bytes, and
the transpose check (every active edge u -> v has gradient flowing v -> u).
Without a value for every input, bytes come from declared shapes ('?' if
unknown). With -o FILE, --format defaults from FILE's suffix (.md, .json)."""

EXPLAIN_EPILOG = """\
examples:
  gcompile explain apple                   d price / d apple = 1 * 1.1 * 2 = 2.2, ...
  gcompile explain apple --wrt tax --feed tax=1.08
  gcompile explain apple_orange --max-paths 4

For each wrt node: every path to the output, the product of the local
derivatives along it, and the sum over the paths. Scalar nodes only (for
tensors use 'gcompile compare' or 'gcompile step-through')."""

STEP_EPILOG = """\
examples:
  gcompile step-through apple -o apple.html
  gcompile step-through apple --feed tax=1.08 --wrt tax -o tax.html

Writes one self-contained HTML page (no network access): the forward pass node
by node, then the backward pass op by op, one diagram per step with the values
known so far; buttons and the arrow keys move between steps. Each step is one
Graphviz layout, so it is meant for teaching-sized graphs (--max-steps)."""


def compare_format(fmt, out) -> str:
    """``--format``, else the one ``-o FILE``'s suffix implies (.md, .json), else ``"text"``.

    Examples
    --------
    >>> compare_format(None, "report.md"), compare_format(None, None), compare_format("json", "r.txt")
    ('markdown', 'text', 'json')
    """
    if fmt:
        return fmt
    return _SUFFIX_FORMATS.get(Path(out).suffix.lower(), "text") if out else "text"


def _targets(args, src):
    """``(feeds, output, wrt)`` of a teaching command, from its arguments and GRAPH."""
    graph = src.graph
    feeds = parse_feeds(graph, args.feed, src.feeds)
    return feeds, default_output(graph, args.output), default_wrt(graph, args.wrt)


def _file_output(args, what):
    """The one ``-o FILE`` of compare/step-through, checked against the inputs before any work."""
    if Path(args.out).is_dir():
        raise GraphError(f"-o {args.out!r} is a directory; give a file name for the {what}")
    outs = Outputs(input_paths(args.graph, args.feed))
    outs.add(args.out)
    outs.check()
    return outs


def run_compare(args) -> int:
    """``gcompile compare GRAPH``: forward and backward structure side by side."""
    outs = _file_output(args, "report") if args.out else None
    src = load_graph(args.graph)
    graph = src.graph
    feeds, output, wrt = _targets(args, src)
    values = shapes = None
    if not missing_inputs(graph, feeds):
        check_float_wrt(graph, feeds, wrt)
        values = evaluate(graph, feeds)
        shapes = leaf_shapes(graph, values)
    bwd = grad(graph, output, wrt, shapes=shapes)
    report = compare(graph, bwd, values=values, shapes=shapes)
    fmt = compare_format(args.format, args.out)
    text = {"text": str, "markdown": type(report).to_markdown,
            "json": type(report).to_json}[fmt](report)
    if outs is None:
        print(text)
        return 0
    for line in outs.write([lambda tmp: Path(tmp).write_text(text + "\n", encoding="utf-8")]):
        print(line)
    return 0


def _check_scalars(graph, values, output, wrt):
    """explain's scalar rule in the command's words (the library names its own functions)."""
    active = active_nodes(graph, wrt, output)
    for node in dict.fromkeys([output, *wrt, *(n for n in plan(graph).order if n in active)]):
        if np.size(values[node]) != 1:
            raise GraphError(f"explain writes the chain rule with scalars, but node {node!r} holds "
                             f"{describe_value(values[node])}: for tensors use 'gcompile compare' "
                             f"or 'gcompile step-through'")


def run_explain(args) -> int:
    """``gcompile explain GRAPH``: the chain rule written out with numbers, path by path."""
    src = load_graph(args.graph)
    feeds, output, wrt = _targets(args, src)
    require_values(src.graph, feeds)
    check_float_wrt(src.graph, feeds, wrt)
    _check_scalars(src.graph, evaluate(src.graph, feeds), output, wrt)
    print(explain(src.graph, feeds, output, wrt, max_paths=args.max_paths))
    return 0


def run_step_through(args) -> int:
    """``gcompile step-through GRAPH -o page.html``: the teaching page, one frame per step."""
    if Path(args.out).suffix.lower() not in (".html", ".htm"):
        raise GraphError(f"-o {args.out!r}: the step-through page is HTML; give a .html file name")
    outs = _file_output(args, "page")
    src = load_graph(args.graph)
    feeds, output, wrt = _targets(args, src)
    require_values(src.graph, feeds)
    check_float_wrt(src.graph, feeds, wrt)
    count = len(frames(src.graph, feeds, output, wrt)[0])
    if count > args.max_steps:
        raise GraphError(f"the step-through page of this graph has {count} steps, more than "
                         f"--max-steps {args.max_steps}: it is meant for teaching-sized graphs "
                         f"(raise --max-steps to draw it anyway; each step is one layout)")
    (line,) = outs.write([lambda tmp: step_through(src.graph, feeds, output, wrt, tmp,
                                                   max_steps=count)])
    frames_count = Path(args.out).read_text(encoding="utf-8").count('class="frame"')
    print(f"{line} ({frames_count} frames: forward pass, backward pass, gradients; "
          f"open it in a browser, the arrow keys step)")
    return 0
