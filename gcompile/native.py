"""The native backend: a scalar program run as an instruction tape by one numba kernel.

A lowered :class:`~gcompile.lowering.Program` whose every needed value is a
float64 scalar and whose every op is in :data:`OPCODES` becomes a *tape*: a
packed int32 array of operand slots and a list of *runs* (an op code and
how many instructions of it follow) over one float64 slot array (arguments,
constants, then each instruction's result).  One kernel, compiled by numba
once and cached on disk (``cache=True``), walks any tape: no per-graph
compile.  The tape is built by numba passes (:mod:`gcompile._native_plan`):
equal ops merged, ``neg`` and products read once folded into the
instruction reading them, every arithmetic instruction one branch-free
code ``a * ±b + ±c``, and a list scheduler that runs ready
instructions of one code back to back, so the kernel's dispatch branch is
taken once per run, not once per instruction (W1 N=10,000: 21,112
instructions in about 1,650 runs).

The kernel evaluates each op with the C math library as Python's ``math``
does (numba's ``error_model="numpy"``, no ``fastmath``, so no FMA
contraction): results equal the Python backend's bit for bit, the sign of a
``nan`` aside (``x - y`` runs as ``x * 1 + y * -1``, ``x * y`` as
``x * y + -0.0``: each extra factor and term is exact; a negation may land
on the other operand, which flips a ``nan``'s sign only).  Where the Python
backend raises (``log(-1)``, ``1/0``) and falls back to the interpreter, the
tape gives the interpreter's ``nan``/``inf`` directly.

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
# native tape: 3 instructions over 9 slots
# arguments: s1..s3
# constants: s4 = 1.0, s5 = -0.0
s6 = mul(s1, s2)  # 'apple_price': mul
s7 = mul(s3, s2)  # 'dapple': mul
s8 = mul(s6, s3)  # 'price': mul
return s8, s7
<BLANKLINE>
"""
from __future__ import annotations

import importlib.util
import sys
from itertools import chain, repeat
from operator import itemgetter

import numpy as np

from .errors import GraphError
from .lowering import INPUT, OP

__all__ = ["OPCODES", "CODES", "AUTO_MIN", "available", "require", "build_tape", "Tape"]

#: Op name -> op code of the kernel (binary ops read two slots, unary ops one).
OPCODES = {"add": 0, "sub": 1, "mul": 2, "div": 3, "neg": 4, "exp": 5, "log": 6, "sin": 7,
           "cos": 8, "tanh": 9, "sqrt": 10, "abs": 11, "pow": 12, "sigmoid": 13, "relu": 14,
           "step": 15, "sign": 16}
#: The tape's own instructions: ops folded into the instruction reading them.
CODES = {**OPCODES, "muladd": 17, "mulsub": 18, "submul": 19, "nmul": 20, "mulsq": 21}

_KERNEL = []

#: ``backend="auto"`` runs tapes of at least this many instructions natively.  Below it
#: the Python source compiles in well under the ~0.4 s of importing numba and loading
#: its cached kernel once per process (W1 N=1,000: 2,100 instructions once equal ops are
#: merged and products folded, 60 ms either way; the threshold is W1 N=1,500).
AUTO_MIN = 3300


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
    """A program as arrays, run by :func:`gcompile._native_kernel.run`.

    Slot 0 receives arguments nothing reads; slots ``1..n_args`` the
    function's arguments in order, then come the constants (``slots`` holds
    them and is reused by every call); instruction ``k`` writes slot
    ``base + k`` and reads the next 3 (arithmetic), 2 (``div``, ``pow``) or
    1 slot numbers packed in ``ops``.  ``runs`` pairs an op code with the end
    of the run of instructions of that code.
    ``targets`` are the slots of the value and the gradients.
    """

    def __init__(self, runs, ops, base, slots, n_args, targets, orig, fine, folded, prog):
        self.runs, self.ops, self.base, self.slots = runs, ops, base, slots
        self.targets, self.orig, self.folded = targets, orig, folded
        # the listing's labels: keys and op names only (the program's op tuples, kept, would
        # cost the garbage collector a scan of each)
        self._names = prog.keys, prog.op_names, prog.namer
        self.fine = fine
        self._end = 1 + n_args
        self.n = len(orig)

    def __call__(self, *args):
        s = self.slots
        s[1:self._end] = args
        _kernel()(self.runs, self.ops, self.base, s)
        out = s[self.targets].tolist()
        return out[0], tuple(out[1:])

    def __len__(self):
        return self.n

    @property
    def code(self):
        """The op code of each instruction (:data:`CODES`)."""
        return self.fine

    def warm(self):
        """Load (or, the first time on this machine, compile) the kernel by running the tape once."""
        _kernel()(self.runs, self.ops, self.base, self.slots)

    def listing(self):
        """The tape as text: one instruction per line, ``s12 = mul(s3, s7)  # 'n8': mul``."""
        names = {v: k for k, v in CODES.items()}
        keys, op_names, namer = self._names
        if namer is not None:  # the keys of backward nodes are named now (gcompile.lowering)
            namer()
        label = lambda i: f"{keys[i]!r}: {op_names[i]}"  # noqa: E731
        lines = [f"# native tape: {self.n} instructions over {len(self.slots)} slots"]
        if self._end > 1:
            last = "" if self._end == 2 else f"..s{self._end - 1}"
            lines.append(f"# arguments: s1{last}")
        consts = self.slots[self._end:self.base].tolist()
        lines.append("# constants: " + ", ".join(f"s{self._end + k} = {v!r}"
                                                 for k, v in enumerate(consts)))
        ops = (self.ops & _SLOT).tolist() + [0, 0, 0]
        at = 0
        for k, code in enumerate(self.fine.tolist()):
            name = names[code]
            a, b, c = (f"s{ops[at + p]}" for p in _PLACES.get(name, (0, 1, 2)))
            at += 2 if name in ("div", "pow") else (3 if name in _LIN else 1)
            fused = [label(j) for j in self.folded[k].tolist() if j >= 0]
            note = f" (fused {', '.join(fused)})" if fused else ""
            lines.append(f"s{self.base + k} = {_FORMS[name].format(a=a, b=b, c=c)}  "
                         f"# {label(int(self.orig[k]))}{note}")
        lines.append("return " + ", ".join(f"s{t}" for t in self.targets.tolist()))
        return "\n".join(lines) + "\n"


_BINARY = {"add", "sub", "mul", "div", "pow"}
_FORMS = {**{op: op + "({a}, {b})" for op in _BINARY},
          **{op: op + "({a})" for op in OPCODES if op not in _BINARY},
          "muladd": "{a} * {b} + {c}", "mulsub": "{c} - {a} * {b}", "submul": "{a} * {b} - {c}",
          "nmul": "-({a} * {b})", "mulsq": "{a} * ({c} - {b} * {b})"}
_LIN = {"add", "sub", "mul", "neg", "muladd", "mulsub", "submul", "nmul", "mulsq"}
#: Where the operands of a listing's form sit among an instruction's three (LIN's layout).
_PLACES = {"add": (0, 2, 2), "sub": (0, 2, 2)}


def build_tape(prog, targets, n_args):
    """The :class:`Tape` of ``prog`` computing ``targets``, or a reason string it cannot be.

    Applies when every value the targets need is a float64 scalar constant,
    input or op of :data:`OPCODES` without parameters.  The passes of
    :func:`gcompile._native_plan.plan` then merge equal ops, fold a ``neg``
    into the ``mul``, ``add`` or ``sub`` reading it and a product read once
    into the sum (``muladd``, ``mulsub``, ``submul``) or the ``mul`` by
    ``c - a*a`` (``mulsq``) reading it: each folded form rounds where the
    ops it replaces round (a negation is exact), so results stay bit for bit
    those of the Python source (the sign of a nan aside).  Instructions of one
    op code are scheduled back to back where their operands allow.
    """
    from . import _native_kernel
    from ._native_plan import plan

    kinds, payload = prog.kinds, prog.payload
    n = len(kinds)
    is_op = np.fromiter(map(OP.__eq__, kinds), np.bool_, n)
    opi = np.flatnonzero(is_op)
    code = np.fromiter(map(OPCODES.get, prog.op_names, repeat(-1)), np.int32, n)
    nargs = np.zeros(n, np.int64)
    start = np.zeros(n, np.int64)
    flat = np.zeros(0, np.int64)
    if len(opi):
        made = list(map(payload.__getitem__, opi.tolist()))
        if any(map(_THIRD, made)):  # ops with parameters have no native code
            code[opi[np.fromiter(map(bool, map(_THIRD, made)), np.bool_, len(made))]] = -1
        codes = code[opi]
        lens = _ARITY[codes]
        odd = np.flatnonzero(codes < 0)  # not native: their own arity
        lens[odd] = [len(made[k][1]) for k in odd.tolist()]
        flat = np.fromiter(chain.from_iterable(map(_SECOND, made)), np.int64, int(lens.sum()))
        nargs[opi] = lens
        start[opi] = np.cumsum(lens) - lens
    scalar = np.fromiter(prog.scalar, np.bool_, n)
    leafslot = np.zeros(n, np.int64)
    values = [0.0] * (1 + n_args) + [1.0, -0.0]  # LIN's exact factor and term
    known = {(1.0).hex(): n_args + 1, (-0.0).hex(): n_args + 2}  # equal constants: one slot
    leaves = np.flatnonzero(~is_op).tolist()
    where = []
    for i in leaves:
        if kinds[i] == INPUT:
            where.append(1 + payload[i])
            continue
        value = float(payload[i]) if scalar[i] else 0.0
        k = known.setdefault(value.hex(), len(values))
        if k == len(values):
            values.append(value)
        where.append(k)
    leafslot[leaves] = where
    if len(values) + len(opi) >= _native_kernel.MAXSLOT:  # the bits above a slot mark forms
        return f"{len(values) + len(opi)} values are too many for a tape's slot numbers"
    targets = np.asarray(targets, dtype=np.int64)
    why, i, runs, ops, tslots, orig, fine, folded = plan(
        is_op, code, scalar, nargs, start, flat, targets, leafslot, len(values), n_args + 1,
        n_args + 2)
    if why == 1:
        return f"node {prog.name_keys()[i]!r} is not a float64 scalar"
    if why == 2:
        return f"op {payload[i][0].name!r} (node {prog.name_keys()[i]!r}) has no native code"
    slots = np.zeros(len(values) + len(orig))
    slots[:len(values)] = values
    return Tape(runs, ops, len(values), slots, n_args, tslots, orig, fine, folded, prog)


_ARITY = np.array([2 if name in _BINARY else 1 for name in OPCODES] + [0], dtype=np.int64)
_SLOT = (1 << 28) - 1  # an operand's slot without its sign and form bits (_native_kernel)
_SECOND, _THIRD = itemgetter(1), itemgetter(2)
