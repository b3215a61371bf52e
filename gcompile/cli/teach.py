"""The teaching subcommands of ``gcompile``: compare, explain, step-through, and the passes log.

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
- :func:`passes_report`: what ``gcompile grad --passes-log`` prints.

Examples
--------
>>> from gcompile.cli import main
>>> main(["explain", "apple", "--wrt", "apple"])
d price / d apple = 2.2
  path apple -> apple_price -> price: 1 * 1.1 * 2 = 2.2
    d price/d price = 1  (seed)
    d price/d apple_price = 1.1  (d(x*y)/dx = y)
    d apple_price/d apple = 2  (d(x*y)/dx = y)
  sum over 1 path: 2.2  (backward pass: 2.2)
0
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .inputs import default_output, default_wrt, is_integral, load_graph, parse_feeds
from ..errors import GraphError
from ..evaluate import evaluate

__all__ = ["COMPARE_FORMATS", "compare_format", "passes_report", "leaf_shapes", "check_float_wrt",
           "run_compare", "run_explain", "run_step_through"]

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


def leaf_shapes(graph, values) -> dict:
    """``{input or const node: shape}`` from forward values (for :func:`gcompile.grad`).

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple
    >>> g, feeds = apple()
    >>> leaf_shapes(g, gc.evaluate(g, feeds))
    {'apple': (), 'apple_num': (), 'tax': ()}
    """
    return {n: np.shape(values[n]) for n, d in graph.nodes(data=True)
            if d.get("op") in ("input", "const")}


def check_float_wrt(values, wrt):
    """Refuse ``wrt`` nodes holding integers: they cannot carry a gradient.

    Examples
    --------
    >>> import numpy as np
    >>> check_float_wrt({"x": np.array([1, 2])}, ["x"])
    Traceback (most recent call last):
    ...
    gcompile.errors.GraphError: wrt node 'x' holds integer values: gradients need floating-point inputs (feed e.g. x=2.0)
    """
    for w in wrt:
        if is_integral(values[w]):
            raise GraphError(f"wrt node {w!r} holds integer values: gradients need floating-point "
                             f"inputs (feed e.g. {w}=2.0)")


def passes_report(log) -> str:
    """What each simplification pass did, from a :class:`~gcompile.PassLog` or its ``to_dict()``.

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple
    >>> g, _ = apple()
    >>> print(passes_report(gc.optimize(gc.grad(g, "price", g.graph["wrt"]))[1]))
    passes: 9 nodes -> 6 nodes
      fold_constants: 9 -> 7
        dapple_price  replaced by its operand tax
        dtax          replaced by its operand apple_price
      eliminate_common_subexpressions: 7 -> 7 (nothing merged)
      eliminate_dead_code: 7 -> 6
        dprice        removed: no gradient needs it
    """
    log = log if isinstance(log, dict) else log.to_dict()
    idle = {"fold_constants": "nothing folded", "eliminate_dead_code": "nothing removed"}
    done = [(rec, _pass_items(rec)) for rec in log["records"]]
    width = max((len(old) for _, items in done for old, _ in items), default=0)
    lines = [f"passes: {log['before']} nodes -> {log['after']} nodes"]
    for rec, items in done:
        quiet = "" if items else f" ({idle.get(rec['pass'], 'nothing merged')})"
        lines.append(f"  {rec['pass']}: {rec['before']} -> {rec['after']}{quiet}")
        lines += [f"    {old.ljust(width)}  {what}" for old, what in items]
    return "\n".join(lines)


def _pass_items(rec):
    """``[(node, what happened to it)]`` for one record of a pass log."""
    items = [(old, f"folded to the constant {new}") for old, new in rec["folded"]]
    items += [(old, f"replaced by its operand {new}") for old, new in rec["aliased"]]
    items += [(old, f"merged into {new} (the same computation)") for old, new in rec["merged"]]
    items += [(old, "removed: no gradient needs it") for old in rec["removed"]]
    return [(str(old), what) for old, what in items]


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


def _has_every_input(graph, feeds) -> bool:
    return all(n in feeds or "value" in d for n, d in graph.nodes(data=True)
               if d.get("op") == "input")


def _write_text(path, text, what):
    target = Path(path)
    if target.is_dir():
        raise GraphError(f"-o {str(path)!r} is a directory; give a file name for the {what}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as err:
        raise GraphError(f"cannot write {str(path)!r}: {err.strerror or err}") from None


def run_compare(args) -> int:
    """``gcompile compare GRAPH``: forward and backward structure side by side."""
    import gcompile as gc

    src = load_graph(args.graph)
    graph = src.graph
    feeds = parse_feeds(graph, args.feed, src.feeds)
    output = default_output(graph, args.output)
    wrt = default_wrt(graph, args.wrt)
    values = shapes = None
    if _has_every_input(graph, feeds):
        values = evaluate(graph, feeds)
        check_float_wrt(values, wrt)
        shapes = leaf_shapes(graph, values)
    bwd = gc.grad(graph, output, wrt, shapes=shapes)
    report = gc.compare(graph, bwd, values=values, shapes=shapes)
    fmt = compare_format(args.format, args.out)
    text = {"text": str, "markdown": type(report).to_markdown,
            "json": type(report).to_json}[fmt](report)
    if args.out:
        _write_text(args.out, text + "\n", "report")
        print(f"wrote {args.out}")
    else:
        print(text)
    return 0


def run_explain(args) -> int:
    """``gcompile explain GRAPH``: the chain rule written out with numbers, path by path."""
    import gcompile as gc

    src = load_graph(args.graph)
    graph = src.graph
    feeds = parse_feeds(graph, args.feed, src.feeds)
    output = default_output(graph, args.output)
    wrt = default_wrt(graph, args.wrt)
    check_float_wrt(evaluate(graph, feeds), wrt)
    print(gc.explain(graph, feeds, output, wrt, max_paths=args.max_paths))
    return 0


def run_step_through(args) -> int:
    """``gcompile step-through GRAPH -o page.html``: the teaching page, one frame per step."""
    import gcompile as gc

    target = Path(args.out)
    if target.suffix.lower() not in (".html", ".htm"):
        raise GraphError(f"-o {args.out!r}: the step-through page is HTML; give a .html file name")
    if target.is_dir():
        raise GraphError(f"-o {args.out!r} is a directory; give a .html file name")
    src = load_graph(args.graph)
    graph = src.graph
    feeds = parse_feeds(graph, args.feed, src.feeds)
    output = default_output(graph, args.output)
    wrt = default_wrt(graph, args.wrt)
    check_float_wrt(evaluate(graph, feeds), wrt)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise GraphError(f"cannot create directory {str(target.parent)!r}: "
                         f"{err.strerror or err}") from None
    page = gc.step_through(graph, feeds, output, wrt, target, max_steps=args.max_steps)
    frames = page.read_text(encoding="utf-8").count('class="frame"')
    print(f"wrote {page} ({frames} frames: forward pass, backward pass, gradients; "
          f"open it in a browser, the arrow keys step)")
    return 0
