"""From a lowered program to Python source: dead code, fusion, liveness, names.

:func:`emit` keeps the nodes the outputs need, fuses each value used once into
the line that uses it (scalars anywhere; arrays only into the next line, so
fusing never keeps a big operand alive longer), and writes one line per
remaining node::

    v12 = (v9 * (c0 - (v3 * v3))); del v9  # 'dn20': mul (fused 'dn20.sub' sub, ...)

Names are generated (``i<k>`` inputs, ``c<k>`` constants, ``v<k>`` values);
node keys appear only in comments, escaped so no key can end a comment.  A
value is released (``del``) on the line that reads it last.  Scalar-shaped
float64 nodes use Python operators and the registry's ``scalar`` functions
(``math.tanh``); other nodes call the registry's ``forward`` on numpy, or on the
namespace ``xp`` given to :func:`emit` (torch, dask: see :mod:`gcompile.namespace`).

Examples
--------
>>> sanitize("a\\nb" + chr(0))
"'a\\\\nb\\\\x00'"
"""
from __future__ import annotations

import functools
import keyword
import re

import numpy as np

from .lowering import CONST, F8, INPUT, OP

__all__ = ["emit", "Emitted", "sanitize", "MAX_FUSE_DEPTH"]

#: How deeply expressions may nest on one line (Python's parser has limits).
MAX_FUSE_DEPTH = 6
_OPERATOR_EXPR = re.compile(r"^[\s(){}0-9+\-*/%]*$")
_PLAIN_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_RESERVED = re.compile(r"^[vicf]\d+$")


class Emitted:
    """Generated code: ``lines`` of (code, comment), the ``namespace`` it runs in, ``params``."""

    def __init__(self, params, lines, namespace, n_values):
        self.params = params
        self.lines = lines
        self.namespace = namespace
        self.n_values = n_values

    def code(self, comments=True):
        """The text of the module: one function ``gcompiled``."""
        if not comments:
            return "\n".join(code for code, _ in self.lines) + "\n"
        return "\n".join(f"{code}  # {_note(note)}" if note else code
                         for code, note in self.lines) + "\n"


def _note(note):
    """The comment of a line: text, or ``(key, op, [(fused key, op), ...])`` written out."""
    if isinstance(note, str):
        return note
    key, op, fused = note
    text = f"{sanitize(key)}: {op}"
    if fused:
        text += " (fused " + ", ".join(f"{sanitize(k, 30)} {o}" for k, o in fused[:4]) \
            + (", ..." if len(fused) > 4 else "") + ")"
    return text


def sanitize(key, limit=60):
    """A one-line printable ``repr`` of a node key, safe inside a ``#`` comment."""
    try:
        text = repr(key)
    except Exception:  # noqa: BLE001 -- a key whose repr fails is still a key
        text = f"<{type(key).__name__}>"
    if len(text) > limit:
        text = text[:limit - 3] + "..."
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else
                   (f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}") for c in text)


class _Names:
    """Namespace names: constants, callables; never a node key or attribute text."""

    def __init__(self, xp=np):
        self.xp = xp
        if xp is np:
            self.ns = {"f64": np.float64, "copy": np.array}
        else:  # another library: its own 0-d arrays, its own copies, its own constants
            self.ns = {"f64": _same, "copy": functools.partial(_copy, xp)}
        self.by_key = {}
        self.n_consts = 0

    def bind(self, key, value, preferred):
        """The namespace name holding ``value`` (one per ``key``), close to ``preferred``."""
        name = self.by_key.get(key)
        if name is None:
            base = preferred if _plain(preferred) else "fn"
            name, k = base, 0
            while name in self.ns or not _plain(name):
                name, k = f"{base}_{k}", k + 1
            self.ns[name] = value
            self.by_key[key] = name
        return name

    def const(self, value, scalar):
        """The name of a constant (scalar contexts get float64 0-d values as Python floats)."""
        if type(value) is float or (scalar and np.shape(value) == ()
                                    and getattr(value, "dtype", None) == np.float64):
            value = float(value)
            key = ("float", value.hex())
        elif isinstance(value, np.generic):
            key = ("generic", value.dtype.str, value.tobytes())
        else:
            key = ("array", id(value))
        name = self.by_key.get(key)
        if name is None:
            name = self.by_key[key] = f"c{self.n_consts}"
            if self.xp is not np and isinstance(value, (np.ndarray, np.generic)):
                value = self.xp.asarray(value)
            self.ns[name] = value
            self.n_consts += 1
        return name


def _same(value):
    return value


def _copy(xp, value):
    return xp.asarray(value, copy=True)


def _plain(name):
    return bool(_PLAIN_NAME.match(name)) and not _RESERVED.match(name) \
        and not keyword.iskeyword(name)


def _impl(prog, i, names, cache):
    """How node ``i`` is computed: ``(template, scalar context)``, cached per op and context."""
    opdef, ids, params = prog.payload[i]
    flags = prog.scalar
    scalar = flags[ids[0]] if len(ids) == 1 else all([flags[j] for j in ids])
    if params:
        return _implement(prog, i, names, opdef, ids, params, scalar)
    key = (opdef.name, scalar)
    found = cache.get(key)
    if found is None:
        found = cache[key] = _implement(prog, i, names, opdef, ids, params, scalar)
    return found


def _implement(prog, i, names, opdef, ids, params, scalar):
    expr = opdef.expr
    if expr and not params and _OPERATOR_EXPR.match(expr):
        return expr, scalar
    if scalar and opdef.scalar is not None and not params:
        fn = names.bind(("fn", "scalar", opdef.name), opdef.scalar, opdef.name)
    else:
        key = ("fn", "forward", opdef.name) if not params else ("fn", "forward", i)
        fn = names.bind(key, functools.partial(opdef.forward, names.xp, **params), f"np_{opdef.name}")
    return fn + "(" + ", ".join("{%d}" % k for k in range(len(ids))) + ")", scalar


def _needed(prog, targets):
    keep = bytearray(len(prog.kinds))
    for t in targets:
        keep[t] = 1
    kinds, payload = prog.kinds, prog.payload
    for i in range(len(kinds) - 1, -1, -1):
        if keep[i] and kinds[i] == OP:
            for j in payload[i][1]:
                keep[j] = 1
    return keep


def emit(prog, targets, *, release=True, xp=np):
    """Write the function computing ``targets`` (output first, then gradients) of ``prog``.

    Array nodes call the registry forwards on the namespace ``xp``.
    """
    kinds, payload, shapes, dtypes = prog.kinds, prog.payload, prog.shapes, prog.dtypes
    prog.name_keys()  # the comments name the nodes
    keep = _needed(prog, targets)
    ops = [i for i in range(len(kinds)) if keep[i] and kinds[i] == OP]
    uses = {}
    consumer = {}
    for i in ops:
        for j in payload[i][1]:
            uses[j] = uses.get(j, 0) + 1
            consumer[j] = i
    for t in targets:
        uses[t] = uses.get(t, 0) + 2
    names = _Names(xp)
    cache = {}
    impl = {i: _impl(prog, i, names, cache) for i in ops}
    fused, depth, scalar_only = set(), {}, {}
    for k, i in enumerate(ops):
        d, only = 1, shapes[i] == ()
        for j in payload[i][1]:
            if j in fused:
                if depth[j] >= d:
                    d = depth[j] + 1
                only = only and scalar_only[j]
        depth[i], scalar_only[i] = d, only
        if uses.get(i) == 1 and d < MAX_FUSE_DEPTH and (
                only or (k + 1 < len(ops) and ops[k + 1] == consumer[i])):
            fused.add(i)
    var = {}
    lines = [("def gcompiled(" + ", ".join(f"i{k}" for k in range(len(prog.inputs))) + "):",
              "inputs: " + ", ".join(f"i{k} = {sanitize(v)}" for k, v in enumerate(prog.inputs)))]
    reads_of_line = []

    def text(j, scalar, reads, notes):
        kind = kinds[j]
        if kind == INPUT:
            # a 0-d float64 array reads as numpy's float64 scalar, as ops on it return;
            # other dtypes (float16, integer labels) keep their own
            return f"f64(i{payload[j]})" if shapes[j] == () and not scalar \
                and dtypes[j] == F8 else f"i{payload[j]}"
        if kind == CONST:
            return names.const(payload[j], scalar)
        if j in fused:
            notes.append((prog.keys[j], prog.op_names[j]))
            return render(j, reads, notes)
        reads.append(var[j])
        return var[j]

    def render(j, reads, notes):
        template, scalar = impl[j]
        return template.format(*[text(u, scalar, reads, notes) for u in payload[j][1]])

    for i in ops:
        if i in fused:
            continue
        reads, notes = [], []
        rhs = render(i, reads, notes)
        name = var[i] = f"v{len(var)}"
        lines.append((f"    {name} = {rhs}", (prog.keys[i], prog.op_names[i], tuple(notes))))
        reads_of_line.append((len(lines) - 1, reads))
    slots, seen = [], set()
    for t in targets:
        reads, notes = [], []
        value = text(t, True, reads, notes) if kinds[t] != OP else var[t]
        mutable = shapes[t] != () and (kinds[t] != OP or value in seen)
        slots.append(f"copy({value})" if mutable else value)
        seen.add(value)
    if release:
        _add_dels(lines, reads_of_line, set(var[t] for t in targets if kinds[t] == OP))
    out = f"{slots[0]}, ({', '.join(slots[1:])}{',' if len(slots) == 2 else ''})"
    lines.append((f"    return {out}", "value, gradients"))
    text = render = None  # their closures refer to each other: free prog now, not at a GC pass
    return Emitted(list(prog.inputs), lines, names.ns, len(var))


def _add_dels(lines, reads_of_line, keep):
    """Append ``del`` of each value to the line that reads it last."""
    last = {}
    for line, reads in reads_of_line:
        for name in reads:
            last[name] = line
    dels = {}
    for name, line in last.items():
        if name not in keep:
            dels.setdefault(line, []).append(name)
    for line, names in dels.items():
        code, note = lines[line]
        lines[line] = (f"{code}; del {', '.join(names)}", note)
