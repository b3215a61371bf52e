"""What the ``gcompile`` command reads: graphs, feeds and node names from the command line.

Every problem becomes a :class:`~gcompile.GraphError` with one clear line,
which the command prints as ``gcompile: error: ...`` (exit status 2).

Feed values (``--feed NAME=VALUE``) are parsed by :mod:`gcompile.cli.feeds`.

Examples
--------
>>> split_names("('ap', 3), x")
["('ap', 3)", 'x']
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import GraphError, did_you_mean, label
from ..examples import EXAMPLES
from ..io import load
from .feeds import parse_feed

__all__ = ["GraphSource", "load_graph", "parse_feeds", "find_node", "split_names",
           "default_output", "default_wrt", "with_default_values", "is_integral", "leaf_shapes",
           "check_float_wrt", "missing_inputs", "require_values"]


class GraphSource:
    """A graph read from the command line: the graph, default feeds and a name for output files."""

    def __init__(self, graph, feeds, name):
        self.graph = graph
        self.feeds = feeds
        self.name = name


def load_graph(arg: str) -> GraphSource:
    """Read GRAPH: a ``.json``/``.graphml`` file or, if no such file exists, a bundled example name.

    Examples
    --------
    >>> src = load_graph("apple")
    >>> src.name, src.graph.graph["output"], src.feeds["tax"]
    ('apple', 'price', 1.1)
    >>> load_graph("no_such_graph.json")
    Traceback (most recent call last):
    ...
    gcompile.errors.GraphError: no such file 'no_such_graph.json'
    >>> load_graph("appel")
    Traceback (most recent call last):
    ...
    gcompile.errors.GraphError: no such file or bundled example 'appel' (did you mean 'apple'?)
    """
    path = Path(arg)
    if path.is_dir():
        raise GraphError(f"{arg!r} is a directory, not a graph file (.json or .graphml)")
    if path.exists():
        return GraphSource(load(path), {}, path.stem)
    if arg in EXAMPLES:
        graph, feeds = EXAMPLES[arg]()
        return GraphSource(graph, dict(feeds), arg)
    if path.suffix:
        raise GraphError(f"no such file {arg!r}")
    hint = did_you_mean(arg, list(EXAMPLES)) or f" (examples: {', '.join(EXAMPLES)})"
    raise GraphError(f"no such file or bundled example {arg!r}{hint}")


def find_node(graph, name: str, what: str):
    """The node key a command-line name means: the key itself, or the one key printed as ``name``.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph(); g.add_node(3, op="input"); g.add_node("y", op="input")
    >>> find_node(g, "3", "--feed"), find_node(g, "y", "--feed")
    (3, 'y')
    >>> find_node(g, "z", "--wrt")
    Traceback (most recent call last):
    ...
    gcompile.errors.GraphError: --wrt: the graph has no node 'z' (nodes: 3, 'y')
    """
    if name in graph:
        return name
    matches = [n for n in graph if str(n) == name or repr(n) == name]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise GraphError(f"{what}: {name!r} matches several nodes: {', '.join(map(repr, matches))}")
    hint = did_you_mean(name, [str(n) for n in graph])
    if not hint:
        listed = ", ".join(repr(n) for n in list(graph)[:8])
        hint = f" (nodes: {listed}{', ...' if len(graph) > 8 else ''})"
    raise GraphError(f"{what}: the graph has no node {name!r}{hint}")


def split_names(text: str):
    """``"a,b, c"`` -> ``["a", "b", "c"]`` (empty items dropped).

    Commas inside brackets or quotes do not split, so a tuple key written as
    it prints (``('ap', 3)``) stays one name.

    Examples
    --------
    >>> split_names("apple, tax,")
    ['apple', 'tax']
    >>> split_names("('ap', 3), x, 'a,b'")
    ["('ap', 3)", 'x', "'a,b'"]
    """
    parts, current, depth, quote = [], [], 0, None
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(depth - 1, 0)
        elif ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def parse_feeds(graph, texts, defaults=None) -> dict:
    """Defaults (an example's feeds) overridden by each ``--feed NAME=VALUE``, keyed by node.

    Examples
    --------
    >>> from gcompile.examples import apple
    >>> g, feeds = apple()
    >>> parse_feeds(g, ["tax=1.2"], feeds)["tax"]
    np.float64(1.2)
    """
    feeds = dict(defaults or {})
    for text in texts or ():
        name, value = parse_feed(text)
        node = find_node(graph, name, f"--feed {name}")
        if graph.nodes[node].get("op") != "input":
            raise GraphError(f"--feed {name}: node {node!r} is a {graph.nodes[node].get('op')!r} "
                             f"node; only 'input' nodes are fed")
        feeds[node] = value
    return feeds


def default_output(graph, text=None):
    """``--output``, else ``graph.graph["output"]``, else the graph's only sink.

    Examples
    --------
    >>> from gcompile.examples import apple
    >>> default_output(apple()[0])
    'price'
    """
    if text:
        return find_node(graph, text, "--output")
    if "output" in graph.graph:
        return find_node(graph, str(graph.graph["output"]), "the graph's 'output'") \
            if graph.graph["output"] not in graph else graph.graph["output"]
    sinks = [n for n in graph if graph.out_degree(n) == 0 and graph.nodes[n].get("op") != "input"]
    if len(sinks) == 1:
        return sinks[0]
    names = ", ".join(map(repr, sinks[:8])) or "none"
    raise GraphError(f"the graph does not name its output and has {len(sinks)} candidate "
                     f"sinks ({names}): choose one with --output NODE")


def default_wrt(graph, text=None):
    """``--wrt A,B``, else ``graph.graph["wrt"]``, else every ``input`` node.

    Examples
    --------
    >>> from gcompile.examples import apple
    >>> default_wrt(apple()[0], "tax")
    ['tax']
    """
    if text is not None:
        names = split_names(text)
        if not names:
            raise GraphError("--wrt: give at least one node name, e.g. --wrt x,y")
        return [find_node(graph, name, "--wrt") for name in names]
    if graph.graph.get("wrt"):
        wrt = graph.graph["wrt"]
        wrt = [wrt] if isinstance(wrt, str) else list(wrt)
        return [w if w in graph else find_node(graph, str(w), "the graph's 'wrt'") for w in wrt]
    inputs = [n for n, d in graph.nodes(data=True) if d.get("op") == "input"]
    if not inputs:
        raise GraphError("the graph has no input nodes to differentiate with respect to: use --wrt")
    return inputs


def with_default_values(graph, feeds):
    """A copy of ``graph`` whose inputs carry ``feeds`` as their default ``value``.

    Written by ``gcompile example`` so the saved file runs on its own.

    Examples
    --------
    >>> from gcompile.examples import apple
    >>> g, feeds = apple()
    >>> with_default_values(g, feeds).nodes["tax"]["value"], "value" in g.nodes["tax"]
    (1.1, False)
    """
    out = graph.copy()
    for node, value in feeds.items():
        if node in out and out.nodes[node].get("op") == "input":
            out.nodes[node]["value"] = value.item() if getattr(value, "shape", None) == () else value
    return out


def missing_inputs(graph, feeds) -> list:
    """The input nodes with neither a feed nor a ``value`` attribute, in graph order.

    Examples
    --------
    >>> import gcompile as gc
    >>> missing_inputs(gc.trace(lambda x, y: x * y, "x", "y"), {"y": 2.0})
    ['x']
    """
    return [n for n, d in graph.nodes(data=True)
            if d.get("op") == "input" and n not in feeds and "value" not in d]


def require_values(graph, feeds):
    """Refuse to run when input nodes have no value: name every one and the ``--feed`` syntax.

    Examples
    --------
    >>> import gcompile as gc
    >>> g = gc.trace(lambda x, y: x * y, "x", "y")
    >>> require_values(g, {"y": 2.0})
    Traceback (most recent call last):
    ...
    gcompile.errors.GraphError: no value for input 'x': give it with --feed NAME=VALUE, e.g. --feed x=1.5
    """
    missing = missing_inputs(graph, feeds)
    if not missing:
        return
    names = ", ".join(repr(n) for n in missing[:20]) + (", ..." if len(missing) > 20 else "")
    example = " ".join(f"--feed {label(n)}=1.5" for n in missing[:3])
    plural = f"no values for {len(missing)} inputs" if len(missing) > 1 else "no value for input"
    raise GraphError(f"{plural} {names}: give {'each' if len(missing) > 1 else 'it'} with "
                     f"--feed NAME=VALUE, e.g. {example!s}")


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


def check_float_wrt(graph, feeds, wrt):
    """Refuse ``wrt`` inputs holding integers (fed or their ``value``): no gradient flows to them.

    Examples
    --------
    >>> import gcompile as gc
    >>> g = gc.trace(lambda x: x * 2.0, "x")
    >>> check_float_wrt(g, {"x": np.array([1, 2])}, ["x"])
    Traceback (most recent call last):
    ...
    gcompile.errors.GraphError: wrt node 'x' holds integer values: gradients need floating-point inputs (feed e.g. --feed x=2.0)
    """
    for w in wrt:
        value = feeds[w] if w in feeds else graph.nodes[w].get("value", 0.0)
        if is_integral(value) or (isinstance(value, list) and is_integral(np.asarray(value))):
            raise GraphError(f"wrt node {w!r} holds integer values: gradients need floating-point "
                             f"inputs (feed e.g. --feed {label(w)}=2.0)")


def is_integral(value) -> bool:
    """True for integer or boolean arrays/scalars (which cannot carry a gradient)."""
    kind = getattr(getattr(value, "dtype", None), "kind", "f")
    return kind in "biu" or isinstance(value, int)
