"""The ``gcompile`` command: differentiate, evaluate and draw graphs from the shell.

``gcompile grad``, ``render``, ``eval`` and ``example``, and for teaching
``compare``, ``explain`` and ``step-through`` (see ``docs/cli.md`` and
``gcompile COMMAND --help``).  A user error (bad argument, bad file, bad
graph) prints one line ``gcompile: error: ...`` on stderr and exits with
status 2; ``--debug`` shows the traceback instead.  ``python -m gcompile``
runs the same command.

Examples
--------
>>> main(["eval", "apple_orange", "--output", "all_price,price"])
  node       op   shape  value
  ---------  ---  -----  -----
  all_price  add  ()     650
  price      mul  ()     715
0
"""
from __future__ import annotations

import argparse
import errno
import os
import sys
import textwrap
import traceback

from .commands import FORMATS, run_eval, run_example, run_grad, run_render
from .teach import (COMPARE_EPILOG, COMPARE_FORMATS, EXPLAIN_EPILOG, STEP_EPILOG, run_compare,
                    run_explain, run_step_through)
from .. import __version__
from ..errors import GraphError
from ..escape import text
from ..viewer.command import add_view_parser

__all__ = ["main", "build_parser"]

_PROG = "gcompile"

_MAIN_EPILOG = """\
examples:
  gcompile example                          list the bundled examples
  gcompile example apple -o out             the seed example: price, gradients, diagrams
  gcompile grad net.json --wrt W,b --feed x=@x.npy -o out
  gcompile eval apple --feed tax=1.2
  gcompile render net.json -o net.svg
  gcompile explain apple                    the chain rule with numbers: 1 * 1.1 * 2 = 2.2
  gcompile compare apple                    forward vs backward: sizes, residuals, transpose
  gcompile step-through apple -o apple.html a page stepping through backpropagation

GRAPH is a graph file (.json node-link or .graphml) or, when no such file
exists, the name of a bundled example. Docs: docs/cli.md."""

_GRAD_EPILOG = """\
examples:
  gcompile grad out/apple.json                       output, wrt and values from the file
  gcompile grad apple --wrt apple,tax --feed tax=1.2 -o out
  gcompile grad net.json --output loss --wrt W1,b1 --feed x=@x.npy --format png
  gcompile grad apple --passes-log                   what each simplification pass did
  gcompile grad apple --optimize -o out              write the simplified backward graph

--feed NAME=VALUE: VALUE is a number (1.5), a JSON array ([[1,2],[3,4]]) or
@FILE.npy. Inputs not fed use their 'value' attribute (or the example's feeds).
Writes DIR/NAME_backward.json, DIR/NAME_forward.FMT, DIR/NAME_backward.FMT,
DIR/NAME_pair.FMT and DIR/NAME_book.FMT, where NAME is the graph file's stem. The backward graph is
written in its teaching form (one op per local derivative) unless --optimize;
--passes-log prints what the passes would do (or did) without changing that.
Every output is checked before anything is written, and the set is written
whole or not at all; existing files are replaced (the 'wrote' line says so),
an output that is an input file is refused."""

_RENDER_EPILOG = """\
examples:
  gcompile render apple -o apple.svg
  gcompile render out/apple_backward.json -o backward.png
  gcompile render apple --values -o apple_values.svg
  gcompile render apple --style book -o apple_book.svg   the book figure

The image format comes from FILE's suffix: .svg, .png, .pdf or .dot."""

_EVAL_EPILOG = """\
examples:
  gcompile eval apple
  gcompile eval apple --feed tax=1.2 --output price
  gcompile eval net.json --feed x=@x.npy --feed W=[[1,0],[0,1]]"""

_EXAMPLE_EPILOG = """\
examples:
  gcompile example                 list the bundled examples
  gcompile example apple -o out    writes out/apple.json, out/apple_backward.json,
                                   out/apple_forward.svg, out/apple_backward.svg,
                                   out/apple_pair.svg, out/apple_book.svg; prints
                                   price and gradients
  gcompile example apple --feed tax=1.08 --format png

The written NAME.json keeps the example's feeds as its inputs' values, so
'gcompile grad out/apple.json' runs it again."""


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of at least 1")
    return value


def _wrap(text):
    return textwrap.fill(text, width=78)


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line on stderr and exit status 2."""

    def error(self, message):
        raise _UsageError(f"{message} (see '{self.prog} --help')")


class _UsageError(Exception):
    pass


def _debug_option(parser, default):
    parser.add_argument("--debug", action="store_true", default=default,
                        help="show the full traceback of an error")


def _feed_option(parser):
    parser.add_argument("--feed", action="append", default=[], metavar="NAME=VALUE",
                        help="value of an input node: a number, a JSON array or @FILE.npy "
                             "(repeat for several inputs)")


def _target_options(parser):
    parser.add_argument("--output", metavar="NODE",
                        help="node to differentiate (default: the graph's 'output' attribute)")
    parser.add_argument("--wrt", metavar="A,B",
                        help="comma-separated nodes to differentiate with respect to "
                             "(default: the graph's 'wrt' attribute, else every input)")
    _feed_option(parser)


def _graph_argument(parser):
    parser.add_argument("graph", metavar="GRAPH", help="graph file (.json, .graphml) or example name")


def _gradient_options(parser):
    _target_options(parser)
    parser.add_argument("-o", "--out", metavar="DIR", default="out",
                        help="directory for the JSON and image files (default: out)")
    parser.add_argument("--format", choices=FORMATS, default="svg",
                        help="image format (default: svg)")
    parser.add_argument("--optimize", action="store_true",
                        help="write the backward graph simplified by the passes (constant "
                             "folding, CSE, dead code) instead of its teaching form")
    parser.add_argument("--passes-log", action="store_true",
                        help="print what each simplification pass removed or merged")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``gcompile`` and its seven subcommands.

    Examples
    --------
    >>> args = build_parser().parse_args(["grad", "g.json", "--wrt", "x,y", "--feed", "x=1"])
    >>> args.command, args.wrt, args.feed, args.out, args.format, args.optimize
    ('grad', 'x,y', ['x=1'], 'out', 'svg', False)
    >>> build_parser().parse_args(["explain", "apple", "--max-paths", "3"]).max_paths
    3
    """
    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(prog=_PROG, formatter_class=fmt, epilog=_MAIN_EPILOG,
                     description="Compile a computation graph into its reverse-mode gradient "
                                 "graph; evaluate and draw both.")
    parser.add_argument("--version", action="version", version=f"gcompile {__version__}")
    _debug_option(parser, False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("grad", help="differentiate a graph: value, gradients, backward graph, images",
                       description=_wrap("Compile GRAPH's backward graph, evaluate it, print the output "
                                   "value and a table of gradients, and write the backward graph "
                                   "(JSON) and forward, backward and pair images."),
                       epilog=_GRAD_EPILOG, formatter_class=fmt)
    p.add_argument("graph", metavar="GRAPH", help="graph file (.json, .graphml) or example name")
    _gradient_options(p)
    _debug_option(p, argparse.SUPPRESS)
    p.set_defaults(run=run_grad)

    p = sub.add_parser("render", help="draw a graph to .svg, .png, .pdf or .dot",
                       description="Draw GRAPH (forward or backward) with Graphviz.",
                       epilog=_RENDER_EPILOG, formatter_class=fmt)
    p.add_argument("graph", metavar="GRAPH", help="graph file (.json, .graphml) or example name")
    p.add_argument("-o", "--out", metavar="FILE", required=True,
                   help="image to write; its suffix chooses the format")
    p.add_argument("--values", action="store_true",
                   help="evaluate the graph and show each node's value")
    p.add_argument("--style", choices=("graph", "pair", "book"), default="graph",
                   help="graph: GRAPH alone (default); pair: GRAPH above its backward graph; "
                        "book: GRAPH once, values above each edge, gradients beneath")
    _feed_option(p)
    _debug_option(p, argparse.SUPPRESS)
    p.set_defaults(run=run_render)

    p = sub.add_parser("eval", help="evaluate a graph and print every node's value",
                       description="Evaluate GRAPH and print a table of node, op, shape and value.",
                       epilog=_EVAL_EPILOG, formatter_class=fmt)
    p.add_argument("graph", metavar="GRAPH", help="graph file (.json, .graphml) or example name")
    _feed_option(p)
    p.add_argument("--output", metavar="A,B", help="only print these nodes (default: every node)")
    _debug_option(p, argparse.SUPPRESS)
    p.set_defaults(run=run_eval)

    p = sub.add_parser("example", help="list the bundled examples, or write one with its gradients",
                       description=_wrap("Without NAME, list the bundled examples. With NAME, write the "
                                   "example's graph (JSON) and do what 'gcompile grad' does on it; "
                                   "output, wrt and feeds default from the example."),
                       epilog=_EXAMPLE_EPILOG, formatter_class=fmt)
    p.add_argument("name", metavar="NAME", nargs="?", help="example name (omit to list them)")
    _gradient_options(p)
    _debug_option(p, argparse.SUPPRESS)
    p.set_defaults(run=run_example)

    p = sub.add_parser("compare", help="compare a graph with its backward graph (text, Markdown, JSON)",
                       description=_wrap("Compile GRAPH's backward graph and compare the two: sizes, "
                                         "depth, correspondence, residuals, transpose property."),
                       epilog=COMPARE_EPILOG, formatter_class=fmt)
    _graph_argument(p)
    _target_options(p)
    p.add_argument("--format", choices=COMPARE_FORMATS,
                   help="report format (default: text, or from -o FILE's suffix)")
    p.add_argument("-o", "--out", metavar="FILE", help="write the report to FILE (default: stdout)")
    _debug_option(p, argparse.SUPPRESS)
    p.set_defaults(run=run_compare)

    p = sub.add_parser("explain", help="the chain rule written out with numbers, path by path",
                       description=_wrap("Write d output / d wrt of GRAPH as a sum over paths of "
                                         "products of local derivatives, with numbers."),
                       epilog=EXPLAIN_EPILOG, formatter_class=fmt)
    _graph_argument(p)
    _target_options(p)
    p.add_argument("--max-paths", type=_positive_int, default=64, metavar="N",
                   help="most paths listed per wrt node (default: 64)")
    _debug_option(p, argparse.SUPPRESS)
    p.set_defaults(run=run_explain)

    p = sub.add_parser("step-through", help="write an HTML page stepping through backpropagation",
                       description=_wrap("Write a self-contained HTML page that steps through GRAPH's "
                                         "forward pass and then its backward pass, one diagram "
                                         "per step."),
                       epilog=STEP_EPILOG, formatter_class=fmt)
    _graph_argument(p)
    _target_options(p)
    p.add_argument("-o", "--out", metavar="FILE", required=True, help="the .html page to write")
    p.add_argument("--max-steps", type=_positive_int, default=300, metavar="N",
                   help="refuse graphs with more steps (default: 300)")
    _debug_option(p, argparse.SUPPRESS)
    p.set_defaults(run=run_step_through)

    add_view_parser(sub, _target_options, _debug_option, fmt)
    return parser


def main(argv=None) -> int:
    """Run ``gcompile`` with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    0 on success, 2 for a user error (one line on stderr), 1 for an internal
    error (a bug: one line, or the traceback with ``--debug``).

    Examples
    --------
    >>> import contextlib, io
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err):
    ...     status = main(["eval", "apple", "--feed", "tax"])
    >>> status, err.getvalue().startswith("gcompile: error: --feed 'tax': expected NAME=VALUE")
    (2, True)
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except SystemExit as exit_:  # --help and --version
        return exit_.code if isinstance(exit_.code, int) else 0
    except (_UsageError, GraphError) as err:
        return _fail(str(err), 2, debug)
    except OSError as err:
        if err.errno == errno.EPIPE:
            return _closed_stdout()
        name = f" {err.filename!r}" if getattr(err, "filename", None) else ""
        return _fail(f"cannot access{name}: {err.strerror or err}", 2, debug)
    except BrokenPipeError:
        return _closed_stdout()
    except KeyboardInterrupt:
        return _fail("interrupted", 130, debug)
    except Exception as err:  # a bug in gcompile: still one line unless --debug
        return _fail(f"internal error: {type(err).__name__}: {err} (run again with --debug for "
                     f"the traceback, and please report it)", 1, debug)


#: Exit status when the reader of stdout went away (``gcompile eval g | head``): 128 + SIGPIPE,
#: what a Unix tool killed by the signal reports.
PIPE_CLOSED = 141


def _closed_stdout() -> int:
    """The reader closed the pipe: stop quietly, as Unix tools do (nothing on stderr)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())   # so the interpreter's final flush does not fail
    except (OSError, ValueError, AttributeError):
        pass
    return PIPE_CLOSED


def _fail(message: str, status: int, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    first = text(" ".join(str(message).split()))
    print(f"{_PROG}: error: {first}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
