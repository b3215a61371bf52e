"""Benchmark the renderer on a 5,000-node graph and record it in bench/RESULTS.md.

The graph is W1-like: 8 scalar inputs, then random ``add mul sub tanh exp sin``
ops whose operands are mostly among the 20 previous nodes (a long, narrow
DAG), built here from ``numpy.random.default_rng(seed)``.  Timed: building the
DOT (``gc.to_dot`` with values), and laying it out as SVG with each engine
present (system ``dot`` and the embedded graphviz-pure).

Usage::

    python bench/bench_render.py              # 5,000 nodes, writes the "## Rendering" section
    python bench/bench_render.py --nodes 500 --no-write
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np

import gcompile as gc
from gcompile.drawing.engines import find_engine, run_engine

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
OPS = ("add", "mul", "sub", "tanh", "exp", "sin")


def random_dag(n_nodes, seed=20240601, window=20):
    """A W1-like DAG of ``n_nodes`` nodes (8 inputs) and its feeds."""
    rng = np.random.default_rng(seed)
    g = nx.DiGraph(name="w1_like")
    names = [f"x{i}" for i in range(8)]
    for name in names:
        g.add_node(name, op="input", shape=())
    for j in range(8, n_nodes):
        op = OPS[rng.integers(len(OPS))]
        if op == "exp":
            op = "tanh" if rng.random() < 0.5 else "exp"
        arity = 2 if op in ("add", "mul", "sub") else 1
        picks = [names[j - 1 - rng.integers(min(window, j))] if rng.random() > 0.1
                 else names[rng.integers(8)] for _ in range(arity)]
        if arity == 2 and picks[0] == picks[1]:
            picks[1] = names[j - 1] if picks[0] != names[j - 1] else names[j - 2]
        if op in ("exp", "mul"):          # keep values bounded: squash before growing ops
            op = "tanh" if op == "exp" else op
        name = f"n{j}"
        g.add_node(name, op=op)
        for pos, src in enumerate(picks):
            g.add_edge(src, name, arg=pos)
        names.append(name)
    g.graph.update(output=names[-1], wrt=names[:8])
    feeds = {f"x{i}": -0.7 + 0.2 * i for i in range(8)}
    return g, feeds


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            found = re.search(r"model name\s*:\s*(.+)", f.read())
        cpu = found.group(1).strip() if found else cpu
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {platform.system()}"


def engine_version(name):
    exe = shutil.which("dot") if name == "dot" else find_engine(name)[1]
    done = subprocess.run([exe, "-V"], capture_output=True, text=True, check=False)
    return (done.stderr or done.stdout).strip().splitlines()[0]


def timed(fn, repeat):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def run(n_nodes, repeat):
    g, feeds = random_dag(n_nodes)
    values = gc.evaluate(g, feeds)
    dot_time, diagram = timed(lambda: gc.to_dot(g, values), repeat)
    source = diagram.source
    rows = [("build DOT (`gc.to_dot`, with values)", "-", dot_time, len(source))]
    engines = ["graphviz-pure"] + (["dot"] if shutil.which("dot") else [])
    for engine in engines:
        t, svg = timed(lambda: run_engine(source, "svg", engine), 1)
        rows.append((f"layout + SVG, {engine_version(engine)}", engine, t, len(svg)))
    return g, rows


def section(g, rows, n_nodes):
    lines = ["## Rendering", "",
             f"`python bench/bench_render.py`: a W1-like random DAG of {n_nodes:,} nodes "
             f"({g.number_of_edges():,} edges; 8 inputs, ops add/mul/sub/tanh/exp/sin over a "
             "window of 20 previous nodes), drawn with values on every edge.", "",
             f"Machine: {machine()}.", "",
             "| step | seconds | output bytes |", "|---|---:|---:|"]
    for what, _, seconds, size in rows:
        lines.append(f"| {what} | {seconds:.2f} | {size:,} |")
    lines.append("")
    return "\n".join(lines) + "\n"


def write_section(text):
    """Replace (or append) the ``## Rendering`` section of RESULTS.md, leaving others alone."""
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.is_file() else "# Benchmark results\n"
    pattern = re.compile(r"^## Rendering\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(old):
        new = pattern.sub(lambda _: text, old, count=1)
    else:
        new = old.rstrip("\n") + "\n\n" + text
    RESULTS.write_text(new, encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for the DOT build")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    g, rows = run(args.nodes, args.repeat)
    text = section(g, rows, args.nodes)
    print(text)
    if not args.no_write:
        write_section(text)
        print(f"updated {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
