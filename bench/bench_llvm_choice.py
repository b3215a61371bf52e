"""Why the native backend is a tape: a per-graph LLVM compile measured against it.

Issue 16 asked to choose by measurement between an instruction tape run by one
cached kernel (what :mod:`gcompile.native` does) and straight-line LLVM IR
compiled per graph with llvmlite.  This script takes the tape ``gc.compile``
builds for W1, writes the same instructions as one straight-line LLVM function
(each slot an SSA value; ``tanh``/``sin``/``cos``/``exp`` calls into the C math
library, as the kernel makes), compiles it with llvmlite's MCJIT at -O0 and
-O2, checks it computes the tape's results bit for bit, and times the compile
and a call against the tape's build and call.

Usage: ``.venv/bin/python bench/bench_llvm_choice.py [N ...] [--opts 0,2]`` (default N = 1000
10000 100000, optimisation levels 0 and 2);
needs the ``native`` extra (numba brings llvmlite).
"""
from __future__ import annotations

import ctypes
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import gcompile as gc  # noqa: E402
from bench.workloads import make_w1, w1_graph, w1_inputs  # noqa: E402
from gcompile import _native_kernel as K  # noqa: E402
from gcompile.native import CODES  # noqa: E402

_UNARY = {CODES[n]: n for n in ("tanh", "sin", "cos", "exp")}


def tape_to_ir(tape):
    """The tape as LLVM IR text: ``void @f(double* s)``, every instruction one SSA value."""
    base, ops = tape.base, tape.ops.tolist()
    lines = ["define void @f(double* %s) {"]
    val = {}

    def ref(slot):
        if slot >= base:
            return val[slot]
        if slot not in val:
            lines.append(f"  %p{slot} = getelementptr double, double* %s, i64 {slot}")
            lines.append(f"  %l{slot} = load double, double* %p{slot}")
            val[slot] = f"%l{slot}"
        return val[slot]

    def signed(word):
        slot, neg = word & 0x7FFFFFFF, word < 0
        x = ref(slot)
        if not neg:
            return x
        name = f"%n{len(lines)}"
        lines.append(f"  {name} = fneg double {x}")
        return name

    k = p = 0
    runs = tape.runs.tolist()
    for r in range(len(runs) // 2):
        c, end = runs[2 * r], runs[2 * r + 1]
        for k in range(k, end):
            out = f"%v{k}"
            if c == K.LIN:
                a, b, e = ref(ops[p]), signed(ops[p + 1]), signed(ops[p + 2])
                lines.append(f"  %m{k} = fmul double {a}, {b}")
                lines.append(f"  {out} = fadd double %m{k}, {e}")
                p += 3
            elif c == K.MULSQ:
                a, y, t = ref(ops[p]), ref(ops[p + 1]), ref(ops[p + 2])
                lines.append(f"  %q{k} = fmul double {y}, {y}")
                lines.append(f"  %r{k} = fsub double {t}, %q{k}")
                lines.append(f"  {out} = fmul double {a}, %r{k}")
                p += 3
            elif c in _UNARY:
                lines.append(f"  {out} = call double @{_UNARY[c]}(double {ref(ops[p])})")
                p += 1
            else:
                raise SystemExit(f"op code {c} not written by this script")
            val[base + k] = out
        k = end
    for t in tape.targets.tolist():
        lines.append(f"  %t{t} = getelementptr double, double* %s, i64 {t}")
        lines.append(f"  store double {ref(t)}, double* %t{t}")
    lines.append("  ret void\n}")
    decls = "".join(f"declare double @{n}(double)\n" for n in _UNARY.values())
    return decls + "\n".join(lines) + "\n"


def compile_ir(ir, opt):
    """``(seconds, engine, function pointer)`` of ``ir`` compiled by MCJIT at ``-O{opt}``."""
    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    t0 = time.perf_counter()
    mod = llvm.parse_assembly(ir)
    mod.verify()
    target = llvm.Target.from_default_triple().create_target_machine(opt=opt)
    engine = llvm.create_mcjit_compiler(mod, target)
    engine.finalize_object()
    ptr = engine.get_function_address("f")
    return time.perf_counter() - t0, engine, ptr


def best(fn, repeat=200):
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(repeat):
            fn()
        times.append((time.perf_counter() - t0) / repeat)
    return min(times)


def main(sizes, opts=(0, 2)):
    print("| W1 N | tape instructions | gc.compile (tape) | tape call | " +
          " | ".join(f"LLVM -O{o} compile | -O{o} call" for o in opts) + " | equal bits |")
    print("|---" * (5 + 2 * len(opts)) + "|")
    for n in sizes:
        g = w1_graph(make_w1(n))
        feeds = dict(zip(g.graph["wrt"], w1_inputs()))
        t0 = time.perf_counter()
        f = gc.compile(g, feeds=feeds, backend="native")
        compile_s = time.perf_counter() - t0
        tape = next(iter(f.signatures.values()))["tape"]
        args = w1_inputs()
        want = np.array([tape(*args)[0], *tape(*args)[1]])
        tape_call = best(lambda: tape(*args), repeat=max(1, 20000 // n))
        ir = tape_to_ir(tape)
        row = [f"{n:,}", f"{len(tape):,}", f"{compile_s:.2f} s", f"{tape_call * 1e3:.3f} ms"]
        equal = True
        for opt in opts:
            seconds, engine, ptr = compile_ir(ir, opt)
            fn = ctypes.CFUNCTYPE(None, ctypes.POINTER(ctypes.c_double))(ptr)
            s = tape.slots.copy()
            s[1:1 + len(args)] = args
            sp = s.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
            fn(sp)
            equal = equal and np.array_equal(s[tape.targets], want)
            call = best(lambda: fn(sp), repeat=max(1, 20000 // n))
            row += [f"{seconds:.2f} s", f"{call * 1e3:.3f} ms"]
            del engine
        row.append("yes" if equal else "NO")
        print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    opts = (0, 2)
    if "--opts" in args:
        at = args.index("--opts")
        opts = tuple(int(o) for o in args[at + 1].split(","))
        del args[at:at + 2]
    main([int(a) for a in args] or [1000, 10000, 100000], opts)
