"""gc.hvp on the W3 tanh chain: build and evaluate time and peak memory per depth.

Issue 11 item 27: ``gc.hvp`` must grow linearly with the graph.  One short run per
depth (no repeats); the last column is seconds per 1,000 forward nodes, flat when
the cost is linear.

Run: ``python -m bench.bench_hvp [depth ...]`` (default 1k 2k 5k 10k 20k 50k 100k 200k).
"""
from __future__ import annotations

import gc as pygc
import resource
import sys
import time

import gcompile as gc
from bench.workloads import w3_graph

DEPTHS = (1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000)


def run(depth):
    """``(build seconds, evaluate seconds, hvp graph nodes)`` at one depth."""
    g = w3_graph(depth)
    t0 = time.perf_counter()
    h = gc.hvp(g, g.graph["output"], ["x"], shapes={"x": ()})
    t1 = time.perf_counter()
    out = gc.hvp_values(h, {"x": 0.5}, {"x": 1.0})["x"]
    t2 = time.perf_counter()
    assert out == out  # a number, not nan
    n = h.number_of_nodes()
    del h, g
    pygc.collect()
    return t1 - t0, t2 - t1, n


def main(argv=None):
    depths = [int(a) for a in (argv if argv is not None else sys.argv[1:])] or DEPTHS
    print(f"{'depth':>8} {'nodes':>9} {'build s':>8} {'eval s':>7} {'peak RSS MB':>11} "
          f"{'s / 1k':>7}", flush=True)
    for depth in depths:
        build, evaluate, nodes = run(depth)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{depth:>8} {nodes:>9} {build:8.2f} {evaluate:7.2f} {rss:11.0f} "
              f"{(build + evaluate) / depth * 1000:7.3f}", flush=True)


if __name__ == "__main__":
    main()
