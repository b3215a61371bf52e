"""``gc.grad(..., optimize=True)`` on a tanh chain of growing depth: is it linear?

For each depth the W3 chain (``x -> tanh -> ... -> tanh``) is differentiated
twice in a fresh child process: ``gc.grad`` alone, then ``gc.grad`` with
``optimize=True`` (the passes of ``gc.optimize``); both gradients are checked
against the closed-form chain rule (``bench.workloads.w3_reference``).  Prints
one line per depth and a Markdown table with seconds and microseconds per
backward node; linear cost shows as a flat us/node column.  Run from the
repository root::

    .venv/bin/python bench/bench_optimize.py                       # 1k .. 200k
    .venv/bin/python bench/bench_optimize.py --depths 1000 10000   # a quick look
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

DEPTHS = (1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000)


def one(depth):
    """Time grad and grad(optimize=True) at one depth; check both gradients."""
    import gcompile as gc
    from bench.workloads import w3_graph, w3_reference

    g = w3_graph(depth)
    out, (x,) = g.graph["output"], g.graph["wrt"]
    feeds = {x: 0.5}
    values = gc.evaluate(g, feeds)
    _, want = w3_reference(depth, 0.5)
    row = {"depth": depth}
    for label, optimize in (("grad", False), ("grad_optimize", True)):
        t = time.perf_counter()
        bwd = gc.grad(g, out, x, optimize=optimize)
        row[label] = time.perf_counter() - t
        row[label + "_nodes"] = bwd.number_of_nodes()
        got = float(gc.evaluate(bwd, values)[bwd.graph["grads"][x]])
        assert abs(got - want) <= 1e-12 * max(1.0, abs(want)), (label, got, want)
        del bwd
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", type=int, nargs="+", default=list(DEPTHS))
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(one(args.child)))
        return
    rows = []
    for depth in args.depths:
        done = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", str(depth)],
                              capture_output=True, text=True, check=True, cwd=ROOT)
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"depth {depth}: grad {row['grad']:.2f} s, grad(optimize=True) "
              f"{row['grad_optimize']:.2f} s", file=sys.stderr, flush=True)
    print("| depth | backward nodes | grad s | us/node | grad(optimize=True) s | us/node "
          "| nodes after |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        n = r["grad_nodes"]
        print(f"| {r['depth']:,} | {n:,} | {r['grad']:.3f} | {r['grad'] / n * 1e6:.1f} "
              f"| {r['grad_optimize']:.3f} | {r['grad_optimize'] / n * 1e6:.1f} "
              f"| {r['grad_optimize_nodes']:,} |")


if __name__ == "__main__":
    main()
