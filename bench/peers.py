"""Peers on the same workloads, each skipped cleanly when not installed.

micrograd (rebuilt and back-propagated each call, as WORKLOADS.md measures
it; its ``Value`` lacks ``tanh``, ``exp`` and ``sin``, which are added here in
its own closure style), torch eager (0-d float64 tensors and
``torch.autograd.grad``), jax (``jit(value_and_grad)``) and CasADi (an SX
expression built once, ``casadi.gradient`` and ``casadi.Function`` as one-time
costs, then the SX virtual machine called on a numpy vector).  The ``bench``
extra installs micrograd and CasADi: ``pip install -e '.[bench]'``.

Examples
--------
>>> sorted(available())[:0]
[]
"""
from __future__ import annotations

import importlib.util
import math

__all__ = ["available", "micrograd_w1", "micrograd_w3", "torch_w1", "torch_w2", "torch_w3",
           "micrograd_recursion_limit", "casadi_w1", "casadi_w3", "replay_w1", "libm_floor_w3"]


def available():
    """Names of the installed peers."""
    return [name for name in ("micrograd", "torch", "jax", "casadi")
            if importlib.util.find_spec(name)]


def replay_w1(ops, values, unary):
    """Run the W1 op list on ``values`` (the 8 inputs, as any number type with ``+ - *``),
    appending each op's result; ``unary`` maps ``tanh``, ``exp``, ``sin`` to the peer's functions.

    >>> import math
    >>> replay_w1([("mul", 0, 1), ("tanh", 2, None)], [2.0, 3.0], {"tanh": math.tanh})[-1] == math.tanh(6.0)
    True
    """
    for op, a, b in ops:
        if op == "add":
            values.append(values[a] + values[b])
        elif op == "mul":
            values.append(values[a] * values[b])
        elif op == "sub":
            values.append(values[a] - values[b])
        else:
            values.append(unary[op](values[a]))
    return values


def _mg_unary(x, value, local):
    from micrograd.engine import Value

    out = Value(value, (x,), "f")

    def _backward():
        x.grad += local * out.grad
    out._backward = _backward
    return out


def _mg_ops():
    def tanh(x):
        y = math.tanh(x.data)
        return _mg_unary(x, y, 1.0 - y * y)

    def exp(x):
        y = math.exp(x.data)
        return _mg_unary(x, y, y)

    def sin(x):
        return _mg_unary(x, math.sin(x.data), math.cos(x.data))
    return {"tanh": tanh, "exp": exp, "sin": sin}


def micrograd_w1(ops, inputs):
    """``run() -> (value, grads)``: build the W1 expression with micrograd, then ``backward()``."""
    from micrograd.engine import Value

    unary = _mg_ops()

    def run():
        v = replay_w1(ops, [Value(x) for x in inputs], unary)
        v[-1].backward()
        return v[-1].data, [x.grad for x in v[:8]]
    return run


def micrograd_w3(depth, x0=0.5):
    """``run() -> (value, grad)`` of the tanh chain with micrograd."""
    from micrograd.engine import Value

    tanh = _mg_ops()["tanh"]

    def run():
        x = Value(x0)
        y = x
        for _ in range(depth):
            y = tanh(y)
        y.backward()
        return y.data, x.grad
    return run


def micrograd_recursion_limit(lo=100, hi=5000):
    """Largest tanh-chain depth whose ``backward()`` survives Python's recursion limit."""
    while lo < hi:
        mid = (lo + hi + 1) // 2
        try:
            micrograd_w3(mid)()
            lo = mid
        except RecursionError:
            hi = mid - 1
    return lo


def torch_w1(ops, inputs):
    """``run() -> (value, grads)`` with torch eager on 0-d float64 tensors."""
    import torch

    fns = {"tanh": torch.tanh, "exp": torch.exp, "sin": torch.sin}

    def run():
        xs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inputs]
        v = replay_w1(ops, list(xs), fns)
        grads = torch.autograd.grad(v[-1], xs)
        return float(v[-1]), [float(g) for g in grads]
    return run


def torch_w3(depth, x0=0.5):
    """``run() -> (value, grad)`` of the tanh chain with torch eager."""
    import torch

    def run():
        x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
        y = x
        for _ in range(depth):
            y = torch.tanh(y)
        (g,) = torch.autograd.grad(y, [x])
        return float(y), float(g)
    return run


def torch_w2(data):
    """``run() -> (loss, grads)`` of the W2 formula with torch eager (float64)."""
    import torch

    torch.set_num_threads(1)
    x = torch.from_numpy(data["x"])
    t = torch.from_numpy(data["t"])
    params = {k: torch.from_numpy(data[k].copy()).requires_grad_() for k in ("W1", "b1", "W2", "b2")}

    def run():
        a1 = x @ params["W1"] + params["b1"]
        z1 = 1 / (1 + torch.exp(-a1))
        a2 = z1 @ params["W2"] + params["b2"]
        e = torch.exp(a2 - torch.max(a2, dim=1, keepdim=True).values)
        y = e / torch.sum(e, dim=1, keepdim=True)
        loss = -torch.sum(t * torch.log(y)) / x.shape[0]
        grads = torch.autograd.grad(loss, list(params.values()))
        return float(loss), dict(zip(params, (g.numpy() for g in grads)))
    return run


def _casadi_function(build):
    """WORKLOADS.md's (a) and (b) for CasADi: ``build() -> (x, y)`` SX symbols, timed, then
    ``casadi.gradient(y, x)`` and ``casadi.Function``, timed; the call returns ``y, dy/dx``."""
    import time

    import casadi

    t0 = time.perf_counter()
    x, y = build(casadi)
    t1 = time.perf_counter()
    fn = casadi.Function("value_and_grad", [x], [y, casadi.gradient(y, x)])
    t2 = time.perf_counter()
    return {"build_s": t1 - t0, "gradient_s": t2 - t1, "fn": fn}


def casadi_w1(ops, inputs):
    """W1 with CasADi SX: ``dict(build_s, gradient_s, run, result)``.

    ``run()`` is (c), the timed call: the SX virtual machine on a numpy
    vector of the 8 inputs (returning CasADi ``DM`` values); ``result(out)``
    turns its output into ``(value, [8 gradients])`` for the agreement check.
    """
    import numpy as np

    def build(ca):
        x = ca.SX.sym("x", len(inputs))
        v = replay_w1(ops, [x[i] for i in range(len(inputs))],
                      {"tanh": ca.tanh, "exp": ca.exp, "sin": ca.sin})
        return x, v[-1]
    out = _casadi_function(build)
    fn, xin = out.pop("fn"), np.array(inputs, dtype=float)
    out["run"] = lambda: fn(xin)
    out["result"] = lambda res: (float(res[0]), [float(d) for d in np.asarray(res[1]).ravel()])
    return out


def casadi_w3(depth, x0=0.5):
    """The tanh chain with CasADi SX: ``dict(build_s, gradient_s, run, result)`` as
    :func:`casadi_w1`; ``result(out)`` is ``(value, dy/dx)``."""
    import numpy as np

    def build(ca):
        x = ca.SX.sym("x")
        y = x
        for _ in range(depth):
            y = ca.tanh(y)
        return x, y
    out = _casadi_function(build)
    fn, xin = out.pop("fn"), np.array([x0])
    out["run"] = lambda: fn(xin)
    out["result"] = lambda res: (float(res[0]), float(res[1]))
    return out


def libm_floor_w3(depth, x0=0.5):
    """The tanh chain as the tightest native loop, for a floor under W3: ``run() -> (y, dy/dx)``.

    A numba-compiled loop (the ``native`` extra) of ``depth`` dependent libm
    ``tanh`` calls, each value kept, then the product of ``1 - y*y`` back down:
    what any code bit-equal to libm's ``tanh`` pays per call, whatever runs it.
    ``None`` without numba.
    """
    if importlib.util.find_spec("numba") is None:
        return None
    import numba
    import numpy as np

    @numba.njit(cache=False)
    def chain(x, ys):
        for i in range(ys.shape[0]):
            x = math.tanh(x)
            ys[i] = x
        g = 1.0
        for i in range(ys.shape[0] - 1, -1, -1):
            g = g * (1.0 - ys[i] * ys[i])
        return x, g

    ys = np.empty(depth)
    chain(x0, ys)  # compile outside the timing
    return lambda: chain(x0, ys)
