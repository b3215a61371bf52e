"""The subcommands grad, render, eval and example of ``gcompile`` (compare, explain and
step-through are in :mod:`gcompile.cli.teach`).

Each ``run_*`` function takes the parsed arguments, prints its report on
stdout and returns the exit status; user errors are raised as
:class:`~gcompile.GraphError` and printed by :func:`gcompile.cli.app`.

Output files of ``grad`` and ``example`` (``NAME`` is the graph file's stem or
the example's name, ``FMT`` the ``--format``)::

    DIR/NAME.json             the forward graph (example only; inputs carry their values)
    DIR/NAME_backward.json    the backward graph (simplified by the passes with --optimize)
    DIR/NAME_forward.FMT      the forward graph with its values
    DIR/NAME_backward.FMT     the backward graph with its values
    DIR/NAME_pair.FMT         both side by side
    DIR/NAME_book.FMT         the book figure: values above each edge, gradients beneath

Examples
--------
>>> from gcompile.cli import main
>>> main(["eval", "apple", "--output", "price"])
  node   op   shape  value
  -----  ---  -----  -----
  price  mul  ()     220
0
"""
from __future__ import annotations

import inspect
from pathlib import Path

from .inputs import (default_output, default_wrt, find_node, load_graph, parse_feeds,
                     split_names, with_default_values)
from .report import gradient_report, table, value_table
from .teach import check_float_wrt, leaf_shapes, passes_report
from ..errors import GraphError
from ..evaluate import evaluate
from ..examples import EXAMPLES
from ..graph import plan

__all__ = ["FORMATS", "compute_gradients", "run_grad", "run_render", "run_eval", "run_example",
           "output_paths"]

#: Image formats of ``--format`` (and suffixes ``render -o FILE`` accepts).
FORMATS = ("svg", "png", "pdf", "dot")


def compute_gradients(graph, feeds, output, wrt, optimize=False):
    """Evaluate ``graph``, compile its backward graph and evaluate that.

    Returns ``(values, bwd, back, grads)``: forward values, backward graph,
    backward values and ``{wrt node: gradient}``.  With ``optimize`` the
    backward graph is simplified by the passes (see :func:`gcompile.optimize`;
    what they did is in ``bwd.graph["pass_log"]``).

    Examples
    --------
    >>> from gcompile.examples import apple
    >>> g, feeds = apple()
    >>> values, bwd, back, grads = compute_gradients(g, feeds, "price", ["apple", "tax"])
    >>> round(float(grads["apple"]), 9), round(float(grads["tax"]), 9)
    (2.2, 200.0)
    >>> compute_gradients(g, feeds, "price", ["apple", "tax"], optimize=True)[1].number_of_nodes()
    4
    """
    import gcompile as gc

    values = evaluate(graph, feeds)
    check_float_wrt(values, wrt)
    bwd = gc.grad(graph, output, wrt, shapes=leaf_shapes(graph, values), optimize=optimize)
    back = evaluate(bwd, values)
    grads = {w: back[bwd.graph["grads"][w]] for w in wrt}
    return values, bwd, back, grads


def output_paths(outdir, name, fmt) -> dict:
    """The files ``grad``/``example`` write, by kind.

    Examples
    --------
    >>> sorted(output_paths("out", "apple", "svg"))
    ['backward', 'backward_json', 'book', 'forward', 'forward_json', 'pair']
    >>> str(output_paths("out", "apple", "svg")["pair"])
    'out/apple_pair.svg'
    """
    d = Path(outdir)
    return {"forward_json": d / f"{name}.json", "backward_json": d / f"{name}_backward.json",
            "forward": d / f"{name}_forward.{fmt}", "backward": d / f"{name}_backward.{fmt}",
            "pair": d / f"{name}_pair.{fmt}", "book": d / f"{name}_book.{fmt}"}


def _write_gradient_files(src_name, graph, result, outdir, fmt, forward_json=None):
    import gcompile as gc

    values, bwd, back, grads = result
    paths = output_paths(outdir, src_name, fmt)
    _make_dir(Path(outdir))
    written = []
    if forward_json is not None:
        gc.save(forward_json, paths["forward_json"])
        written.append(paths["forward_json"])
    gc.save(bwd, paths["backward_json"])
    written.append(paths["backward_json"])
    written.append(gc.render(graph, paths["forward"], values=values))
    written.append(gc.render(bwd, paths["backward"], values=back))
    written.append(gc.render_pair(graph, bwd, paths["pair"], values=values, grads=back))
    written.append(gc.render_pair(graph, bwd, paths["book"], values=values, grads=back,
                                  style="book"))
    return written


def _make_dir(path: Path):
    if path.exists() and not path.is_dir():
        raise GraphError(f"-o {str(path)!r} is a file, not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise GraphError(f"cannot create directory {str(path)!r}: {err.strerror or err}") from None


def _grad_report(src, args, forward_json=None):
    import gcompile as gc

    graph = src.graph
    feeds = parse_feeds(graph, args.feed, src.feeds)
    output = default_output(graph, args.output)
    wrt = default_wrt(graph, args.wrt)
    result = compute_gradients(graph, feeds, output, wrt, optimize=args.optimize)
    values, bwd, _, grads = result
    print(gradient_report(output, values[output], grads))
    if args.passes_log or args.optimize:
        log = bwd.graph.get("pass_log") or gc.optimize(bwd, shapes=leaf_shapes(graph, values))[1]
        report = passes_report(log)
        print()
        print(report if args.passes_log else report.splitlines()[0] + " (written optimized; "
              "--passes-log shows what each pass did)")
    written = _write_gradient_files(src.name, graph, result, args.out, args.format,
                                    forward_json=forward_json)
    print()
    for path in written:
        print(f"wrote {path}")
    return 0


def run_grad(args) -> int:
    """``gcompile grad GRAPH``: value, gradient table, backward JSON and the three images."""
    return _grad_report(load_graph(args.graph), args)


def run_example(args) -> int:
    """``gcompile example [NAME]``: list the bundled examples, or write one and its gradients."""
    if args.name is None:
        rows = []
        for name, make in EXAMPLES.items():
            graph, _ = make()
            doc = (inspect.getdoc(make) or "").splitlines()[0]
            rows.append((name, graph.number_of_nodes(), graph.graph.get("output", ""), doc))
        print(table(rows, ("example", "nodes", "output", "description")))
        print("\nwrite one with: gcompile example NAME -o DIR")
        return 0
    if args.name not in EXAMPLES:
        from ..errors import did_you_mean

        raise GraphError(f"unknown example {args.name!r}" + (did_you_mean(args.name, list(EXAMPLES))
                         or f" (bundled: {', '.join(EXAMPLES)})"))
    src = load_graph(args.name)
    feeds = parse_feeds(src.graph, args.feed, src.feeds)
    return _grad_report(src, args, forward_json=with_default_values(src.graph, feeds))


def run_eval(args) -> int:
    """``gcompile eval GRAPH``: a table of every node's value (or of ``--output`` nodes)."""
    src = load_graph(args.graph)
    feeds = parse_feeds(src.graph, args.feed, src.feeds)
    values = evaluate(src.graph, feeds)
    if args.output:
        nodes = [find_node(src.graph, name, "--output") for name in split_names(args.output)]
    else:
        nodes = plan(src.graph).order
    print(value_table(src.graph, values, nodes))
    return 0


def run_render(args) -> int:
    """``gcompile render GRAPH -o FILE``: draw a graph (with values if fed or ``--values``)."""
    import gcompile as gc

    target = Path(args.out)
    fmt = target.suffix.lstrip(".").lower()
    if fmt not in FORMATS + ("gv",):
        raise GraphError(f"-o {args.out!r}: unknown image format {target.suffix or '(no suffix)'!r}; "
                         f"use one of {', '.join('.' + f for f in FORMATS)}")
    src = load_graph(args.graph)
    values = None
    style = getattr(args, "style", "graph")
    if args.values or args.feed or style != "graph":
        values = evaluate(src.graph, parse_feeds(src.graph, args.feed, src.feeds))
    if target.parent != Path(""):
        _make_dir(target.parent)
    if style == "graph":
        written = gc.render(src.graph, target, values=values)
    else:   # the pair or the book figure of GRAPH and its gradients
        output, wrt = default_output(src.graph, None), default_wrt(src.graph, None)
        values, bwd, back, _ = compute_gradients(src.graph, values, output, wrt)
        written = gc.render_pair(src.graph, bwd, target, values=values, grads=back, style=style)
    print(f"wrote {written}")
    return 0
