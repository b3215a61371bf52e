"""Hypothesis strategies for random gcompile graphs (reusable by any test module).

Two generators, both returning a :class:`Case` (graph, feeds, output, wrt):

* :func:`scalar_dags` -- random DAGs of the scalar registry ops (add sub mul div
  neg pow exp log sin cos tanh sigmoid relu sqrt abs maximum minimum) over
  float64 scalars.  Domains are kept safe by construction: ``log`` and ``sqrt``
  read ``x*x + 0.5``, ``div`` divides by ``y*y + 0.5``, ``pow`` raises
  ``x*x + 0.5`` to a bounded exponent, and any operand whose value bound grows
  past a limit is squashed through ``tanh`` first, so every value stays finite
  and moderate.
* :func:`tensor_graphs` -- random graphs over small arrays with broadcasting
  shapes (``(m, 1)``, ``(1, n)``, ``(n,)``, ``(m, n)``, ``()``): elementwise ops,
  ``sum``/``mean``/``max`` with ``axis`` and ``keepdims``, ``matmul``,
  ``softmax``, ``log_softmax``, ``softmax_cross_entropy`` (one-hot or integer
  labels), ``reshape`` and ``transpose``.

Input values come from a numpy generator seeded by a drawn integer (not from
hypothesis floats), so they avoid the special values hypothesis favours
(0.0 sits on the kink of relu and abs).  :func:`kink_margin` measures how close
an example comes to a point where a piecewise op is not differentiable; tests
reject examples closer than finite differences can resolve.

:func:`profile` is the settings object every property test uses: a fixed,
derandomized example budget in CI, selected by the environment variable
``HYPOTHESIS_PROFILE`` (``gcompile-ci`` by default, ``gcompile-release`` for the
long run documented in ``docs/robustness.md``).
"""
from __future__ import annotations

import math
import os

import networkx as nx
import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from gcompile.optable import reduced_shape

__all__ = ["Case", "SCALAR_OPS", "scalar_dags", "tensor_graphs", "kink_margin", "profile",
           "PROFILES"]

#: Profile name -> examples per test at scale 1.
PROFILES = {"gcompile-ci": 40, "gcompile-release": 2000}
for _name, _n in PROFILES.items():
    settings.register_profile(
        _name, max_examples=_n, deadline=None, derandomize=_name == "gcompile-ci",
        database=None, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                               HealthCheck.data_too_large])


def profile(scale: float = 1.0) -> settings:
    """The settings for a property test: ``HYPOTHESIS_PROFILE`` picks the budget.

    ``scale`` shrinks or grows the budget of a test whose examples are slow or fast.
    """
    name = os.environ.get("HYPOTHESIS_PROFILE", "gcompile-ci")
    if name not in PROFILES:
        name = "gcompile-ci"
    parent = settings.get_profile(name)
    return settings(parent=parent, max_examples=max(1, int(PROFILES[name] * scale)))


#: Every scalar (elementwise, differentiable) op of the built-in table.
SCALAR_OPS = ("add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sin", "cos", "tanh",
              "sigmoid", "relu", "sqrt", "abs", "maximum", "minimum")

_LIMIT = 6.0          # operands whose bound exceeds this are squashed with tanh first
_KEY_STYLES = ("str", "int", "tuple", "mixed")


class Case:
    """One generated problem: differentiate ``output`` w.r.t. ``wrt`` at ``feeds``.

    ``labels`` holds the fed inputs that are not differentiated (class labels).
    """

    __slots__ = ("graph", "feeds", "output", "wrt", "labels")

    def __init__(self, graph, feeds, output, wrt, labels=None):
        self.graph, self.feeds, self.output, self.wrt = graph, feeds, output, wrt
        self.labels = labels or {}

    def __repr__(self):  # hypothesis prints this when a property fails
        lines = [f"Case(output={self.output!r}, wrt={self.wrt!r})"]
        for v in nx.topological_sort(self.graph):
            d = self.graph.nodes[v]
            args = sorted(((e.get("arg"), u) for u, _, e in self.graph.in_edges(v, data=True)),
                          key=repr)
            extra = {k: d[k] for k in ("axis", "keepdims", "shape", "axes", "value") if k in d}
            lines.append(f"  {v!r}: {d['op']} {[u for _, u in args]} {extra or ''}")
        lines.append(f"  feeds={self.feeds!r}")
        return "\n".join(lines)


class _Builder:
    """Adds nodes with generated keys; tracks a bound on each node's absolute value."""

    def __init__(self, key_style):
        self.g = nx.DiGraph()
        self.bound = {}
        self.shape = {}
        self.key_style = key_style
        self.count = 0

    def key(self, hint):
        i = self.count
        self.count += 1
        style = self.key_style if self.key_style != "mixed" else _KEY_STYLES[i % 3]
        if style == "int":
            return i
        if style == "tuple":
            return (hint, i)
        return f"{hint}{i}"

    def input(self, bound, shape=()):
        k = self.key("x")
        self.g.add_node(k, op="input")
        self.bound[k], self.shape[k] = bound, shape
        return k

    def const(self, value):
        k = self.key("c")
        self.g.add_node(k, op="const", value=float(value))
        self.bound[k], self.shape[k] = abs(float(value)), ()
        return k

    def op(self, name, operands, bound, out_shape=(), **params):
        k = self.key(name)
        self.g.add_node(k, op=name, **params)
        slots = {}
        for pos, u in enumerate(operands):
            slots.setdefault(u, []).append(pos)
        for u, pos in slots.items():
            self.g.add_edge(u, k, arg=pos[0] if len(pos) == 1 else pos)
        self.bound[k], self.shape[k] = bound, tuple(out_shape)
        return k

    # ---- safe building blocks (shape-preserving)
    def squashed(self, u, limit=_LIMIT):
        """``u``, or ``tanh(u)`` when ``u`` may exceed ``limit`` in magnitude."""
        if self.bound[u] <= limit:
            return u
        return self.op("tanh", [u], 1.0, self.shape[u])

    def positive(self, u):
        """``u*u + 0.5``: strictly positive, at least 0.5."""
        u = self.squashed(u)
        sq = self.op("mul", [u, u], self.bound[u] ** 2, self.shape[u])
        return self.op("add", [sq, self.const(0.5)], self.bound[sq] + 0.5, self.shape[u])


def _scalar_step(b, name, picks, const):
    """Append one scalar op ``name`` reading the nodes ``picks``."""
    x = b.squashed(picks[0])
    y = b.squashed(picks[1]) if len(picks) > 1 else None
    bx = b.bound[x]
    by = b.bound[y] if y is not None else 0.0
    if name in ("add", "sub", "maximum", "minimum"):
        return b.op(name, [x, y], bx + by if name in ("add", "sub") else max(bx, by))
    if name == "mul":
        return b.op(name, [x, y], bx * by)
    if name == "div":
        den = b.positive(y)
        return b.op(name, [x, den], bx / 0.5)
    if name == "pow":
        base = b.positive(x)
        expo = const if const is not None else b.squashed(y, 1.0)
        e = abs(b.bound[expo]) if not isinstance(expo, float) else abs(expo)
        if isinstance(expo, float):
            expo = b.const(expo)
        bound = max(b.bound[base], 2.0) ** min(e, 2.0)
        return b.op(name, [base, expo], bound)
    if name in ("log", "sqrt"):
        arg = b.positive(x)
        bound = math.log(b.bound[arg]) + 1.0 if name == "log" else math.sqrt(b.bound[arg])
        return b.op(name, [arg], max(bound, 1.0))
    if name == "exp":
        x = b.squashed(x, 3.0)
        return b.op(name, [x], math.exp(b.bound[x]))
    if name in ("sin", "cos", "tanh", "sigmoid"):
        return b.op(name, [x], 1.0)
    return b.op(name, [x], bx)  # neg relu abs


_BINARY = ("add", "sub", "mul", "div", "maximum", "minimum", "pow")


@st.composite
def scalar_dags(draw, max_inputs=4, max_ops=12, ops=SCALAR_OPS, key_style=None):
    """A random DAG of scalar ops: a :class:`Case` with every input in ``wrt``.

    Some nodes may not reach the output (their inputs then get zero gradients),
    nodes may fan out, and an op may read the same node twice (``x*x``).
    """
    style = key_style or draw(st.sampled_from(_KEY_STYLES))
    b = _Builder(style)
    n_in = draw(st.integers(1, max_inputs))
    inputs = [b.input(2.0) for _ in range(n_in)]
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    feeds = {k: float(rng.uniform(-2.0, 2.0)) for k in inputs}
    nodes = list(inputs)
    n_ops = draw(st.integers(1, max_ops))
    for _ in range(n_ops):
        name = draw(st.sampled_from(ops))
        arity = 2 if name in _BINARY else 1
        # Prefer recent nodes (deep graphs) but allow any (fan-out, wide graphs).
        picks = [nodes[draw(st.integers(0, len(nodes) - 1))] for _ in range(arity)]
        if draw(st.booleans()) and arity == 1:
            picks = [nodes[-1]]
        const = None
        if name == "pow" and draw(st.booleans()):
            const = draw(st.sampled_from([2.0, 3.0, 0.5, -1.0, 1.5]))
        elif arity == 2 and name != "pow" and draw(st.integers(0, 4)) == 0:
            picks[1] = b.const(draw(st.sampled_from([0.5, 2.0, -1.5, 3.0])))
        nodes.append(_scalar_step(b, name, picks, const))
    return Case(b.g, feeds, nodes[-1], inputs)


# ------------------------------------------------------------------ tensors
_T_UNARY = ("tanh", "sin", "sigmoid", "neg", "exp", "log", "relu", "abs", "sqrt")
_T_BINARY = ("add", "sub", "mul", "div", "maximum", "minimum")
_T_OTHER = ("sum", "mean", "max", "matmul", "softmax", "log_softmax", "reshape", "transpose",
            "pow")


def _tensor_step(draw, b, nodes, rng_inputs):
    """Append one random tensor op to ``b``; return its key."""
    kind = draw(st.sampled_from(("unary", "binary", "other", "other")))
    x = nodes[draw(st.integers(0, len(nodes) - 1))]
    if draw(st.booleans()):
        x = nodes[-1]
    shape = b.shape[x]
    if kind == "unary":
        name = draw(st.sampled_from(_T_UNARY))
        return _scalar_step_t(b, name, [x])
    if kind == "binary":
        name = draw(st.sampled_from(_T_BINARY))
        partners = [n for n in nodes if _broadcastable(b.shape[n], shape)]
        y = partners[draw(st.integers(0, len(partners) - 1))]
        return _scalar_step_t(b, name, [x, y])
    name = draw(st.sampled_from(_T_OTHER))
    ndim = len(shape)
    size = math.prod(shape)
    if name in ("sum", "mean", "max"):
        if ndim == 0:
            return b.op("neg", [x], b.bound[x], shape)
        axis = draw(st.sampled_from([None] + list(range(-ndim, ndim))
                                    + ([(0, 1)] if ndim == 2 else [])))
        keepdims = draw(st.booleans())
        out = reduced_shape(shape, axis, keepdims)
        params = {"keepdims": keepdims} if keepdims else {}
        if axis is not None:
            params["axis"] = axis
        bound = b.bound[x] * (size if name == "sum" else 1)
        return b.op(name, [x], bound, out, **params)
    if name == "matmul":
        if ndim not in (1, 2):
            return b.op("sin", [x], 1.0, shape)
        x = b.squashed(x)
        k = shape[-1]
        form = draw(st.integers(0, 2))
        if form == 2 and ndim == 2:  # an input on the left: (2, m) @ x
            w = rng_inputs((2, shape[0]))
            return b.op("matmul", [w, x], b.bound[x] * shape[0], (2, shape[1]))
        wshape = (k,) if form == 1 and ndim == 2 else (k, draw(st.integers(1, 3)))
        w = rng_inputs(wshape)
        return b.op("matmul", [x, w], b.bound[x] * k, shape[:-1] + wshape[1:])
    if name in ("softmax", "log_softmax"):
        if ndim == 0:
            return b.op("tanh", [x], 1.0, shape)
        axis = draw(st.sampled_from(list(range(-ndim, ndim))))
        params = {} if axis == -1 else {"axis": axis}
        if name == "softmax":
            return b.op(name, [x], 1.0, shape, **params)
        x = b.squashed(x)
        return b.op(name, [x], 2 * b.bound[x] + math.log(max(size, 1)) + 1, shape, **params)
    if name == "reshape":
        if draw(st.booleans()) or ndim != 2:
            return b.op("reshape", [x], b.bound[x], (size,), shape=(-1,))
        return b.op("reshape", [x], b.bound[x], (shape[1], shape[0]),
                    shape=(shape[1], shape[0]))
    if name == "transpose":
        return b.op("transpose", [x], b.bound[x], tuple(reversed(shape)))
    return _scalar_step_t(b, "pow", [x])


def _broadcastable(s, t):
    try:
        np.broadcast_shapes(s, t)
    except ValueError:
        return False
    return True


def _scalar_step_t(b, name, picks):
    """Elementwise op on arrays (safe domains as for scalars); tracks the broadcast shape."""
    shape = np.broadcast_shapes(*[b.shape[p] for p in picks])
    before = len(b.g)
    key = _scalar_step(b, name, picks + ([picks[0]] if name == "pow" else []),
                       2.0 if name == "pow" else None)
    for k in list(b.g.nodes)[before:]:
        if b.g.nodes[k]["op"] != "const":
            ops = [b.shape[u] for u in b.g.predecessors(k)]
            b.shape[k] = tuple(np.broadcast_shapes(*ops)) if ops else b.shape[k]
    assert b.shape[key] == tuple(shape), (b.shape[key], shape)
    return key


@st.composite
def tensor_graphs(draw, max_ops=8, key_style=None, loss=None):
    """A random graph over small arrays with broadcasting shapes: a :class:`Case`.

    ``loss=True`` ends the graph with ``softmax_cross_entropy`` against labels
    (one-hot floats or integer class labels, drawn); ``None`` draws it.
    """
    style = key_style or draw(st.sampled_from(_KEY_STYLES))
    b = _Builder(style)
    m = draw(st.integers(2, 3))
    n = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    feeds = {}

    def new_input(shape):
        k = b.input(1.0, tuple(shape))
        feeds[k] = rng.uniform(-1.0, 1.0, size=shape)
        return k

    shapes = [(m, n), (m, 1), (1, n), (n,), ()]
    n_in = draw(st.integers(1, 3))
    nodes = [new_input(shapes[0])]
    nodes += [new_input(draw(st.sampled_from(shapes))) for _ in range(n_in - 1)]
    for _ in range(draw(st.integers(1, max_ops))):
        nodes.append(_tensor_step(draw, b, nodes, new_input))
    out = nodes[-1]
    labels = {}
    if loss is None:
        loss = draw(st.integers(0, 3)) == 0
    if loss:
        x = b.squashed(out)
        if len(b.shape[x]) != 2:
            x = b.op("reshape", [x], b.bound[x], (1, math.prod(b.shape[x])), shape=(1, -1))
        rows, classes = b.shape[x]
        t = b.key("t")
        b.g.add_node(t, op="input")
        ints = rng.integers(0, classes, size=rows)
        if draw(st.booleans()):
            labels[t] = ints
        else:
            labels[t] = np.eye(classes)[ints]
        out = b.op("softmax_cross_entropy", [x, t], 10.0, ())
    wrt = list(feeds)
    return Case(b.g, {**feeds, **labels}, out, wrt, labels)


# ------------------------------------------------------------------ kinks
def kink_margin(graph, values) -> float:
    """Smallest non-zero distance of any piecewise op to its kink (``inf`` if none).

    relu and abs: ``|x|``; maximum and minimum: ``|x - y|``; max: the gap between
    an element and the maximum it does not reach.  Exact zeros are structural
    (``max(x, x)``, ``abs(x - x)``), where gcompile's tie rules agree with finite
    differences, so they are not counted.
    """
    margin = math.inf
    for v, d in graph.nodes(data=True):
        op = d["op"]
        if op not in ("relu", "abs", "maximum", "minimum", "max"):
            continue
        preds = {}
        for u, _, e in graph.in_edges(v, data=True):
            for pos in (e["arg"] if isinstance(e.get("arg"), list) else [e.get("arg") or 0]):
                preds[pos] = u
        x = np.asarray(values[preds[0]], dtype=np.float64)
        if op in ("maximum", "minimum"):
            gap = np.abs(x - np.asarray(values[preds[1]], dtype=np.float64))
        elif op == "max":
            out = np.max(x, axis=_axis(d.get("axis")), keepdims=True)
            gap = np.abs(out - x)
        else:
            gap = np.abs(x)
        gap = gap[gap > 0]
        if gap.size:
            margin = min(margin, float(gap.min()))
    return margin


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis
