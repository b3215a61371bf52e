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
# native tape: 3 instructions over 8 slots
s2 = mul(s0, s1)  # 'apple_price': mul
s4 = mul(s2, s3)  # 'price': mul
s6 = mul(s3, s1)  # 'dapple': mul
return s4, s6
<BLANKLINE>
"""
from __future__ import annotations

import numpy as np

from .errors import GraphError
from .lowering import CONST, INPUT, OP

__all__ = ["OPCODES", "available", "require", "build_tape", "Tape"]

#: Op name -> op code of the kernel (binary ops read two slots, unary ops one).
OPCODES = {"add": 0, "sub": 1, "mul": 2, "div": 3, "neg": 4, "exp": 5, "log": 6, "sin": 7,
           "cos": 8, "tanh": 9, "sqrt": 10, "abs": 11, "pow": 12, "sigmoid": 13, "relu": 14,
           "step": 15, "sign": 16}

_KERNEL = []


def available():
    """Whether numba can be imported (the ``native`` extra is installed)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


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
    """A program as arrays: ``code``, operand slots ``a``/``b``, result slot ``dst``.

    ``slots`` holds the constants (and is reused by every call); ``inputs``
    maps the function's argument positions to slots; ``targets`` are the
    slots of the value and the gradients.
    """

    def __init__(self, code, a, b, dst, slots, inputs, targets, labels):
        self.code, self.a, self.b, self.dst = code, a, b, dst
        self.slots, self.inputs, self.targets = slots, inputs, targets
        self.labels = labels

    def __call__(self, *args):
        s = self.slots
        s[self.inputs] = args
        _kernel()(self.code, self.a, self.b, self.dst, s)
        out = s[self.targets].tolist()
        return out[0], tuple(out[1:])

    def warm(self):
        """Load (or, the first time on this machine, compile) the kernel by running the tape once."""
        _kernel()(self.code, self.a, self.b, self.dst, self.slots)

    def listing(self):
        """The tape as text: one instruction per line, ``s12 = mul(s3, s7)  # 'n8': mul``."""
        names = {v: k for k, v in OPCODES.items()}
        lines = [f"# native tape: {len(self.code)} instructions over {len(self.slots)} slots"]
        for k in range(len(self.code)):
            name = names[int(self.code[k])]
            args = f"s{self.a[k]}" if name not in _BINARY else f"s{self.a[k]}, s{self.b[k]}"
            lines.append(f"s{self.dst[k]} = {name}({args})  # {self.labels[k]}")
        lines.append("return " + ", ".join(f"s{t}" for t in self.targets))
        return "\n".join(lines) + "\n"


_BINARY = {"add", "sub", "mul", "div", "pow"}


def build_tape(prog, targets, n_args):
    """The :class:`Tape` of ``prog`` computing ``targets``, or a reason string it cannot be.

    Applies when every value the targets need is a float64 scalar constant,
    input or op of :data:`OPCODES` without parameters.
    """
    from .emit import _needed

    keep = _needed(prog, targets)
    kinds, payload, scalar = prog.kinds, prog.payload, prog.scalar
    n = len(kinds)
    slots = np.zeros(n + 1)  # the last slot receives arguments nothing reads
    inputs = np.full(n_args, n, dtype=np.int64)
    code, a, b, dst, labels = [], [], [], [], []
    for i in range(n):
        if not keep[i]:
            continue
        if not scalar[i]:
            return f"node {prog.keys[i]!r} is not a float64 scalar"
        kind = kinds[i]
        if kind == INPUT:
            inputs[payload[i]] = i
        elif kind == CONST:
            slots[i] = float(payload[i])
        else:
            opdef, ids, params = payload[i]
            op = OPCODES.get(opdef.name)
            if op is None or params:
                return f"op {opdef.name!r} (node {prog.keys[i]!r}) has no native code"
            code.append(op)
            a.append(ids[0])
            b.append(ids[-1])
            dst.append(i)
            labels.append(f"{prog.keys[i]!r}: {opdef.name}")
    assert all(kinds[t] in (INPUT, CONST, OP) for t in targets)
    as_ints = lambda xs: np.asarray(xs, dtype=np.int64)  # noqa: E731
    return Tape(np.asarray(code, dtype=np.int32), as_ints(a), as_ints(b), as_ints(dst), slots,
                inputs, as_ints(targets), labels)
