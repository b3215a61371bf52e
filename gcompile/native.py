"""The native backend: a scalar program run as an instruction tape by one numba kernel.

A lowered :class:`~gcompile.lowering.Program` whose every needed value is a
float64 scalar and whose every op is in :data:`OPCODES` becomes a *tape*:
numpy arrays of op codes and operand / result slots over one float64 slot
array (inputs, constants, then each op's result).  One kernel, compiled by
numba once and cached on disk (``cache=True``), walks any tape: no per-graph
compile, so building a tape costs one Python loop over the program.

The kernel evaluates each op with the C math library as Python's ``math``
does (numba's ``error_model="numpy"``): where the Python backend raises
(``log(-1)``, ``1/0``) and falls back to the interpreter, the tape gives the
interpreter's ``nan``/``inf`` directly.

numba is the optional extra ``gcompile[native]``; without it
``gc.compile(..., backend="native")`` raises a :class:`~gcompile.GraphError`
saying what to install and ``backend="auto"`` uses the Python source.

Examples
--------
The tape of the apple example's price and its gradient w.r.t. ``apple``
(building and listing a tape needs no numba; running it does):

>>> import gcompile as gc
>>> from gcompile.examples import apple
>>> from gcompile.autodiff import backward_records
>>> from gcompile.lowering import lower_records
>>> g, feeds = apple()
>>> records = backward_records(g, "price", ["apple"], feeds, "zero")
>>> prog = lower_records(g, records, "price", {k: ((), "f8") for k in feeds}, gc.plan(g))
>>> targets = [prog.alias["price"], prog.alias[records[3]["grads"]["apple"]]]
>>> print(build_tape(prog, targets, len(feeds)).listing())
# native tape: 3 instructions over 7 slots
s4 = mul(s1, s2)  # 'apple_price': mul
s5 = mul(s4, s3)  # 'price': mul
s6 = mul(s3, s2)  # 'dapple': mul
return s5, s6
<BLANKLINE>
"""
from __future__ import annotations

import importlib.util
import sys

import numpy as np

from .errors import GraphError
from .lowering import CONST, INPUT, OP

__all__ = ["OPCODES", "AUTO_MIN", "available", "require", "build_tape", "Tape"]

#: Op name -> op code of the kernel (binary ops read two slots, unary ops one).
OPCODES = {"add": 0, "sub": 1, "mul": 2, "div": 3, "neg": 4, "exp": 5, "log": 6, "sin": 7,
           "cos": 8, "tanh": 9, "sqrt": 10, "abs": 11, "pow": 12, "sigmoid": 13, "relu": 14,
           "step": 15, "sign": 16}
#: The tape's own instructions: a product folded into the sum reading it.
_CODES = {**OPCODES, "muladd": 17, "mulsub": 18, "submul": 19}

_KERNEL = []

#: ``backend="auto"`` runs tapes of at least this many instructions natively.  Below it
#: the Python source compiles in well under the ~0.4 s of importing numba and loading
#: its cached kernel once per process (W1 N=1,000: 3,200 instructions, 60 ms either way).
AUTO_MIN = 5000


def available():
    """Whether numba is installed (the ``native`` extra), found without importing it."""
    if "numba" in sys.modules:
        return sys.modules["numba"] is not None
    return importlib.util.find_spec("numba") is not None


def require():
    """Raise a GraphError naming the extra when numba is missing."""
    if not available():
        raise GraphError("backend='native' needs numba: pip install gcompile[native]")


def _kernel():
    """The one tape-walking kernel (numba-compiled on first use, cached on disk)."""
    if not _KERNEL:
        from ._native_kernel import run
        _KERNEL.append(run)
    return _KERNEL[0]


class Tape:
    """A program as arrays: op ``code`` and operand slots ``a``, ``b``, ``c``.

    Slot 0 receives arguments nothing reads; then come the inputs and the
    constants (``slots`` holds them and is reused by every call); instruction
    ``k`` writes slot ``base + k``.  ``inputs`` maps the function's argument
    positions to slots; ``targets`` are the slots of the value and the gradients.
    """

    def __init__(self, code, a, b, c, base, slots, inputs, targets, labels):
        self.code, self.a, self.b, self.c, self.base = code, a, b, c, base
        self.slots, self.inputs, self.targets = slots, inputs, targets
        self.labels = labels

    def __call__(self, *args):
        s = self.slots
        s[self.inputs] = args
        _kernel()(self.code, self.a, self.b, self.c, self.base, s)
        out = s[self.targets].tolist()
        return out[0], tuple(out[1:])

    def warm(self):
        """Load (or, the first time on this machine, compile) the kernel by running the tape once."""
        _kernel()(self.code, self.a, self.b, self.c, self.base, self.slots)

    def listing(self):
        """The tape as text: one instruction per line, ``s12 = mul(s3, s7)  # 'n8': mul``."""
        names = {v: k for k, v in _CODES.items()}
        lines = [f"# native tape: {len(self.code)} instructions over {len(self.slots)} slots"]
        for k in range(len(self.code)):
            name = names[int(self.code[k])]
            a, b, c = (f"s{self.a[k]}", f"s{self.b[k]}", f"s{self.c[k]}")
            text = _FORMS.get(name, name + "({a})").format(a=a, b=b, c=c)
            lines.append(f"s{self.base + k} = {text}  # {self.labels[k]}")
        lines.append("return " + ", ".join(f"s{t}" for t in self.targets))
        return "\n".join(lines) + "\n"


_BINARY = {"add", "sub", "mul", "div", "pow"}
_FORMS = {**{op: op + "({a}, {b})" for op in _BINARY},
          "muladd": "{a} * {b} + {c}", "mulsub": "{c} - {a} * {b}", "submul": "{a} * {b} - {c}"}


def build_tape(prog, targets, n_args):
    """The :class:`Tape` of ``prog`` computing ``targets``, or a reason string it cannot be.

    Applies when every value the targets need is a float64 scalar constant,
    input or op of :data:`OPCODES` without parameters.  A product read only
    by an ``add`` or a ``sub`` is folded into it (``muladd``, ``mulsub``,
    ``submul``: the product rounded, then the sum, as two instructions would).
    """
    from .emit import _needed

    keep = _needed(prog, targets)
    kinds, payload, scalar = prog.kinds, prog.payload, prog.scalar
    n = len(kinds)
    slot = [0] * n
    leaves, ops = [], []
    uses = [0] * n
    for t in targets:
        uses[t] += 2  # a target is never folded away
    for i in range(n):
        if not keep[i]:
            continue
        if not scalar[i]:
            return f"node {prog.keys[i]!r} is not a float64 scalar"
        if kinds[i] == OP:
            opdef, ids, params = payload[i]
            if opdef.name not in OPCODES or params:
                return f"op {opdef.name!r} (node {prog.keys[i]!r}) has no native code"
            ops.append(i)
            for j in ids:
                uses[j] += 1
        else:
            leaves.append(i)
    slots = np.zeros(1 + len(leaves))
    inputs = np.zeros(n_args, dtype=np.int64)
    for k, i in enumerate(leaves, start=1):
        slot[i] = k
        if kinds[i] == INPUT:
            inputs[payload[i]] = k
        else:
            slots[k] = float(payload[i])
    folded = _fold_products(ops, payload, uses)
    base = len(slots)
    code, a, b, c, labels = [], [], [], [], []
    for i in ops:
        if i in folded:
            continue
        opdef, ids, _ = payload[i]
        name, x, y, z = opdef.name, ids[0], ids[-1], ids[0]
        fold = folded.get(("into", i))
        if fold is not None:
            name, (x, y), z = fold[0], payload[fold[1]][1], fold[2]
        slot[i] = base + len(code)
        code.append(_CODES[name])
        a.append(slot[x])
        b.append(slot[y])
        c.append(slot[z])
        labels.append(f"{prog.keys[i]!r}: {opdef.name}" +
                      (f" (fused {prog.keys[fold[1]]!r} mul)" if fold else ""))
    slots = np.concatenate([slots, np.zeros(len(code))])
    as_ints = lambda xs: np.asarray(xs, dtype=np.int64)  # noqa: E731
    return Tape(np.asarray(code, dtype=np.int32), as_ints(a), as_ints(b), as_ints(c), base,
                slots, inputs, as_ints([slot[t] for t in targets]), labels)


def _fold_products(ops, payload, uses):
    """``{mul id: True, ("into", add/sub id): (fused op, mul id, other operand)}``."""
    out = {}
    for i in ops:
        opdef, ids, _ = payload[i]
        if opdef.name not in ("add", "sub") or ids[0] == ids[1]:
            continue
        for pos, j in enumerate(ids):
            made = payload[j]
            if uses[j] != 1 or j in out or type(made) is not tuple or made[0].name != "mul":
                continue
            other = ids[1 - pos]
            name = "muladd" if opdef.name == "add" else ("submul" if pos == 0 else "mulsub")
            out[j] = True
            out[("into", i)] = (name, j, other)
            break
    return out
