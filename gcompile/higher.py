"""Higher-order derivatives by reverse-over-reverse on the joint graph.

A backward graph is made of registry ops, so :func:`gcompile.grad` can
differentiate it again.  :func:`joint_graph` puts a forward graph and its
backward graph into one DiGraph: the backward graph's leaves that read forward
values *are* the forward nodes there, so a second reverse pass sees how every
local derivative depends on the inputs.

The API is a pair of graph builders and evaluators of the built graphs:

- :func:`hvp` builds the Hessian-vector-product graph: the joint graph, one
  input node per ``wrt`` node for the vector ``v`` (``graph.graph["v"]``), the
  scalar ``Σ <grad, v>``, and its gradient (``graph.graph["hvp"]``).
  :func:`hvp_values` evaluates it at feeds and a vector.
- :func:`hessian` builds, for small inputs, one Hessian-vector product per
  basis vector (the nodes that do not depend on ``v`` are shared), and
  :func:`hessian_values` evaluates it into ``{(wi, wj): block}`` with block
  shape ``shape(wi) + shape(wj)``.

For a non-scalar output the seed is all ones, so these are the derivatives of
``sum(output)``.  Every node has an ``order`` attribute: 0 for the forward
graph, 1 for the first backward pass, 2 for the second.

Examples
--------
>>> import networkx as nx, gcompile as gc
>>> g = nx.DiGraph([("x", "y")]); g.nodes["x"]["op"] = "input"; g.nodes["y"]["op"] = "tanh"
>>> h = hvp(g, "y", "x", shapes={"x": ()})
>>> out = hvp_values(h, {"x": 0.5}, {"x": 1.0})["x"]
>>> t = np.tanh(0.5); bool(np.isclose(out, -2 * t * (1 - t * t)))
True
"""
from __future__ import annotations

import itertools
import math  # noqa: F401  (used in the doctest of hessian_values)

import networkx as nx
import numpy as np

from .autodiff import grad, paused_gc
from .errors import GraphError
from .evaluate import evaluate
from .graph import as_node_list, plan as make_plan, unique_key
from .shapes import infer_shapes

__all__ = ["joint_graph", "hvp", "hvp_values", "hessian", "hessian_values"]


def _fresh(key, taken, tag):
    """``key`` itself when free, else a deterministic new key that is not in ``taken``."""
    if key not in taken:
        return key
    if isinstance(key, str):
        return unique_key(f"{key}_{tag}", taken, sep="")
    cand = (tag, key)
    while cand in taken:
        cand = (tag, cand)
    return cand


def joint_graph(fwd, bwd):
    """Forward and backward as one DiGraph, keys kept apart.

    Backward leaves with role ``forward_value`` become the forward nodes they
    read; any other backward key that is also a forward key is renamed
    (``key_b``, ``key_b2``, ...; ``("b", key)`` for non-string keys).  Graph
    attributes ``grads`` and ``seed`` are those of ``bwd``, renamed.

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple
    >>> g, feeds = apple()
    >>> j = joint_graph(g, gc.grad(g, "price", g.graph["wrt"]))
    >>> j.number_of_nodes(), sorted(j.predecessors("dapple"))
    (10, ['apple_num', 'dapple_price'])
    >>> round(float(gc.evaluate(j, feeds)[j.graph["grads"]["apple"]]), 6)
    2.2
    """
    make_plan(fwd)
    make_plan(bwd)
    return _join(fwd.copy(), bwd)


def _join(joint, bwd):
    """Add backward graph ``bwd`` to ``joint`` (a forward graph, changed in place)."""
    with paused_gc():
        taken = set(joint) | set(bwd)
        rename = {}
        for n, data in bwd.nodes(data=True):
            if data.get("role") == "forward_value":
                if n not in joint:
                    raise GraphError(f"backward node {n!r} reads forward value {n!r}, which is "
                                     f"not a node of the forward graph: is bwd the gradient of "
                                     f"this graph?")
            elif n in joint:
                rename[n] = _fresh(n, taken, "b")
                taken.add(rename[n])
        top = 0
        for _, data in joint.nodes(data=True):
            data["order"] = data.get("order", 0)
            top = max(top, data["order"])
        back = nx.relabel_nodes(bwd, rename) if rename else bwd

        def stamped(data):
            data = dict(data, order=data.get("order", top + 1))
            if "local" in data:
                data["local"] = rename.get(data["local"], data["local"])
            return data

        # a read of a forward value is that forward node: only the others are added
        joint.update(nodes=((n, stamped(d)) for n, d in back.nodes(data=True) if n not in joint),
                     edges=back.edges(data=True))
    joint.graph = {k: v for k, v in bwd.graph.items() if k not in ("grads", "seed")}
    joint.graph["grads"] = {w: rename.get(n, n) for w, n in bwd.graph.get("grads", {}).items()}
    seed = bwd.graph.get("seed")
    joint.graph["seed"] = rename.get(seed, seed) if seed is not None else None
    return joint


def hvp(graph, output, wrt, v=None, *, shapes=None):
    """Build the Hessian-vector-product graph of ``output`` w.r.t. ``wrt``.

    Parameters
    ----------
    graph : nx.DiGraph
        The forward graph; not modified.
    output, wrt
        As for :func:`gcompile.grad`.
    v : dict, optional
        ``{wrt node: value}``: default values of the vector inputs (they can
        still be fed).
    shapes : dict, optional
        Known shapes (or values) of inputs.

    Returns
    -------
    nx.DiGraph
        Graph attributes: ``hvp`` (= ``grads``) ``{w: node of (H v)_w}``,
        ``v`` ``{w: input node of v_w}``, ``gradient`` ``{w: first-order
        gradient node}``, ``output``, ``wrt``, ``seed``.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph(); g.add_node("x", op="input"); g.add_node("c", op="const", value=3.0)
    >>> g.add_node("y", op="pow"); g.add_edge("x", "y", arg=0); g.add_edge("c", "y", arg=1)
    >>> h = hvp(g, "y", "x", shapes={"x": ()})
    >>> float(hvp_values(h, {"x": 2.0}, {"x": 1.0})["x"])  # d²(x³)/dx² = 6x
    12.0
    """
    wrt_list = as_node_list(graph, wrt, "wrt")
    if not wrt_list:
        raise GraphError("hvp needs at least one wrt node")
    joint = joint_graph(graph, grad(graph, output, wrt_list, shapes=shapes))
    static = infer_shapes(graph, shapes)
    taken = set(joint)
    order = 1 + max(d["order"] for _, d in joint.nodes(data=True))
    vkeys, terms = {}, []
    for i, w in enumerate(wrt_list):
        key = _fresh(f"v_{w}" if isinstance(w, str) else ("v", w), taken, "v")
        taken.add(key)
        vkeys[w] = key
        attrs = {"op": "input", "order": order - 1, "role": "vector"}
        if static.get(w) is not None:
            attrs["shape"] = static[w]
        if v is not None and w in v:
            attrs["value"] = np.asarray(v[w], dtype=float)
        joint.add_node(key, **attrs)
        prod = _fresh(f"gv_{w}" if isinstance(w, str) else ("gv", w), taken, "v")
        taken.add(prod)
        joint.add_node(prod, op="mul", order=order - 1, role="vector")
        joint.add_edge(joint.graph["grads"][w], prod, arg=0)
        joint.add_edge(key, prod, arg=1)
        dot = _fresh(f"gv_{w}.sum" if isinstance(w, str) else ("gv.sum", w), taken, "v")
        taken.add(dot)
        joint.add_node(dot, op="sum", order=order - 1, role="vector")
        joint.add_edge(prod, dot)
        terms.append(dot)
    total = terms[0]
    for k, term in enumerate(terms[1:], start=1):
        node = _fresh(f"gv.sum{k}", taken, "v")
        taken.add(node)
        joint.add_node(node, op="add", order=order - 1, role="vector")
        joint.add_edge(total, node, arg=0)
        joint.add_edge(term, node, arg=1)
        total = node
    second_shapes = dict(shapes or {})
    bwd2 = grad(joint, total, wrt_list, shapes=second_shapes)
    gradient = dict(joint.graph["grads"])
    out = _join(joint, bwd2)  # joint is ours: joined in place, not copied
    out.graph.update(output=output, wrt=list(wrt_list), hvp=dict(out.graph["grads"]), v=vkeys,
                     gradient=gradient, inner_product=total)
    return out


def hvp_values(hvp_graph, feeds, v):
    """Evaluate a graph built by :func:`hvp` at ``feeds`` and vector ``v`` ``{w: value}``.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph(); g.add_nodes_from(["x", "y"], op="input"); g.add_node("z", op="mul")
    >>> g.add_edge("x", "z", arg=0); g.add_edge("y", "z", arg=1)
    >>> h = hvp(g, "z", ["x", "y"], shapes={"x": (), "y": ()})
    >>> {k: float(a) for k, a in hvp_values(h, {"x": 2.0, "y": 5.0}, {"x": 1.0, "y": 0.0}).items()}
    {'x': 0.0, 'y': 1.0}
    """
    vkeys = hvp_graph.graph.get("v")
    if not isinstance(vkeys, dict):
        raise GraphError("hvp_values needs a graph built by gc.hvp (no 'v' graph attribute)")
    missing = [w for w in vkeys if w not in v]
    if missing:
        raise GraphError(f"hvp_values: no vector value for wrt node(s) {', '.join(map(repr, missing))}")
    values = evaluate(hvp_graph, {**feeds, **{vkeys[w]: v[w] for w in vkeys}})
    return {w: values[n] for w, n in hvp_graph.graph["hvp"].items()}


def _column_key(key, col, taken):
    cand = f"{key}|e{col}" if isinstance(key, str) else (key, "e", col)
    while cand in taken:
        cand = (cand, "e", col)
    return cand


def hessian(graph, output, wrt, *, shapes=None):
    """Build the graph of the full Hessian, one Hessian-vector product per basis vector.

    Meant for small inputs: the part of :func:`hvp`'s graph that depends on
    ``v`` is copied once per element of the ``wrt`` nodes (with ``v`` a
    one-hot constant); the forward and first backward passes are shared.  The
    shapes of all ``wrt`` nodes must be known.

    Returns
    -------
    nx.DiGraph
        ``graph.graph["hessian_columns"]`` lists ``[wj, index, {wi: node}]``:
        the node holding d²output / (dwi d wj[index]) for each wi.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph(); g.add_nodes_from(["x", "y"], op="input"); g.add_node("z", op="mul")
    >>> g.add_edge("x", "z", arg=0); g.add_edge("y", "z", arg=1)
    >>> h = hessian(g, "z", ["x", "y"], shapes={"x": (), "y": ()})
    >>> blocks = hessian_values(h, {"x": 2.0, "y": 5.0})
    >>> [[float(blocks[a, b]) for b in "xy"] for a in "xy"]
    [[0.0, 1.0], [1.0, 0.0]]
    """
    wrt_list = as_node_list(graph, wrt, "wrt")
    if not wrt_list:
        raise GraphError("hessian needs at least one wrt node")
    static = infer_shapes(graph, shapes)
    for w in wrt_list:
        if static.get(w) is None:
            raise GraphError(f"hessian needs the shape of wrt node {w!r}: declare it (shape=...) "
                             f"or pass shapes={{{w!r}: ...}}")
    h1 = hvp(graph, output, wrt_list, shapes=shapes)
    vkeys = h1.graph["v"]
    dependent = set(vkeys.values())
    for key in vkeys.values():
        dependent |= nx.descendants(h1, key)
    shared = [n for n in h1 if n not in dependent]
    out = nx.DiGraph()
    out.add_nodes_from((n, dict(h1.nodes[n])) for n in shared)
    out.add_edges_from((u, v, dict(d)) for u, v, d in h1.edges(data=True)
                       if u in out and v in out)
    taken = set(h1)
    columns = []
    col = 0
    for wj in wrt_list:
        for index in itertools.product(*(range(d) for d in static[wj])):
            names = {}
            for n in h1:
                if n in dependent:
                    names[n] = _column_key(n, col, taken)
                    taken.add(names[n])
            for n in names:
                data = dict(h1.nodes[n])
                if n in vkeys.values():
                    w = next(w for w, k in vkeys.items() if k == n)
                    basis = np.zeros(static[w])
                    if w == wj:
                        basis[index] = 1.0
                    data = {"op": "const", "value": basis, "order": data["order"], "role": "vector"}
                elif "local" in data and data["local"] in names:
                    data["local"] = names[data["local"]]
                out.add_node(names[n], **data)
            for u, v, d in h1.edges(data=True):
                if v in names:
                    out.add_edge(names.get(u, u), names[v], **d)
            columns.append([wj, index, {wi: names.get(n, n) for wi, n in h1.graph["hvp"].items()}])
            col += 1
    out.graph.update(output=output, wrt=list(wrt_list), gradient=h1.graph["gradient"],
                     hessian_columns=columns, shapes={w: static[w] for w in wrt_list})
    return out


def hessian_values(hessian_graph, feeds):
    """Evaluate a graph built by :func:`hessian`: ``{(wi, wj): array of shape(wi) + shape(wj)}``.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph([("x", "y")]); g.nodes["x"]["op"] = "input"; g.nodes["y"]["op"] = "sin"
    >>> h = hessian(g, "y", "x", shapes={"x": ()})
    >>> round(float(hessian_values(h, {"x": 0.5})["x", "x"]), 6) == round(-math.sin(0.5), 6)
    True
    """
    columns = hessian_graph.graph.get("hessian_columns")
    if columns is None:
        raise GraphError("hessian_values needs a graph built by gc.hessian")
    shapes = hessian_graph.graph["shapes"]
    wrt = hessian_graph.graph["wrt"]
    values = evaluate(hessian_graph, feeds)
    blocks = {(wi, wj): np.zeros(tuple(shapes[wi]) + tuple(shapes[wj])) for wi in wrt for wj in wrt}
    for wj, index, nodes in columns:
        for wi, n in nodes.items():
            block = blocks[wi, wj]
            col = np.broadcast_to(np.asarray(values[n], dtype=float), tuple(shapes[wi]))
            block[(Ellipsis,) + tuple(index)] = col
    return blocks
