"""Big graphs: the backward graph of a 1,000,000-node random graph, and a depth-1,000,000 chain.

Two cases, each run in a fresh child process so that its peak resident memory
(``ru_maxrss``) is its own:

* ``random`` -- the W1 random scalar DAG of ``bench/workloads.py`` with ``--nodes``
  ops: build the forward graph, ``gc.grad`` it (the backward graph), evaluate
  both, and check the gradients against the plain-Python reference sweep.
* ``chain`` -- the W3 chain of ``--depth`` tanh nodes: the same steps, checked
  against the closed-form chain rule; with ``--compile`` also ``gc.compile``.

Prints one JSON object per case and a Markdown table (the "Big graphs" section
of ``bench/RESULTS.md``).  Run from the repository root::

    .venv/bin/python bench/bench_big.py                    # 1,000,000 and 1,000,000
    .venv/bin/python bench/bench_big.py --nodes 100000 --depth 100000 --compile
    .venv/bin/python bench/bench_big.py --case random --nodes 20000 --profile
    .venv/bin/python bench/bench_big.py --write     # also replace "## Big graphs" in RESULTS.md
"""
from __future__ import annotations

import argparse
import cProfile
import gc as pygc
import json
import os
import platform
import pstats
import re
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def peak_mb():
    """Peak resident set size of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def _rel_err(got, want):
    got, want = [float(x) for x in got], [float(x) for x in want]
    return max(abs(a - b) / max(abs(b), 1e-300) for a, b in zip(got, want))


def run_case(case, size, do_compile=False, profile=False):
    """Measure one case in this process; return a dict of numbers."""
    import gcompile as gc
    from bench.workloads import make_w1, w1_graph, w1_reference, w3_graph, w3_reference

    out = {"case": case, "size": size, "rss_start_mb": round(peak_mb())}
    if case == "random":
        ops, t_ops = _timed(make_w1, size)
        fwd, t_fwd = _timed(w1_graph, ops)
        out["build_s"] = round(t_ops + t_fwd, 2)
    else:
        fwd, t_fwd = _timed(w3_graph, size)
        out["build_s"] = round(t_fwd, 2)
    output, wrt = fwd.graph["output"], fwd.graph["wrt"]
    out.update(fwd_nodes=fwd.number_of_nodes(), fwd_edges=fwd.number_of_edges(),
               rss_fwd_mb=round(peak_mb()))
    if profile:
        prof = cProfile.Profile()
        prof.enable()
    cpu = time.process_time()
    bwd, t_grad = _timed(gc.grad, fwd, output, wrt)
    cpu = time.process_time() - cpu
    if profile:
        prof.disable()
        stats = pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime")
        stats.print_stats(15)
    out.update(grad_s=round(t_grad, 2), grad_cpu_s=round(cpu, 2), bwd_nodes=bwd.number_of_nodes(),
               bwd_edges=bwd.number_of_edges(), rss_grad_peak_mb=round(peak_mb()),
               grad_us_per_fwd_node=round(1e6 * t_grad / fwd.number_of_nodes(), 1),
               grad_us_per_bwd_node=round(1e6 * t_grad / bwd.number_of_nodes(), 1))
    values, t_eval = _timed(gc.evaluate, fwd)
    back, t_back = _timed(gc.evaluate, bwd, values)
    grads = [back[bwd.graph["grads"][w]] for w in wrt]
    if case == "random":
        want_value, want_grads = w1_reference(ops)
    else:
        want_value, want_d = w3_reference(size)
        want_grads = [want_d]
    out.update(eval_fwd_s=round(t_eval, 2), eval_bwd_s=round(t_back, 2),
               rss_eval_peak_mb=round(peak_mb()),
               value_rel_err=_rel_err([values[output]], [want_value]),
               grad_rel_err=_rel_err(grads, want_grads))
    del back, values
    if do_compile:
        del bwd
        pygc.collect()
        f, t_compile = _timed(gc.compile, fwd, output, wrt)
        (value, cgrads), t_first = _timed(f, {})
        _, t_again = _timed(f, {})
        out.update(compile_s=round(t_compile + t_first, 2), compiled_call_s=round(t_again, 3),
                   compiled_fallbacks=f.fallbacks, rss_compile_peak_mb=round(peak_mb()),
                   compiled_grad_rel_err=_rel_err([cgrads[w] for w in wrt], want_grads))
    return out


def machine():
    """nproc, CPU model, memory, Python and library versions."""
    import networkx
    import numpy
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) / 2**20:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (f"nproc {os.cpu_count()}, {cpu}, {mem}, Python {platform.python_version()}, "
            f"numpy {numpy.__version__}, networkx {networkx.__version__}")


_ROWS = [("forward graph nodes / edges", lambda r: f"{r['fwd_nodes']:,} / {r['fwd_edges']:,}"),
         ("backward graph nodes / edges", lambda r: f"{r['bwd_nodes']:,} / {r['bwd_edges']:,}"),
         ("build forward graph", lambda r: f"{r['build_s']} s"),
         ("`gc.grad` (backward graph built)",
          lambda r: f"{r['grad_s']} s" + (f" ({r['grad_cpu_s']} s of CPU)" if "grad_cpu_s" in r
                                           else "")
                    + f" ({r['grad_us_per_fwd_node']} µs per forward node, "
                    f"{r['grad_us_per_bwd_node']} µs per backward node)"),
         ("peak RSS: forward graph built", lambda r: f"{r['rss_fwd_mb']:,} MB"),
         ("peak RSS: after `gc.grad`", lambda r: f"{r['rss_grad_peak_mb']:,} MB"),
         ("`gc.evaluate` forward / backward",
          lambda r: f"{r['eval_fwd_s']} s / {r['eval_bwd_s']} s"),
         ("peak RSS: after evaluating both", lambda r: f"{r['rss_eval_peak_mb']:,} MB"),
         ("max rel. error vs reference (value, gradients)",
          lambda r: f"{r['value_rel_err']:.1e}, {r['grad_rel_err']:.1e}"),
         ("`gc.compile` + first call / a later call",
          lambda r: f"{r['compile_s']} s / {r['compiled_call_s']} s "
                    f"(fallbacks {r['compiled_fallbacks']}, peak RSS "
                    f"{r['rss_compile_peak_mb']:,} MB, rel. error {r['compiled_grad_rel_err']:.1e})"
          if "compile_s" in r else "not run")]


def markdown(results):
    """The results as a Markdown table, one column per case."""
    names = {"random": "random DAG (W1), {:,} ops", "chain": "tanh chain (W3), depth {:,}"}
    head = "| | " + " | ".join(names[r["case"]].format(r["size"]) for r in results) + " |"
    lines = [head, "|---" * (len(results) + 1) + "|"]
    for title, cell in _ROWS:
        lines.append(f"| {title} | " + " | ".join(cell(r) for r in results) + " |")
    return "\n".join(lines)


RESULTS = os.path.join(ROOT, "bench", "RESULTS.md")
HEADING = "## Big graphs"


def write_section(text, path=RESULTS):
    """Replace (or append) the ``## Big graphs`` section of ``path``, leaving the others alone."""
    old = "# Benchmark results\n"
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            old = f.read()
    pattern = re.compile(r"^## Big graphs\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(old):
        new = pattern.sub(lambda _: text, old, count=1)
    else:
        new = old.rstrip("\n") + "\n\n" + text
    with open(path, "w", encoding="utf-8") as f:
        f.write(new)


def section(results, argv, load):
    """The ``## Big graphs`` section: machine, command, table."""
    command = " ".join(["bench/bench_big.py"] + list(argv))
    return (f"{HEADING}\n\n"
            "The backward graph of a 1,000,000-op random scalar DAG (W1 generator) and of a "
            "depth-1,000,000 tanh chain (W3), built by `gc.grad`, evaluated by `gc.evaluate` and "
            "checked against the plain-Python reference sweep. Each case runs in a fresh process; "
            "peak RSS is that process's `ru_maxrss` (it includes the forward graph). Times are "
            "wall-clock; the CPU time of `gc.grad` (`time.process_time`) is given beside it "
            "because the machine is shared: under load the wall time grows, the CPU time "
            "much less.\n\n"
            f"Machine: {machine()}; load average during the run {load}.\n\n"
            f"Command: `.venv/bin/python {command}`\n\n"
            f"{markdown(results)}\n\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=1_000_000, help="ops of the random graph")
    parser.add_argument("--depth", type=int, default=1_000_000, help="depth of the chain")
    parser.add_argument("--case", choices=["random", "chain", "both"], default="both")
    parser.add_argument("--compile", action="store_true", help="also gc.compile (chain case)")
    parser.add_argument("--profile", action="store_true", help="cProfile gc.grad (to stderr)")
    parser.add_argument("--write", action="store_true",
                        help="replace the '## Big graphs' section of bench/RESULTS.md")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        size = args.nodes if args.case == "random" else args.depth
        print(json.dumps(run_case(args.case, size, args.compile and args.case == "chain",
                                  args.profile)))
        return 0
    cases = ["random", "chain"] if args.case == "both" else [args.case]
    results = []
    for case in cases:
        cmd = [sys.executable, os.path.abspath(__file__), "--child", "--case", case,
               "--nodes", str(args.nodes), "--depth", str(args.depth)]
        cmd += ["--compile"] if args.compile else []
        cmd += ["--profile"] if args.profile else []
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        sys.stderr.write(done.stderr)
        if done.returncode != 0:
            print(f"case {case} failed (exit {done.returncode})", file=sys.stderr)
            return 1
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["wall_s"] = round(time.perf_counter() - start, 1)
        print(json.dumps(result), flush=True)
        results.append(result)
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    text = section(results, [a for a in (sys.argv[1:] if argv is None else argv)
                             if a != "--write"], load)
    print()
    print(text)
    if args.write:
        write_section(text)
        print(f"updated {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
