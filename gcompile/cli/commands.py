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

from .inputs import (check_float_wrt, default_output, default_wrt, find_node, leaf_shapes,
                     load_graph, parse_feeds, require_values, split_names, with_default_values)
from .outputs import Outputs, image_format, input_paths
from .report import gradient_report, passes_report, table, value_table
from ..autodiff import backward_pass
from ..drawing import render, render_pair
from ..errors import GraphError, did_you_mean
from ..evaluate import evaluate
from ..examples import EXAMPLES
from ..graph import plan
from ..io import save
from ..passes import optimize

__all__ = ["FORMATS", "compute_gradients", "run_grad", "run_render", "run_eval", "run_example",
           "output_paths"]

#: Image formats of ``--format`` (and suffixes ``render -o FILE`` accepts).
FORMATS = ("svg", "png", "pdf", "dot")


def compute_gradients(graph, feeds, output, wrt, optimize=False):
    """Evaluate ``graph``, compile its backward graph and evaluate that (:func:`gcompile.gradients`
    keeping its intermediate results).

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
    require_values(graph, feeds)
    check_float_wrt(graph, feeds, wrt)
    values, bwd, back = backward_pass(graph, feeds, output, wrt, optimize=optimize)
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


#: The files of ``grad`` (``example`` adds ``forward_json`` first), in the order written.
_KINDS = ("backward_json", "forward", "backward", "pair", "book")


def _gradient_outputs(args, name, inputs, forward=False) -> Outputs:
    """The files of ``grad``/``example``, checked before anything is computed or written."""
    outdir = Path(args.out)
    if outdir.exists() and not outdir.is_dir():
        raise GraphError(f"-o {args.out!r} is a file, not a directory")
    paths = output_paths(outdir, name, args.format)
    outs = Outputs(inputs)
    for kind in (("forward_json",) if forward else ()) + _KINDS:
        outs.add(paths[kind], image=kind in ("forward", "backward", "pair", "book"))
    outs.check()
    return outs


def _grad_report(src, args, outs, forward_json=None):
    """Compute, write every file, then print: a closed stdout pipe cannot cut the files short."""
    graph = src.graph
    feeds = parse_feeds(graph, args.feed, src.feeds)
    output = default_output(graph, args.output)
    wrt = default_wrt(graph, args.wrt)
    values, bwd, back, grads = compute_gradients(graph, feeds, output, wrt, optimize=args.optimize)
    text = [gradient_report(output, values[output], grads)]
    if args.passes_log or args.optimize:
        log = bwd.graph.get("pass_log") or optimize(bwd, shapes=leaf_shapes(graph, values))[1]
        report = passes_report(log)
        text.append(report if args.passes_log else report.splitlines()[0] + " (written "
                    "optimized; --passes-log shows what each pass did)")
    makers = [lambda tmp: save(bwd, tmp), lambda tmp: render(graph, tmp, values=values),
              lambda tmp: render(bwd, tmp, values=back),
              lambda tmp: render_pair(graph, bwd, tmp, values=values, grads=back),
              lambda tmp: render_pair(graph, bwd, tmp, values=values, grads=back, style="book")]
    if forward_json is not None:
        makers.insert(0, lambda tmp: save(forward_json, tmp))
    text.append("\n".join(outs.write(makers)))
    print("\n\n".join(text))
    return 0


def run_grad(args) -> int:
    """``gcompile grad GRAPH``: value, gradient table, backward JSON and the three images."""
    name = Path(args.graph).stem if Path(args.graph).exists() else args.graph
    outs = _gradient_outputs(args, name, input_paths(args.graph, args.feed))
    return _grad_report(load_graph(args.graph), args, outs)


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
        raise GraphError(f"unknown example {args.name!r}" + (did_you_mean(args.name, list(EXAMPLES))
                         or f" (bundled: {', '.join(EXAMPLES)})"))
    outs = _gradient_outputs(args, args.name, input_paths(None, args.feed), forward=True)
    src = load_graph(args.name)
    feeds = parse_feeds(src.graph, args.feed, src.feeds)
    return _grad_report(src, args, outs, forward_json=with_default_values(src.graph, feeds))


def run_eval(args) -> int:
    """``gcompile eval GRAPH``: a table of every node's value (or of ``--output`` nodes)."""
    src = load_graph(args.graph)
    feeds = parse_feeds(src.graph, args.feed, src.feeds)
    if args.output:
        nodes = [find_node(src.graph, name, "--output") for name in split_names(args.output)]
    else:
        nodes = plan(src.graph).order
    require_values(src.graph, feeds)
    values = evaluate(src.graph, feeds)
    print(value_table(src.graph, values, nodes))
    return 0


def run_render(args) -> int:
    """``gcompile render GRAPH -o FILE``: draw a graph (with values if fed or ``--values``)."""
    image_format(args.out)
    outs = Outputs(input_paths(args.graph, args.feed))
    outs.add(args.out, image=True)
    outs.check()
    src = load_graph(args.graph)
    values = None
    style = getattr(args, "style", "graph")
    if args.values or args.feed or style != "graph":
        feeds = parse_feeds(src.graph, args.feed, src.feeds)
        require_values(src.graph, feeds)
        values = evaluate(src.graph, feeds)
    if style == "graph":
        makers = [lambda tmp: render(src.graph, tmp, values=values)]
    else:   # the pair or the book figure of GRAPH and its gradients
        output, wrt = default_output(src.graph, None), default_wrt(src.graph, None)
        values, bwd, back, _ = compute_gradients(src.graph, values, output, wrt)
        makers = [lambda tmp: render_pair(src.graph, bwd, tmp, values=values, grads=back,
                                          style=style)]
    for line in outs.write(makers):
        print(line)
    return 0
