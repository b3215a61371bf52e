"""Check gradients against central finite differences: public, so users can check their own ops.

Examples
--------
>>> import networkx as nx, gcompile as gc
>>> g = nx.DiGraph([("x", "y")]); g.nodes["x"]["op"] = "input"; g.nodes["y"]["op"] = "tanh"
>>> check_grads(g, {"x": 0.3}, "y", ["x"])
True
"""
from __future__ import annotations

import numpy as np

from .autodiff import gradients
from .errors import GraphError
from .evaluate import evaluate
from .graph import as_node_list

__all__ = ["check_grads", "numerical_gradient"]


def _scalar_output(graph, feeds, output, weights):
    value = np.asarray(evaluate(graph, feeds)[output], dtype=np.float64)
    return float(np.sum(value * weights))


def numerical_gradient(graph, feeds, output, wrt, eps=1e-6, weights=None):
    """Central finite differences of ``sum(weights * output)`` w.r.t. input ``wrt``.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph([("x", "y")]); g.nodes["x"]["op"] = "input"; g.nodes["y"]["op"] = "exp"
    >>> round(float(numerical_gradient(g, {"x": 0.0}, "y", "x")), 6)
    1.0
    """
    if wrt not in (feeds or {}):
        op = graph.nodes[wrt].get("op") if graph.has_node(wrt) else None
        raise GraphError(f"finite differences w.r.t. {wrt!r} need a feed for it: they perturb "
                         f"an input's value" + (f"; {wrt!r} is a node of op {op!r}" if op else ""))
    try:
        base = np.array(feeds[wrt], dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise GraphError(f"the feed of {wrt!r} is not a float array: {err}") from None
    if weights is None:
        weights = np.ones_like(np.asarray(evaluate(graph, feeds)[output], dtype=np.float64))
    out = np.zeros_like(base)
    flat = out.reshape(-1)
    for i in range(base.size):
        hi, lo = base.copy(), base.copy()
        hi.reshape(-1)[i] += eps
        lo.reshape(-1)[i] -= eps
        f_hi = _scalar_output(graph, {**feeds, wrt: hi}, output, weights)
        f_lo = _scalar_output(graph, {**feeds, wrt: lo}, output, weights)
        flat[i] = (f_hi - f_lo) / (2 * eps)
    return out if base.ndim else out[()]


def check_grads(graph, feeds, output, wrt, *, eps=1e-6, rtol=1e-5, atol=1e-7, seed=0):
    """Compare ``gc.gradients`` with finite differences; raise GraphError on disagreement.

    A non-scalar output is weighted by a random cotangent (fixed ``seed``): the
    dot-product test ``<c, J v>``.  A scalar output is not weighted, so a
    disagreement reports the plain gradients.  Returns True when every
    gradient agrees within ``rtol``/``atol``.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph([("x", "y")]); g.nodes["x"]["op"] = "input"; g.nodes["y"]["op"] = "sin"
    >>> check_grads(g, {"x": 1.0}, "y", "x")
    True
    """
    wrt = as_node_list(graph, wrt, "wrt")
    out_value = np.asarray(evaluate(graph, feeds)[output], dtype=np.float64)
    if out_value.ndim:
        weights = np.random.default_rng(seed).uniform(0.5, 1.5, size=out_value.shape)
        analytic = gradients(graph, feeds, output, wrt, seed=weights)
    else:
        weights = np.float64(1.0)
        analytic = gradients(graph, feeds, output, wrt)
    for w in wrt:
        numeric = numerical_gradient(graph, feeds, output, w, eps=eps, weights=weights)
        got = np.asarray(analytic[w], dtype=np.float64)
        if got.shape != np.shape(numeric):
            raise GraphError(f"gradient of {w!r} has shape {got.shape}, its input {np.shape(numeric)}")
        if not np.allclose(got, numeric, rtol=rtol, atol=atol):
            err = np.max(np.abs(got - numeric))
            raise GraphError(f"gradient of {output!r} w.r.t. {w!r} disagrees with finite "
                             f"differences (max abs error {err:.3g}):\nanalytic {got}\nnumeric  {numeric}")
    return True
