"""gc.from_sympy / gc.to_sympy: sympy's own derivatives are the oracle."""
import networkx as nx
import numpy as np
import pytest

import gcompile as gc
from helpers import op_graph

sympy = pytest.importorskip("sympy")
x, y, z = sympy.symbols("x y z", real=True)
REAL = {s.name: s for s in (x, y, z)}
EXPRS = [
    x * sympy.exp(y) + x,
    sympy.sin(x * y) ** 2 + sympy.sin(x * y) / (1 + z ** 2),
    sympy.tanh(x - 2 * y) * sympy.sqrt(z ** 2 + 1),
    sympy.log(1 + x ** 2) - sympy.cos(y) * z ** 3,
    sympy.Max(x, y * z) + sympy.Abs(x - 3),
    x / y - z / (x + 4),
]
POINT = {"x": 0.7, "y": -1.3, "z": 0.4}


@pytest.mark.parametrize("k", range(len(EXPRS)))
def test_from_sympy_gradients_equal_sympy_derivatives(k):
    expr = EXPRS[k]
    g = gc.from_sympy(expr, "f")
    wrt = g.graph["wrt"]
    subs = {REAL[s]: POINT[s] for s in wrt}
    assert float(gc.evaluate(g, POINT)["f"]) == pytest.approx(float(expr.subs(subs)), rel=1e-12)
    grads = gc.gradients(g, POINT, "f", wrt)
    for s in wrt:
        expected = float(sympy.diff(expr, REAL[s]).subs(subs))
        assert float(grads[s]) == pytest.approx(expected, rel=1e-12, abs=1e-14), s


@pytest.mark.parametrize("k", range(len(EXPRS)))
def test_to_sympy_of_the_backward_graph_is_the_closed_form_gradient(k):
    expr = EXPRS[k]
    g = gc.from_sympy(expr, "f")
    bwd = gc.grad(g, "f", g.graph["wrt"])
    exprs = gc.to_sympy(gc.joint_graph(g, bwd), symbols=REAL)
    assert sympy.simplify(exprs["f"] - expr) == 0
    for s in g.graph["wrt"]:
        got = exprs[bwd.graph["grads"][s]]
        want = sympy.diff(expr, REAL[s])
        if expr.has(sympy.Max, sympy.Abs):  # piecewise: compare at the point
            subs = {REAL[n]: POINT[n] for n in POINT}
            assert float(got.subs(subs)) == pytest.approx(float(want.subs(subs)), rel=1e-12)
        else:
            assert sympy.simplify(got - want) == 0, (s, got, want)


def test_shared_subexpressions_share_one_node():
    s = sympy.sin(x * y)
    g = gc.from_sympy(s ** 2 + s / (1 + s), "f")
    ops = [d["op"] for _, d in g.nodes(data=True)]
    assert ops.count("sin") == 1 and ops.count("input") == 2
    assert nx.is_directed_acyclic_graph(g)


def test_several_outputs_and_a_bare_symbol():
    g = gc.from_sympy({"a": x + y, "b": x})
    assert g.graph["outputs"] == ["a", "b"] and g.graph["output"] == "a"
    values = gc.evaluate(g, {"x": 2.0, "y": 3.0})
    assert float(values["a"]) == 5.0 and float(values["b"]) == 2.0


def test_to_sympy_reads_the_seed_example():
    from gcompile.examples import apple

    g, feeds = apple()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    exprs = gc.to_sympy(gc.joint_graph(g, bwd))
    apple_, num, tax = sympy.symbols("apple apple_num tax")
    assert exprs["dapple"] == num * tax and exprs["dtax"] == apple_ * num


def test_errors_name_the_culprit():
    with pytest.raises(gc.GraphError, match="node 'out' has op 'matmul', which has no scalar"):
        gc.to_sympy(op_graph("matmul", 2))
    with pytest.raises(gc.GraphError, match="from_sympy: no op for gamma"):
        gc.from_sympy(sympy.gamma(x))
    with pytest.raises(gc.GraphError, match="is not a sympy expression"):
        gc.from_sympy(object())
    g = nx.DiGraph()
    g.add_node("c", op="const", value=np.ones(3))
    with pytest.raises(gc.GraphError, match="const node 'c' holds"):
        gc.to_sympy(g)
