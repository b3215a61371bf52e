"""The style options of the drawing functions, each documented once.

:func:`gcompile.to_dot`, :func:`gcompile.render`, :func:`gcompile.render_pair`
and :func:`gcompile.render_passes` take keyword options; :data:`OPTIONS` holds
each one's type and meaning, and :func:`document` writes the ones a function
accepts into its docstring (``help(gc.render)`` lists them all), so the
documentation cannot drift from the signatures (``tests/test_render_options.py``
checks every accepted option is described).

Examples
--------
>>> print(describe(["title"]).strip())
title : str, optional
    A caption written above the picture.
"""
from __future__ import annotations

import textwrap

__all__ = ["OPTIONS", "describe", "document"]

#: Option name -> (numpydoc type, meaning).
OPTIONS = {
    "style": ('{"pair", "book"}',
              'render_pair\'s picture: "pair" (the default) draws the forward graph above its '
              'backward graph, each gradient node under the node it differentiates; "book" '
              'draws the forward graph once, as Deep Learning from Scratch does, each edge '
              'carrying its forward value above it and, beneath it in red, the gradient '
              'flowing back along it; the output receives the seed 1.'),
    "rankdir": ('{"auto", "LR", "TB", "RL", "BT"}',
                'The direction the graph flows: "LR" left to right, "TB" top to bottom (the '
                'default of render_passes); "RL" and "BT" reverse them. "auto" (the default '
                'of to_dot, render and render_pair) draws a long, thin graph of 10 nodes or '
                'more top to bottom, so that its text stays readable at a page\'s width, and '
                'others left to right; a top-to-bottom pair has its backward part beside the '
                'forward one, each dX in the row of X.'),
    "theme": ('{"light", "dark"}',
              'The colour theme: "light" (white background, the default) or "dark" (for '
              'dark pages and slides).'),
    "show_values": ("bool",
                    "Write values when ``values`` are given (the default True): each edge "
                    "carries the value of its tail node, sink nodes and constants show "
                    "theirs, backward edges carry gradients. False draws the structure only."),
    "rules": ("bool",
              "On backward nodes, write the local derivative rule (``d(x*y)/dx = y``) and, "
              "with values, the value of the local factor (default True). The tooltip "
              "always holds the rule."),
    "collapse": ('{"cluster", "box", "auto", None}',
                 'What to do with nodes sharing a ``group`` attribute (a layer): "cluster" '
                 '(the default of to_dot and render) draws a titled box around them, "box" '
                 'draws the whole group as one node listing its ops, None ignores groups. '
                 'A backward graph of more than 200 nodes with no groups is drawn, unless '
                 'collapse is None, with one box per gradient dX holding the nodes that '
                 'compute it. render_pair takes "auto" (its default: one box per gradient, '
                 'beside its variable, when the backward part has more than 200 nodes, '
                 'else every node) or None (every node). Graphs of 100 drawn nodes or more '
                 'get compact one-line nodes, so that they stay readable at a page width.'),
    "title": ("str, optional", "A caption written above the picture."),
    "highlight": ("node, list or dict, optional",
                  "Outline a forward node and the backward nodes whose ``origin`` it is, a "
                  "path (a list of nodes joined by edges; in a pair, also the gradient "
                  "flowing back along it), or ``{\"nodes\": [...]}`` exactly those nodes; "
                  "see :mod:`gcompile.drawing.highlight`."),
    "color_by": ('{"auto", "kind", "order"}',
                 'Fill nodes by kind (input, op, output, gradient, ...) or by derivative '
                 '``order`` with a legend of node counts per order (graphs from ``gc.hvp``, '
                 '``gc.hessian``, ``gc.joint_graph``); "auto" (the default) colours by order '
                 'when every node carries one.'),
    "passes": ("sequence of str",
               "The passes to run, as for :func:`gcompile.optimize` (default: all of them)."),
    "keep": ("list of nodes, optional",
             "Nodes the passes must keep, as for :func:`gcompile.optimize` (default: the "
             "graph's gradients)."),
    "fold_seed": ("bool",
                  "Fold the seed (ones) into constants, as for :func:`gcompile.optimize` "
                  "(default True)."),
    "shapes": ("dict, optional",
               "Input node -> shape, as for :func:`gcompile.optimize`: lets the passes drop "
               "reductions that do nothing."),
}


def describe(names, indent: int = 0) -> str:
    """The numpydoc parameter entries of option ``names``, indented by ``indent`` spaces.

    Examples
    --------
    >>> describe(["theme"]).splitlines()[0]
    'theme : {"light", "dark"}'
    """
    lines = []
    for name in names:
        kind, meaning = OPTIONS[name]
        lines.append(f"{name} : {kind}")
        lines.extend(textwrap.wrap(meaning, 88, initial_indent="    ",
                                   subsequent_indent="    "))
    return textwrap.indent("\n".join(lines), " " * indent) + "\n"


def document(*names):
    """Decorator: put the entries of option ``names`` where the docstring says ``{options}``.

    The marker sits on a line of its own at the indentation of the other
    parameter entries.

    Examples
    --------
    >>> @document("title")
    ... def f(**style):
    ...     '''Do f.
    ...
    ...     Parameters
    ...     ----------
    ...     {options}
    ...     '''
    >>> "A caption" in f.__doc__
    True
    """
    def decorate(func):
        doc = func.__doc__ or ""
        marker = next(line for line in doc.splitlines() if line.strip() == "{options}")
        indent = len(marker) - len(marker.lstrip())
        func.__doc__ = doc.replace(marker + "\n", describe(names, indent))
        func.gc_options = names
        return func
    return decorate
