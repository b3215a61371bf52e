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
from collections import Counter

import networkx as nx

from .errors import GraphError, label, node_error
from .evaluate import evaluate
from .fragment import ForwardValue, Fragment, Ref
from .graph import active_nodes, as_node_list, from_records, plan as make_plan, unique_key
from .shapes import infer_shapes

__all__ = ["grad", "gradients", "backward_pass", "ROLES"]

#: The ``role`` of each backward node.
ROLES = ("seed", "local_derivative", "accumulation", "unbroadcast", "forward_value", "zero")

_DISCONNECTED = ("zero", "warn", "raise")


class _Builder:
    """Collects backward nodes as integer ids (:class:`Ref`) and names them at the end."""

    def __init__(self, fwd, shapes):
        self.fwd = fwd.nodes
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
            data = self.fwd[key]
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

    def unbroadcast(self, ref, u, v, i):
        """Sum ``ref`` (operand ``i`` of ``v``'s contribution to ``u``) back to ``u``'s shape."""
        return self.add_node("sum_to_like", (ref.id, self.read(u).id), {}, origin=v,
                             role="unbroadcast", hint=f"d{label(u)}@{label(v)}.unbroadcast",
                             wrt_arg=i, rule="sum over the axes broadcasting added")

    def name(self, fwd_keys):
        """Give every node a unique readable key (``local`` ids become keys); return the keys."""
        names = [None] * len(self.attrs)
        used = set(fwd_keys)
        for key, ref in self.reads.items():
            names[ref.id] = key
        for i, hint in enumerate(self.hints):
            if names[i] is None:
                if hint in used:
                    hint = unique_key(hint, used)
                used.add(hint)
                names[i] = hint
        for attrs in self.attrs:
            if "local" in attrs:
                attrs["local"] = names[attrs["local"]]
        return names


def _seed(b, output, shapes):
    shape = shapes.get(output)
    common = dict(origin=output, role="seed", hint=f"d{label(output)}", feedable=True,
                  rule=f"d{label(output)}/d{label(output)} = 1")
    if shape != ():
        return b.add_node("ones_like", (b.read(output).id,), {}, **common)
    return b.add_node("const", (), {"value": 1.0}, **common)


def _accumulate(b, v, contribs):
    """Sum the contributions of fan-out (``add`` nodes hinted ``d<v>.sum<k>``, the last ``d<v>``)."""
    total = contribs[0][0]
    name = f"d{label(v)}"
    for k, (ref, *_rest) in enumerate(contribs[1:], start=1):
        last = k == len(contribs) - 1
        total = b.add_node("add", (total.id, ref.id), {}, origin=v, role="accumulation",
                           hint=name if last else f"{name}.sum{k}",
                           rule="fan-out: contributions add")
    return total


def _apply(b, op, f, i, g, args, out, params):
    """Run VJP rule ``i`` of ``op`` (at the node ``f`` points at): ``(ref, own)``, ``own``
    when ``ref`` is a node the rule made (not ``g`` itself).  A rule's final ``mul(g, factor)``
    gets ``local=factor``: diagrams show the factor's value on it."""
    start = len(b.attrs)
    try:
        ref = op.vjp[i](f, g, *args, out, **params)
    except GraphError as err:
        raise node_error(f.origin, op.name, err) from None
    if not isinstance(ref, Ref):
        raise GraphError(f"VJP rule {i} of op {op.name!r} returned {ref!r}, not a node")
    own = ref.id >= start
    if own and b.attrs[ref.id]["op"] == "mul":
        ops = b.operands[ref.id]
        if g.id in ops:
            others = [o for o in ops if o != g.id]
            if others:
                b.attrs[ref.id]["local"] = others[0]
    return ref, own


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
        bwd = from_records(*backward_records(graph, output, wrt, shapes, disconnected))
    if optimize:
        from .passes import optimize as run_passes

        bwd, log = run_passes(bwd, shapes=shapes)
        bwd.graph["pass_log"] = log.to_dict()
    return bwd


def backward_records(graph, output, wrt, shapes, disconnected, plan=None, static=None):
    """The backward graph as lists ``(keys, attr dicts, operand ids)`` + graph attrs: what
    :func:`grad` makes a DiGraph of and :func:`gcompile.lowering.lower_records` reads directly.
    Operand ids index the same lists; every node comes after its operands.  ``static``:
    ``infer_shapes(graph, shapes, plan=plan)`` when the caller has it already."""
    p = plan or make_plan(graph)
    (output,) = as_node_list(graph, [output], "output") if _hashable(output) else (None,)
    if output is None:
        raise GraphError("output must be a node key")
    wrt = as_node_list(graph, wrt, "wrt")
    if len(set(wrt)) != len(wrt):
        raise GraphError(f"wrt lists a node twice: {wrt!r}")
    if static is None:
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
        g = totals[v] = _accumulate(b, v, contribs[v])
        op = p.ops.get(v)
        if op is None:
            continue
        args, out = [ForwardValue(u) for u in p.operands[v]], ForwardValue(v)
        for i, (u, rule) in enumerate(zip(p.operands[v], op.vjp)):
            if rule is None or u not in active:
                continue
            ref, own = _apply(b, op, frag.at(v, i, op.rules[i]), i, g, args, out, p.params[v])
            if op.broadcasts and (static[u] is None or static[u] != static[v]):
                ref, own = b.unbroadcast(ref, u, v, i), True
            contribs.setdefault(u, []).append((ref, own, v, i))
            b.attrs[ref.id].setdefault("along", []).append((u, v, i))  # the edge it flows back on
    for w in _disconnected([w for w in wrt if w not in totals], output, disconnected):
        totals[w] = b.add_node("zeros_like", (b.read(w).id,), {}, origin=w, role="zero",
                               hint=f"d{label(w)}", rule="no path to the output: zero")
    _name_contributions(b, contribs)
    names, attrs, operands = b.name(graph), b.attrs, b.operands
    b.attrs = b.operands = b.reads = None  # frag's cached methods hold b in a cycle
    return names, attrs, operands, dict(grads={w: names[totals[w].id] for w in wrt},
                                        output=output, wrt=list(wrt), seed=names[seed.id])


def _disconnected(missing, output, disconnected):
    """The ``wrt`` nodes with no path to ``output``, after the warning or error asked for."""
    if missing and disconnected == "raise":
        raise GraphError(f"no path from wrt node(s) {', '.join(map(repr, missing))} to output {output!r}")
    if missing and disconnected == "warn":
        warnings.warn(f"wrt node(s) {', '.join(map(repr, missing))} do not reach output "
                      f"{output!r}: their gradient is zero", stacklevel=4)
    return missing


def _name_contributions(b, contribs):
    """After the walk: hint each rule's own result ``d<u>`` (alone) or
    ``d<u>@<consumer>[#pos]`` (one of several summed into ``d<u>``)."""
    hints = b.hints
    for u, parts in contribs.items():
        if len(parts) == 1:
            ref, own, _, _ = parts[0]
            if own:
                hints[ref.id] = f"d{label(u)}"
            continue
        seen = Counter(consumer for _, _, consumer, _ in parts)
        for ref, own, consumer, pos in parts:
            if own:
                hints[ref.id] = f"d{label(u)}@{label(consumer)}" + (f"#{pos}" if seen[consumer] > 1 else "")


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
    wrt_list = as_node_list(graph, wrt, "wrt")
    _, bwd, back = backward_pass(graph, feeds, output, wrt_list, seed=seed,
                                 disconnected=disconnected)
    return {w: back[bwd.graph["grads"][w]] for w in wrt_list}


def backward_pass(graph, feeds, output, wrt, *, seed=None, disconnected="zero", optimize=False):
    """What :func:`gradients` computes, kept: ``(forward values, backward graph, its values)``.

    The gradient of ``w`` is ``back[bwd.graph["grads"][w]]``; ``optimize``
    simplifies the backward graph as :func:`grad` does.

    Examples
    --------
    >>> from gcompile.examples import apple
    >>> g, feeds = apple()
    >>> values, bwd, back = backward_pass(g, feeds, "price", ["tax"])
    >>> float(values["price"]), float(back[bwd.graph["grads"]["tax"]])
    (220.00000000000003, 200.0)
    """
    from .evaluate import as_value, leaf_value

    wrt_list = as_node_list(graph, wrt, "wrt")
    p = make_plan(graph)
    known = {}
    for v in p.order:
        if v not in p.ops:
            known[v] = leaf_value(graph, v, graph.nodes[v], feeds or {})
    for w in wrt_list:
        if w in known:
            kind = getattr(getattr(known[w], "dtype", None), "kind", "f")
            if kind in "biu":
                raise GraphError(f"wrt node {w!r} holds {known[w].dtype} values: gradients need "
                                 f"floating-point inputs (feed floats, e.g. {w!r}: 2.0)")
    bwd = grad(graph, output, wrt_list, shapes=known, disconnected=disconnected,
               optimize=optimize)
    values = evaluate(graph, feeds)
    if seed is not None:
        values = dict(values)
        values[bwd.graph["seed"]] = as_value(seed, bwd.graph["seed"])
    back = evaluate(bwd, values)
    return values, bwd, back
