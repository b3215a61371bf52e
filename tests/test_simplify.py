"""One simplifier: gc.optimize and gc.compile fold and simplify the same nodes the same way,
with the facts each op declares (built-in or user op)."""
import math

import networkx as nx
import numpy as np
import pytest

import gcompile as gc
from gcompile import lowering
from gcompile.graph import plan as make_plan
from gcompile.passes import fold_constants, optimize
from gcompile.registry import registered_ops
from gcompile.simplify import ValueFacts, simplify, uniform

X = np.array([0.5, -1.25, 2.0])


def graph_of(op, *operands, **params):
    """``x`` (an input of shape (3,)) and constants feeding ``y = op(...)``; 'out' = sum(y)."""
    g = nx.DiGraph()
    g.add_node("x", op="input", shape=(3,))
    g.add_node("y", op=op, **params)
    for pos, a in enumerate(operands):
        if isinstance(a, str) and a == "x":
            name = "x"
        elif isinstance(a, tuple):  # a nested op on x
            name = f"in{pos}"
            g.add_node(name, op=a[0])
            g.add_edge("x", name, arg=0)
        else:
            name = f"c{pos}"
            g.add_node(name, op="const", value=a)
        if g.has_edge(name, "y"):
            g.edges[name, "y"]["arg"] = [g.edges[name, "y"]["arg"], pos]
        else:
            g.add_edge(name, "y", arg=pos)
    g.add_node("out", op="sum")
    g.add_edge("y", "out", arg=0)
    return g


def optimize_fate(g):
    """What fold_constants did with 'y': ('alias', key), ('const',), ('rewrite', op) or None."""
    small = fold_constants(g)
    if "y" not in small:
        (target,) = list(small.predecessors("out"))
        return ("alias", "x" if target == "x" else target)
    op = small.nodes["y"]["op"]
    if op == "const":
        return ("const",)
    return None if op == g.nodes["y"]["op"] else ("rewrite", op)


def compile_fate(g):
    """What compile's lowering did with 'y', in the same terms."""
    p = make_plan(g)
    prog = lowering._lower_forward(g, p, ["out"], {"x": ((3,), "f8")})
    i = prog.alias["y"]
    if prog.keys[i] != "y":
        return ("alias", prog.keys[i])
    if prog.kinds[i] == lowering.CONST:
        return ("const",)
    return None if prog.op_names[i] == g.nodes["y"]["op"] else ("rewrite", prog.op_names[i])


CASES = [
    (("mul", "x", 1.0), ("alias", "x")),
    (("mul", 1.0, "x"), ("alias", "x")),
    (("mul", "x", np.ones(3)), ("alias", "x")),
    (("mul", "x", np.ones((2, 3))), None),          # broadcasts x: not the identity
    (("add", "x", 0.0), ("alias", "x")),
    (("add", 0.0, "x"), ("alias", "x")),
    (("sub", "x", 0.0), ("alias", "x")),
    (("sub", 0.0, "x"), None),                      # -x, but 0 - 0 is +0 where -0 is -0
    (("div", "x", 1.0), ("alias", "x")),
    (("div", 1.0, "x"), None),
    (("pow", "x", 1.0), ("alias", "x")),
    (("pow", 1.0, "x"), None),
    (("mul", "x", -1.0), ("rewrite", "neg")),
    (("mul", -1.0, "x"), ("rewrite", "neg")),
    (("mul", "x", 0.0), None),                      # nan where x is inf
    (("mul", "x", 2.0), None),
    (("mul", ("neg",), -1.0), ("alias", "x")),      # x * -1 of a neg: neg(neg x) = x
    (("neg", ("neg",)), ("alias", "x")),
    (("neg", ("exp",)), None),
    (("add", 2.0, 3.0), ("const",)),
    (("exp", 1.0), ("const",)),
    (("ones_like", "x"), ("const",)),
    (("zeros_like", "x"), ("const",)),
    (("count", "x"), ("const",)),
    (("batch_size", "x"), ("const",)),
    (("reshape", "x"), ("alias", "x"), {"shape": [3]}),
    (("reshape", "x"), None, {"shape": [3, 1]}),
    (("broadcast_to", "x"), ("alias", "x"), {"shape": [3]}),
    (("sum_to_like", "x", "x"), ("alias", "x")),
    (("exp", "x"), None),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: repr(c[0]))
def test_optimize_and_compile_agree_over_a_table_of_cases(case):
    (op, *operands), expected = case[0], case[1]
    params = case[2] if len(case) > 2 else {}
    g = graph_of(op, *operands, **params)
    assert optimize_fate(g) == expected
    assert compile_fate(g) == expected
    # and the simplified graphs still compute what the interpreter computes
    want = gc.evaluate(g, {"x": X})["out"]
    small = fold_constants(g)
    np.testing.assert_allclose(gc.evaluate(small, {"x": X})["out"], want, rtol=1e-15)
    if nx.has_path(g, "x", "out"):
        value, _ = gc.compile(g, "out", ["x"])({"x": X})
        np.testing.assert_allclose(value, want, rtol=1e-15)


def test_uniform_is_the_one_all_equal_helper():
    assert uniform(np.full((2, 2), -1.0)) == -1.0 and uniform(np.array([1, 1])) == 1.0
    assert uniform(np.array([1.0, 2.0])) is None and uniform(np.array(["a"])) is None
    assert uniform(np.array([np.nan])) is None and uniform(np.array(1 + 1j)) is None


def test_a_user_op_with_declared_facts_is_simplified_by_optimize_and_compile():
    gc.defop("scale_by", 2, lambda xp, x, k: x * k, shape=lambda a, b: tuple(np.broadcast_shapes(a, b)),
             broadcasts=True, keeps_float64=True, identity=(None, 1.0),
             unary_when=[(1, -1.0, "neg")],
             vjp=[lambda f, g, x, k, out: f.mul(g, k), lambda f, g, x, k, out: f.mul(g, x)],
             rules=["d/dx = k", "d/dk = x"], replace=True)
    gc.defop("flip", 1, lambda xp, x: -x, shape=lambda s: s, elementwise=True,
             keeps_float64=True, involution=True,
             vjp=[lambda f, g, x, out: f.neg(g)], rules=["d flip/dx = -1"], replace=True)
    gc.defop("numel", 1, lambda xp, x: float(math.prod(getattr(x, "shape", ()))),
             shape=lambda s: (), shape_only=True, keeps_float64=True, replace=True)
    try:
        # y = flip(flip(scale_by(x, 1))) * numel(x); z = scale_by(x, -1); out = sum(y) + sum(z)
        def model(x):
            ops = gc.ops
            y = ops.flip(ops.flip(ops.scale_by(x, 1.0))) * ops.numel(x)
            return ops.add(ops.sum(y), ops.sum(ops.scale_by(x, -1.0)), name="out")

        g = gc.trace(model, "x", shapes={"x": (3,)})
        small, log = optimize(g, keep=["out"])
        ops_left = sorted(d["op"] for _, d in small.nodes(data=True))
        assert ops_left == ["add", "const", "input", "mul", "neg", "sum", "sum"]
        assert any(new == "neg" for _, new in log.records[0]["folded"])
        want = gc.evaluate(g, {"x": X})["out"]
        assert gc.evaluate(small, {"x": X})["out"] == pytest.approx(float(want), rel=1e-15)

        f = gc.compile(g, "out", ["x"])
        value, grads = f({"x": X})
        assert value == pytest.approx(float(want), rel=1e-15)
        np.testing.assert_allclose(grads["x"], np.full(3, 3.0 - 1.0))
        body = "\n".join(line.split("#")[0] for line in f.source.splitlines())
        assert "flip" not in body and "scale_by" not in body and "numel" not in body
    finally:
        from gcompile import registry
        for name in ("scale_by", "flip", "numel"):
            registry._REGISTRY.pop(name, None)


def test_every_op_fact_is_declared_in_the_table():
    ops = registered_ops()
    assert all(ops[name].keeps_float64 for name in BUILTIN)
    assert {op.ufunc for op in ops.values() if op.ufunc} >= {
        "add", "subtract", "multiply", "divide", "power", "negative", "matmul", "exp", "log",
        "sin", "cos", "tanh", "sqrt", "absolute", "maximum", "minimum"}
    assert [n for n, op in ops.items() if op.shape_only] == [
        "count", "batch_size", "ones_like", "zeros_like"]
    assert ops["mul"].identity == (1.0, 1.0) and ops["sub"].identity == (None, 0.0)


BUILTIN = ("add sub mul div neg pow exp log sin cos tanh sigmoid relu sqrt abs maximum minimum "
           "step sign max_weight sum mean max max_mask reshape reshape_like transpose broadcast_to "
           "broadcast_like sum_to_like count batch_size ones_like zeros_like matmul matmul_bt "
           "matmul_at softmax log_softmax softmax_cross_entropy softmax_cross_entropy_grad "
           "label_mass").split()


def test_value_facts_doc_example_rewrites_to_neg():
    kind, opdef, ids = simplify(gc.lookup("mul"), [0, 1], {}, ValueFacts([None, -1.0], [(3,), ()]),
                                (3,))
    assert (kind, opdef.name, ids) == ("rewrite", "neg", [0])


def test_a_user_op_declaring_a_ufunc_answers_it_on_traced_values():
    gc.defop("hypot", 2, lambda xp, x, y: xp.sqrt(x * x + y * y), broadcasts=True,
             shape=lambda a, b: tuple(np.broadcast_shapes(a, b)), ufunc="hypot",
             vjp=[lambda f, g, x, y, out: f.mul(g, f.div(x, out)),
                  lambda f, g, x, y, out: f.mul(g, f.div(y, out))],
             rules=["x/h", "y/h"], replace=True)
    try:
        g = gc.trace(lambda x, y: gc.ops.sum(np.hypot(x, y), name="s"), "x", "y")
        assert sorted(d["op"] for _, d in g.nodes(data=True)) == ["hypot", "input", "input", "sum"]
        feeds = {"x": np.array([3.0, 5.0]), "y": np.array([4.0, 12.0])}
        assert float(gc.evaluate(g, feeds)["s"]) == pytest.approx(18.0)
        assert gc.check_grads(g, feeds, "s", ["x", "y"])
    finally:
        from gcompile import registry
        registry._REGISTRY.pop("hypot", None)
        registry._UFUNCS.pop("hypot", None)
    with pytest.raises(gc.GraphError, match="numpy hypot"):
        gc.trace(lambda x: np.hypot(x, x), "x")
