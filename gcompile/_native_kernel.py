"""The numba code of :mod:`gcompile.native`: the tape's builder passes and its kernel.

Every function here is plain Python compiled by numba (``cache=True``, no
``fastmath``: each operation rounds as Python's float operations do) when
numba is installed, and runs as Python otherwise (slowly: only a tape's
listing is built without numba).

``run(runs, ops, base, s)`` executes a tape: run ``r`` is ``runs[2r]`` (an op
code of :data:`gcompile.native.CODES`, or ``LIN`` for the arithmetic ones)
applied to the instructions up to ``runs[2r + 1]``; instruction ``k`` reads
the next 3 (``LIN``), 2 (``div``, ``pow``) or 1 slot numbers of ``ops`` and
writes ``s[base + k]``.  A ``LIN`` instruction ``a, b, c`` computes
``a * ±b + ±c``, or ``a * (c - b * b) + -0.0`` (``mulsq``: adding ``-0.0`` is
exact) when its first word has the bit ``SQFORM``: both are computed and one
is selected, without a branch per instruction.  ``TRANS`` runs ``tanh``,
``sin``, ``cos`` or ``exp`` by the form in bits 28 and 29 of its one word
(0 to 3; the scheduler sorts each wave of independent ops by form, so the
branch changes rarely); a ``sin`` with the bit ``PAIR`` also computes the
``cos`` of its operand, which the next instruction (a ``cos`` with ``PAIR``)
stores: the two libm calls side by side, which the CPU overlaps (glibc's ``sincos``
measured no faster here, and gives the same bits).
"""
from __future__ import annotations

import math

import numpy as np

try:
    import numba
except ImportError:  # the optional extra: gcompile.native says what to install
    numba = None

# op codes (gcompile.native.CODES names them); LIN: the arithmetic ones as one code
ADD, SUB, MUL, DIV, NEG, POW = 0, 1, 2, 3, 4, 12
MULADD, MULSUB, SUBMUL, NMUL, MULSQ, LIN = 17, 18, 19, 20, 21, 22
TRANS = 23  # tanh, sin, cos, exp as one code: the form in bits 28, 29
N_CODES = 24
SIN, COS = 7, 8
#: The bit of a TRANS word marking a sin and the cos of the same slot right after it.
PAIR = 1 << 30
#: The sign bit of an operand slot of LIN: the operand negated.
NEGBIT = -(1 << 31)
#: The bit of a LIN instruction's first word marking ``mulsq`` (a slot is below ``MAXSLOT``).
SQFORM = 1 << 30
MAXSLOT = 1 << 28
_SLOT = (1 << 31) - 1
_SIGN = np.array([1.0, -1.0])  # the factor of an operand by its sign bit


def _run(runs, ops, base, s):
    k = 0
    p = 0  # the first operand of instruction k: LIN reads 3, div and pow 2, others 1
    for r in range(runs.shape[0] // 2):
        c = runs[2 * r]
        end = runs[2 * r + 1]
        if c == LIN:  # a * ±b + ±c: the factors ±1, 1.0 and the term -0.0 are exact
            for k in range(k, end):
                w = ops[p]
                b = ops[p + 1]
                e = ops[p + 2]
                y = s[b & _SLOT] * _SIGN[(b >> 31) & 1]
                z = s[e & _SLOT] * _SIGN[(e >> 31) & 1]
                t = z - y * y
                sq = (w & SQFORM) != 0  # mulsq: a * (c - b * b) + -0.0
                y = t if sq else y
                z = -0.0 if sq else z
                s[base + k] = s[w & (MAXSLOT - 1)] * y + z
                p += 3
        elif c == TRANS:
            cos = 0.0  # of a paired sin, for the cos after it
            for k in range(k, end):
                w = ops[p]
                x = s[w & (MAXSLOT - 1)]
                f = (w >> 28) & 3
                if f == 0:
                    y = math.tanh(x)
                elif f == 1:
                    y = math.sin(x)
                    if w & PAIR:
                        cos = math.cos(x)
                elif f == 2:
                    y = cos if w & PAIR else math.cos(x)
                else:
                    y = math.exp(x)
                s[base + k] = y
                p += 1
        elif c == DIV or c == POW:
            for k in range(k, end):
                s[base + k] = s[ops[p]] / s[ops[p + 1]] if c == DIV else s[ops[p]] ** s[ops[p + 1]]
                p += 2
        else:
            for k in range(k, end):
                s[base + k] = _rare(c, s[ops[p]])
                p += 1
        k = end


def _rare(c, x):
    if c == 6:
        return math.log(x) if x > 0.0 else (-math.inf if x == 0.0 else math.nan)
    if c == 10:
        return math.sqrt(x) if x >= 0.0 else math.nan
    if c == 11:
        return abs(x)
    if c == 13:
        return 1.0 / (1.0 + math.exp(-x))
    if c == 14:
        return x if x > 0.0 else 0.0
    if c == 15:
        return 1.0 if x > 0.0 else 0.0
    if c == 16:
        return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else (0.0 if x == 0.0 else x))
    return math.nan


if numba is not None:
    _rare = numba.njit(cache=True, error_model="numpy", inline="always")(_rare)
    run = numba.njit(cache=True, error_model="numpy")(_run)
else:
    run = None
