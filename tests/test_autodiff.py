"""The reverse pass: structure of the backward graph and its behaviour."""
import copy
import math
import warnings

import networkx as nx
import numpy as np
import pytest

import gcompile as gc
from gcompile.examples import apple_orange
from helpers import chain, op_graph



def snapshot(g):
    return (list(g.nodes(data=True)), list(g.edges(data=True)), dict(g.graph))


def test_fan_out_is_summed_by_an_accumulation_add():
    g = nx.DiGraph()
    g.add_node("x", op="input")
    g.add_nodes_from([("s", {"op": "sin"}), ("c", {"op": "cos"}), ("y", {"op": "mul"})])
    g.add_edges_from([("x", "s"), ("x", "c"), ("s", "y", {"arg": 0}), ("c", "y", {"arg": 1})])
    bwd = gc.grad(g, "y", "x", shapes={"x": ()})
    dx = bwd.graph["grads"]["x"]
    assert bwd.nodes[dx]["op"] == "add" and bwd.nodes[dx]["role"] == "accumulation"
    x = 0.3
    got = gc.evaluate(bwd, gc.evaluate(g, {"x": x}))[dx]
    assert got == pytest.approx(np.cos(x) ** 2 - np.sin(x) ** 2, rel=1e-14)


def test_x_times_x_uses_one_edge_with_two_positions():
    g = nx.DiGraph()
    g.add_node("x", op="input")
    g.add_node("y", op="mul")
    g.add_edge("x", "y", arg=[0, 1])
    assert gc.gradients(g, {"x": 3.0}, "y", "x")["x"] == pytest.approx(6.0)
    bwd = gc.grad(g, "y", "x", shapes={"x": ()})
    assert [d["arg"] for *_, d in bwd.in_edges(bwd.graph["grads"]["x"], data=True)] == [0, 1]


def test_backward_graph_nodes_carry_op_origin_role():
    g, feeds = apple_orange()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    registry = gc.registered_ops()
    for node, data in bwd.nodes(data=True):
        assert data["op"] in registry or data["op"] in ("input", "const"), node
        assert data["role"] in gc.ROLES, node
        assert data["origin"] in g, node
        if data["role"] == "forward_value":
            assert data["origin"] == node
    assert bwd.graph["grads"] == {w: f"d{w}" for w in g.graph["wrt"]}
    # the add's local derivative is written like the book's AddLayer: dout * 1
    assert bwd.nodes["dapple_price"]["rule"] == "d(x+y)/dx = 1"
    gc.plan(bwd)  # the backward graph is itself a valid graph


def test_backward_graph_is_deterministic_and_input_untouched():
    g, feeds = apple_orange()
    before, feeds_before = snapshot(g), dict(feeds)
    first = gc.grad(g, "price", g.graph["wrt"])
    second = gc.grad(copy.deepcopy(g), "price", g.graph["wrt"])
    assert snapshot(first) == snapshot(second)
    gc.gradients(g, feeds, "price", g.graph["wrt"])
    assert snapshot(g) == before and feeds == feeds_before


def test_array_feeds_are_not_mutated():
    g = op_graph("mul", 2)
    a, b = np.arange(3.0), np.ones((2, 3))
    a0, b0 = a.copy(), b.copy()
    gc.gradients(g, {"a0": a, "a1": b}, "out", ["a0", "a1"])
    assert np.array_equal(a, a0) and np.array_equal(b, b0)


def test_broadcasting_is_undone_by_an_explicit_node():
    g = op_graph("add", 2)
    bwd = gc.grad(g, "out", ["a0", "a1"], shapes={"a0": (2, 3), "a1": (3,)})
    roles = {d["role"] for _, d in bwd.nodes(data=True)}
    assert "unbroadcast" in roles
    grads = gc.gradients(g, {"a0": np.ones((2, 3)), "a1": np.ones(3)}, "out", ["a0", "a1"])
    assert grads["a1"].shape == (3,) and np.all(grads["a1"] == 2.0)
    same = gc.grad(g, "out", ["a0", "a1"], shapes={"a0": (2, 3), "a1": (2, 3)})
    assert all(d["role"] != "unbroadcast" for _, d in same.nodes(data=True))


def test_unknown_shapes_keep_the_graph_correct_for_any_shape():
    g = op_graph("mul", 2)
    bwd = gc.grad(g, "out", ["a0", "a1"])
    for a0, a1 in [(2.0, 3.0), (np.ones((4, 1)), np.arange(3.0))]:
        back = gc.evaluate(bwd, gc.evaluate(g, {"a0": a0, "a1": a1}))
        assert np.shape(back[bwd.graph["grads"]["a0"]]) == np.shape(a0)
        assert np.shape(back[bwd.graph["grads"]["a1"]]) == np.shape(a1)


@pytest.mark.parametrize("policy", ["zero", "warn", "raise"])
def test_disconnected_wrt(policy):
    g = op_graph("exp", 1)
    g.add_node("lonely", op="input")
    if policy == "raise":
        with pytest.raises(gc.GraphError, match="lonely"):
            gc.grad(g, "out", ["a0", "lonely"], disconnected="raise")
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grads = gc.gradients(g, {"a0": 0.0, "lonely": np.ones((2, 2))}, "out", ["a0", "lonely"],
                             disconnected=policy)
    assert np.array_equal(grads["lonely"], np.zeros((2, 2)))
    assert (len(caught) == 1 and "lonely" in str(caught[0].message)) == (policy == "warn")


def test_only_active_nodes_get_gradient_nodes():
    g, feeds = apple_orange()
    bwd = gc.grad(g, "price", ["apple"])
    origins = {d["origin"] for _, d in bwd.nodes(data=True) if d["role"] != "forward_value"}
    assert origins == {"price", "all_price", "apple_price"}


def test_wrt_an_intermediate_and_the_output_itself():
    g, feeds = apple_orange()
    grads = gc.gradients(g, feeds, "price", ["all_price", "price"])
    assert grads["all_price"] == pytest.approx(1.1) and grads["price"] == 1.0


def test_seed_cotangent_can_be_fed():
    g, feeds = apple_orange()
    grads = gc.gradients(g, feeds, "price", ["tax"], seed=2.0)
    assert grads["tax"] == pytest.approx(1300.0)
    bwd = gc.grad(g, "price", ["tax"])
    back = gc.evaluate(bwd, {**gc.evaluate(g, feeds), bwd.graph["seed"]: 0.5})
    assert back[bwd.graph["grads"]["tax"]] == pytest.approx(325.0)


def test_any_hashable_keys():
    g = nx.DiGraph()
    g.add_node(("in", 0), op="input")
    g.add_node(7, op="input")
    g.add_node(frozenset({"z"}), op="mul")
    g.add_edge(("in", 0), frozenset({"z"}), arg=0)
    g.add_edge(7, frozenset({"z"}), arg=1)
    grads = gc.gradients(g, {("in", 0): 2.0, 7: 5.0}, frozenset({"z"}), [("in", 0), 7])
    assert grads[("in", 0)] == 5.0 and grads[7] == 2.0


def test_generated_keys_never_collide_with_forward_keys():
    g = op_graph("mul", 2)
    g = nx.relabel_nodes(g, {"a0": "x", "a1": "dx"})
    bwd = gc.grad(g, "out", ["x", "dx"], shapes={"x": (), "dx": ()})
    grads = gc.evaluate(bwd, gc.evaluate(g, {"x": 2.0, "dx": 3.0}))
    assert grads[bwd.graph["grads"]["x"]] == 3.0 and grads[bwd.graph["grads"]["dx"]] == 2.0
    assert bwd.graph["grads"]["dx"] not in g


def test_float32_in_float32_out():
    g = chain(3, "tanh")
    x = np.linspace(-1, 1, 4, dtype=np.float32)
    assert gc.gradients(g, {"x": x}, "n3", "x")["x"].dtype == np.float32


def test_deep_chain_matches_reference_without_recursion():
    """W3 of the shared workloads: dy/dx of tanh^10000(0.5), published as 1.4307663467725206e-05."""
    depth = 10_000
    g = chain(depth, "tanh")
    value = 0.5
    for _ in range(depth):
        value = math.tanh(value)
    assert gc.evaluate(g, {"x": 0.5})[f"n{depth}"] == pytest.approx(value, rel=1e-12)
    grad = gc.gradients(g, {"x": 0.5}, f"n{depth}", "x")["x"]
    assert grad == pytest.approx(1.4307663467725206e-05, rel=1e-9)


def test_hundred_thousand_node_chain_compiles_and_evaluates():
    g = chain(100_000, "neg")
    bwd = gc.grad(g, "n100000", "x", shapes={"x": ()})
    back = gc.evaluate(bwd, gc.evaluate(g, {"x": 1.5}))
    assert back[bwd.graph["grads"]["x"]] == 1.0


def test_custom_op_in_one_declaration():
    gc.defop("softplus_test", 1, lambda xp, x: xp.log(1.0 + xp.exp(x)), symbol="softplus",
             vjp=[lambda f, g, x, out: f.mul(g, f.sigmoid(x))], rules=["d softplus/dx = σ(x)"],
             shape=lambda s: s, replace=True)
    g = op_graph("softplus_test", 1)
    assert gc.testing.check_grads(g, {"a0": np.array([-1.0, 0.5, 2.0])}, "out", "a0")
    with pytest.raises(gc.GraphError, match="already registered"):
        gc.defop("softplus_test", 1, lambda xp, x: x)


def test_check_grads_on_a_scalar_output_reports_plain_gradients():
    """Issue 11 item 3: sum(cube(x)) with a wrong rule (2x² for 3x²) reports d/dx itself."""
    from gcompile import registry

    gc.defop("cube_wrong_rule", 1, lambda xp, x: x ** 3, shape=lambda s: s,
             vjp=[lambda f, g, x, out: f.mul(g, f.mul(2.0, f.mul(x, x)))], rules=["wrong: 2x²"])
    try:
        g = nx.DiGraph()
        g.add_node("x", op="input")
        g.add_node("c", op="cube_wrong_rule")
        g.add_node("s", op="sum")
        g.add_edges_from([("x", "c"), ("c", "s")])
        x = np.array([1.0, 2.0, 3.0])
        with pytest.raises(gc.GraphError) as info:
            gc.check_grads(g, {"x": x}, "s", "x")
        analytic, numeric = (np.array(line.split("[")[1].split("]")[0].split(), float)
                             for line in str(info.value).splitlines()[1:3])
        np.testing.assert_allclose(analytic, 2 * x ** 2)
        np.testing.assert_allclose(numeric, 3 * x ** 2, rtol=1e-6)
        assert "analytic [ 2.  8. 18.]" in str(info.value)
    finally:
        registry._REGISTRY.pop("cube_wrong_rule", None)
