"""Simplification passes: each preserves gradients; node counts shrink where they should."""
import copy
import random

import networkx as nx
import numpy as np
import pytest

import gcompile as gc
from gcompile.examples import apple, apple_orange, two_layer_net
from gcompile.passes import (PASSES, eliminate_common_subexpressions, eliminate_dead_code,
                             fold_constants, optimize)

SEED_GRADS = {"apple": {"apple": 2.2, "apple_num": 110.0, "tax": 200.0},
              "apple_orange": {"apple": 2.2, "apple_num": 110.0, "orange": 3.3, "orange_num": 165.0,
                               "tax": 650.0}}


def run_pass(name, bwd, **kw):
    if name == "fold_constants":
        return fold_constants(bwd, **kw)
    if name == "eliminate_common_subexpressions":
        return eliminate_common_subexpressions(bwd)
    if name == "eliminate_dead_code":
        return eliminate_dead_code(bwd)
    return optimize(bwd, **kw)[0]


def grads_of(bwd, values):
    back = gc.evaluate(bwd, values)
    return {w: back[n] for w, n in bwd.graph["grads"].items()}


def snapshot(g):
    return (copy.deepcopy(dict(g.graph)), [(n, repr(d)) for n, d in g.nodes(data=True)],
            [(u, v, repr(d)) for u, v, d in g.edges(data=True)])


ALL = list(PASSES) + ["optimize"]


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("make", [apple, apple_orange])
def test_every_pass_keeps_the_seed_gradients(make, name):
    g, feeds = make()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    before = snapshot(bwd)
    out = run_pass(name, bwd)
    assert snapshot(bwd) == before, "the input graph was modified"
    got = grads_of(out, gc.evaluate(g, feeds))
    for w, expected in SEED_GRADS[make.__name__].items():
        assert float(got[w]) == pytest.approx(expected, rel=1e-14)


def test_seed_counts_before_and_after_written_out():
    # apple: dprice, tax, dapple_price, apple_price, dtax, apple_num, dapple, apple, dapple_num
    g, _ = apple()
    small, log = optimize(gc.grad(g, "price", g.graph["wrt"]))
    assert (log.before, log.after) == (9, 6)
    # seed 1 multiplied through: dapple_price = 1 * tax is tax; dtax = 1 * apple_price is apple_price
    assert sorted(small.nodes) == ["apple", "apple_num", "apple_price", "dapple", "dapple_num", "tax"]
    assert small.graph["grads"] == {"apple": "dapple", "apple_num": "dapple_num", "tax": "apple_price"}
    assert small.graph["seed"] is None
    assert list(small.predecessors("dapple")) == ["apple_num", "tax"] or \
        sorted(small.predecessors("dapple")) == ["apple_num", "tax"]
    assert small.nodes["dapple"]["local"] == "apple_num"
    text = str(log)
    assert "aliased 'dapple_price' -> 'tax'" in text and "removed 'dprice'" in text


def test_fold_seed_false_keeps_a_feedable_seed():
    g, feeds = apple_orange()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    small, log = optimize(bwd, fold_seed=False)
    seed = small.graph["seed"]
    assert seed == "dprice" and small.nodes[seed]["feedable"]
    assert log.after == 13 < log.before == 17  # the add's "* 1" still folds away
    values = dict(gc.evaluate(g, feeds), dprice=3.0)
    got = grads_of(small, values)
    assert float(got["apple"]) == pytest.approx(3 * 2.2)
    assert float(got["tax"]) == pytest.approx(3 * 650.0)


def test_broadcasting_mul_by_ones_is_not_folded():
    g = nx.DiGraph()
    g.add_node("x", op="input", shape=(3,))
    g.add_node("ones", op="const", value=np.ones((2, 3)))
    g.add_node("y", op="mul")
    g.add_edge("x", "y", arg=0)
    g.add_edge("ones", "y", arg=1)
    g.add_node("zero", op="const", value=0.0)
    g.add_node("z", op="add")  # z = y + 0: same shape as y, safe
    g.add_edge("y", "z", arg=0)
    g.add_edge("zero", "z", arg=1)
    g.add_node("s", op="sum")
    g.add_edge("z", "s")
    small = fold_constants(g)
    assert "y" in small and "z" not in small  # x * ones(2, 3) broadcasts x; y + 0 is y
    assert small.graph == g.graph
    x = np.array([0.5, -1.0, 2.0])
    assert float(gc.evaluate(small, {"x": x})["s"]) == pytest.approx(2 * x.sum())
    bwd = gc.grad(g, "s", "x", shapes={"x": (3,)})
    for name in ALL:
        out = run_pass(name, bwd)
        got = grads_of(out, gc.evaluate(g, {"x": x}))["x"]
        np.testing.assert_allclose(got, [2.0, 2.0, 2.0])
    assert optimize(bwd)[1].after < bwd.number_of_nodes()


def test_unknown_shape_blocks_identity_folding():
    g = nx.DiGraph()
    g.add_node("x", op="input")  # no shape: x * 1 might broadcast
    g.add_node("one", op="const", value=np.ones((2, 2)))
    g.add_node("y", op="mul")
    g.add_edge("x", "y", arg=0)
    g.add_edge("one", "y", arg=1)
    assert "y" in fold_constants(g)
    assert "y" not in fold_constants(g, shapes={"x": (2, 2)})


def test_constant_subgraph_and_double_negation_fold():
    g = nx.DiGraph()
    g.add_node("x", op="input", shape=())
    g.add_node("a", op="const", value=2.0)
    g.add_node("b", op="const", value=3.0)
    g.add_node("ab", op="mul")
    g.add_edges_from([("a", "ab", {"arg": 0}), ("b", "ab", {"arg": 1})])
    g.add_node("e", op="exp")
    g.add_edge("ab", "e")
    g.add_node("n1", op="neg")
    g.add_node("n2", op="neg")
    g.add_edge("x", "n1")
    g.add_edge("n1", "n2")
    g.add_node("y", op="mul")
    g.add_edges_from([("n2", "y", {"arg": 0}), ("e", "y", {"arg": 1})])
    g.graph["output"] = "y"
    small, log = optimize(g)
    assert small.nodes["e"]["op"] == "const"
    assert small.nodes["e"]["value"] == pytest.approx(np.exp(6.0))
    assert sorted(small.nodes) == ["e", "x", "y"]
    assert float(gc.evaluate(small, {"x": 1.5})["y"]) == pytest.approx(1.5 * np.exp(6.0))
    assert log.before == 8 and log.after == 3


def test_output_aliased_away_is_remapped_in_forward_graphs():
    g = nx.DiGraph()
    g.add_node("x", op="input", shape=(2,))
    g.add_node("one", op="const", value=1.0)
    g.add_node("y", op="mul")
    g.add_edges_from([("x", "y", {"arg": 0}), ("one", "y", {"arg": 1})])
    g.graph.update(output="y", wrt=["x"])
    small, log = optimize(g)
    assert small.graph["output"] == "x" and sorted(small.nodes) == ["x"]
    small, log = optimize(g, keep=["y"])
    assert sorted(small.nodes) == ["x"]


def test_cse_merges_same_op_same_positions_and_equal_consts_only():
    g = nx.DiGraph()
    g.add_node("x", op="input")
    g.add_node("y", op="input")
    for name, value in [("c1", 2.0), ("c2", 2.0), ("c3", np.float32(2.0)), ("c4", np.array([2.0]))]:
        g.add_node(name, op="const", value=value)
    for name, (a, b) in {"m1": ("x", "y"), "m2": ("x", "y"), "m3": ("y", "x"),
                         "k1": ("x", "c1"), "k2": ("x", "c2"), "k3": ("x", "c3"),
                         "k4": ("x", "c4")}.items():
        g.add_node(name, op="mul")
        g.add_edge(a, name, arg=0)
        g.add_edge(b, name, arg=1)
    g.add_node("s1", op="sum", axis=0)
    g.add_node("s2", op="sum", axis=0)
    g.add_node("s3", op="sum")
    for s in ("s1", "s2", "s3"):
        g.add_edge("k4", s)
    small = eliminate_common_subexpressions(g)
    assert "m2" not in small and "m3" in small  # positions matter
    assert "c2" not in small and "k2" not in small  # equal float64 consts merge
    assert "c3" in small and "k3" in small and "c4" in small  # dtype or shape differs
    assert "s2" not in small and "s3" in small  # params matter
    assert len(g) - len(small) == 4


def test_dead_code_keeps_only_what_requested_gradients_need():
    g, feeds = apple_orange()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    small, log = optimize(bwd, keep=[bwd.graph["grads"]["apple"]],
                          passes=["eliminate_dead_code"])
    # dapple = (dprice * tax) * 1 * apple_num: dprice, tax, dall_price, c, dapple_price, apple_num, dapple
    assert log.after == 7
    values = gc.evaluate(g, feeds)
    assert float(gc.evaluate(small, values)["dapple"]) == pytest.approx(2.2)


def test_errors_are_graph_errors():
    g, _ = apple()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    with pytest.raises(gc.GraphError, match="unknown pass 'fold'"):
        optimize(bwd, passes=["fold"])
    with pytest.raises(gc.GraphError, match="unknown keep node 'nope'"):
        optimize(bwd, keep=["nope"])
    bare = nx.DiGraph()
    bare.add_node("x", op="input")
    with pytest.raises(gc.GraphError, match="keep"):
        eliminate_dead_code(bare)


def test_grad_optimize_true_applies_the_passes():
    g, feeds = apple_orange()
    bwd = gc.grad(g, "price", g.graph["wrt"], optimize=True)
    assert bwd.graph["pass_log"]["before"] == 17 and bwd.number_of_nodes() == 10
    got = grads_of(bwd, gc.evaluate(g, feeds))
    assert float(got["orange"]) == pytest.approx(3.3)


# ----------------------------------------------------------- random DAGs
UNARY = ["tanh", "sin", "exp", "neg", "sigmoid"]
BINARY = ["add", "mul", "sub"]


def random_dag(rng, n_inputs=3, n_ops=14, shape=(2,)):
    """A random DAG with constants 0 and 1, repeated subexpressions and double negations."""
    g = nx.DiGraph()
    nodes = []
    for i in range(n_inputs):
        g.add_node(f"x{i}", op="input", shape=shape)
        nodes.append(f"x{i}")
    g.add_node("one", op="const", value=1.0)
    g.add_node("zero", op="const", value=0.0)
    for k in range(n_ops):
        name = f"n{k}"
        r = rng.random()
        if r < 0.35:
            op = rng.choice(UNARY)
            src = rng.choice(nodes[-5:])
            g.add_node(name, op=op)
            g.add_edge(src, name)
        elif r < 0.55:
            op = rng.choice(["mul", "add"])
            a = rng.choice(nodes)
            c = "one" if op == "mul" else "zero"
            g.add_node(name, op=op)
            g.add_edge(a, name, arg=0)
            g.add_edge(c, name, arg=1)
        elif r < 0.7 and k > 0:  # a repeat of the previous node: CSE food
            prev = f"n{k - 1}"
            g.add_node(name, **g.nodes[prev])
            for u in g.predecessors(prev):
                g.add_edge(u, name, **g.edges[u, prev])
        else:
            op = rng.choice(BINARY)
            a, b = rng.choice(nodes), rng.choice(nodes)
            g.add_node(name, op=op)
            if a == b:
                g.add_edge(a, name, arg=[0, 1])
            else:
                g.add_edge(a, name, arg=0)
                g.add_edge(b, name, arg=1)
        nodes.append(name)
    sinks = [n for n in nodes if g.out_degree(n) == 0 and n.startswith("n")]
    g.add_node("out", op="const", value=0.0)
    total = "out"
    for i, s in enumerate(sinks):
        name = f"acc{i}"
        g.add_node(name, op="add")
        g.add_edge(total, name, arg=0)
        g.add_edge(s, name, arg=1)
        total = name
    g.add_node("loss", op="sum")
    g.add_edge(total, "loss")
    return g


@pytest.mark.parametrize("seed", range(12))
def test_random_dags_keep_their_gradients(seed):
    rng = random.Random(seed)
    g = random_dag(rng)
    nprng = np.random.default_rng(seed)
    feeds = {f"x{i}": nprng.normal(size=2) for i in range(3)}
    wrt = [f"x{i}" for i in range(3)]
    bwd = gc.grad(g, "loss", wrt, disconnected="zero")
    values = gc.evaluate(g, feeds)
    expected = grads_of(bwd, values)
    before = snapshot(bwd)
    for name in ALL:
        for fold_seed in (True, False):
            kw = {} if name in ("eliminate_common_subexpressions", "eliminate_dead_code") else \
                {"fold_seed": fold_seed}
            out = run_pass(name, bwd, **kw)
            got = grads_of(out, values)
            for w in wrt:
                np.testing.assert_allclose(np.broadcast_to(got[w], (2,)), expected[w],
                                           rtol=1e-12, atol=1e-14)
    assert snapshot(bwd) == before
    small, log = optimize(bwd)
    assert log.after < log.before
    # the forward graph optimizes too, and computes the same loss
    fsmall, _ = optimize(g, keep=["loss"])
    assert float(gc.evaluate(fsmall, feeds)["loss"]) == pytest.approx(float(values["loss"]))
    assert fsmall.number_of_nodes() < g.number_of_nodes()


def _as_data(g):
    return ({n: repr(sorted(d.items())) for n, d in g.nodes(data=True)},
            {(u, v): repr(d) for u, v, d in g.edges(data=True)}, repr(sorted(g.graph.items())))


@pytest.mark.parametrize("make", [apple, apple_orange, two_layer_net, "forward"])
@pytest.mark.parametrize("fold_seed", [True, False])
def test_optimize_rebuilding_once_equals_the_passes_applied_one_by_one(make, fold_seed):
    """optimize runs its passes on records and builds one graph; same graph and log as
    applying the public single-pass functions in turn (each builds its own graph)."""
    if make == "forward":
        g, feeds = two_layer_net()
        bwd = g
    else:
        g, feeds = make()
        out = g.graph.get("output", "price")
        bwd = gc.grad(g, out, g.graph["wrt"],
                      shapes={k: np.shape(v) for k, v in feeds.items()})
    small, log = optimize(bwd, fold_seed=fold_seed)
    current, runs = bwd, []
    for _ in range(4):
        before = current.number_of_nodes()
        current = fold_constants(current, fold_seed=fold_seed)
        runs.append(current.number_of_nodes())
        current = eliminate_common_subexpressions(current)
        runs.append(current.number_of_nodes())
        current = eliminate_dead_code(current)
        runs.append(current.number_of_nodes())
        if current.number_of_nodes() == before:
            break
    assert _as_data(small) == _as_data(current)
    assert [r["after"] for r in log.records] == runs[:len(log.records)]
