"""The tracer and builder: same graphs as hand-built ones, same gradients, clear errors."""
import networkx as nx
import numpy as np
import pytest

import gcompile as gc
from gcompile import registry
from gcompile.examples import apple, apple_orange


def same_value(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    return type(a) is type(b) and a == b


def assert_same_graph(traced, hand, mapping=None):
    """Equal nodes, edges and attributes after renaming traced keys by ``mapping``."""
    mapping = mapping or {}
    g = nx.relabel_nodes(traced, mapping)
    assert sorted(map(str, g.nodes)) == sorted(map(str, hand.nodes))
    for n, data in hand.nodes(data=True):
        got = g.nodes[n]
        assert set(got) == set(data), n
        assert all(same_value(got[k], data[k]) for k in data), (n, got, data)
    assert {(u, v): d for u, v, d in g.edges(data=True)} == \
        {(u, v): d for u, v, d in hand.edges(data=True)}


# ------------------------------------------------------------- the seed examples
def traced_apple():
    b = gc.GraphBuilder(name="apple")
    apple_ = b.input("apple", shape=(), label="apple")
    num = b.input("apple_num", shape=(), label="apple count")
    tax = b.input("tax", shape=(), label="tax")
    apple_price = b.name(apple_ * num, "apple_price")
    b.output(b.name(apple_price * tax, "price"))
    return b.graph


def traced_apple_orange():
    def price(apple, apple_num, orange, orange_num, tax):
        return {"price": (apple * apple_num + orange * orange_num) * tax}
    return gc.trace(price, "apple", "apple_num", "orange", "orange_num", "tax",
                    shapes=dict.fromkeys(["apple", "apple_num", "orange", "orange_num", "tax"], ()),
                    wrt=["apple", "apple_num", "orange", "orange_num", "tax"], name="apple_orange")


def test_builder_reproduces_the_hand_built_apple_graph_exactly():
    hand, feeds = apple()
    g = traced_apple()
    assert_same_graph(g, hand)
    assert g.graph == {"name": "apple", "output": "price"}
    assert list(g.nodes) == list(hand.nodes)


def test_traced_apple_orange_matches_hand_built_graph_and_seed_gradients():
    hand, feeds = apple_orange()
    for n in ["apple", "apple_num", "orange", "orange_num", "tax"]:
        hand.nodes[n].pop("label")
    g = traced_apple_orange()
    assert_same_graph(g, hand, {"mul": "apple_price", "mul_1": "orange_price", "add": "all_price"})
    assert g.graph["output"] == "price" and g.graph["wrt"] == hand.graph["wrt"]
    assert g.graph["name"] == "apple_orange"
    ours = gc.gradients(g, feeds, "price", g.graph["wrt"])
    theirs = gc.gradients(hand, feeds, "price", hand.graph["wrt"])
    assert ours == theirs
    # the seed text's printed numbers (an independent oracle)
    assert [float(ours[k]) for k in g.graph["wrt"]] == \
        [2.2, 110.00000000000001, 3.3000000000000003, 165.0, 650.0]


def test_trace_of_a_plain_function_gives_counted_op_keys():
    g = gc.trace(lambda apple, n, tax: apple * n * tax, "apple", "n", "tax")
    assert list(g.nodes) == ["apple", "n", "tax", "mul", "mul_1"]
    assert g.graph["output"] == "mul_1"
    assert float(gc.evaluate(g, {"apple": 100.0, "n": 2.0, "tax": 1.1})["mul_1"]) == \
        220.00000000000003


# ------------------------------------------------------------------- node keys
def test_automatic_keys_count_per_op_and_skip_user_names():
    b = gc.GraphBuilder()
    x = b.input("x")
    taken = b.input("mul")
    b.output(b.name(x * 2 + x * 3 + taken, "const_1"))
    assert list(b.graph.nodes) == ["x", "mul", "const", "mul_1", "const_2", "mul_2", "add",
                                   "const_1"]
    again = b.graph
    assert list(again.nodes) == list(b.graph.nodes) and again is not b.graph


def test_x_times_x_is_one_edge_with_both_positions():
    g = gc.trace(lambda x: x * x, "x")
    assert list(g.edges(data=True)) == [("x", "mul", {"arg": [0, 1]})]
    assert float(gc.gradients(g, {"x": 3.0}, "mul", "x")["x"]) == 6.0


def test_name_keyword_of_op_functions_and_methods():
    def f(x):
        return gc.ops.sum(gc.ops.exp(x, name="e", label="exp(x)"), axis=0, name="total")
    g = gc.trace(f, "x")
    assert g.nodes["e"] == {"op": "exp", "label": "exp(x)"}
    assert g.nodes["total"] == {"op": "sum", "axis": 0}
    g2 = gc.trace(lambda x: x.exp().sum(0), "x")
    assert [d for _, d in g2.nodes(data=True)] == [{"op": "input"}, {"op": "exp"},
                                                    {"op": "sum", "axis": 0}]


# ------------------------------------------------------------ operators, consts
OPERATORS = [
    (lambda x: x + 2.0, "add", 1), (lambda x: 2.0 + x, "add", 0),
    (lambda x: x - 2.0, "sub", 1), (lambda x: 2.0 - x, "sub", 0),
    (lambda x: x * 2.0, "mul", 1), (lambda x: 2.0 * x, "mul", 0),
    (lambda x: x / 2.0, "div", 1), (lambda x: 2.0 / x, "div", 0),
    (lambda x: x ** 2.0, "pow", 1), (lambda x: 2.0 ** x, "pow", 0),
    (lambda x: np.full((3, 3), 2.0) @ x, "matmul", 0), (lambda x: x @ np.full(3, 2.0), "matmul", 1),
    (lambda x: np.full(3, 2.0) * x, "mul", 0), (lambda x: np.exp(x), "exp", None),
    (lambda x: -x, "neg", None), (lambda x: x.T, "transpose", None),
]


@pytest.mark.parametrize("fn, op, const_pos", OPERATORS)
def test_each_operator_builds_the_hand_built_node(fn, op, const_pos):
    g = gc.trace(fn, "x")
    hand = nx.DiGraph()
    hand.add_node("x", op="input")
    if const_pos is None:
        hand.add_node(op, op=op)
        hand.add_edge("x", op, arg=0)
    else:
        value = g.nodes["const"]["value"]
        hand.add_node("const", op="const", value=value)
        hand.add_node(op, op=op)
        hand.add_edge("const", op, arg=const_pos)
        hand.add_edge("x", op, arg=1 - const_pos)
    assert_same_graph(g, hand)
    x = np.arange(1.0, 10.0).reshape(3, 3) / 7
    gx = gc.gradients(g, {"x": x}, op, "x")["x"]
    gh = gc.gradients(hand, {"x": x}, op, "x")["x"]
    np.testing.assert_array_equal(gx, gh)


def test_constants_are_copied_and_keep_their_dtype():
    w = np.array([1, 2, 3], dtype=np.int32)
    g = gc.trace(lambda x: x * w + [0.5, 0.5, 0.5], "x")
    w[0] = 99
    assert g.nodes["const"]["value"].dtype == np.int32
    assert g.nodes["const"]["value"].tolist() == [1, 2, 3]
    assert g.nodes["const_1"]["value"].tolist() == [0.5, 0.5, 0.5]
    g.nodes["const"]["value"][1] = -1  # each .graph is a fresh copy
    assert gc.trace(lambda x: x * w, "x").nodes["const"]["value"].tolist() == [99, 2, 3]


# --------------------------------------------------------- groups and outputs
def test_groups_tag_nodes_and_nest():
    b = gc.GraphBuilder()
    x = b.input("x", shape=(2, 3))
    with b.group("affine1"):
        h = x @ np.ones((3, 4))
        with b.group("act"):
            h = gc.ops.sigmoid(h)
    b.output(h * 2.0)
    groups = {n: d.get("group") for n, d in b.graph.nodes(data=True)}
    assert groups == {"x": None, "const": "affine1", "matmul": "affine1", "sigmoid": "affine1/act",
                      "const_1": None, "mul": None}


def test_tuple_and_dict_outputs():
    g = gc.trace(lambda x, y: (x * y, x + y), "x", "y")
    assert g.graph["outputs"] == ["mul", "add"] and g.graph["output"] == "mul"
    g = gc.trace(lambda x, y: {"prod": x * y, "total": x + y}, "x", "y")
    assert g.graph["outputs"] == ["prod", "total"]
    assert set(g.nodes) == {"x", "y", "prod", "total"}


# ---------------------------------------------------------- the two-layer net
def two_layer(x, W1, b1, W2, b2, t):
    b = x.builder
    with b.group("affine1"):
        a1 = x @ W1 + b1
    h = gc.ops.sigmoid(a1, name="h")
    with b.group("affine2"):
        a2 = h @ W2 + b2
    return gc.ops.softmax_cross_entropy(a2, t, name="loss")


def net_feeds():
    rng = np.random.default_rng(0)
    return {"x": rng.normal(size=(3, 4)), "W1": rng.normal(size=(4, 5)), "b1": rng.normal(size=5),
            "W2": rng.normal(size=(5, 3)), "b2": rng.normal(size=3), "t": np.eye(3)[[0, 2, 1]]}


def numeric_grad(g, feeds, output, w, eps=1e-6):
    grad = np.zeros_like(feeds[w])
    for i in np.ndindex(grad.shape):
        vals = []
        for sign in (1, -1):
            f = {k: v.copy() for k, v in feeds.items()}
            f[w][i] += sign * eps
            vals.append(float(gc.evaluate(g, f)[output]))
        grad[i] = (vals[0] - vals[1]) / (2 * eps)
    return grad


def test_two_layer_net_traced_gradients_match_finite_differences():
    feeds = net_feeds()
    names = ["x", "W1", "b1", "W2", "b2", "t"]
    g = gc.trace(two_layer, *names, shapes={k: v.shape for k, v in feeds.items()},
                 wrt=["W1", "b1", "W2", "b2"])
    assert g.graph["output"] == "loss"
    assert gc.infer_shapes(g)["h"] == (3, 5)
    grads = gc.gradients(g, feeds, "loss", g.graph["wrt"])
    for w in g.graph["wrt"]:
        np.testing.assert_allclose(grads[w], numeric_grad(g, feeds, "loss", w), rtol=1e-6,
                                   atol=1e-8)


def test_two_layer_net_traced_equals_hand_built():
    feeds = net_feeds()
    hand = nx.DiGraph()
    for k in feeds:
        hand.add_node(k, op="input")
    for node, op, group, args in [("a1.mm", "matmul", "affine1", ["x", "W1"]),
                                  ("a1", "add", "affine1", ["a1.mm", "b1"]),
                                  ("h", "sigmoid", None, ["a1"]),
                                  ("a2.mm", "matmul", "affine2", ["h", "W2"]),
                                  ("a2", "add", "affine2", ["a2.mm", "b2"]),
                                  ("loss", "softmax_cross_entropy", None, ["a2", "t"])]:
        hand.add_node(node, op=op, **({"group": group} if group else {}))
        for i, a in enumerate(args):
            hand.add_edge(a, node, arg=i)
    g = gc.trace(two_layer, *feeds)
    assert_same_graph(g, hand, {"matmul": "a1.mm", "add": "a1", "matmul_1": "a2.mm", "add_1": "a2"})
    wrt = ["W1", "b1", "W2", "b2", "x"]
    ours, theirs = gc.gradients(g, feeds, "loss", wrt), gc.gradients(hand, feeds, "loss", wrt)
    for w in wrt:
        np.testing.assert_array_equal(ours[w], theirs[w])


# ---------------------------------------------------------------- custom ops
def test_ops_registered_later_are_available(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    assert not hasattr(gc.ops, "cube_it")
    gc.defop("cube_it", 1, lambda xp, x: x * x * x, shape=lambda s: s,
             vjp=[lambda f, g, x, out: f.mul(g, f.mul(3.0, f.mul(x, x)))], rules=["3x²"])
    assert "cube_it" in dir(gc.ops)
    g = gc.trace(lambda x: gc.ops.cube_it(x) + x.cube_it(), "x")
    assert [d["op"] for _, d in g.nodes(data=True)] == ["input", "cube_it", "cube_it", "add"]
    assert float(gc.gradients(g, {"x": 2.0}, "add", "x")["x"]) == 24.0
    assert "3x²" in gc.ops.cube_it.__doc__
    gc.defop("cube_it", 1, lambda xp, x: x * x * x, rules=["3x² (again)"], replace=True)
    assert "(again)" in gc.ops.cube_it.__doc__


# -------------------------------------------------------------------- errors
def raises(fn, *match):
    with pytest.raises(gc.GraphError) as info:
        fn()
    for m in match:
        assert m in str(info.value), str(info.value)


def test_wrong_arity_and_parameters():
    raises(lambda: gc.trace(lambda x: gc.ops.exp(x, x), "x"), "'exp'", "2 positional")
    raises(lambda: gc.trace(lambda x: gc.ops.mul(x), "x"), "'mul' takes 2 operand(s), got 1")
    raises(lambda: gc.trace(lambda x: gc.ops.sum(x, axs=0), "x"), "'axs'", "did you mean 'axis'")
    raises(lambda: gc.trace(lambda x: gc.ops.exp(x, scale=2), "x"), "'scale'", "none")
    raises(lambda: gc.trace(lambda x: gc.ops.sum(x, 0, axis=1), "x"), "'axis' given twice")
    raises(lambda: gc.ops.exp(2.0), "no operand is a traced value")


def test_unknown_op_attribute_is_a_graph_error_and_an_attribute_error():
    raises(lambda: gc.ops.sigmod, "unknown op 'sigmod'", "did you mean 'sigmoid'")
    with pytest.raises(AttributeError):
        gc.trace(lambda x: x.sigmod(), "x")
    assert not hasattr(gc.ops, "_private")


def test_shape_errors_are_found_while_tracing_and_name_the_operands():
    raises(lambda: gc.trace(lambda x, w: x @ w, "x", "w", shapes={"x": (2, 3), "w": (4, 5)}),
           "'matmul'", "'x' (shape (2, 3))", "'w' (shape (4, 5))", "inner dimensions")
    raises(lambda: gc.trace(lambda x: x.sum(axis=3), "x", shapes={"x": (2, 3)}), "out of range")


def test_values_without_numbers_cannot_branch_or_convert():
    raises(lambda: gc.trace(lambda x: x if x else x, "x"), "no number while tracing")
    raises(lambda: gc.trace(lambda x: float(x), "x"), "no number")
    raises(lambda: gc.trace(lambda x: x < 1.0, "x"), "no number")
    raises(lambda: gc.trace(lambda x: x * 2 if x == 0 else x, "x"), "no number")
    raises(lambda: gc.trace(lambda x: np.sum(x), "x"), "'sum'")
    raises(lambda: gc.trace(lambda x: np.arctan(x), "x"), "arctan", "gc.ops")


def test_bad_constants_outputs_and_names():
    raises(lambda: gc.trace(lambda x: x + "a", "x"), "str 'a'")
    raises(lambda: gc.trace(lambda x: x * True, "x"), "bool")
    raises(lambda: gc.trace(lambda x: x + [[1.0], [1.0, 2.0]], "x"), "regular array")
    raises(lambda: gc.trace(lambda x: 2.0, "x"), "returned float 2.0")
    raises(lambda: gc.trace(lambda x: (x, 1), "x"), "output 1")
    raises(lambda: gc.trace(lambda x, y: x, "x", "x"), "'x' is already used")
    raises(lambda: gc.trace(lambda x: {"y": x}, "x"), "already named")
    raises(lambda: gc.trace(lambda x: x, "x", shapes={"z": ()}), "shapes names 'z'")
    raises(lambda: gc.trace(lambda x: x * 2, "x", wrt=["y"]), "unknown wrt node 'y'")
    raises(lambda: gc.trace(lambda x: x, "x", shapes={"x": 3}), "tuple of ints")
    raises(lambda: gc.trace(lambda x: x, "x", shapes={"x": (2,)}, values={"x": np.ones(3)}),
           "declares shape (2,)")
    raises(lambda: gc.trace(42, "x"), "needs a function")


def test_values_of_two_builders_do_not_mix():
    b1, b2 = gc.GraphBuilder(), gc.GraphBuilder()
    x, y = b1.input("x"), b2.input("y")
    raises(lambda: x + y, "another graph builder")
    raises(lambda: b1.name(y, "z"), "not a value of this builder")
    raises(lambda: b1.output(y), "output must be a value of this builder")
    with pytest.raises(gc.GraphError, match="non-empty string"):
        with b1.group(""):
            pass


def test_tracing_does_not_touch_its_inputs():
    shapes = {"x": [2, 3]}
    values = {"x": np.zeros((2, 3))}
    g = gc.trace(lambda x: x * 1.0, "x", shapes=shapes, values=values)
    assert shapes == {"x": [2, 3]} and g.nodes["x"]["shape"] == (2, 3)
    g.nodes["x"]["value"][0, 0] = 5.0
    assert values["x"][0, 0] == 0.0


def test_a_failed_call_leaves_the_builder_unchanged():
    b = gc.GraphBuilder()
    x = b.input("x", shape=(2, 3))
    y = b.name(x * 2.0, "y")
    before = gc.to_json(b.graph)
    raises(lambda: b.op("add", 1.0, "bad"), "str 'bad'")
    raises(lambda: b.op("matmul", np.ones((4, 4)), x), "inner dimensions")
    raises(lambda: gc.ops.exp(x, name="y"), "'y' is already used")
    raises(lambda: b.input("z", shape=(-1, 2)), "tuple of ints")
    assert gc.to_json(b.graph) == before
    assert gc.ops.exp(y).key == "exp"
