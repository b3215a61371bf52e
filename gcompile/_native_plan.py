"""The passes building a tape of :mod:`gcompile.native`, compiled by numba when installed.

:func:`plan` takes the program as flat arrays (one entry per program id) and
returns the tape: which ops are needed, common subexpressions merged, ``neg``
and products folded into the instruction reading them, the instructions
scheduled so that ops of one code run back to back, and every operand as a
slot number.  Without numba the same functions run as Python (only listings
are built without numba; they are slow on big programs).
"""
from __future__ import annotations

import numpy as np

from ._native_kernel import (ADD, COS, DIV, LIN, MUL, MULADD, MULSQ, MULSUB, N_CODES, NEG,
                             NEGBIT, NMUL, PAIR, SIN, SQFORM, TRANS, POW, SUB, SUBMUL)

try:
    import numba
except ImportError:
    numba = None


def _plan(is_op, code, scalar, nargs, start, flat, targets, leafslot, base, one, nzero):
    n = is_op.shape[0]
    keep = np.zeros(n, np.uint8)
    for t in targets:
        keep[t] = 1
    for i in range(n - 1, -1, -1):
        if keep[i] and is_op[i]:
            for j in range(start[i], start[i] + nargs[i]):
                keep[flat[j]] = 1
    for i in range(n):
        if keep[i] and not scalar[i]:
            return _failed(1, i)
        if keep[i] and is_op[i] and code[i] < 0:
            return _failed(2, i)
    op = np.full(n, -1, np.int32)
    x = np.full(n, -1, np.int64)
    y = np.full(n, -1, np.int64)
    z = np.full(n, -1, np.int64)
    canon = np.arange(n)
    size = 16
    while size < 2 * n:
        size *= 2
    table = np.full(size, -1, np.int64)
    for i in range(n):  # merge ops of the same code on the same operands (pure: bit-equal)
        if not (keep[i] and is_op[i]):
            continue
        a = canon[flat[start[i]]]
        b = canon[flat[start[i] + 1]] if nargs[i] == 2 else -1
        h = ((np.int64(code[i]) * 1000003 + a) * 1000003 + b) & (size - 1)
        while table[h] >= 0:
            j = table[h]
            if op[j] == code[i] and x[j] == a and y[j] == b:
                canon[i] = j
                break
            h = (h + 1) & (size - 1)
        if canon[i] == i:
            table[h] = i
            op[i], x[i], y[i] = code[i], a, b
    uses = np.zeros(n, np.int64)
    for i in range(n):
        if op[i] >= 0:
            uses[x[i]] += 1
            if y[i] >= 0:
                uses[y[i]] += 1
    for t in targets:
        uses[canon[t]] += 2  # a target is never folded away
    fused = np.full((n, 2), -1, np.int64)
    for i in range(n):
        c = op[i]
        if c == MUL:  # (-p) * q = -(p * q): exact
            flip = 0
            if op[x[i]] == NEG:
                x[i] = _bypass(x[i], x, uses, fused, i)
                flip ^= 1
            if op[y[i]] == NEG:
                y[i] = _bypass(y[i], x, uses, fused, i)
                flip ^= 1
            op[i] = NMUL if flip else MUL
        elif c == ADD:  # a + (-p) = a - p
            if op[y[i]] == NEG:
                y[i] = _bypass(y[i], x, uses, fused, i)
                op[i] = SUB
            elif op[x[i]] == NEG:
                x[i], y[i] = y[i], _bypass(x[i], x, uses, fused, i)
                op[i] = SUB
        elif c == SUB and op[y[i]] == NEG:  # a - (-p) = a + p
            y[i] = _bypass(y[i], x, uses, fused, i)
            op[i] = ADD
        c = op[i]
        if (c == ADD or c == SUB) and x[i] != y[i]:  # a product read once: one instruction
            for pos in range(2):
                j = x[i] if pos == 0 else y[i]
                other = y[i] if pos == 0 else x[i]
                p = op[j]
                if uses[j] != 1 or (p != MUL and p != NMUL) or (c == SUB and pos == 0 and p == NMUL):
                    continue
                if c == ADD:
                    op[i] = MULADD if p == MUL else MULSUB
                elif pos == 0:
                    op[i] = SUBMUL
                else:
                    op[i] = MULSUB if p == MUL else MULADD
                x[i], y[i], z[i] = x[j], y[j], other
                uses[j] = 0
                _note(fused, i, j)
                break
        elif c == MUL:  # q * (c - a * a): the derivative of tanh, 1 - y*y, and the like
            for pos in range(2):
                j = x[i] if pos == 1 else y[i]
                if op[j] == MULSUB and uses[j] == 1 and x[j] == y[j] and x[i] != y[i]:
                    q = y[i] if pos == 1 else x[i]
                    x[i], y[i], z[i] = q, x[j], z[j]
                    op[i] = MULSQ
                    uses[j] = 0
                    _note(fused, i, j)
                    break
    return _schedule(n, op, x, y, z, canon, targets, leafslot, base, fused, one, nzero)


def _bypass(j, x, uses, fused, i):
    """Read the operand ``p`` of ``neg`` ``j`` instead of ``j``; return ``p``."""
    p = x[j]
    uses[j] -= 1
    if uses[j] > 0:
        uses[p] += 1
    _note(fused, i, j)
    return p


def _note(fused, i, j):
    if fused[i, 0] < 0:
        fused[i, 0] = j
    elif fused[i, 1] < 0:
        fused[i, 1] = j


#: Ops are scheduled within windows of this many ops in program order (locality).
WINDOW = 1 << 14


def _schedule(n, op, x, y, z, canon, targets, leafslot, base, fused, one, nzero):
    """Order the live ops so that ops of one code follow each other (list scheduling that
    runs every ready op of the code with the most ready ops, then the next, within windows
    of ``WINDOW`` ops in program order), number slots.

    The arithmetic codes but ``mulsq`` are one class, ``LIN``: ``a * ±b + ±c``,
    ± the sign bit ``NEGBIT`` of the slot number, ``one`` and ``nzero`` the
    slots of ``1.0`` and ``-0.0`` (an exact factor and term).
    """
    cls = np.arange(N_CODES)
    for c in (ADD, SUB, MUL, NEG, MULADD, MULSUB, SUBMUL, NMUL, MULSQ):
        cls[c] = LIN
    tform = np.full(N_CODES, -1, np.int64)  # TRANS: tanh, sin, cos, exp
    for f, c in enumerate((9, 7, 8, 5)):
        cls[c] = TRANS
        tform[c] = f
    alive = np.zeros(n, np.uint8)
    for t in targets:
        alive[canon[t]] = 1
    m = 0
    for i in range(n - 1, -1, -1):
        if alive[i] and op[i] >= 0:
            m += 1
            alive[x[i]] = 1
            if y[i] >= 0:
                alive[y[i]] = 1
            if z[i] >= 0:
                alive[z[i]] = 1
    ids = np.empty(m, np.int64)
    pos = np.full(n, -1, np.int64)
    count = np.zeros(N_CODES + 1, np.int64)
    k = 0
    for i in range(n):
        if alive[i] and op[i] >= 0:
            ids[k] = i
            pos[i] = k
            count[cls[op[i]] + 1] += 1
            k += 1
    head = np.cumsum(count)[:N_CODES]  # queue of each code: qbuf[head[c]:tail[c]]
    tail = head.copy()
    indeg = np.zeros(m, np.int64)
    cstart = np.zeros(m + 1, np.int64)
    for k in range(m):
        i = ids[k]
        for v in (x[i], y[i], z[i]):
            if v >= 0 and pos[v] >= 0:
                indeg[k] += 1
                cstart[pos[v] + 1] += 1
    cstart = np.cumsum(cstart)
    cfill = cstart[:m].copy()
    consumers = np.empty(cstart[m], np.int64)
    qbuf = np.empty(m, np.int64)
    for k in range(m):
        i = ids[k]
        for v in (x[i], y[i], z[i]):
            if v >= 0 and pos[v] >= 0:
                consumers[cfill[pos[v]]] = k
                cfill[pos[v]] += 1
    # sin(a) and cos(a) run as a pair, the cos right after the sin (the kernel computes both)
    # (the cos waits for its sin: one more dependency, released when the sin runs)
    partner = np.full(m, -1, np.int64)
    paired = np.zeros(m, np.uint8)
    sin_of = np.full(n, -1, np.int64)  # operand -> the sin reading it (one: equal ops merged)
    for k in range(m):
        if op[ids[k]] == SIN:
            sin_of[x[ids[k]]] = k
    for k in range(m):
        i = ids[k]
        j = sin_of[x[i]] if op[i] == COS else -1
        if j >= 0 and j // WINDOW <= k // WINDOW:  # the sin's window is open when the cos's is
            partner[j] = k
            paired[k] = paired[j] = 1
            indeg[k] += 1
    limit = 0
    order = np.empty(m, np.int64)
    runs = np.empty(2 * m, np.int32)
    done = 0
    inside = 0  # ops run of those below limit (a paired cos may run before its window)
    ran = np.zeros(m, np.uint8)
    nruns = 0
    while done < m:
        while inside == limit and limit < m:  # the window's ops all ran: the next window's
            for k in range(limit, min(m, limit + WINDOW)):  # ready ops
                if ran[k]:
                    inside += 1
                elif indeg[k] == 0:
                    c = cls[op[ids[k]]]
                    qbuf[tail[c]] = k
                    tail[c] += 1
            limit = min(m, limit + WINDOW)
        best = 0
        for c in range(N_CODES):
            if tail[c] - head[c] > tail[best] - head[best]:
                best = c
        forms = 4 if best == TRANS else 1
        while head[best] < tail[best]:  # a wave: the ready ops (independent), by form
            w0, w1 = head[best], tail[best]
            for f in range(forms):
                for q in range(w0, w1):
                    k = qbuf[q]
                    if forms > 1 and tform[op[ids[k]]] != f:
                        continue
                    while k >= 0:  # the op, then the cos paired with it
                        order[done] = k
                        done += 1
                        ran[k] = 1
                        if k < limit:
                            inside += 1
                        for e in range(cstart[k], cstart[k + 1]):
                            u = consumers[e]
                            indeg[u] -= 1
                            if indeg[u] == 0 and u < limit:
                                c = cls[op[ids[u]]]
                                qbuf[tail[c]] = u
                                tail[c] += 1
                        k = partner[k]
            head[best] = w1
        if nruns == 0 or runs[2 * nruns - 1] < done:
            runs[2 * nruns] = best
            runs[2 * nruns + 1] = done
            nruns += 1
    slot = leafslot.copy()
    for j in range(m):
        slot[ids[order[j]]] = base + j
    width = np.ones(N_CODES, np.int64)  # operands per instruction: LIN, mulsq 3, div/pow 2
    width[DIV] = width[POW] = 2
    for c in range(N_CODES):
        if cls[c] == LIN:
            width[c] = 3
    size = 0
    for k in range(m):
        size += width[op[ids[k]]]
    ops = np.empty(size, np.int32)
    orig = np.empty(m, np.int64)
    fine = np.empty(m, np.int8)
    folded = np.empty((m, 2), np.int64)
    p = 0
    for j in range(m):
        i = ids[order[j]]
        orig[j] = i
        fine[j] = op[i]
        folded[j] = fused[i]
        c = op[i]
        a = slot[x[i]]
        b = slot[y[i]] if y[i] >= 0 else a
        e = slot[z[i]] if z[i] >= 0 else 0
        if c == MUL or c == NMUL:
            e = nzero
        elif c == ADD or c == SUB:
            a, b, e = a, one, b
        elif c == NEG:
            b, e = one, nzero
        if c == NMUL or c == NEG or c == MULSUB:
            b |= NEGBIT
        if c == SUB or c == SUBMUL:
            e |= NEGBIT
        if c == MULSQ:
            a |= SQFORM
        if tform[c] >= 0:
            a |= tform[c] << 28
            if paired[order[j]]:
                a |= PAIR
        if width[c] == 3:
            ops[p], ops[p + 1], ops[p + 2] = a, b, e
        elif width[c] == 2:
            ops[p], ops[p + 1] = a, b
        else:
            ops[p] = a
        p += width[c]
    tslots = np.empty(targets.shape[0], np.int64)
    for k in range(targets.shape[0]):
        tslots[k] = slot[canon[targets[k]]]
    return 0, 0, runs[:2 * nruns].copy(), ops, tslots, orig, fine, folded


def _failed(why, i):
    empty = np.zeros(0, np.int64)
    return why, i, np.zeros(0, np.int32), np.zeros(0, np.int32), empty, empty, \
        np.zeros(0, np.int8), np.zeros((0, 2), np.int64)


if numba is not None:
    _jit = numba.njit(cache=True)
    _bypass, _note, _failed = _jit(_bypass), _jit(_note), _jit(_failed)
    _schedule = _jit(_schedule)
    plan = _jit(_plan)
else:
    plan = _plan
