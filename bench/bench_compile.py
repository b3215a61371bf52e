"""Time ``gc.compile`` (first call included) by phase on W1, W2 and W3.

``python -m bench.bench_compile [N ...]``: for each W1 size (default 1,000
and 100,000), W2 and W3 (depth 10,000), the best of ``--repeat`` runs of
``gc.compile(g, feeds=feeds)`` plus the first call, split into the phases of
``f.signatures[...]["seconds"]`` and the rest ("other": plan, validation,
fusion, the memory-limit walk, the first call).  Lines print as they finish.
"""
from __future__ import annotations

import argparse
import time


import gcompile as gc
from bench.workloads import (W2_WRT, make_w1, w1_graph, w1_inputs, w2_data, w2_graph,
                             w3_graph)


def measure(g, feeds, repeat, **kw):
    """Best total of ``repeat`` compiles + first calls, with the phases of that run."""
    best = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        f = gc.compile(g, feeds=feeds, **kw)
        f(feeds)
        total = time.perf_counter() - t0
        sig = next(iter(f.signatures.values()))
        if best is None or total < best[0]:
            best = (total, sig["backend"], dict(sig["seconds"]))
    return best


def show(name, result):
    total, backend, parts = result
    other = total - sum(parts.values())
    text = " ".join(f"{k} {v:.3f}" for k, v in parts.items())
    print(f"{name:>14} {backend:>6} total {total:.3f} s | {text} | other {other:.3f}",
          flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("sizes", nargs="*", type=int, default=[1000, 100_000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    for n in args.sizes:
        g = w1_graph(make_w1(n))
        feeds = dict(zip(g.graph["wrt"], w1_inputs()))
        show(f"W1 {n:,}", measure(g, feeds, args.repeat))
    data = w2_data()
    g = w2_graph()
    show("W2", measure(g, data, max(args.repeat, 5)))
    g = w3_graph(10_000)
    show("W3 10,000", measure(g, {"x": 0.5}, args.repeat))



if __name__ == "__main__":
    main()
