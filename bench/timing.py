"""The timing protocol of WORKLOADS.md, and the machine description.

One warm-up call (``first_s``), then up to 7 samples (5 for slow eager
systems); a sample repeats the call ``inner`` times so it lasts at least
50 ms; sampling stops after a budget of 6 s (at least 1 sample, 3 when they
fit).  The median and min seconds per call are reported.  Python's garbage
collector stays enabled and ``gc.collect()`` runs between samples.

Examples
--------
>>> t = measure(lambda: sum(range(100)), budget=0.2)
>>> t["median"] > 0 and t["samples"] >= 1
True
"""
from __future__ import annotations

import gc
import os
import platform
import statistics
import time
import tracemalloc

__all__ = ["measure", "once", "peak_bytes", "machine", "fmt_s"]


def measure(fn, *, samples=7, budget=6.0, sample_s=0.05):
    """Time ``fn()`` by the protocol; return ``dict(first_s, median, min, samples, inner)``."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    inner = max(1, int(sample_s / max(first, 1e-7)))
    times = []
    start = time.perf_counter()
    while len(times) < samples:
        gc.collect()
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        elapsed = time.perf_counter() - t0
        if elapsed < sample_s and not times:
            inner = max(inner + 1, int(inner * sample_s / max(elapsed, 1e-9) * 1.2))
            continue
        times.append(elapsed / inner)
        spent = time.perf_counter() - start
        if spent > budget and len(times) >= min(3, samples) or spent > 3 * budget:
            break
    return {"first_s": first, "median": statistics.median(times), "min": min(times),
            "samples": len(times), "inner": inner}


def once(fn):
    """A one-time cost: ``(seconds, result)`` of a single call."""
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def peak_bytes(fn):
    """Peak bytes traced by :mod:`tracemalloc` during ``fn()``, above what was held before."""
    fn()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    return peak - before


def machine():
    """``{nproc, cpu, python, numpy, blas threads}`` of this run."""
    import numpy as np

    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load = "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        load = "unknown"
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "numpy": np.__version__, "threads": os.environ.get("OPENBLAS_NUM_THREADS", "?"),
            "load": load}


def fmt_s(seconds):
    """Seconds as a short human string (``412 us``, ``3.1 ms``, ``1.20 s``)."""
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.2f} s"
