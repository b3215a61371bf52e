"""Build forward graphs from ordinary Python expressions.

:func:`trace` calls a Python function with symbolic :class:`Value` objects in
place of its inputs; every operator (``+ - * / ** @``, unary ``-``) and every
op function of :mod:`gcompile.ops` it applies adds one node to a
:class:`GraphBuilder`, and the result is a forward DiGraph in the documented
format.  Python numbers and numpy arrays met along the way become ``const``
nodes.  Node keys are readable and deterministic: the names you give (inputs,
:meth:`GraphBuilder.name`, the ``name=`` keyword of op functions), otherwise
the op name with a counter (``mul``, ``mul_1``, ...), skipping every name you
gave.

Examples
--------
The seed's MulLayer example: 2 apples at 100 each, with 10% tax.

>>> import gcompile as gc
>>> def apple_price(apple, apple_num, tax):
...     return {"price": apple * apple_num * tax}
>>> g = gc.trace(apple_price, "apple", "apple_num", "tax")
>>> feeds = {"apple": 100.0, "apple_num": 2.0, "tax": 1.1}
>>> float(gc.evaluate(g, feeds)["price"])
220.00000000000003
>>> grads = gc.gradients(g, feeds, "price", ["apple", "apple_num", "tax"])
>>> [float(grads[k]) for k in ("apple", "apple_num", "tax")]
[2.2, 110.00000000000001, 200.0]

With an AddLayer: apples and oranges, summed, then taxed.

>>> def fruit_price(apple, apple_num, orange, orange_num, tax):
...     return {"price": (apple * apple_num + orange * orange_num) * tax}
>>> g = gc.trace(fruit_price, "apple", "apple_num", "orange", "orange_num", "tax")
>>> list(g.nodes)
['apple', 'apple_num', 'orange', 'orange_num', 'tax', 'mul', 'mul_1', 'add', 'price']
>>> float(gc.evaluate(g, dict(feeds, orange=150.0, orange_num=3.0))["price"])
715.0000000000001

The builder names every layer, as the book does:

>>> b = gc.GraphBuilder()
>>> apple, apple_num, tax = b.input("apple"), b.input("apple_num"), b.input("tax")
>>> apple_price = b.name(apple * apple_num, "apple_price")
>>> price = b.output(b.name(apple_price * tax, "price"))
>>> gc.gradients(b.graph, feeds, "price", "tax")
{'tax': np.float64(200.0)}
"""
from __future__ import annotations

import networkx as nx

from .builder import GraphBuilder
from .errors import GraphError, describe_value, did_you_mean
from .value import Value

__all__ = ["trace", "GraphBuilder", "Value"]


def trace(fn, *inputs, shapes=None, values=None, wrt=None, name=None) -> nx.DiGraph:
    """Call ``fn`` on symbolic inputs and return the forward graph it computes.

    Parameters
    ----------
    fn : callable
        Takes one :class:`Value` per input name; returns a value (the output),
        a tuple/list of values (``graph["outputs"]``, the first is
        ``graph["output"]``), or a dict ``{name: value}`` naming the outputs.
    *inputs : hashable
        Names of the input nodes, in ``fn``'s argument order.
    shapes, values : dict, optional
        Declared shape / default value of some inputs (shapes are checked
        while tracing).
    wrt : list, optional
        Stored as ``graph["wrt"]`` (the nodes to differentiate by default).
    name : str, optional
        Stored as ``graph["name"]``.

    Inside ``fn``, use ``x.builder.group("layer")`` and ``x.builder.name(v, "key")``
    to group and name nodes.

    Examples
    --------
    >>> import gcompile as gc
    >>> g = gc.trace(lambda x: {"y": x * x}, "x")
    >>> list(g.edges(data=True)), g.graph["output"]
    ([('x', 'y', {'arg': [0, 1]})], 'y')
    """
    if not callable(fn):
        raise GraphError(f"trace needs a function, got {describe_value(fn)}")
    shapes, values = dict(shapes or {}), dict(values or {})
    for what, given in (("shapes", shapes), ("values", values)):
        for k in given:
            if k not in inputs:
                raise GraphError(f"{what} names {k!r}, which is not an input" + did_you_mean(k, inputs))
    b = GraphBuilder(name=name)
    args = [b.input(n, shape=shapes.get(n), value=values.get(n)) for n in inputs]
    result = fn(*args)
    if isinstance(result, dict):
        outs = [b.name(_traced(v, k), k) for k, v in result.items()]
    elif isinstance(result, (tuple, list)):
        outs = [_traced(v, i) for i, v in enumerate(result)]
    else:
        outs = [_traced(result, None)]
    if not outs:
        raise GraphError("the traced function returned no output")
    b.output(*outs)
    g = b.graph
    if wrt is not None:
        wrt = [wrt] if isinstance(wrt, str) else list(wrt)
        for w in wrt:
            if w not in g:
                raise GraphError(f"unknown wrt node {w!r}" + did_you_mean(w, g.nodes))
        g.graph["wrt"] = wrt
    return g


def _traced(value, where):
    if not isinstance(value, Value):
        at = "" if where is None else f" (output {where!r})"
        raise GraphError(f"the traced function returned {describe_value(value)}{at}, not a traced "
                         "value computed from its inputs")
    return value
