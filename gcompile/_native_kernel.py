"""The numba kernel of :mod:`gcompile.native` (imported only when numba is installed).

``run(code, a, b, c, base, s)`` executes the tape: for each instruction ``k``,
``s[base + k] = op_code[k](s[a[k]], s[b[k]], s[c[k]])``.  The op codes are
:data:`gcompile.native.OPCODES`.
"""
from __future__ import annotations

import math

try:
    import numba
except ImportError:  # the optional extra: gcompile.native says what to install
    numba = None


def _run(code, a, b, c3, base, s):
    for k in range(code.shape[0]):
        c = code[k]
        x = s[a[k]]
        if c == 0:
            r = x + s[b[k]]
        elif c == 1:
            r = x - s[b[k]]
        elif c == 2:
            r = x * s[b[k]]
        elif c == 17:
            r = x * s[b[k]] + s[c3[k]]
        elif c == 18:
            r = s[c3[k]] - x * s[b[k]]
        elif c == 19:
            r = x * s[b[k]] - s[c3[k]]
        elif c == 3:
            r = x / s[b[k]]
        elif c == 4:
            r = -x
        elif c == 5:
            r = math.exp(x)
        elif c == 6:
            r = math.log(x) if x > 0.0 else (-math.inf if x == 0.0 else math.nan)
        elif c == 7:
            r = math.sin(x)
        elif c == 8:
            r = math.cos(x)
        elif c == 9:
            r = math.tanh(x)
        elif c == 10:
            r = math.sqrt(x) if x >= 0.0 else math.nan
        elif c == 11:
            r = abs(x)
        elif c == 12:
            r = x ** s[b[k]]
        elif c == 13:
            r = 1.0 / (1.0 + math.exp(-x))
        elif c == 14:
            r = x if x > 0.0 else 0.0
        elif c == 15:
            r = 1.0 if x > 0.0 else 0.0
        elif c == 16:
            r = 1.0 if x > 0.0 else (-1.0 if x < 0.0 else (0.0 if x == 0.0 else x))
        else:
            r = math.nan
        s[base + k] = r


run = None if numba is None else numba.njit(cache=True, error_model="numpy")(_run)
