"""A kind of node's rule templates replayed as generated straight-line code.

A :class:`~gcompile.fragment.Template` is what one VJP rule wrote at one forward
node; :func:`gcompile.sweep.backward_records` replays it at every other node
of the same kind (op, parameters, operand aliasing).  For the compiler's lean
records (``full=False``), once a kind is common enough to pay for it, the
replay of all its operand positions is Python source written and compiled once
(:func:`write_node_replay`): the same appends as the events loop, without its
per-event dispatch and per-position bookkeeping.

The source holds only slot numbers, operand positions and names bound to the
templates' own constants (shared attribute dicts, hint suffixes, keys of shared
constants): nothing from a user's graph is written into it.

Examples
--------
>>> from gcompile.fragment import Recorder
>>> from gcompile.registry import lookup
>>> t = Recorder({"x": (), "y": ()}).record(lookup("mul"), 0, "z", ("x", "y"), {})
>>> print(node_replay_source(2, [t, False], broadcasts=False, share=False)[0])
def node(v, us, g, prefix):
    u0, u1, = us
    if u1 in depends:
        return True
    if u0 in depends:
        s0_0 = g
        s0_1 = reads_get(u1)
        if s0_1 is None:
            s0_1 = read(u1)
        s0_2 = len(attrs)
        attrs.append(lean_s0_2)
        operands.append((s0_0, s0_1, ))
        hints.append(prefix + suffix_s0_2)
        r = s0_2
        own = True
        c = contribs.get(u0)
        if c is None:
            contribs[u0] = [(r, own, v, 0)]
        else:
            c.append((r, own, v, 0))
    return False
"""
from __future__ import annotations

__all__ = ["write_node_replay", "node_replay_source"]


def _body(t, share, key, slot, bound):
    """Lines replaying template ``t`` (its slot ``k`` is the local ``slot(k)``, forward value
    ``keys[j]`` the expression ``key(j)``; its constants bound in ``bound``); the result's name.
    ``share``: a constant the rule made (not its result) is added once and found in
    ``consts`` after (lowering merges equal constants anyway)."""
    pad = " " * 8
    lines = [f"{pad}{slot(0)} = g"]
    k = 1
    specs = iter(t.specs)
    for ev in t.events:
        s = slot(k)
        if type(ev) is int:
            lines += [f"{pad}{s} = reads_get({key(ev)})",
                      f"{pad}if {s} is None:",
                      f"{pad}    {s} = read({key(ev)})"]
            k += 1
            continue
        spec = next(specs)
        lean, suffix = f"lean_{s}", f"suffix_{s}"
        bound[lean], bound[suffix] = ev[4], ev[3]
        args = "".join(f"{slot(j)}, " for j in spec)
        add = [f"{s} = len(attrs)",
               f"attrs.append({lean})",
               f"operands.append(({args}))",
               f"hints.append(prefix + {suffix})"]
        if share and not spec and ev[4]["op"] == "const" and k != t.result:
            const = f"const_{s}"
            bound[const] = t.const_key(k)  # the events loop's key of it too
            lines += [f"{pad}{s} = consts.get({const})", f"{pad}if {s} is None:"]
            lines += [f"{pad}    {line}" for line in add]
            lines.append(f"{pad}    consts[{const}] = {s}")
        else:
            lines += [f"{pad}{line}" for line in add]
        k += 1
    return lines, slot(t.result)


def node_replay_source(arity, templates, broadcasts, share):
    """The source of :func:`write_node_replay` and the constants it names."""
    names = [f"u{i}" for i in range(arity)]
    key = (lambda j: names[j] if j < arity else "v")
    lines = ["def node(v, us, g, prefix):",
             f"    {', '.join(names)}, = us"]
    for i, t in enumerate(templates):
        if t is False:
            lines += [f"    if u{i} in depends:", "        return True"]
    if broadcasts:
        lines.append("    sv = static[v]")
    bound = {}
    for i, t in enumerate(templates):
        if not t:
            continue
        body, result = _body(t, share, key, lambda k, i=i: f"s{i}_{k}", bound)
        lines += [f"    if u{i} in depends:"] + body + [
            f"        r = {result}",
            f"        own = {t.own}"]
        if broadcasts:
            lines += [f"        su = static[u{i}]",
                      "        if su is None or su != sv:",
                      f"            r = unbroadcast(r, u{i}, v, {i})",
                      "            own = True"]
        lines += [f"        c = contribs.get(u{i})",
                  "        if c is None:",
                  f"            contribs[u{i}] = [(r, own, v, {i})]",
                  "        else:",
                  f"            c.append((r, own, v, {i}))"]
    lines.append("    return False")
    return "\n".join(lines), bound


def write_node_replay(arity, templates, broadcasts, share, state):
    """``node(v, us, g, prefix)``: every operand position of a node of one kind at once.

    ``templates[i]`` is the template of operand position ``i``, ``None`` where
    the op has no rule there, or ``False`` where none is recorded yet: a node
    whose operand ``i`` needs one returns ``True`` before it writes anything
    (the caller's events loop records it).  Otherwise each operand in
    ``depends`` gets its rule's nodes, an ``unbroadcast`` where its static shape
    differs from the node's (``broadcasts``), and its contribution appended to
    ``contribs``; ``False`` is returned.  ``state`` binds ``attrs``,
    ``operands``, ``hints``, ``reads_get``, ``read``, ``consts``, ``contribs``,
    ``depends``, ``static`` and ``unbroadcast`` (see :func:`gcompile.sweep.backward_records`).
    """
    source, bound = node_replay_source(arity, templates, broadcasts, share)
    namespace = dict(state, **bound)
    exec(compile(source, "<gcompile node replay>", "exec"), namespace)  # noqa: S102 -- see above
    # taken out of its own globals: no reference cycle, so the records it appends to are
    # freed with it, not by a garbage collection (which would visit every one of them)
    return namespace.pop("node")
