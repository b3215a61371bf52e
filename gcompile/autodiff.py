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
from .fragment import ForwardValue, Fragment, Recorder, Ref
from .graph import as_node_list, from_records, node_dicts, plan as make_plan
from .replay import write_node_replay
from .shapes import infer_shapes

__all__ = ["grad", "gradients", "backward_pass", "ROLES"]

#: The ``role`` of each backward node.
ROLES = ("seed", "local_derivative", "accumulation", "unbroadcast", "forward_value", "zero")

_DISCONNECTED = ("zero", "warn", "raise")


class _Builder:
    """Collects backward nodes as integer ids and names them at the end."""

    def __init__(self, fwd, shapes):
        self.fwd = node_dicts(fwd)[0]
        self.shapes = shapes
        self.attrs = []
        self.operands = []
        self.hints = []
        self.reads = {}
        self.locals = []  # ids of nodes whose "local" is an id until named

    def add_node(self, op, operands, attrs, *, origin, role, hint, **extra):
        attrs["op"] = op
        attrs["origin"] = origin
        attrs["role"] = role
        if extra:
            attrs.update(extra)
        self.attrs.append(attrs)
        self.operands.append(operands)
        self.hints.append(hint)
        return len(self.attrs) - 1

    def read(self, key):
        """The backward node holding forward value ``key`` (created once, keyed by ``key``)."""
        ref = self.reads.get(key)
        if ref is None:
            data = self.fwd[key]
            if data["op"] == "const":
                attrs = {"value": data["value"]}
                op = "const"
            else:
                shape = self.shapes.get(key)
                attrs = {} if shape is None else {"shape": shape}
                op = "input"
            if "label" in data:
                attrs["label"] = data["label"]
            attrs["op"] = op
            attrs["origin"] = key
            attrs["role"] = "forward_value"
            ref = self.reads[key] = len(self.attrs)
            self.attrs.append(attrs)
            self.operands.append(())
            self.hints.append(key)
        return ref

    def read_lean(self, key):
        """:meth:`read` for the compiler's records (``full=False``): one shared attribute
        dict, which is all :func:`~gcompile.lowering.lower_records` reads of such a node."""
        ref = self.reads[key] = len(self.attrs)
        self.attrs.append(_LEAN_READ)
        self.operands.append(())
        self.hints.append(key)
        return ref

    def unbroadcast(self, ref, u, v, i):
        """Sum ``ref`` (operand ``i`` of ``v``'s contribution to ``u``) back to ``u``'s shape."""
        return self.add_node("sum_to_like", (ref, self.read(u)), {}, origin=v,
                             role="unbroadcast", hint=f"d{label(u)}@{label(v)}.unbroadcast",
                             wrt_arg=i, rule="sum over the axes broadcasting added")

    def name(self, fwd):
        """Give every node a unique readable key (``local`` ids become keys); return the keys.

        In id order, a hint that is a forward key or an earlier node's key gets
        ``_2``, ``_3``, ...; nodes reading forward values keep the forward key (one dict
        lookup per node)."""
        names = _unique(self.hints, self.reads, node_dicts(fwd)[0])
        attrs = self.attrs
        for i in self.locals:
            attrs[i]["local"] = names[attrs[i]["local"]]
        self.hints = None
        return names


def _unique(names, reads, fwd):
    """``names`` made unique in place, in order (see :meth:`_Builder.name`)."""
    taken = dict.fromkeys(fwd)  # keys taken so far -> node id (None: a forward key)
    claim = taken.setdefault
    for i, hint in enumerate(names):
        if claim(hint, i) != i:  # a forward key or an earlier node's key
            if reads.get(hint) == i:
                continue
            k = 2
            while f"{hint}_{k}" in taken:
                k += 1
            hint = names[i] = f"{hint}_{k}"
            taken[hint] = i
    return names


class Unnamed:
    """The keys of backward records, named when first asked (:func:`backward_records`'s
    ``named=False``): naming hashes a fresh string per node, which the native tape never needs.

    ``hints`` are the keys before they are made unique (a node reading forward value
    ``k`` is hinted ``k``, the key it keeps); :meth:`resolve` makes them unique in
    place (the rule of :meth:`_Builder.name`, so the same keys) and returns them."""

    def __init__(self, hints, reads, graph):
        # the forward keys as they are now (the graph may change before the naming)
        self.hints, self._reads, self._fwd = hints, reads, list(node_dicts(graph)[0])

    def __len__(self):
        return len(self.hints)

    def resolve(self):
        if self._fwd is not None:
            _unique(self.hints, self._reads, self._fwd)
            self._reads = self._fwd = None
        return self.hints


def _seed(b, output, shapes):
    shape = shapes.get(output)
    common = dict(origin=output, role="seed", hint=f"d{label(output)}", feedable=True,
                  rule=f"d{label(output)}/d{label(output)} = 1")
    if shape != ():
        return b.add_node("ones_like", (b.read(output),), {}, **common)
    return b.add_node("const", (), {"value": 1.0}, **common)


_LEAN_ADD = {"op": "add", "role": "accumulation"}
_LEAN_READ = {"op": "input", "role": "forward_value"}


def _accumulate(b, v, name, parts, full=True):
    """Sum the contributions of fan-out (``add`` nodes hinted ``d<v>.sum<k>``, the last ``d<v>``)."""
    total = parts[0][0]
    last = len(parts) - 1
    attrs, operands, hints = b.attrs, b.operands, b.hints
    for k in range(1, last + 1):
        attrs.append({"op": "add", "origin": v, "role": "accumulation",
                      "rule": "fan-out: contributions add"} if full else _LEAN_ADD)
        operands.append((total, parts[k][0]))
        hints.append(name if k == last else f"{name}.sum{k}")
        total = len(attrs) - 1
    return total


def _name_parts(hints, name, parts):
    """Hint each rule's own result among several contributions summed into ``d<u>``
    (``name``): ``d<u>@<consumer>[#pos]``.  (A lone contribution is hinted ``d<u>``.)"""
    if len(parts) == 2:  # the common case, without a Counter
        (r0, own0, c0, p0), (r1, own1, c1, p1) = parts
        same = c0 == c1
        if own0:
            c0 = c0 if type(c0) is str else label(c0)
            hints[r0] = f"{name}@{c0}#{p0}" if same else f"{name}@{c0}"
        if own1:
            c1 = c1 if type(c1) is str else label(c1)
            hints[r1] = f"{name}@{c1}#{p1}" if same else f"{name}@{c1}"
        return
    seen = Counter([consumer for _, _, consumer, _ in parts])
    for ref, own, consumer, pos in parts:
        if own:
            hints[ref] = f"{name}@{label(consumer)}" + (f"#{pos}" if seen[consumer] > 1 else "")


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
                b.locals.append(ref.id)
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
        bwd = from_records(*backward_records(graph, output, wrt, shapes, disconnected),
                           compact=True)
    if optimize:
        from .passes import optimize as run_passes

        bwd, log = run_passes(bwd, shapes=shapes)
        bwd.graph["pass_log"] = log.to_dict()
    return bwd


def backward_records(graph, output, wrt, shapes, disconnected, plan=None, static=None, *,
                     full=True, named=True):
    """The backward graph as lists ``(keys, attr dicts, operand ids)`` + graph attrs: what
    :func:`grad` makes a DiGraph of and :func:`gcompile.lowering.lower_records` reads directly.
    Operand ids index the same lists; every node comes after its operands.  ``static``:
    ``infer_shapes(graph, shapes, plan=plan)`` when the caller has it already.

    Each VJP rule runs once per (op, operand position, parameters, operand
    aliasing, and the shapes when the rule asks for one): what it wrote is kept
    as a :class:`~gcompile.fragment.Template` and replayed at every other node
    of the same kind, which writes the same nodes the rule would.

    ``full=False`` is for the compiler: the same keys, operands, graph attrs
    and, per node, ``op``, ``role``, ``value`` and the op's parameters (what
    :func:`~gcompile.lowering.lower_records` reads), without what only the
    DiGraph's readers use (``origin``, ``wrt_arg``, ``rule``, ``local``,
    ``along``); nodes reading a forward value carry only ``op`` and ``role``
    (lowering reads the forward node itself), and the templates of a common
    kind of node are replayed by generated code (:mod:`gcompile.replay`);
    the attribute dicts of rule, accumulation and forward-value nodes are then
    shared between nodes and must not be modified.

    ``named=False`` (with ``full=False``) leaves the naming for later: the
    keys are then an :class:`Unnamed` (``.hints`` are the keys of nodes
    reading forward values; ``.resolve()`` gives the keys ``named=True``
    gives) and ``grads``/``seed`` hold node ids, not keys.  A constant a rule template
    writes is then one node for all the template's replays (the program is the same:
    lowering merges equal constants), so there are fewer keys than ``named=True`` gives."""
    if full and not named:
        raise GraphError("backward_records: named=False needs full=False")
    p = plan or make_plan(graph)
    (output,) = as_node_list(graph, [output], "output") if _hashable(output) else (None,)
    if output is None:
        raise GraphError("output must be a node key")
    wrt = as_node_list(graph, wrt, "wrt")
    if len(set(wrt)) != len(wrt):
        raise GraphError(f"wrt lists a node twice: {wrt!r}")
    if static is None:
        static = infer_shapes(graph, shapes, plan=p)
    depends = _depends(p, wrt)
    b = _Builder(graph, static)
    seed = _seed(b, output, static)
    totals = {}
    if output in depends:
        _reverse(b, p, output, seed, set(wrt), depends, static, totals, full, not named)
    for w in _disconnected([w for w in wrt if w not in totals], output, disconnected):
        totals[w] = b.add_node("zeros_like", (b.read(w),), {}, origin=w, role="zero",
                               hint=f"d{label(w)}", rule="no path to the output: zero")
    attrs, operands = b.attrs, b.operands
    if not named:
        b.attrs = b.operands = None
        return Unnamed(b.hints, b.reads, graph), attrs, operands, dict(
            grads={w: totals[w] for w in wrt}, output=output, wrt=list(wrt), seed=seed)
    names = b.name(graph)
    b.attrs = b.operands = b.reads = None
    return names, attrs, operands, dict(grads={w: names[totals[w]] for w in wrt},
                                        output=output, wrt=list(wrt), seed=names[seed])


def _depends(p, wrt):
    """The nodes that depend on a node of ``wrt`` (those included): one pass over the plan."""
    down = set(wrt)
    operands = p.operands
    for v in p.order:
        ops = operands.get(v)
        if ops is not None and v not in down:
            for u in ops:
                if u in down:
                    down.add(v)
                    break
    return down


#: Nodes of one kind replayed by the events loop before the compiler's records switch to
#: the kind's generated function (writing and compiling it costs as much as ~50 nodes).
REPLAY_AFTER = 64


def _reverse(b, p, output, seed, wrt, depends, static, totals, full, share=False):
    """The reverse sweep from ``output``: fills ``b`` and ``totals`` (``wrt`` node -> id);
    ``share``: a constant a rule template writes is added once (see
    :func:`~gcompile.replay.write_node_replay`)."""
    contribs = {output: [(seed, False, None, None)]}
    frag = Fragment(b, shapes=static)
    recorder = Recorder(static)
    cache = {}
    attrs_l, operands_l, hints_l = b.attrs, b.operands, b.hints
    read = b.read if full else b.read_lean  # called where reads has no entry yet
    ops_of, operands_of, params_of = p.ops, p.operands, p.params
    reads_get, locals_l = b.reads.get, b.locals
    consts = {}
    nodes = {}  # kind -> nodes seen, then its write_node_replay (False: never), full=False
    state = dict(attrs=attrs_l, operands=operands_l, hints=hints_l, reads_get=reads_get,
                 read=read, consts=consts, contribs=contribs, depends=depends, static=static,
                 unbroadcast=b.unbroadcast)
    for v in reversed(p.order):
        parts = contribs.pop(v, None)
        if parts is None:
            continue
        prefix = "d" + v if type(v) is str else f"d{label(v)}"
        if len(parts) == 1:
            g, own = parts[0][0], parts[0][1]
            if own:
                hints_l[g] = prefix
        else:  # named now (kept for later, the parts would outlive the sweep as objects
            _name_parts(hints_l, prefix, parts)  # for the garbage collector to visit)
            g = _accumulate(b, v, prefix, parts, full)
        if v in wrt:
            totals[v] = g
        op = ops_of.get(v)
        if op is None:
            continue
        us = operands_of[v]
        params = params_of[v]
        if params:
            key = (op.name, _params_key(params), tuple(map(us.index, us)))
        elif len(us) == 1:  # the common kinds first: no tuple to build
            key = op.name
        else:
            key = (op.name, us[0] == us[1] if len(us) == 2 else tuple(map(us.index, us)))
        if not full:  # the kind's templates as one generated function, once it pays
            made = nodes.get(key, 0)
            if made.__class__ is int:
                nodes[key] = made + 1
            elif made and not made(v, us, g, prefix):
                continue
        kinds = cache.get(key)
        if kinds is None:
            kinds = cache[key] = [None] * len(us)
        keys = us + (v,)
        for i, u in enumerate(us):
            if op.vjp[i] is None or u not in depends:
                continue
            t = kinds[i]
            if t is None or t.__class__ is dict:
                t = _template(recorder, kinds, t, op, i, v, us, params, static, keys)
            if t is False:
                ref, own = _apply(b, op, frag.at(v, i, op.rules[i]), i, Ref(g),
                                  [ForwardValue(x) for x in us], ForwardValue(v), params)
                ref = ref.id
            else:
                slots = [g]
                for ev in t.events:
                    if ev.__class__ is int:
                        r = reads_get(keys[ev])
                        slots.append(read(keys[ev]) if r is None else r)
                        continue
                    get, n, tattrs, suffix, lean = ev
                    if share and not n and lean["op"] == "const" and len(slots) != t.result:
                        shared = t.const_key(len(slots))
                        r = consts.get(shared)
                        if r is not None:
                            slots.append(r)
                            continue
                        consts[shared] = len(attrs_l)
                    slots.append(len(attrs_l))
                    if full:
                        d = tattrs.copy()
                        d["origin"] = v
                        attrs_l.append(d)
                    else:
                        attrs_l.append(lean)
                    operands_l.append(get(slots) if n > 1 else (get(slots),) if n else ())
                    hints_l.append(prefix + suffix)
                ref, own = slots[t.result], t.own
                if t.local is not None and full:
                    attrs_l[ref]["local"] = slots[t.local]
                    locals_l.append(ref)
            if op.broadcasts and (static[u] is None or static[u] != static[v]):
                ref, own = b.unbroadcast(ref, u, v, i), True
            contribs.setdefault(u, []).append((ref, own, v, i))
            if full:
                attrs_l[ref].setdefault("along", []).append((u, v, i))  # the edge it flows back on
        if not full:
            made = nodes[key]
            if made.__class__ is int and made >= REPLAY_AFTER or made.__class__ is not int and made:
                nodes[key] = _node_replay(op, kinds, share, state)  # or again: a new template


def _node_replay(op, kinds, share, state):
    """:func:`~gcompile.replay.write_node_replay` of a kind whose templates are ``kinds``
    (``False`` where one position runs its rule or has templates per shape)."""
    templates = []
    for i, t in enumerate(kinds):
        if op.vjp[i] is None:
            templates.append(None)
        elif t is None:
            templates.append(False)  # not recorded yet
        elif t is False or t.__class__ is dict:
            return False
        else:
            templates.append(t)
    return write_node_replay(len(kinds), templates, op.broadcasts, share, state)


def _params_key(params):
    if not params:
        return ()
    try:
        key = tuple(params.items())
        hash(key)
    except TypeError:
        return None
    return key


def _template(recorder, kinds, t, op, i, v, us, params, static, keys):
    """The template of rule ``i`` at ``v`` (recorded now if new), or ``False`` to run the rule."""
    if t is not None:  # the rule asked for shapes: one template per shape signature
        shapes = tuple([static[k] for k in keys])
        found = t.get(shapes)
        if found is not None:
            return found
    try:
        made = recorder.record(op, i, v, us, params)
    except GraphError as err:
        raise node_error(v, op.name, err) from None
    if made is None or _params_key(params) is None:
        kinds[i] = False
        return False
    if made.shaped:
        if t is None:
            t = kinds[i] = {}
        t[tuple([static[k] for k in keys])] = made
    else:
        kinds[i] = made
    return made


def _disconnected(missing, output, disconnected):
    """The ``wrt`` nodes with no path to ``output``, after the warning or error asked for."""
    if missing and disconnected == "raise":
        raise GraphError(f"no path from wrt node(s) {', '.join(map(repr, missing))} to output {output!r}")
    if missing and disconnected == "warn":
        warnings.warn(f"wrt node(s) {', '.join(map(repr, missing))} do not reach output "
                      f"{output!r}: their gradient is zero", stacklevel=4)
    return missing


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
