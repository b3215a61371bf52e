"""Bundled example graphs, built by hand in the documented graph format.

The seed examples reproduce the computational-graph chapter of *Deep Learning
from Scratch*: the apple price (MulLayer twice) and the apple-orange price
(MulLayer, AddLayer).

Examples
--------
>>> import gcompile as gc
>>> g, feeds = apple()
>>> round(float(gc.evaluate(g, feeds)["price"]), 6)
220.0
"""
from __future__ import annotations

import networkx as nx

__all__ = ["apple", "apple_orange", "two_layer_net", "EXAMPLES"]


def _mul(g, name, x, y, label=None):
    g.add_node(name, op="mul", **({"label": label} if label else {}))
    g.add_edge(x, name, arg=0)
    g.add_edge(y, name, arg=1)


def apple():
    """The seed's first example: 2 apples at 100 each, 10% tax -> price 220.

    Returns the forward graph (scalar inputs declare ``shape=()``) and its feeds.

    Examples
    --------
    >>> g, feeds = apple()
    >>> sorted(feeds)
    ['apple', 'apple_num', 'tax']
    """
    g = nx.DiGraph(name="apple")
    g.add_node("apple", op="input", shape=(), label="apple")
    g.add_node("apple_num", op="input", shape=(), label="apple count")
    g.add_node("tax", op="input", shape=(), label="tax")
    _mul(g, "apple_price", "apple", "apple_num")
    _mul(g, "price", "apple_price", "tax")
    g.graph.update(output="price", wrt=["apple", "apple_num", "tax"])
    return g, {"apple": 100.0, "apple_num": 2.0, "tax": 1.1}


def apple_orange():
    """The seed's second example: apples and oranges, summed, taxed -> price 715.

    Examples
    --------
    >>> g, feeds = apple_orange()
    >>> g.number_of_nodes()
    9
    """
    g = nx.DiGraph(name="apple_orange")
    for name, label in [("apple", "apple"), ("apple_num", "apple count"), ("orange", "orange"),
                        ("orange_num", "orange count"), ("tax", "tax")]:
        g.add_node(name, op="input", shape=(), label=label)
    _mul(g, "apple_price", "apple", "apple_num")
    _mul(g, "orange_price", "orange", "orange_num")
    g.add_node("all_price", op="add")
    g.add_edge("apple_price", "all_price", arg=0)
    g.add_edge("orange_price", "all_price", arg=1)
    _mul(g, "price", "all_price", "tax")
    g.graph.update(output="price", wrt=["apple", "apple_num", "orange", "orange_num", "tax"])
    return g, {"apple": 100.0, "apple_num": 2.0, "orange": 150.0, "orange_num": 3.0, "tax": 1.1}


from .two_layer_net import two_layer_net  # noqa: E402  (a module of its own: it is longer)

#: name -> function returning ``(graph, feeds)``; ``graph.graph`` names output and wrt.
EXAMPLES = {"apple": apple, "apple_orange": apple_orange, "two_layer_net": two_layer_net}
