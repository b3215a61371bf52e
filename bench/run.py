"""Run the benchmarks of WORKLOADS.md and write ``bench/RESULTS.md``.

Usage (from the repository root)::

    .venv/bin/python -m bench.run            # the full run (about 10 minutes here)
    .venv/bin/python -m bench.run --quick    # N <= 10,000, short budgets; prints only
    .venv/bin/python -m bench.run --compile-sizes 1000000   # also W1 N=1,000,000, one-time costs only

BLAS threads are pinned to 1 before numpy is imported.  Peers (micrograd,
torch, jax, CasADi: ``pip install -e '.[bench]'``) run where installed and are
skipped otherwise.  ``--compile-sizes`` adds W1 sizes measured for their
one-time costs only (gc.grad + gc.compile + the first call, against CasADi's
build + gradient), with no steady-state calls.  The ``## Rendering`` and
``## Big graphs`` sections of an existing RESULTS.md are kept.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import pstats  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import gcompile as gc  # noqa: E402
from bench import peers  # noqa: E402
from bench.layers import TwoLayerNet  # noqa: E402
from bench.report import compile_table, write_results  # noqa: E402
from bench.timing import machine, measure, once, peak_bytes  # noqa: E402
from gcompile.evaluate import interpreter  # noqa: E402
from bench.workloads import (W2_WRT, make_w1, w1_graph, w1_inputs, w1_reference,  # noqa: E402
                             w2_data, w2_graph, w2_reference, w3_graph, w3_reference)

W1_CHECK = {1000: (3.403812879636224, 0.3839252469915564), 10000: (5.233971678617497, None),
            100000: (4.367193235126362, None)}


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def run_w1(sizes, budget, profile_n):
    rows = []
    for n in sizes:
        ops = make_w1(n)
        ref_value, ref_grads = w1_reference(ops)
        value, dx0 = W1_CHECK[n]
        assert abs(ref_value - value) <= 1e-12 * abs(value), (n, ref_value)
        build_s, g = once(lambda: w1_graph(ops))
        feeds = dict(zip(g.graph["wrt"], w1_inputs()))
        total_s, f = once(lambda: gc.compile(g, feeds=feeds))
        parts = next(iter(f.signatures.values()))["seconds"]
        got_value, got_grads = f(feeds)
        err = max([abs(got_value - ref_value)] +
                  [abs(got_grads[f"x{i}"] - ref_grads[i]) for i in range(8)])
        if dx0 is not None:
            assert abs(got_grads["x0"] - dx0) <= 1e-12, got_grads["x0"]
        row = {"n": n, "build": build_s, "compile_total": total_s, **parts, "err": err,
               "backend": next(iter(f.signatures.values()))["backend"],
               "lines": next(iter(f.signatures.values()))["lines"],
               "gc": measure(lambda: f(feeds), budget=budget),
               "reference": measure(lambda: w1_reference(ops), budget=budget)}
        del g, f
        if "micrograd" in peers.available():
            row["micrograd"] = deep(peers.micrograd_w1(ops, w1_inputs()), budget, n)
        if "torch" in peers.available():
            row["torch"] = measure(peers.torch_w1(ops, w1_inputs()), samples=5, budget=budget)
        if "casadi" in peers.available():
            row.update(casadi_columns(peers.casadi_w1(ops, w1_inputs()), budget,
                                      [ref_value] + list(ref_grads)))
        if n == profile_n:  # a second compile, under cProfile: where the time goes
            g = w1_graph(ops)
            prof = cProfile.Profile()
            prof.enable()
            gc.compile(g, feeds=feeds)
            prof.disable()
            del g
            row["profile"] = _profile_text(prof)
        rows.append(row)
        log(f"W1 N={n}: backend {row['backend']}, compile {total_s:.2f} s {parts}, "
            f"call {row['gc']['median'] * 1e3:.3f} ms, "
            f"reference {row['reference']['median'] * 1e3:.3f} ms"
            + (f", CasADi build+gradient {row['casadi_once']:.2f} s, "
               f"call {row['casadi']['median'] * 1e3:.3f} ms" if "casadi" in row else ""))
    return rows


def casadi_columns(peer, budget, want):
    """One-time costs, the timed call and the agreement of a CasADi peer (bench.peers)."""
    value, grads = peer["result"](peer["run"]())
    got = [value] + (list(grads) if isinstance(grads, list) else [grads])
    return {"casadi_build": peer["build_s"], "casadi_gradient": peer["gradient_s"],
            "casadi_once": peer["build_s"] + peer["gradient_s"],
            "casadi": measure(peer["run"], budget=budget),
            "casadi_err": max(abs(a - b) for a, b in zip(got, want))}


def run_w1_compile(sizes):
    """W1 one-time costs only: gc.grad + gc.compile + first call, CasADi build + gradient."""
    rows = []
    for n in sizes:
        ops = make_w1(n)
        build_s, g = once(lambda: w1_graph(ops))
        feeds = dict(zip(g.graph["wrt"], w1_inputs()))
        total_s, f = once(lambda: gc.compile(g, feeds=feeds))
        first_s, (value, grads) = once(lambda: f(feeds))
        entry = next(iter(f.signatures.values()))
        row = {"n": n, "build": build_s, "compile_total": total_s, "first_s": first_s,
               "once": total_s + first_s, "backend": entry["backend"], **entry["seconds"]}
        del g, f, entry
        ref_value, ref_grads = w1_reference(ops)
        row["err"] = max([abs(value - ref_value)] +
                         [abs(grads[f"x{i}"] - ref_grads[i]) for i in range(8)])
        if "casadi" in peers.available():
            peer = peers.casadi_w1(ops, w1_inputs())
            row.update(casadi_build=peer["build_s"], casadi_gradient=peer["gradient_s"],
                       casadi_once=peer["build_s"] + peer["gradient_s"])
            del peer
        rows.append(row)
        log(f"W1 N={n} (one-time costs only): gc.grad + gc.compile + first call "
            f"{row['once']:.1f} s {entry_parts(row)}"
            + (f", CasADi build + gradient {row['casadi_once']:.1f} s" if "casadi_once" in row else ""))
    return rows


def entry_parts(row):
    return {k: round(row[k], 2) for k in ("grad", "lower", "emit", "compile") if k in row}


def run_w2(budget):
    data = w2_data()
    g = w2_graph()
    wrt = list(W2_WRT)
    net = TwoLayerNet(data["W1"], data["b1"], data["W2"], data["b2"])
    x, t = data["x"], data["t"]
    compile_s, f = once(lambda: gc.compile(g, "L", wrt, feeds=data))
    fwd = gc.compile(g, "L", [], feeds=data)
    bwd = gc.grad(g, "L", wrt, shapes=data)
    run_fwd, run_bwd = interpreter(g), interpreter(bwd)
    grads_of = bwd.graph["grads"]

    def interpreted():
        values = run_fwd(data)
        back = run_bwd(values)
        return values["L"], {w: back[grads_of[w]] for w in wrt}

    def evaluated():
        values = gc.evaluate(g, data)
        back = gc.evaluate(bwd, values)
        return values["L"], {w: back[grads_of[w]] for w in wrt}

    args = [data[k] for k in ("x", "t", "W1", "b1", "W2", "b2")]
    loss, hand = net.loss_and_grads(x, t)
    value, grads = f(data)
    err = max([abs(value - loss)] + [float(np.max(np.abs(grads[k] - hand[k]))) for k in wrt])
    res = {"compile": compile_s, "err": err,
           "hand_fwd": measure(lambda: net.loss(x, t), budget=budget),
           "hand": measure(lambda: net.loss_and_grads(x, t), budget=budget),
           "tight": measure(lambda: w2_reference(*args), budget=budget),
           "peak_tight": peak_bytes(lambda: w2_reference(*args)),
           "gc_fwd": measure(lambda: fwd(data), budget=budget),
           "gc": measure(lambda: f(data), budget=budget),
           "interpreter": measure(interpreted, budget=budget),
           "evaluate": measure(evaluated, budget=budget),
           "peak_hand": peak_bytes(lambda: net.loss_and_grads(x, t)),
           "peak_gc": f.peak_bytes(data),
           "peak_interpreter": peak_bytes(interpreted)}
    sce = gc.compile(w2_graph_sce(), "L", wrt, feeds=data)
    value_sce, grads_sce = sce(data)
    assert value_sce == gc.evaluate(w2_graph_sce(), data)["L"], value_sce
    res["err"] = max([res["err"], abs(value_sce - loss)] +
                     [float(np.max(np.abs(grads_sce[k] - hand[k]))) for k in wrt])
    res["gc_sce"] = measure(lambda: sce(data), budget=budget)
    res["peak_gc_sce"] = sce.peak_bytes(data)
    if "torch" in peers.available():
        res["torch"] = measure(peers.torch_w2(data), budget=budget)
    log(f"W2: compiled {res['gc']['median'] * 1e6:.0f} us "
        f"(softmax_cross_entropy op: {res['gc_sce']['median'] * 1e6:.0f} us), hand {res['hand']['median'] * 1e6:.0f} us, "
        f"tight hand {res['tight']['median'] * 1e6:.0f} us")
    return res


def w2_graph_sce():
    """W2 with its loss written as one ``softmax_cross_entropy`` op (and ``sigmoid``): the
    same formula as ``w2_graph``, the form a user of the op table writes."""
    import networkx as nx

    g = nx.DiGraph()
    for name in ("x", "t") + W2_WRT:
        g.add_node(name, op="input")
    for name, op, args in [("xW1", "matmul", ("x", "W1")), ("a1", "add", ("xW1", "b1")),
                           ("z1", "sigmoid", ("a1",)), ("z1W2", "matmul", ("z1", "W2")),
                           ("a2", "add", ("z1W2", "b2")), ("L", "softmax_cross_entropy", ("a2", "t"))]:
        g.add_node(name, op=op)
        for pos, u in enumerate(args):
            g.add_edge(u, name, arg=pos)
    g.graph.update(output="L", wrt=list(W2_WRT))
    return g


def run_w3(depths, budget):
    rows = []
    for depth in depths:
        g = w3_graph(depth)
        ref_value, ref_grad = w3_reference(depth)
        compile_s, f = once(lambda: gc.compile(g))
        value, grads = f({})
        row = {"depth": depth, "compile": compile_s,
               "parts": next(iter(f.signatures.values()))["seconds"],
               "err": max(abs(value - ref_value), abs(grads["x"] - ref_grad) / abs(ref_grad)),
               "gc": measure(lambda: f({}), budget=budget),
               "reference": measure(lambda: w3_reference(depth), budget=budget)}
        if "micrograd" in peers.available():
            row["micrograd"] = deep(peers.micrograd_w3(depth), budget, depth)
        if "torch" in peers.available():
            row["torch"] = measure(peers.torch_w3(depth), samples=5, budget=budget)
        if "casadi" in peers.available():
            row.update(casadi_columns(peers.casadi_w3(depth), budget, [ref_value, ref_grad]))
        floor = peers.libm_floor_w3(depth)
        if floor is not None:
            fv, fd = floor()
            assert abs(fv - ref_value) <= 1e-12 and abs(fd - ref_grad) <= 1e-9 * abs(ref_grad)
            row["floor"] = measure(floor, budget=budget)
        rows.append(row)
        log(f"W3 depth={depth}: compile {compile_s:.2f} s, call {row['gc']['median'] * 1e3:.3f} ms, "
            f"reference {row['reference']['median'] * 1e3:.3f} ms")
    extra = {}
    if "micrograd" in peers.available():
        extra["micrograd_limit"] = peers.micrograd_recursion_limit()
    return rows, extra


def deep(fn, budget, size):
    """Measure a recursive peer; past Python's default recursion limit, measure it raised."""
    try:
        return measure(fn, samples=5, budget=budget)
    except RecursionError:
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old, 10 * size + 10_000))
        try:
            result = measure(fn, samples=5, budget=budget)
        finally:
            sys.setrecursionlimit(old)
        result["note"] = "RecursionError at the default limit; timed with the limit raised"
        return result


def _profile_text(prof, top=14):
    out = io.StringIO()
    pstats.Stats(prof, stream=out).strip_dirs().sort_stats("tottime").print_stats(top)
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    start = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls"))
    return "\n".join(lines[start:])


def _sizes(text):
    try:
        return tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes are integers separated by commas, got {text!r}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes; print, do not write")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "RESULTS.md"))
    parser.add_argument("--compile-sizes", type=_sizes, default=(), metavar="N[,N...]",
                        help="W1 sizes measured for one-time costs only (e.g. 1000000)")
    parser.add_argument("--only-compile", action="store_true",
                        help="run only the --compile-sizes measurements; print, do not write")
    args = parser.parse_args(argv)
    if args.only_compile:
        print("\n".join(compile_table(run_w1_compile(args.compile_sizes))))
        return
    budget = 1.5 if args.quick else 6.0
    sizes = (1000, 10000) if args.quick else (1000, 10000, 100000)
    depths = (1000, 10000) if args.quick else (1000, 10000, 100000)
    started = time.perf_counter()
    results = {"peers": peers.available(),
               "w1": run_w1(sizes, budget, profile_n=sizes[-1]),
               "w2": run_w2(budget),
               "w1_compile": run_w1_compile(args.compile_sizes)}
    results["w3"], results["w3_extra"] = run_w3(depths, budget)
    results["minutes"] = (time.perf_counter() - started) / 60
    results["machine"] = machine()
    text = write_results(results, None if args.quick else args.out)
    print(text)


if __name__ == "__main__":
    main()
