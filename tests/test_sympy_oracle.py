"""Scalar graphs against an independent symbolic oracle (sympy).

Each expression is written twice: as a gcompile graph (hand-built) and as a
sympy expression; the gradients must agree to float64 precision.
"""
import networkx as nx
import numpy as np
import pytest
import sympy as sp

import gcompile as gc

X, Y, Z = sp.symbols("x y z", real=True)
SYMPY_OP = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "pow": lambda a, b: a ** b, "neg": lambda a: -a,
    "exp": sp.exp, "log": sp.log, "sin": sp.sin, "cos": sp.cos, "tanh": sp.tanh,
    "sigmoid": lambda a: 1 / (1 + sp.exp(-a)), "sqrt": sp.sqrt, "abs": sp.Abs,
    "relu": lambda a: sp.Max(a, 0), "maximum": sp.Max, "minimum": sp.Min,
}


class Expr:
    """Builds the gcompile graph and the sympy expression side by side."""

    def __init__(self):
        self.g = nx.DiGraph()
        self.n = 0

    def var(self, name, sym):
        self.g.add_node(name, op="input")
        return name, sym

    def const(self, value):
        key = f"c{self.n}"
        self.n += 1
        self.g.add_node(key, op="const", value=value)
        return key, sp.Float(value)

    def __call__(self, op, *args):
        key = f"{op}{self.n}"
        self.n += 1
        self.g.add_node(key, op=op)
        for i, (k, _) in enumerate(args):
            if self.g.has_edge(k, key):
                prev = self.g.edges[k, key]["arg"]
                self.g.edges[k, key]["arg"] = (prev if isinstance(prev, list) else [prev]) + [i]
            else:
                self.g.add_edge(k, key, arg=i)
        return key, SYMPY_OP[op](*[s for _, s in args])


def build(kind):
    e = Expr()
    x, y, z = e.var("x", X), e.var("y", Y), e.var("z", Z)
    if kind == "polynomial":
        out = e("add", e("mul", x, x), e("mul", e.const(3.0), e("mul", y, z)))
    elif kind == "rational":
        out = e("div", e("sub", x, y), e("add", e("mul", z, z), e.const(1.5)))
    elif kind == "transcendental":
        out = e("mul", e("exp", e("sin", x)), e("log", e("add", e("mul", y, y), e.const(2.0))))
    elif kind == "activations":
        out = e("add", e("tanh", e("mul", x, y)), e("sigmoid", e("sub", z, x)))
    elif kind == "powers":
        out = e("add", e("pow", e("sqrt", e("add", e("mul", x, x), e.const(1.0))), y), e("neg", e("cos", z)))
    elif kind == "kinks":
        out = e("add", e("mul", e("abs", x), e("relu", y)), e("maximum", e("minimum", x, z), y))
    elif kind == "fanout":
        s = e("sin", x)
        t = e("mul", s, s)
        out = e("add", e("mul", t, s), e("div", t, e("add", e("exp", y), z)))
    else:
        raise ValueError(kind)
    return e.g, out


POINTS = [{"x": 0.7, "y": 1.3, "z": -0.4}, {"x": -1.1, "y": 0.6, "z": 2.2}]


@pytest.mark.parametrize("kind", ["polynomial", "rational", "transcendental", "activations",
                                  "powers", "kinks", "fanout"])
@pytest.mark.parametrize("point", POINTS)
def test_gradients_equal_sympy(kind, point):
    g, (out, expr) = build(kind)
    subs = {X: point["x"], Y: point["y"], Z: point["z"]}
    value = gc.evaluate(g, point)[out]
    assert float(value) == pytest.approx(float(expr.evalf(30, subs=subs)), rel=1e-13, abs=1e-14)
    grads = gc.gradients(g, point, out, ["x", "y", "z"])
    for name, sym in (("x", X), ("y", Y), ("z", Z)):
        expected = float(sp.diff(expr, sym).evalf(30, subs=subs))
        assert float(grads[name]) == pytest.approx(expected, rel=1e-12, abs=1e-13), name


def test_second_derivative_by_differentiating_the_backward_graph():
    """The backward graph is made of registry ops, so it differentiates again (tanh'')."""
    g = nx.DiGraph()
    g.add_node("x", op="input")
    g.add_node("y", op="tanh")
    g.add_edge("x", "y")
    bwd = gc.grad(g, "y", "x", shapes={"x": ()})
    # Join: the backward graph's forward reads are the forward nodes themselves.
    joint = nx.compose(bwd, g)  # the forward attributes win on shared keys
    dx = bwd.graph["grads"]["x"]
    x0 = 0.37
    second = gc.gradients(joint, {"x": x0}, dx, ["x"])["x"]
    expected = float(sp.diff(sp.tanh(X), X, 2).evalf(30, subs={X: x0}))
    assert float(second) == pytest.approx(expected, rel=1e-12)
    assert np.isfinite(second)
