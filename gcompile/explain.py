"""The chain rule written out with numbers, path by path (for teaching).

For every path from ``wrt`` to ``output`` the derivative along it is the
product of the local derivatives of its edges (starting from the seed 1), and
d output / d wrt is the sum over the paths.  Each local derivative is computed
by the op's own VJP rule (a one-node graph differentiated by
:func:`gcompile.gradients`), so the numbers are those the backward graph uses.

Scalars only: a local derivative of a tensor node is a Jacobian, not a number
(use :func:`gcompile.compare` or the step-through page for tensors).  Paths
multiply on a DAG (a chain of n diamonds has 2**n of them), so at most
``max_paths`` paths are listed per ``wrt`` node; when there are more, the text
says so and the sum shown is partial (the backward pass's value is printed
beside it).

Examples
--------
>>> from gcompile.examples import apple
>>> g, feeds = apple()
>>> print(explain(g, feeds, "price", "apple"))
d price / d apple = 2.2
  path apple -> apple_price -> price: 1 * 1.1 * 2 = 2.2
    d price/d price = 1  (seed)
    d price/d apple_price = 1.1  (d(x*y)/dx = y)
    d apple_price/d apple = 2  (d(x*y)/dx = y)
  sum over 1 path: 2.2  (backward pass: 2.2)
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from .autodiff import gradients
from .errors import GraphError, describe_value
from .evaluate import evaluate
from .graph import as_node_list, plan as make_plan

__all__ = ["explain", "Explanation", "local_derivative"]


def _fmt(x):
    text = f"{float(x):.6g}"
    return "0" if text == "-0" else text


def _name(key):
    return key if isinstance(key, str) else repr(key)


@dataclass
class Explanation:
    """What :func:`explain` found: one entry of ``terms`` per ``wrt`` node.

    Each term is a dict: ``wrt``, ``paths`` (each with ``nodes``, ``factors``,
    ``rules``, ``product``), ``total`` (sum over the listed paths),
    ``backward`` (the gradient from the backward graph) and ``capped``.
    """

    output: object
    terms: list = field(default_factory=list)

    def __str__(self):
        out = self.output
        lines = []
        for t in self.terms:
            lines.append(f"d {_name(out)} / d {_name(t['wrt'])} = {_fmt(t['backward'])}")
            for path in t["paths"]:
                chain = " -> ".join(_name(n) for n in path["nodes"])
                product = " * ".join(_fmt(f) for f in path["factors"])
                lines.append(f"  path {chain}: {product} = {_fmt(path['product'])}")
                steps = [(out, out)] + list(zip(reversed(path["nodes"][1:]),
                                                reversed(path["nodes"][:-1])))
                for (top, bottom), f, rule in zip(steps, path["factors"], path["rules"]):
                    lines.append(f"    d {_name(top)}/d {_name(bottom)} = {_fmt(f)}  ({rule})")
            n = len(t["paths"])
            if not n:
                lines.append("  no path: the derivative is 0")
                continue
            summed = " + ".join(_fmt(p["product"]) for p in t["paths"])
            head = f"sum over {n} path{'s' if n != 1 else ''}"
            if t["capped"]:
                head = f"partial sum over the first {n} paths (there are more; raise max_paths)"
            body = summed + (f" = {_fmt(t['total'])}" if n > 1 else "")
            lines.append(f"  {head}: {body}  (backward pass: {_fmt(t['backward'])})")
        return "\n".join(lines)

    def _repr_markdown_(self):
        """Jupyter shows one table of chain-rule paths per ``wrt`` node."""
        from .display import explanation_markdown
        return explanation_markdown(self)


def _scalar(values, node):
    arr = np.asarray(values[node])
    if arr.size != 1:
        raise GraphError(f"explain writes the chain rule with scalars, but node {node!r} holds "
                         f"{describe_value(values[node])}: use gc.compare or gc.step_through "
                         f"for tensors")
    return float(arr.reshape(()))


def local_derivative(graph, values, u, v, plan=None):
    """d v / d u at ``values`` (scalars), by ``v``'s VJP rule; and the rule text.

    Examples
    --------
    >>> from gcompile.examples import apple
    >>> import gcompile as gc
    >>> g, feeds = apple()
    >>> local_derivative(g, gc.evaluate(g, feeds), "tax", "price")
    (200.0, 'd(x*y)/dy = x')
    """
    p = plan or make_plan(graph)
    opdef = p.ops[v]
    operands = p.operands[v]
    positions = [i for i, x in enumerate(operands) if x == u]
    rules = [opdef.rules[i] or f"operand {i} of {opdef.name}" for i in positions]
    if all(opdef.vjp[i] is None for i in positions):
        return 0.0, "no gradient flows to this operand"
    tiny = nx.DiGraph()
    feeds = {}
    for x in dict.fromkeys(operands):
        key = ("operand", operands.index(x))
        tiny.add_node(key, op="input")
        feeds[key] = np.asarray(values[x], dtype=float) if x == u else values[x]
    tiny.add_node("out", op=opdef.name, **p.params[v])
    for x in dict.fromkeys(operands):
        pos = [i for i, y in enumerate(operands) if y == x]
        tiny.add_edge(("operand", operands.index(x)), "out", arg=pos[0] if len(pos) == 1 else pos)
    wrt = ("operand", operands.index(u))
    d = gradients(tiny, feeds, "out", [wrt])[wrt]
    return float(np.asarray(d).reshape(())), " + ".join(dict.fromkeys(rules))


def explain(graph, feeds, output, wrt, *, max_paths=64) -> Explanation:
    """Write d ``output`` / d ``wrt`` as a sum over paths of products of local derivatives.

    Parameters
    ----------
    graph : nx.DiGraph
        A forward graph of scalar nodes (on the paths explained).
    feeds : dict
        Input values.
    output, wrt
        The node to differentiate and one node or a list of nodes.
    max_paths : int
        Most paths listed per ``wrt`` node.

    Examples
    --------
    >>> from gcompile.examples import apple_orange
    >>> g, feeds = apple_orange()
    >>> e = explain(g, feeds, "price", ["orange", "tax"])
    >>> [round(t["total"], 9) for t in e.terms]
    [3.3, 650.0]
    """
    p = make_plan(graph)
    (output,) = as_node_list(graph, [output], "output")
    wrt_list = as_node_list(graph, wrt, "wrt")
    if not isinstance(max_paths, int) or max_paths < 1:
        raise GraphError(f"max_paths must be a positive int, got {max_paths!r}")
    values = evaluate(graph, feeds)
    _scalar(values, output)
    back = gradients(graph, feeds, output, wrt_list)
    cache = {}
    result = Explanation(output=output)
    for w in wrt_list:
        _scalar(values, w)
        if w == output:
            found = [[w]]
        else:
            found = list(itertools.islice(nx.all_simple_paths(graph, w, output), max_paths + 1))
        capped = len(found) > max_paths
        paths = []
        for nodes in found[:max_paths]:
            factors, rules = [1.0], ["seed"]
            for v, u in zip(reversed(nodes[1:]), reversed(nodes[:-1])):
                if (u, v) not in cache:
                    _scalar(values, v)
                    cache[u, v] = local_derivative(graph, values, u, v, p)
                f, rule = cache[u, v]
                factors.append(f)
                rules.append(rule)
            paths.append({"nodes": list(nodes), "factors": factors, "rules": rules,
                          "product": float(np.prod(factors))})
        result.terms.append({"wrt": w, "paths": paths, "capped": capped,
                             "total": float(sum(q["product"] for q in paths)),
                             "backward": float(np.asarray(back[w]).reshape(()))})
    return result
