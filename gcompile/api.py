"""One argument check for every public function: a wrong argument is a GraphError.

:func:`export` wraps each function of ``gcompile.__all__`` (and the
constructor of each public class that takes a graph) so that, before the
function runs:

* the arguments are bound to its signature: a missing argument or an unknown
  keyword is a :class:`~gcompile.GraphError`, not a ``TypeError``; keywords
  that a function passes on (``gc.render(g, path, **style)`` to
  :func:`gcompile.to_dot`) are checked against the function they go to;
* every graph argument is a networkx ``DiGraph`` that follows the format
  (:func:`gcompile.schema.check_format`: keys and attribute types);
* arguments whose name says their kind (``feeds``, ``values``, ``shapes``,
  ``path``, ``engine``, ...) have that kind;

and a ``TypeError`` raised by a wrong argument deeper down still comes out as
a GraphError (the original is kept as ``__cause__``).  The wrapper keeps the
function's name, docstring and signature (``help(gc.render)`` shows them).

Examples
--------
>>> import networkx as nx, gcompile as gc
>>> gc.evaluate(nx.DiGraph(), feeds=[1, 2])
Traceback (most recent call last):
...
gcompile.errors.GraphError: evaluate(): feeds must be a mapping from node to value (a dict), got list [1, 2]
>>> gc.render(nx.DiGraph(), "x.png", foo=1)
Traceback (most recent call last):
...
gcompile.errors.GraphError: render(): unexpected keyword argument 'foo' (accepted: path, values, engine, dpi, rankdir, theme, show_values, rules, collapse, title, highlight, color_by)
"""
from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Mapping

import networkx as nx

from .errors import GraphError, describe_value
from .graph import Plan, as_node_list
from .schema import check_format

__all__ = ["public", "export", "GRAPH_ARGS"]

#: Parameter names that hold a graph.
GRAPH_ARGS = frozenset({"graph", "fwd", "bwd", "hessian_graph", "hvp_graph"})


def _mapping(value):
    return isinstance(value, Mapping)


def _path(value):
    return isinstance(value, (str, os.PathLike))


def _text(value):
    return isinstance(value, str)


def _flag(value):
    return isinstance(value, bool)


def _count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


#: name -> (test, what it must be); ``None`` passes where the default is ``None``.
_KINDS = {
    "feeds": (_mapping, "a mapping from node to value (a dict)"),
    "values": (_mapping, "a dict node -> value (as gc.evaluate returns)"),
    "shapes": (_mapping, "a mapping from node to shape (a dict)"),
    "grads": (_mapping, "a mapping from node to gradient (a dict)"),
    "path": (_path, "a file path (str or pathlib.Path)"),
    "engine": (_text, "an engine name such as 'auto'"),
    "format": (_text, "a format name"),
    "source": (_text, "a string naming the text"),
    "title": (_text, "a string"),
    "validate": (_flag, "True or False"),
    "optimize": (_flag, "True or False"),
    "release": (_flag, "True or False"),
    "fold_seed": (_flag, "True or False"),
    "replace": (_flag, "True or False"),
    "max_paths": (_count, "a non-negative int"),
    "max_steps": (_count, "a non-negative int"),
    "max_rounds": (_count, "a non-negative int"),
    "plan": (lambda value: isinstance(value, Plan), "a Plan made by gc.plan"),
    "dpi": (_number, "a number"),
    "eps": (_number, "a number"),
    "rtol": (_number, "a number"),
    "atol": (_number, "a number"),
}

#: Kinds that hold for one function only: (function name, parameter) -> (test, what).
_FN_KINDS = {("check_grads", "seed"): (_count, "a non-negative int (a random seed)")}

#: Functions that check their graph with gc.plan (format included) before anything else.
_PLANNED = frozenset({"evaluate", "grad", "gradients", "plan", "infer_shapes", "compile",
                      "CompiledGradient", "check_grads", "hessian", "hvp"})

#: Functions taking ``**options`` that they pass on: name -> the function receiving them.
_FORWARDS: dict = {}


#: How messages name each graph argument.
_NOUNS = {"fwd": "the forward graph", "bwd": "the backward graph",
          "hessian_graph": "the Hessian graph", "hvp_graph": "the HVP graph"}


def _graph(value, where, name, planned=False):
    noun = _NOUNS.get(name, "the graph")
    if not isinstance(value, nx.DiGraph):
        if name == "graph":
            raise GraphError(f"{where}: expected a networkx DiGraph, got {type(value).__name__}")
        raise GraphError(f"{where}: {noun}: expected a networkx DiGraph, got "
                         f"{type(value).__name__}")
    if value.is_multigraph():
        raise GraphError(f"{where}: {noun} needs a networkx DiGraph, got "
                         f"{type(value).__name__} (multigraphs are not supported: use one edge "
                         "with arg=[0, 1] for x*x)")
    if not planned:  # gc.plan checks the format first thing
        check_format(value)


def _nodes(given, params, graph_name):
    """``output`` and ``wrt`` name nodes of the (first) graph argument."""
    graph = given[graph_name]
    for name in ("output", "wrt"):
        if name in given and not (given[name] is None and params[name].default is None):
            value = given[name]
            if name == "output":
                try:
                    hash(value)
                except TypeError:
                    raise GraphError(f"output must be a node key, got {describe_value(value)}") \
                        from None
            as_node_list(graph, [value] if name == "output" else value, name)


def _forward_names(fn, sig):
    target = _FORWARDS.get(fn.__name__)
    if target is None:
        return None
    own = {n for n, p in sig.parameters.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
    return [n for n, p in inspect.signature(target).parameters.items()
            if n not in own and n not in GRAPH_ARGS
            and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]


def public(fn, name=None):
    """``fn`` with its arguments checked (see the module docstring); same name and docs.

    Examples
    --------
    >>> def area(graph, path=None): return len(graph)
    >>> public(area)(None)
    Traceback (most recent call last):
    ...
    gcompile.errors.GraphError: area(): expected a networkx DiGraph, got NoneType
    """
    sig = inspect.signature(fn)
    label = f"{name or fn.__name__}()"
    params = sig.parameters
    graphs = [n for n in params if n in GRAPH_ARGS]
    planned = (name or fn.__name__) in _PLANNED
    kinds = [(n, _FN_KINDS.get((fn.__name__, n), _KINDS.get(n))) for n in params
             if n in _KINDS or (fn.__name__, n) in _FN_KINDS]
    var_kw = next((n for n, p in params.items() if p.kind is p.VAR_KEYWORD), None)
    forwarded = _forward_names(fn, sig) if var_kw else None
    accepted = [n for n, p in params.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
                and n != "self" and n not in GRAPH_ARGS]

    @functools.wraps(fn)
    def checked(*args, **kwargs):
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as err:
            raise GraphError(f"{label}: {_bind_message(err, accepted, forwarded)}") from None
        given = bound.arguments
        if forwarded is not None and var_kw in given:
            for key in given[var_kw]:
                if key not in forwarded:
                    raise GraphError(f"{label}: unexpected keyword argument {key!r} (accepted: "
                                     f"{', '.join(accepted + forwarded)})")
        for n in graphs:
            if n in given:
                _graph(given[n], label, n, planned)
        if graphs and graphs[0] in given:
            _nodes(given, params, graphs[0])
        for n, (test, what) in kinds:
            if n in given:
                value = given[n]
                if value is None and params[n].default is None:
                    continue
                if not test(value):
                    if n == "path":
                        raise GraphError(f"{label[:-2]} needs a file path, got "
                                         f"{describe_value(value)}")
                    raise GraphError(f"{label}: {n} must be {what}, got {describe_value(value)}")
        try:
            return fn(*args, **kwargs)
        except TypeError as err:  # a wrong argument found deeper down
            raise GraphError(f"{label}: bad argument: {err}") from err

    return checked


def _bind_message(err, accepted, forwarded):
    text = str(err)
    if "unexpected keyword" in text or "got an unexpected" in text:
        key = text.rsplit(" ", 1)[-1].strip("'")
        names = accepted + (forwarded or [])
        return f"unexpected keyword argument {key!r} (accepted: {', '.join(names)})"
    return text


def export(namespace, names, forwards=None):
    """Wrap every public function of ``names`` in ``namespace`` with :func:`public`.

    A class whose constructor takes a graph gets its ``__init__`` checked
    instead (the class stays the same object).  ``forwards`` maps a function
    name to the function its ``**options`` go to.
    """
    _FORWARDS.update(forwards or {})
    for name in names:
        obj = namespace.get(name)
        if inspect.isfunction(obj) and not hasattr(obj, "__wrapped__"):
            namespace[name] = public(obj, name)
        elif inspect.isclass(obj) and not issubclass(obj, BaseException):
            init = obj.__dict__.get("__init__")
            if inspect.isfunction(init) and not hasattr(init, "__wrapped__") \
                    and GRAPH_ARGS & set(inspect.signature(init).parameters):
                obj.__init__ = public(init, name)
