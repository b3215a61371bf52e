"""The book's two-layer net: Affine, Sigmoid, Affine, SoftmaxWithLoss, as a graph.

Built by hand in the documented graph format, with ``group`` attributes naming
the layers (the renderer draws each group as a cluster).  Small sizes: a batch
of 2 examples of 4 features, 5 hidden units, 3 classes; fixed random weights.

Examples
--------
>>> import gcompile as gc
>>> g, feeds = two_layer_net()
>>> loss = gc.evaluate(g, feeds)["loss"]
>>> round(float(loss), 6)
1.367619
"""
from __future__ import annotations

import networkx as nx
import numpy as np

__all__ = ["two_layer_net"]


def _op(g, name, op, operands, group, label=None, **params):
    g.add_node(name, op=op, group=group, **({"label": label} if label else {}), **params)
    for pos, u in enumerate(operands):
        g.add_edge(u, name, arg=pos)


def two_layer_net(batch=2, inputs=4, hidden=5, classes=3, seed=0):
    """TwoLayerNet of *Deep Learning from Scratch* (ch. 5): loss of a batch, d loss / d params.

    Parameters
    ----------
    batch, inputs, hidden, classes : int
        Sizes of the batch and of the three layers.
    seed : int
        Seed of the random weights, inputs and labels.

    Returns
    -------
    (nx.DiGraph, dict)
        The forward graph (``output="loss"``, ``wrt=["W1", "b1", "W2", "b2"]``)
        and feeds for every input.

    Examples
    --------
    >>> g, feeds = two_layer_net()
    >>> g.graph["output"], g.graph["wrt"], feeds["W1"].shape
    ('loss', ['W1', 'b1', 'W2', 'b2'], (4, 5))
    """
    rng = np.random.default_rng(seed)
    feeds = {
        "x": rng.normal(size=(batch, inputs)),
        "t": np.eye(classes)[np.arange(batch) % classes],
        "W1": 0.5 * rng.normal(size=(inputs, hidden)),
        "b1": 0.1 * rng.normal(size=hidden),
        "W2": 0.5 * rng.normal(size=(hidden, classes)),
        "b2": 0.1 * rng.normal(size=classes),
    }
    g = nx.DiGraph(name="two_layer_net")
    groups = {"x": "data", "t": "data", "W1": "affine1", "b1": "affine1",
              "W2": "affine2", "b2": "affine2"}
    for name, value in feeds.items():
        g.add_node(name, op="input", shape=value.shape, group=groups[name])
    g.nodes["t"]["label"] = "t (one-hot)"
    _op(g, "xW1", "matmul", ["x", "W1"], "affine1", label="x @ W1")
    _op(g, "a1", "add", ["xW1", "b1"], "affine1", label="a1 = x @ W1 + b1")
    _op(g, "z1", "sigmoid", ["a1"], "sigmoid1", label="z1 = σ(a1)")
    _op(g, "z1W2", "matmul", ["z1", "W2"], "affine2", label="z1 @ W2")
    _op(g, "a2", "add", ["z1W2", "b2"], "affine2", label="a2 = z1 @ W2 + b2")
    _op(g, "loss", "softmax_cross_entropy", ["a2", "t"], "softmax_with_loss", label="loss")
    g.graph.update(output="loss", wrt=["W1", "b1", "W2", "b2"])
    return g, feeds
