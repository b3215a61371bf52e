"""How ``gc.explain`` grows with the graph: a chain of tanh nodes, depth 1,000 to 200,000.

On a chain there is one path from the input to the output, through every node,
so ``explain`` computes one local derivative per edge.  It used to run one
backward pass per edge (5,000 nodes 2.8 s, 40,000 nodes 47.7 s, 200,000 not done
in 15 minutes); it now runs one backward pass for all of them (one vector
``tanh`` for the whole chain), so time per node stays flat down the curve: on
the 2-core development machine, shared, 1,000 nodes 0.35 s, 5,000 1.99 s,
20,000 8.1 s, 50,000 25.8 s, 200,000 92 s (about 0.4 ms per node, most of it
the graph's own backward pass).  Each depth runs in a fresh child process; the product of the factors is
checked against the closed-form chain rule (prod of 1 - tanh^2).

Run from the repository root::

    .venv/bin/python bench/bench_explain.py                      # 1k, 5k, 20k, 50k
    .venv/bin/python bench/bench_explain.py --depths 1000 200000
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def chain(depth):
    """x -> tanh -> ... -> tanh (``depth`` ops), as a DiGraph with int keys."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_node(0, op="input")
    for i in range(1, depth + 1):
        g.add_node(i, op="tanh")
        g.add_edge(i - 1, i)
    return g


def one(depth, x=0.3) -> dict:
    """Time ``explain`` (and printing it) on a chain of ``depth``; check its product."""
    from gcompile.explain import explain

    g = chain(depth)
    start = time.perf_counter()
    e = explain(g, {0: x}, depth, 0, max_paths=1)
    text = str(e)
    seconds = time.perf_counter() - start
    want, v = 0.0, x
    for _ in range(depth):        # log of the closed form, so a long chain does not underflow
        v = math.tanh(v)
        want += math.log(1 - v * v)
    factors = e.terms[0]["paths"][0]["factors"]
    got = sum(math.log(f) for f in factors)
    assert abs(got - want) <= 1e-9 * abs(want), (got, want)
    return {"depth": depth, "seconds": round(seconds, 3),
            "us_per_node": round(1e6 * seconds / depth, 1), "chars": len(text)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", type=int, nargs="+", default=[1000, 5000, 20000, 50000])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(one(args.child)))
        return 0
    rows = []
    for depth in args.depths:
        done = subprocess.run([sys.executable, __file__, "--child", str(depth)],
                              capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout))
        print(json.dumps(rows[-1]), flush=True)
    print("\n| chain depth | explain + str (s) | us per node |\n|---:|---:|---:|")
    for r in rows:
        print(f"| {r['depth']:,} | {r['seconds']:.2f} | {r['us_per_node']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
