"""The native tape against CasADi's SX virtual machine and the W3 plain-Python reference.

Run from the repository root (numba and casadi installed)::

    python bench/bench_tape.py [--w1 10000 100000] [--w3 100000] [--rounds 5]

For each W1 size: CasADi's symbolic build + gradient Function and its call
(``f(x)``: value and the 8 gradients), ``gc.compile`` (first call included),
its ``build_tape`` part, and the compiled call ``f(feeds)``; then the
kernel alone.  For each W3 depth: the compiled call against
``w3_reference``.  Calls are repeated for ``--rounds`` rounds of about 0.2 s
each and every ratio compares two timings of the same run.  Each timing is the
fastest single call seen (the machine is shared: the fastest is the least
disturbed; both sides of a ratio are measured the same way).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import gcompile as gc  # noqa: E402
from bench.workloads import make_w1, w1_graph, w1_inputs, w3_graph, w3_reference  # noqa: E402
from gcompile import native  # noqa: E402


def best(fn, rounds, seconds=0.2):
    """The fastest single call within ``rounds`` rounds of about ``seconds`` each."""
    fn()
    out = float("inf")
    clock = time.perf_counter
    for _ in range(rounds):
        t_end = clock() + seconds
        while True:
            t0 = clock()
            fn()
            t1 = clock()
            out = min(out, t1 - t0)
            if t1 > t_end:
                break
    return out


def casadi_w1(ops):
    """CasADi SX: the W1 expression, its gradient and the Function of both."""
    import casadi as ca

    x = ca.SX.sym("x", 8)
    v = [x[i] for i in range(8)]
    unary = {"tanh": ca.tanh, "exp": ca.exp, "sin": ca.sin}
    for op, a, b in ops:
        if op == "add":
            v.append(v[a] + v[b])
        elif op == "sub":
            v.append(v[a] - v[b])
        elif op == "mul":
            v.append(v[a] * v[b])
        else:
            v.append(unary[op](v[a]))
    return ca.Function("f", [x], [v[-1], ca.gradient(v[-1], x)])


def tape_of(f):
    return next(iter(f.signatures.values()))["tape"]


def run_w1(n, rounds):
    ops = make_w1(n)
    t0 = time.perf_counter()
    cas = casadi_w1(ops)
    cas_build = time.perf_counter() - t0
    xin = np.array(w1_inputs())
    g = w1_graph(ops)
    feeds = dict(zip(g.graph["wrt"], w1_inputs()))
    t0 = time.perf_counter()
    f = gc.compile(g, feeds=feeds, backend="native")
    f(feeds)
    gc_build = time.perf_counter() - t0
    value, grads = f(feeds)
    want = cas(xin)
    err = max(abs(value - float(want[0])),
              max(abs(grads[k] - float(want[1][i])) for i, k in enumerate(g.graph["wrt"])))
    parts = next(iter(f.signatures.values()))["seconds"]
    tape = tape_of(f)
    prog_args = _build_args(g, feeds)
    build_s = min(_timed(lambda: native.build_tape(*prog_args)) for _ in range(3))
    cas_call = best(lambda: cas(xin), rounds)
    gc_call = best(lambda: f(feeds), rounds)
    run = native._kernel()
    kernel = best(lambda: run(tape.runs, tape.ops, tape.base, tape.slots), rounds)
    print(f"W1 N={n}: {len(tape)} instructions in {len(tape.runs) // 2} runs, |err vs casadi| "
          f"{err:.1e}\n  call: gcompile {gc_call * 1e3:.3f} ms (kernel {kernel * 1e3:.3f}), "
          f"casadi {cas_call * 1e3:.3f} ms, ratio {gc_call / cas_call:.2f}\n"
          f"  build: gc.compile {gc_build:.2f} s (grad {parts['grad']:.2f}, lower "
          f"{parts['lower']:.2f}, tape+kernel load {parts['emit']:.2f}; build_tape alone "
          f"{build_s:.3f}), casadi {cas_build:.2f} s, ratio {gc_build / cas_build:.2f}",
          flush=True)


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _build_args(g, feeds):
    """``build_tape``'s arguments for W1 (the program gc.compile lowers)."""
    from gcompile.autodiff import backward_records
    from gcompile.lowering import lower_records

    wrt, out = g.graph["wrt"], g.graph["output"]
    records = backward_records(g, out, wrt, {k: () for k in feeds}, "zero")
    prog = lower_records(g, records, out, {k: ((), "f8") for k in feeds}, gc.plan(g))
    grads = records[3]["grads"]
    return prog, [prog.alias[out]] + [prog.alias[grads[w]] for w in wrt], len(wrt)


def run_w3(depth, rounds):
    f = gc.compile(w3_graph(depth), backend="native")
    value, grads = f({})
    ref_value, ref_grad = w3_reference(depth)
    assert value == ref_value and abs(grads["x"] - ref_grad) <= 1e-12 * abs(ref_grad)
    call = best(lambda: f({}), rounds)
    ref = best(lambda: w3_reference(depth), rounds)
    print(f"W3 depth={depth}: compiled {call * 1e3:.3f} ms, reference {ref * 1e3:.3f} ms, "
          f"ratio {call / ref:.2f}", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--w1", type=int, nargs="*", default=[10000, 100000])
    ap.add_argument("--w3", type=int, nargs="*", default=[100000])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    for n in args.w1:
        run_w1(n, args.rounds)
    for depth in args.w3:
        run_w3(depth, args.rounds)


if __name__ == "__main__":
    main()
