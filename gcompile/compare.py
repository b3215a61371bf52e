"""Compare a forward graph with its backward graph: sizes, depth, correspondence, memory.

:func:`compare` returns a :class:`Report` that prints as a text table and
exports as Markdown and JSON.  It holds, for each graph, node and edge counts
by op (an edge counts for the op of the node it enters) and the depth (edges
on the longest path); for every forward node, the backward nodes whose
``origin`` it is; the residuals (backward leaves with role ``forward_value``:
the activations the backward pass reads, so the forward pass must keep them)
with their bytes; and the transpose property: every active forward edge
``u -> v`` has a backward node computing ``v``'s local derivative for ``u``
that feeds ``u``'s cotangent (for a graph of :func:`gcompile.hvp`, the first
backward pass inside it is checked).  For higher-order graphs (nodes with an
``order`` attribute, see :mod:`gcompile.higher`) it counts nodes per order.

Bytes come from ``values`` (actual ``nbytes``) or else from static shapes,
counting 8 bytes (float64) per element; unknown shapes give ``None``.
Compare unoptimized graphs: the passes merge nodes and blur ``origin``.

Examples
--------
>>> import gcompile as gc
>>> from gcompile.examples import apple
>>> g, feeds = apple()
>>> report = compare(g, gc.grad(g, "price", g.graph["wrt"]))
>>> report.backward["nodes"], report.residual_bytes, report.transpose_ok
(9, 32, True)
"""
from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from .errors import GraphError, label
from .escape import key_markdown, key_text, markdown, text
from .graph import active_nodes, plan as make_plan
from .shapes import infer_shapes

__all__ = ["compare", "Report", "graph_stats"]


def graph_stats(graph) -> dict:
    """Node and edge counts (total and by op), depth, and counts by role and order.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph([("x", "y")]); g.nodes["x"]["op"] = "input"; g.nodes["y"]["op"] = "exp"
    >>> graph_stats(g)["ops"], graph_stats(g)["depth"]
    ({'exp': 1, 'input': 1}, 1)
    """
    make_plan(graph)
    ops = Counter(d["op"] for _, d in graph.nodes(data=True))
    edges = Counter(graph.nodes[v]["op"] for _, v in graph.edges)
    roles = Counter(d["role"] for _, d in graph.nodes(data=True) if "role" in d)
    orders = Counter(d["order"] for _, d in graph.nodes(data=True) if "order" in d)
    return {"nodes": graph.number_of_nodes(), "edges": graph.number_of_edges(),
            "depth": nx.dag_longest_path_length(graph) if len(graph) else 0,
            "ops": dict(sorted(ops.items())), "edges_by_op": dict(sorted(edges.items())),
            "roles": dict(sorted(roles.items())), "orders": dict(sorted(orders.items()))}


@dataclass
class Report:
    """What :func:`compare` found.  ``str(report)``, :meth:`to_markdown`, :meth:`to_json`."""

    forward: dict
    backward: dict
    correspondence: dict = field(default_factory=dict)
    residuals: list = field(default_factory=list)
    transpose: list = field(default_factory=list)

    @property
    def residual_bytes(self):
        """Total bytes of the residuals, or ``None`` if some size is unknown."""
        sizes = [r["bytes"] for r in self.residuals]
        return None if any(s is None for s in sizes) else sum(sizes)

    @property
    def transpose_ok(self):
        """True when every checked forward edge has gradient flowing back."""
        return all(t["ok"] for t in self.transpose if t["ok"] is not None)

    def to_dict(self):
        """Plain data (node keys as text) for JSON."""
        return {"forward": self.forward, "backward": self.backward,
                "correspondence": {label(k): [label(n) for n in v]
                                   for k, v in self.correspondence.items()},
                "residuals": [dict(r, node=label(r["node"]),
                                   shape=None if r["shape"] is None else list(r["shape"]))
                              for r in self.residuals],
                "residual_bytes": self.residual_bytes,
                "transpose": [dict(t, edge=[label(t["edge"][0]), label(t["edge"][1])],
                                   via=None if t["via"] is None else label(t["via"]))
                              for t in self.transpose],
                "transpose_ok": self.transpose_ok}

    def to_json(self, indent=2):
        """The report as JSON text (deterministic: keys sorted).

        Examples
        --------
        >>> import gcompile as gc
        >>> from gcompile.examples import apple
        >>> g, _ = apple()
        >>> json.loads(compare(g, gc.grad(g, "price", "tax")).to_json())["backward"]["nodes"]
        3
        """
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True, default=str)

    def _rows(self, esc=text):
        f, b = self.forward, self.backward
        rows = [("nodes", f["nodes"], b["nodes"]), ("edges", f["edges"], b["edges"]),
                ("depth", f["depth"], b["depth"])]
        for op in sorted(set(f["ops"]) | set(b["ops"])):
            rows.append((f"op {esc(op)}", f["ops"].get(op, 0), b["ops"].get(op, 0)))
        for op in sorted(set(f["edges_by_op"]) | set(b["edges_by_op"])):
            rows.append((f"edges into {esc(op)}", f["edges_by_op"].get(op, 0),
                         b["edges_by_op"].get(op, 0)))
        for role, n in b["roles"].items():
            rows.append((f"role {esc(role)}", "", n))
        for order in sorted(set(f["orders"]) | set(b["orders"])):
            rows.append((f"order {esc(order)}", f["orders"].get(order, ""),
                         b["orders"].get(order, "")))
        return rows

    def _sections(self, name=key_text):
        """Residual, correspondence and transpose rows, node keys written by ``name``."""
        res = [(name(r["node"]), "?" if r["shape"] is None else str(tuple(r["shape"])),
                "?" if r["bytes"] is None else str(r["bytes"])) for r in self.residuals]
        corr = [(name(k), ", ".join(name(n) for n in v) or "-")
                for k, v in self.correspondence.items()]
        tr = [(f"{name(t['edge'][0])} -> {name(t['edge'][1])}",
               {True: "ok", False: "MISSING", None: "no rule"}[t["ok"]],
               "" if t["via"] is None else name(t["via"])) for t in self.transpose]
        return res, corr, tr

    def __str__(self):
        rows = [(a, str(b), str(c)) for a, b, c in self._rows()]
        res, corr, tr = self._sections()
        total = "?" if self.residual_bytes is None else self.residual_bytes
        checked = [t for t in self.transpose if t["ok"] is not None]
        lines = _table(("", "forward", "backward"), rows)
        lines += ["", f"residuals (forward values the backward pass reads): {len(res)}, "
                      f"{total} bytes"]
        lines += ["  " + x for x in _table(("node", "shape", "bytes"), res)] if res else []
        lines += ["", "forward node -> backward nodes computing its local derivatives"]
        lines += ["  " + x for x in _table(("forward", "backward"), corr)]
        lines += ["", f"transpose property: {sum(1 for t in checked if t['ok'])}/{len(checked)} "
                      f"active edges have gradient flowing back"]
        lines += ["  " + x for x in _table(("edge", "", "via"), tr)] if tr else []
        return "\n".join(line.rstrip() for line in lines)

    def to_markdown(self):
        """The report as Markdown tables; node keys are literal text (:func:`gcompile.escape.markdown`).

        Examples
        --------
        >>> import gcompile as gc
        >>> from gcompile.examples import apple
        >>> g, _ = apple()
        >>> print(compare(g, gc.grad(g, "price", "tax")).to_markdown().splitlines()[2])
        | nodes | 5 | 3 |
        """
        res, corr, tr = self._sections(key_markdown)
        total = "?" if self.residual_bytes is None else self.residual_bytes
        out = _md(("", "forward", "backward"), self._rows(markdown))
        out += ["", f"**Residuals**: {len(res)} forward values, {total} bytes", ""]
        out += _md(("node", "shape", "bytes"), res)
        out += ["", "**Correspondence**", ""] + _md(("forward node", "backward nodes"), corr)
        out += ["", f"**Transpose property**: {'holds' if self.transpose_ok else 'FAILS'}", ""]
        out += _md(("edge", "status", "via"), tr)
        return "\n".join(out)

    def _repr_markdown_(self):
        """Jupyter shows the Markdown tables."""
        return self.to_markdown()


def _table(header, rows):
    rows = [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(header)]
    fmt = lambda r: "  ".join(c.rjust(w) if _numeric(c) else c.ljust(w)  # noqa: E731
                              for c, w in zip(r, widths))
    return [fmt(tuple(map(str, header))), fmt(tuple("-" * w for w in widths))] + [fmt(r) for r in rows]


def _numeric(text):
    return text.isdigit() or text == "?"


def _md(header, rows):
    """Markdown table lines; the cells are already escaped by :func:`gcompile.escape.markdown`."""
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(map(str, r)) + " |" for r in rows]


def _residuals(fwd, bwd, values, shapes):
    static = infer_shapes(fwd, shapes)
    out = []
    for n, d in bwd.nodes(data=True):
        if d.get("role") != "forward_value":
            continue
        if values is not None and n in values:
            arr = np.asarray(values[n])
            shape, size = tuple(arr.shape), int(arr.nbytes)
        else:
            shape = static.get(n) if n in fwd else None
            if shape is None and d.get("shape") is not None:
                shape = tuple(d["shape"])
            size = None if shape is None else 8 * math.prod(shape)
        out.append({"node": n, "shape": shape, "bytes": size})
    rank = {v: i for i, v in enumerate(make_plan(fwd).order)}
    return sorted(out, key=lambda r: rank.get(r["node"], len(rank)))


def _transpose(fwd, bwd, p):
    output, wrt = bwd.graph.get("output"), bwd.graph.get("wrt")
    if output is None or wrt is None or output not in fwd:
        raise GraphError("compare: the backward graph has no 'output'/'wrt' attributes naming "
                         "forward nodes (is it the result of gc.grad on this graph?)")
    active = active_nodes(fwd, [w for w in wrt if w in fwd], output)
    grads = bwd.graph.get("gradient") or bwd.graph.get("grads") or {}
    by_origin = {}
    for n, d in bwd.nodes(data=True):
        if d.get("role") in ("local_derivative", "unbroadcast") and "wrt_arg" in d:
            by_origin.setdefault((d.get("origin"), d["wrt_arg"]), []).append(n)
    checks = []
    for v in p.order:
        if v not in active or v not in p.ops:
            continue
        opdef = p.ops[v]
        for u in dict.fromkeys(p.operands[v]):
            if u not in active:
                continue
            positions = [i for i, x in enumerate(p.operands[v]) if x == u]
            if all(opdef.vjp[i] is None for i in positions):
                checks.append({"edge": (u, v), "ok": None, "via": None})
                continue
            via = None
            for i in positions:
                for n in by_origin.get((v, i), []):
                    if grads.get(u) == n or any(bwd.nodes[s].get("origin") == u for s in bwd.succ[n]):
                        via = n
                        break
                if via is not None:
                    break
            checks.append({"edge": (u, v), "ok": via is not None, "via": via})
    return checks


def compare(fwd, bwd, values=None, *, shapes=None) -> Report:
    """Compare forward graph ``fwd`` with its backward graph ``bwd``.

    Parameters
    ----------
    fwd, bwd : nx.DiGraph
        ``bwd`` as returned by :func:`gcompile.grad` (or :func:`gcompile.hvp`).
    values : dict, optional
        Forward values (``gc.evaluate(fwd, feeds)``): residual bytes are exact.
    shapes : dict, optional
        Input shapes, used for residual bytes when ``values`` is not given.

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple
    >>> g, feeds = apple()
    >>> r = compare(g, gc.grad(g, "price", g.graph["wrt"]))
    >>> r.correspondence["apple_price"]
    ['dapple', 'dapple_num']
    """
    p = make_plan(fwd)
    fstats, bstats = graph_stats(fwd), graph_stats(bwd)
    corr = {v: [] for v in p.order}
    for n in nx.topological_sort(bwd):
        d = bwd.nodes[n]
        if d.get("role") not in (None, "forward_value") and d.get("origin") in corr:
            corr[d["origin"]].append(n)
    return Report(forward=fstats, backward=bstats, correspondence=corr,
                  residuals=_residuals(fwd, bwd, values, shapes), transpose=_transpose(fwd, bwd, p))
