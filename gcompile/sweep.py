"""The reverse sweep: a forward graph's backward graph, written as records.

:func:`backward_records` walks the nodes between ``wrt`` and ``output`` in
reverse topological order, asks each op's VJP rule for one graph fragment per
operand (recorded once per kind of node as a
:class:`~gcompile.fragment.Template` and replayed at the others), sums the
contributions of fan-out with ``add`` nodes and undoes numpy broadcasting with
explicit ``sum_to_like`` nodes.  No recursion; linear in the size of the graph.
:func:`gcompile.grad` makes a DiGraph of the records; ``gc.compile`` lowers them.

Examples
--------
>>> from gcompile.examples import apple
>>> g, feeds = apple()
>>> keys, attrs, operands, meta = backward_records(g, "price", ["tax"], feeds, "zero")
>>> meta["grads"], [keys[i] for i in operands[keys.index("dtax")]]
({'tax': 'dtax'}, ['dprice', 'apple_price'])
"""
from __future__ import annotations

import warnings

from .errors import GraphError, label, node_error
from .fragment import ForwardValue, Fragment, Recorder, Ref
from .graph import as_node_list, plan as make_plan
from .records import RecordBuilder, Unnamed, accumulate, name_parts, seed_record
from .replay import write_node_replay
from .shapes import infer_shapes

__all__ = ["backward_records", "REPLAY_AFTER"]


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


def backward_records(graph, output, wrt, shapes, disconnected, plan=None, static=None, *,
                     full=True, named=True):
    """The backward graph as lists ``(keys, attr dicts, operand ids)`` + graph attrs: what
    :func:`gcompile.grad` makes a DiGraph of and :func:`gcompile.lowering.lower_records` reads.
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
    b = RecordBuilder(graph, static)
    seed = seed_record(b, output, static)
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
            name_parts(hints_l, prefix, parts)  # for the garbage collector to visit)
            g = accumulate(b, v, prefix, parts, full)
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


def _hashable(key):
    try:
        hash(key)
    except TypeError:
        return False
    return True
