"""What the ``gcompile`` command reads: graphs, feeds and node names from the command line.

Every problem becomes a :class:`~gcompile.GraphError` with one clear line,
which the command prints as ``gcompile: error: ...`` (exit status 2).

Examples
--------
>>> import numpy as np
>>> parse_feed("tax=1.1")
('tax', np.float64(1.1))
>>> name, value = parse_feed("W=[[1.0, 2.0], [3.0, 4.0]]")
>>> value.shape
(2, 2)
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import GraphError, did_you_mean
from ..examples import EXAMPLES

__all__ = ["GraphSource", "load_graph", "parse_feed", "parse_feeds", "find_node", "split_names",
           "default_output", "default_wrt", "with_default_values", "is_integral"]

FEED_HELP = "expected NAME=VALUE, e.g. --feed x=1.5, --feed W=[[1,2],[3,4]] or --feed W=@w.npy"


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
    """
    path = Path(arg)
    if path.is_dir():
        raise GraphError(f"{arg!r} is a directory, not a graph file (.json or .graphml)")
    if path.exists():
        import gcompile as gc

        return GraphSource(gc.load(path), {}, path.stem)
    if arg in EXAMPLES:
        graph, feeds = EXAMPLES[arg]()
        return GraphSource(graph, dict(feeds), arg)
    hint = did_you_mean(arg, list(EXAMPLES))
    if hint or not path.suffix:
        hint = hint or f" (nor a bundled example: {', '.join(EXAMPLES)})"
        return _raise(f"no such file or bundled example {arg!r}{hint}")
    return _raise(f"no such file {arg!r}")


def _raise(message):
    raise GraphError(message)


def parse_feed(text: str):
    """``NAME=VALUE`` -> ``(name, value)``; VALUE is a number, a JSON array or ``@file.npy``.

    Examples
    --------
    >>> parse_feed("x=-2")
    ('x', np.float64(-2.0))
    >>> parse_feed("x")
    Traceback (most recent call last):
    ...
    gcompile.errors.GraphError: --feed 'x': expected NAME=VALUE, e.g. --feed x=1.5, --feed W=[[1,2],[3,4]] or --feed W=@w.npy
    """
    name, sep, raw = text.partition("=")
    name, raw = name.strip(), raw.strip()
    if not sep or not name or not raw:
        raise GraphError(f"--feed {text!r}: {FEED_HELP}")
    if raw.startswith("@"):
        return name, _load_array(raw[1:], name)
    try:
        return name, np.float64(float(raw))
    except ValueError:
        pass
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        raise GraphError(f"--feed {text!r}: {raw!r} is not a number, a JSON array or @FILE.npy")
    try:
        value = np.asarray(data)
    except ValueError:
        raise GraphError(f"--feed {text!r}: the JSON array is not rectangular") from None
    if value.dtype.kind not in "biuf":
        raise GraphError(f"--feed {text!r}: {raw!r} is not a number, a JSON array or @FILE.npy")
    return name, value


def _load_array(filename: str, name: str):
    """Read a ``.npy`` file (never pickles: loading executes no code)."""
    if not filename:
        raise GraphError(f"--feed {name}=@: give a file name after '@', e.g. {name}=@{name}.npy")
    path = Path(filename)
    if not path.is_file():
        raise GraphError(f"--feed {name}: no such file {filename!r}")
    try:
        value = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise GraphError(f"--feed {name}: cannot read {filename!r} as a .npy array: {first}") from None
    if isinstance(value, np.lib.npyio.NpzFile):
        value.close()
        raise GraphError(f"--feed {name}: {filename!r} is an .npz archive; save one array with np.save")
    if value.dtype.kind not in "biuf":
        raise GraphError(f"--feed {name}: {filename!r} holds {value.dtype} values, not numbers")
    return value


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

    Examples
    --------
    >>> split_names("apple, tax,")
    ['apple', 'tax']
    """
    return [part.strip() for part in text.split(",") if part.strip()]


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


def is_integral(value) -> bool:
    """True for integer or boolean arrays/scalars (which cannot carry a gradient)."""
    kind = getattr(getattr(value, "dtype", None), "kind", "f")
    return kind in "biu" or isinstance(value, int)
