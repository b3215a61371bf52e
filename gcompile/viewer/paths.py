"""Chain-rule paths for the viewer: every path from a ``wrt`` node to the output,
with the product of its local derivatives where the values are scalars.  A path is
written from the output back to the ``wrt`` node, like :func:`gcompile.explain`'s.

The numbers come from :func:`gcompile.explain` (each local derivative by the
op's own VJP rule); tensors, or graphs without values, get the paths alone.

Examples
--------
>>> import gcompile as gc
>>> from gcompile.examples import apple
>>> g, feeds = apple()
>>> (term,) = chain_paths(g, gc.evaluate(g, feeds), ["price"], ["apple"])
>>> term["paths"][0]["nodes"], term["paths"][0]["product"]
(['price', 'apple_price', 'apple'], 2.2)
"""
from __future__ import annotations

import itertools

import networkx as nx

from ..errors import GraphError
from ..explain import explain

__all__ = ["chain_paths", "targets", "MAX_PATHS", "EXPLAIN_NODES"]

#: Most paths listed per (output, wrt) pair.
MAX_PATHS = 16
#: Products are computed (by ``gc.explain``) only for graphs up to this many nodes.
EXPLAIN_NODES = 400


def targets(fwd, bwd=None, *, cap=24):
    """The outputs and ``wrt`` nodes to offer: the backward graph's, else the forward
    graph's ``output``/``wrt`` attributes, else its sinks and inputs (at most ``cap`` each).

    Examples
    --------
    >>> from gcompile.examples import apple
    >>> targets(apple()[0])
    (['price'], ['apple', 'apple_num', 'tax'])
    """
    source = bwd.graph if bwd is not None else fwd.graph
    out, wrt = source.get("output"), source.get("wrt")
    outputs = [out] if _in(out, fwd) else ([o for o in out if _in(o, fwd)]
                                           if isinstance(out, (list, tuple)) else [])
    wrts = [wrt] if _in(wrt, fwd) else ([w for w in wrt if _in(w, fwd)]
                                        if isinstance(wrt, (list, tuple)) else [])
    if not outputs:
        outputs = [k for k in fwd.nodes if fwd.out_degree(k) == 0
                   and fwd.nodes[k].get("op") not in ("input", "const")]
    if not wrts:
        wrts = [k for k, op in fwd.nodes(data="op") if op == "input"]
    return outputs[:cap], wrts[:cap]


def _in(key, graph):
    try:
        return key in graph
    except TypeError:
        return False


def _paths(fwd, w, out, limit):
    """Simple paths w -> out, searched only among nodes on some such path (so the
    search never wanders into dead ends); at most ``limit + 1``."""
    if w == out:
        return [[w]]
    between = (nx.descendants(fwd, w) | {w}) & (nx.ancestors(fwd, out) | {out})
    if out not in between or w not in between:
        return []
    return list(itertools.islice(nx.all_simple_paths(fwd.subgraph(between), w, out), limit + 1))


def chain_paths(fwd, values, outputs, wrts, *, max_paths=MAX_PATHS):
    """One term per (output, wrt) pair with a path: ``output``, ``wrt``, ``paths``
    (``nodes``, and ``factors``/``product`` when known), ``capped``, and when known
    ``total`` (sum over the listed paths) and ``backward`` (the backward pass's value).
    """
    terms = []
    feeds = None
    if values and fwd.number_of_nodes() <= EXPLAIN_NODES:
        feeds = {k: values[k] for k, op in fwd.nodes(data="op") if op == "input" and k in values}
    for out in outputs:
        for w in wrts:
            found = _paths(fwd, w, out, max_paths)
            if not found:
                continue
            term = {"output": out, "wrt": w, "capped": len(found) > max_paths,
                    "paths": [{"nodes": p[::-1]} for p in found[:max_paths]]}
            if feeds is not None:
                try:
                    (numbers,) = explain(fwd, feeds, out, [w], max_paths=max_paths).terms
                except (GraphError, ValueError, TypeError, ArithmeticError):
                    numbers = None  # tensors, or values that do not evaluate: paths alone
                if numbers is not None:
                    known = {tuple(p["nodes"]): p for p in numbers["paths"]}
                    for path in term["paths"]:   # explain writes a path output first
                        hit = known.get(tuple(path["nodes"]))
                        if hit is not None:
                            path.update(factors=hit["factors"],
                                        product=hit["product"])
                    term.update(total=numbers["total"], backward=numbers["backward"])
            terms.append(term)
    return terms
