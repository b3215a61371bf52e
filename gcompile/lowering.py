"""Lowering: a forward graph and its backward graph become one flat program.

:func:`lower_records` numbers the nodes of both graphs in one topological order
(backward leaves that read a forward value become that forward node), and
simplifies while it goes with :func:`gcompile.simplify.simplify` (the same
simplifier as ``gc.optimize``), using the static shapes and dtypes of one feed
signature: constant subexpressions (and shape-only ops of known shapes) are
evaluated once, identities such as ``x * 1`` become aliases of their operand
and ``x * -1`` becomes ``neg(x)`` -- only where the static shape and dtype
prove the interpreter's result is the same.

Nodes nothing needs are dropped later, by :mod:`gcompile.emit`.

Examples
--------
>>> import gcompile as gc
>>> from gcompile.examples import apple
>>> g, feeds = apple()
>>> from gcompile.autodiff import backward_records
>>> records = backward_records(g, "price", g.graph["wrt"], feeds, "zero")
>>> prog = lower_records(g, records, "price", {k: ((), "f8") for k in feeds}, gc.plan(g))
>>> sorted(prog.op_names[i] for i in range(len(prog.kinds)) if prog.kinds[i] == OP)
['mul', 'mul', 'mul', 'mul']
"""
from __future__ import annotations

from itertools import compress

from .errors import GraphError
from .feeds import const_value
from .graph import node_dicts
from .program import (CONST, F8, INPUT, OP, Program, add_const, add_op, add_plain, fast_kind,
                      rewrite_units)
from .registry import lookup

__all__ = ["Program", "lower_records", "demand_order", "INPUT", "CONST", "OP", "F8"]


def lower_records(graph, records, output, signature, plan, order=None):
    """Number and simplify ``graph`` and its backward graph; return a :class:`Program`.

    ``records`` are the backward graph as ``gcompile.sweep.backward_records``
    gives it (what ``gc.grad`` makes its DiGraph of; operands are list
    indices, not keys).  ``signature`` maps each input node to ``(shape, dtype
    str)`` of its feed, in the order of the generated function's parameters;
    ``plan`` is the forward graph's :func:`~gcompile.plan`.  ``prog.alias``
    maps the forward keys (and, of named records, the gradients' keys
    ``meta["grads"]``) to ids; ``prog.grad_ids`` maps each ``wrt`` node to the
    id of its gradient.  Records of ``backward_records(..., named=False)`` are
    lowered with record ids for keys, named by :meth:`Program.name_keys` when
    asked (the same keys).  ``order``: ``demand_order(plan, [output] + wrt)``
    when the caller has it already.
    """
    names, attrs, operands, meta = records
    # room for every record: a node makes one id at most
    prog = _lower_forward(graph, plan, [output] + list(meta["grads"]), signature,
                          spare=len(names), order=order)
    if type(names) is list:
        ids = _lower_backward(prog, names, names, attrs, operands)
        wanted = set(meta["grads"].values())  # the only backward keys looked up (a dict of
        # all of them cost as much as the rest of this loop)
        for i in compress(range(len(names)), map(wanted.__contains__, names)):
            prog.alias[names[i]] = ids[i]
        prog.grad_ids = {w: prog.alias[k] for w, k in meta["grads"].items()}
        return prog.trim()
    # unnamed records (gcompile.records.Unnamed): the program's keys of backward nodes are
    # record ids until a reader asks for them (Program.name_keys); where lowering fails, it
    # runs again on the named records, so that the error names the node
    start = len(prog.payload)
    try:
        ids = _lower_backward(prog, names.hints, range(len(attrs)), attrs, operands)
    except GraphError:
        keyed = names.resolve()
        grads = {w: keyed[r] for w, r in meta["grads"].items()}
        return lower_records(graph, (keyed, attrs, operands, dict(meta, grads=grads,
                                                                    seed=keyed[meta["seed"]])),
                             output, signature, plan, order)
    prog.grad_ids = {w: ids[r] for w, r in meta["grads"].items()}
    prog.namer = KeyNamer(prog.keys, start, names)
    return prog.trim()


class KeyNamer:
    """Names the keys ``keys[start:]`` (ids of the records ``unnamed``, an
    :class:`gcompile.records.Unnamed`) in place, once, when first called; returns ``keys``."""

    def __init__(self, keys, start, unnamed):
        self.keys, self.start, self.unnamed = keys, start, unnamed

    def __call__(self):
        if self.unnamed is not None:
            named, keys = self.unnamed.resolve(), self.keys
            keys[self.start:] = [named[r] for r in keys[self.start:]]
            self.unnamed = None
        return self.keys


def _lower_backward(prog, reads, keyed, attrs, operands):
    """The backward records' loop of :func:`lower_records`: their ids in ``prog``.  ``reads[r]``
    is the forward key record ``r`` reads (where it does), ``keyed[r]`` its key in ``prog``."""
    alias, floats = prog.alias, prog.floats
    kinds, payload, keys, op_names = prog.kinds, prog.payload, prog.keys, prog.op_names
    scalar, plain, uniforms = prog.scalar, prog.plain, prog.uniforms
    ids = []
    ids_append = ids.append
    opdefs = {}
    for r, v, data, args in zip(reads, keyed, attrs, operands):
        name = data["op"]
        if data["role"] == "forward_value":
            j = alias.get(r)
            if j is None:
                raise GraphError(f"backward graph reads forward node {r!r}, which is not needed "
                                 f"for the output")
            ids_append(j)
            continue
        if name == "const":
            value = data["value"]
            j = floats.get(value) if type(value) is float and value else None
            ids_append(add_const(prog, v, const_value(value, v), name) if j is None else j)
            continue
        found = opdefs.get(name)
        if found is None:
            opdef = lookup(name, node=v)
            fast = fast_kind(opdef) if not opdef.params else 0
            found = opdefs[name] = (opdef, fast, rewrite_units(opdef) if fast == 2 else None)
        opdef, fast, units = found
        if fast == 2 and len(args) == 2:
            a, b = ids[args[0]], ids[args[1]]
            pa = plain[a]
            if pa or plain[b]:
                if not (pa and plain[b]):  # one float64 scalar constant: simplify, written inline
                    c = b if pa else a
                    unit = uniforms.get(c)
                    if unit is None or not scalar[c]:
                        ids_append(add_op(prog, v, opdef, (a, b), {}))
                        continue
                    identity, rewrites = units[c == b]
                    if unit == identity:  # x * 1, x + 0, ...: x itself
                        prog.folded += 1
                        ids_append(a if pa else b)
                        continue
                    if unit in rewrites:  # x * -1 -> neg(x), ...
                        unary = rewrites[unit]
                        if unary is None:  # not a plain unary op: the general path
                            ids_append(add_op(prog, v, opdef, (a, b), {}))
                            continue
                        prog.folded += 1
                        keep = a if pa else b
                        made = payload[keep]  # neg(neg(x)) is x (simplify's involution)
                        if unary.involution and kinds[keep] == OP and made[0] is unary:
                            ids_append(made[1][0])
                            continue
                        # neg(x) of a plain x, which simplify has nothing more to say about
                        ids_append(add_plain(prog, v, unary, (keep,), {}))
                        continue
                # add_plain written inline: most ops of big scalar graphs (capacity suffices)
                ids_append(len(payload))
                payload.append((opdef, (a, b), {}))
                keys.append(v)
                op_names.append(name)
                continue
            args = (a, b)
        elif len(args) == 1:
            args = (ids[args[0]],)
        else:
            args = tuple([ids[u] for u in args])
        params = {k: data.get(k, d) for k, d in opdef.params.items()} if opdef.params else {}
        ids_append(add_plain(prog, v, opdef, args, params) if fast == 1 and plain[args[0]]
                   else add_op(prog, v, opdef, args, params))
    return ids


def _lower_forward(graph, p, targets, signature, spare=0, order=None):
    """The forward part of :func:`lower_records` (with room for ``spare`` more ids), in
    ``order`` (``demand_order(p, targets)`` when not given)."""
    prog = Program(len(p.order) + spare)
    nodes = node_dicts(graph)[0]
    inputs = {v: k for k, v in enumerate(signature)}
    alias, ops, operands, params = prog.alias, p.ops, p.operands, p.params
    payload, keys, op_names, plain = prog.payload, prog.keys, prog.op_names, prog.plain
    fast = {}
    for v in demand_order(p, targets) if order is None else order:
        opdef = ops.get(v)
        if opdef is None:
            if nodes[v]["op"] == "const":
                alias[v] = add_const(prog, v, const_value(nodes[v]["value"], v))
            else:
                shape, dtype = signature[v]
                alias[v] = prog.add(INPUT, inputs[v], v, "input", shape, dtype)
            continue
        args = operands[v]
        args = (alias[args[0]], alias[args[1]]) if len(args) == 2 else \
            (alias[args[0]],) if len(args) == 1 else tuple([alias[u] for u in args])
        kind = fast.get(id(opdef))
        if kind is None:
            kind = fast[id(opdef)] = fast_kind(opdef)
        if kind and plain[args[0]] and (kind == 1 or (
                len(args) == 2 and plain[args[1]] and not params[v])):
            alias[v] = len(payload)  # add_plain inline: most ops of big scalar graphs
            payload.append((opdef, args, params[v]))
            keys.append(v)
            op_names.append(opdef.name)
        else:
            alias[v] = add_op(prog, v, opdef, args, params[v])
    prog.inputs = list(inputs)
    return prog if spare else prog.trim()


def demand_order(p, targets):
    """Topological order of the ancestors of ``targets``, each node just before its first use.

    An iterative depth-first post-order over the operands of the plan ``p``:
    values are computed close to where they are read, which keeps them alive
    for short spans.
    """
    done = set()
    order = []
    operands = p.operands
    for t in targets:
        if t in done:
            continue
        stack = [(t, iter(operands.get(t, ())))]
        done.add(t)
        while stack:
            v, it = stack[-1]
            for u in it:
                if u not in done:
                    done.add(u)
                    stack.append((u, iter(operands.get(u, ()))))
                    break
            else:
                stack.pop()
                order.append(v)
    return order
