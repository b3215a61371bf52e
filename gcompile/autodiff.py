"""The reverse pass: compile a forward DiGraph into its backward DiGraph.

:func:`grad` walks the nodes between ``wrt`` and ``output`` in reverse
topological order, asks each op's VJP rule for one graph fragment per operand,
sums the contributions of fan-out with ``add`` nodes and undoes numpy
broadcasting with explicit ``sum_to_like`` nodes.  No recursion; linear in the
size of the graph.

Examples
--------
>>> import networkx as nx, gcompile as gc
>>> g = nx.DiGraph()
>>> g.add_nodes_from(["apple", "num", "tax"], op="input")
>>> g.add_node("apple_price", op="mul"); g.add_node("price", op="mul")
>>> g.add_edges_from([("apple", "apple_price", {"arg": 0}), ("num", "apple_price", {"arg": 1}),
...                   ("apple_price", "price", {"arg": 0}), ("tax", "price", {"arg": 1})])
>>> grads = gc.gradients(g, {"apple": 100, "num": 2, "tax": 1.1}, "price", ["apple", "num", "tax"])
>>> [round(float(grads[k]), 6) for k in ("apple", "num", "tax")]
[2.2, 110.0, 200.0]
"""
from __future__ import annotations

import contextlib
import gc as _pygc
import warnings

import networkx as nx

from .errors import GraphError
from .evaluate import evaluate
from .fragment import ForwardValue, Fragment, Ref
from .graph import active_nodes, as_node_list, plan as make_plan
from .shapes import infer_shapes

__all__ = ["grad", "gradients", "ROLES"]

#: The ``role`` of each backward node.
ROLES = ("seed", "local_derivative", "accumulation", "unbroadcast", "forward_value", "zero")

_DISCONNECTED = ("zero", "warn", "raise")


class _Builder:
    """Collects backward nodes as integer ids and names them at the end."""

    def __init__(self, fwd, shapes):
        self.fwd = fwd
        self.shapes = shapes
        self.attrs = []
        self.operands = []
        self.hints = []
        self.reads = {}

    def add_node(self, op, operands, attrs, *, origin, role, hint, **extra):
        attrs["op"] = op
        attrs["origin"] = origin
        attrs["role"] = role
        if extra:
            attrs.update(extra)
        self.attrs.append(attrs)
        self.operands.append(operands)
        self.hints.append(hint)
        return Ref(len(self.attrs) - 1)

    def read(self, key):
        """The backward node holding forward value ``key`` (created once, keyed by ``key``)."""
        ref = self.reads.get(key)
        if ref is None:
            data = self.fwd._node[key]
            if data["op"] == "const":
                attrs = {"value": data["value"]}
                op = "const"
            else:
                attrs = {} if self.shapes.get(key) is None else {"shape": self.shapes[key]}
                op = "input"
            if "label" in data:
                attrs["label"] = data["label"]
            ref = self.add_node(op, (), attrs, origin=key, role="forward_value", hint=key)
            self.reads[key] = ref
        return ref

    def name(self, fwd_keys):
        """Give every node a unique readable key (``local`` ids become keys); return the keys."""
        names = [None] * len(self.attrs)
        used = set(fwd_keys)
        for key, ref in self.reads.items():
            names[ref.id] = key
        for i, hint in enumerate(self.hints):
            if names[i] is None:
                if hint in used:
                    k = 2
                    while f"{hint}_{k}" in used:
                        k += 1
                    hint = f"{hint}_{k}"
                used.add(hint)
                names[i] = hint
        for attrs in self.attrs:
            if "local" in attrs:
                attrs["local"] = names[attrs["local"]]
        return names


def _digraph(names, attrs, operands):
    """Fill networkx's documented dict-of-dicts (``_node``, ``_succ`` = ``_adj``, ``_pred``):
    the names are unique by construction, so this is several times faster on a million nodes
    than ``add_nodes_from``/``add_edges_from``, which re-check every item."""
    bwd = nx.DiGraph()
    node, succ, pred = bwd._node, bwd._succ, bwd._pred
    for name, data in zip(names, attrs):
        node[name] = data
        succ[name] = {}
        pred[name] = {}
    for i, ops in enumerate(operands):
        if not ops:
            continue
        v = names[i]
        into = pred[v]
        if len(ops) == 2 and ops[0] != ops[1]:
            slots = ((ops[0], 0), (ops[1], 1))
        else:
            grouped = {}
            for pos, src in enumerate(ops):
                grouped.setdefault(src, []).append(pos)
            slots = [(src, p[0] if len(p) == 1 else p) for src, p in grouped.items()]
        for src, arg in slots:
            u = names[src]
            data = {"arg": arg}
            succ[u][v] = data
            into[u] = data
    return bwd


def _label(key):
    return key if isinstance(key, str) else repr(key)


def _seed(b, output, shapes):
    shape = shapes.get(output)
    common = dict(origin=output, role="seed", hint=f"d{_label(output)}", feedable=True,
                  rule=f"d{_label(output)}/d{_label(output)} = 1")
    if shape != ():
        return b.add_node("ones_like", (b.read(output).id,), {}, **common)
    return b.add_node("const", (), {"value": 1.0}, **common)


def _accumulate(b, v, contribs):
    """Sum the contributions of fan-out into one node hinted ``d<v>``."""
    name = f"d{_label(v)}"
    if len(contribs) == 1:
        ref, owned, _, _ = contribs[0]
        if owned:
            b.hints[ref.id] = name
        return ref
    seen = {}
    for ref, owned, consumer, pos in contribs:
        seen[consumer] = seen.get(consumer, 0) + 1
    for ref, owned, consumer, pos in contribs:
        if owned:
            suffix = f"#{pos}" if seen[consumer] > 1 else ""
            b.hints[ref.id] = f"{name}@{_label(consumer)}{suffix}"
    total = contribs[0][0]
    for k, (ref, *_rest) in enumerate(contribs[1:], start=1):
        last = k == len(contribs) - 1
        total = b.add_node("add", (total.id, ref.id), {}, origin=v, role="accumulation",
                           hint=name if last else f"{name}.sum{k}",
                           rule="fan-out: contributions add")
    return total


def grad(graph, output, wrt, *, shapes=None, disconnected="zero", optimize=False) -> nx.DiGraph:
    """Compile ``graph`` into the DiGraph computing d ``output`` / d ``wrt``.

    Parameters
    ----------
    graph : nx.DiGraph
        The forward graph (see ``docs/graph-format.md``).  Never modified.
    output : node
        The node to differentiate.
    wrt : node or list of nodes
        The nodes to differentiate with respect to.
    shapes : dict, optional
        Known shapes (or example values) of inputs; where every shape is known,
        no ``sum_to_like`` node is emitted for ops that did not broadcast.
    disconnected : {"zero", "warn", "raise"}
        What a ``wrt`` node with no path to ``output`` gets: a zero gradient,
        the same with a warning, or a :class:`GraphError` naming the nodes.
    optimize : bool
        Apply the simplification passes (:func:`gcompile.optimize`: constant
        folding with the seed 1 multiplied through, common subexpressions,
        dead code); what each pass did is in ``bwd.graph["pass_log"]``.  By
        default the graph keeps one op per local derivative, as diagrams teach.

    Returns
    -------
    nx.DiGraph
        The backward graph.  ``bwd.graph["grads"]`` maps each ``wrt`` node to
        the node holding its gradient; leaves reading forward values are keyed
        by the forward node's own key; each node has ``op``, ``origin`` and
        ``role``; rule nodes have ``rule`` (text of the local derivative).

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph()
    >>> g.add_nodes_from([("x", {"op": "input"}), ("y", {"op": "input"}), ("z", {"op": "mul"})])
    >>> g.add_edges_from([("x", "z", {"arg": 0}), ("y", "z", {"arg": 1})])
    >>> bwd = grad(g, "z", ["x", "y"], shapes={"x": (), "y": ()})
    >>> bwd.graph["grads"], bwd.nodes["dx"]["rule"]
    ({'x': 'dx', 'y': 'dy'}, 'd(x*y)/dx = y')
    """
    if disconnected not in _DISCONNECTED:
        raise GraphError(f"disconnected must be one of {_DISCONNECTED}, got {disconnected!r}")
    with paused_gc():
        names, attrs, operands, meta = backward_records(graph, output, wrt, shapes, disconnected)
        bwd = _digraph(names, attrs, operands)
    bwd.graph.update(meta)
    if optimize:
        from .passes import optimize as run_passes

        bwd, log = run_passes(bwd, shapes=shapes)
        bwd.graph["pass_log"] = log.to_dict()
    return bwd


def backward_records(graph, output, wrt, shapes, disconnected, plan=None):
    """The backward graph as lists ``(keys, attr dicts, operand ids)`` + graph attrs: what
    :func:`grad` makes a DiGraph of and :func:`gcompile.lowering.lower_records` reads directly.
    Operand ids index the same lists; every node comes after its operands."""
    p = plan or make_plan(graph)
    (output,) = as_node_list(graph, [output], "output") if _hashable(output) else (None,)
    if output is None:
        raise GraphError("output must be a node key")
    wrt = as_node_list(graph, wrt, "wrt")
    if len(set(wrt)) != len(wrt):
        raise GraphError(f"wrt lists a node twice: {wrt!r}")
    static = infer_shapes(graph, shapes, plan=p)
    active = active_nodes(graph, wrt, output)
    b = _Builder(graph, static)
    frag = Fragment(b, shapes=static)
    seed = _seed(b, output, static)
    contribs = {output: [(seed, False, None, None)]}
    totals = {}
    for v in reversed(p.order):
        if v not in active or v not in contribs:
            continue
        total = totals[v] = _accumulate(b, v, contribs.pop(v))
        opdef = p.ops.get(v)
        if opdef is None:
            continue
        operands = p.operands[v]
        params = p.params[v]
        fwd_refs = [ForwardValue(u) for u in operands]
        out_ref = ForwardValue(v)
        for i, u in enumerate(operands):
            rule = opdef.vjp[i]
            if u not in active or rule is None:
                continue
            start = len(b.attrs)
            try:
                ref = rule(frag.at(v, i), total, *fwd_refs, out_ref, **params)
            except GraphError as err:
                raise GraphError(f"node {v!r} (op {opdef.name!r}): {err}") from None
            if not isinstance(ref, Ref):
                raise GraphError(f"VJP rule {i} of op {opdef.name!r} returned {ref!r}, not a node")
            owned = ref.id >= start
            if owned:
                text = opdef.rules[i]
                for k in range(start, len(b.attrs)):
                    if b.attrs[k]["role"] == "local_derivative":
                        b.attrs[k]["rule"] = text
                last = b.attrs[ref.id]
                if last["op"] == "mul" and total.id in b.operands[ref.id]:
                    others = [o for o in b.operands[ref.id] if o != total.id]
                    if others:
                        last["local"] = others[0]
            if opdef.broadcasts and (static[u] is None or static[u] != static[v]):
                ref = b.add_node("sum_to_like", (ref.id, b.read(u).id), {}, origin=v,
                                 role="unbroadcast", hint=f"d{_label(u)}@{_label(v)}.unbroadcast",
                                 wrt_arg=i, rule="sum over the axes broadcasting added")
                owned = True
            contribs.setdefault(u, []).append((ref, owned, v, i))
            b.attrs[ref.id].setdefault("along", []).append((u, v, i))  # the edge it flows back on
    missing = [w for w in wrt if w not in totals]
    if missing and disconnected == "raise":
        raise GraphError(f"no path from wrt node(s) {', '.join(map(repr, missing))} to output {output!r}")
    if missing and disconnected == "warn":
        warnings.warn(f"wrt node(s) {', '.join(map(repr, missing))} do not reach output "
                      f"{output!r}: their gradient is zero", stacklevel=3)
    for w in missing:
        totals[w] = b.add_node("zeros_like", (b.read(w).id,), {}, origin=w, role="zero",
                               hint=f"d{_label(w)}", rule="no path to the output: zero")
    names, attrs, operands = b.name(graph._node), b.attrs, b.operands
    b.attrs = b.operands = b.reads = None  # frag's cached methods hold b in a cycle
    return names, attrs, operands, dict(grads={w: names[totals[w].id] for w in wrt},
                                        output=output, wrt=list(wrt), seed=names[seed.id])


@contextlib.contextmanager
def paused_gc():
    """Pause Python's cyclic garbage collector while building big graphs.

    Building a graph allocates millions of small dicts and no reference
    cycles; the collector's repeated scans of them cost more than the build.
    """
    enabled = _pygc.isenabled()
    _pygc.disable()
    try:
        yield
    finally:
        if enabled:
            _pygc.enable()


def _hashable(key):
    try:
        hash(key)
    except TypeError:
        return False
    return True


def gradients(graph, feeds, output, wrt, *, seed=None, disconnected="zero") -> dict:
    """Evaluate d ``output`` / d ``wrt`` at ``feeds``; return ``{wrt node: gradient}``.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph([("x", "y")]); g.nodes["x"]["op"] = "input"; g.nodes["y"]["op"] = "sin"
    >>> round(float(gradients(g, {"x": 0.0}, "y", "x")["x"]), 6)
    1.0
    """
    from .evaluate import as_value, leaf_value

    wrt_list = as_node_list(graph, wrt, "wrt")
    p = make_plan(graph)
    known = {}
    for v in p.order:
        if v not in p.ops:
            known[v] = leaf_value(graph, v, graph._node[v], feeds or {})
    for w in wrt_list:
        if w in known:
            kind = getattr(getattr(known[w], "dtype", None), "kind", "f")
            if kind in "biu":
                raise GraphError(f"wrt node {w!r} holds {known[w].dtype} values: gradients need "
                                 f"floating-point inputs (feed floats, e.g. {w!r}: 2.0)")
    bwd = grad(graph, output, wrt_list, shapes=known, disconnected=disconnected)
    values = evaluate(graph, feeds)
    if seed is not None:
        values = dict(values)
        values[bwd.graph["seed"]] = as_value(seed, bwd.graph["seed"])
    back = evaluate(bwd, values)
    return {w: back[bwd.graph["grads"][w]] for w in wrt_list}
