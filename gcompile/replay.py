"""Rule templates replayed as generated straight-line code, for the compiler's records.

A :class:`~gcompile.fragment.Template` is what one VJP rule wrote at one forward
node; :func:`gcompile.autodiff.backward_records` replays it at every other node
of the same kind.  For the compiler's lean records (``full=False``) the replay
is Python source written once per template (:func:`write_replay`) or once per
kind of node, every operand position at once (:func:`write_node_replay`): the
same appends as the events loop, without its per-event dispatch.

The source holds only slot numbers, operand positions and names bound to the
template's own constants (shared attribute dicts, hint suffixes): nothing from a
user's graph is written into it.

Examples
--------
>>> from gcompile.fragment import Recorder
>>> from gcompile.registry import lookup
>>> t = Recorder({"x": (), "y": ()}).record(lookup("mul"), 0, "z", ("x", "y"), {})
>>> print(replay_source(t))
def replay(g, keys, prefix, attrs, operands, hints, reads_get, read, consts):
    s0 = g
    s1 = reads_get(keys[1])
    if s1 is None:
        s1 = read(keys[1])
    s2 = len(attrs)
    attrs.append(lean_s2)
    operands.append((s0, s1, ))
    hints.append(prefix + suffix_s2)
    return s2
"""
from __future__ import annotations

__all__ = ["write_replay", "write_node_replay", "replay_source"]


def _body(t, share, key, slot, bound, indent):
    """Lines replaying template ``t`` (its slot ``k`` is the local ``slot(k)``, forward value
    ``keys[j]`` the expression ``key(j)``; its constants bound in ``bound``); the result's name.
    ``share``: a constant the rule made (not its result) is added once and looked up in
    ``consts`` after (lowering merges equal constants anyway)."""
    pad = " " * indent
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
            # this template's constant at this slot: one key, whichever function replays it
            bound[const] = t.const_keys.setdefault(k, object())
            lines += [f"{pad}{s} = consts.get({const})", f"{pad}if {s} is None:"]
            lines += [f"{pad}    {line}" for line in add]
            lines.append(f"{pad}    consts[{const}] = {s}")
        else:
            lines += [f"{pad}{line}" for line in add]
        k += 1
    return lines, slot(t.result)


def replay_source(t, share=False, bound=None):
    """The source :func:`write_replay` compiles for template ``t``."""
    lines, result = _body(t, share, lambda j: f"keys[{j}]", lambda k: f"s{k}",
                          {} if bound is None else bound, 4)
    return "\n".join(["def replay(g, keys, prefix, attrs, operands, hints, reads_get, read, "
                      "consts):"] + lines + [f"    return {result}"])


def write_replay(t, share=False):
    """``replay(g, keys, prefix, attrs, operands, hints, reads_get, read, consts)``: the
    nodes template ``t`` wrote, appended again at the node whose operands and own key
    are ``keys``, with cotangent ``g``; returns the result's id (see
    :meth:`gcompile.fragment.Template.lean_replay`)."""
    bound = {}
    return _compiled(replay_source(t, share, bound), bound, "replay")


def write_node_replay(arity, templates, broadcasts, share, state):
    """``node(v, us, g, prefix)``: every operand position of a node of one kind at once.

    ``templates[i]`` is the template of operand position ``i``, ``None`` where
    the op has no rule there, or ``False`` where none is recorded yet: a node
    whose operand ``i`` needs one returns ``True`` before it writes anything
    (the caller's general path records it).  Otherwise each operand in
    ``depends`` gets its rule's nodes, an ``unbroadcast`` where its static shape
    differs from the node's (``broadcasts``), and its contribution appended to
    ``contribs``; ``False`` is returned.  ``state`` binds ``attrs``,
    ``operands``, ``hints``, ``reads_get``, ``read``, ``consts``, ``contribs``,
    ``depends``, ``static`` and ``unbroadcast``.
    """
    names = [f"u{i}" for i in range(arity)]
    key = (lambda j: names[j] if j < arity else "v")
    lines = ["def node(v, us, g, prefix):",
             f"    {', '.join(names)}, = us"]
    for i, t in enumerate(templates):
        if t is False:
            lines += [f"    if u{i} in depends:", "        return True"]
    if broadcasts:
        lines.append("    sv = static[v]")
    bound = dict(state)
    for i, t in enumerate(templates):
        if not t:
            continue
        body, result = _body(t, share, key, lambda k, i=i: f"s{i}_{k}", bound, 8)
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
    return _compiled("\n".join(lines), bound, "node")


def _compiled(source, bound, name):
    namespace = dict(bound)
    exec(compile(source, f"<gcompile {name}>", "exec"), namespace)  # noqa: S102 -- see above
    # taken out of its own globals: no reference cycle, so the records it appends to are
    # freed with it, not by a garbage collection (which would visit every one of them)
    return namespace.pop(name)
