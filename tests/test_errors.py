"""Every bad input gets a GraphError (a ValueError) whose message names the culprit."""
import networkx as nx
import numpy as np
import pytest

import gcompile as gc
from helpers import chain, op_graph


def raises(match):
    return pytest.raises(gc.GraphError, match=match)


def test_graph_error_is_a_value_error():
    assert issubclass(gc.GraphError, ValueError)


def test_cycle_lists_its_nodes():
    g = nx.DiGraph()
    g.add_node("x", op="input")
    g.add_nodes_from(["a", "b", "c"], op="add")
    g.add_edges_from([("x", "a", {"arg": 0}), ("c", "a", {"arg": 1}), ("a", "b", {"arg": 0}),
                      ("x", "b", {"arg": 1}), ("b", "c", {"arg": 0}), ("x", "c", {"arg": 1})])
    with raises(r"cycle: 'a' -> 'b' -> 'c' -> 'a'"):
        gc.evaluate(g, {"x": 1.0})
    with raises("cycle"):
        gc.grad(g, "c", "x")


def test_self_loop_is_a_cycle():
    g = nx.DiGraph()
    g.add_node("a", op="exp")
    g.add_edge("a", "a")
    with raises("cycle: 'a' -> 'a'"):
        gc.plan(g)


def test_unknown_op_names_node_and_suggests():
    g = op_graph("mul", 2)
    g.nodes["out"]["op"] = "mull"
    with raises(r"node 'out': unknown op 'mull' \(did you mean 'mul'"):
        gc.evaluate(g, {"a0": 1.0, "a1": 2.0})


def test_missing_op_attribute():
    g = nx.DiGraph()
    g.add_node("x")
    with raises("node 'x' has no 'op' attribute"):
        gc.plan(g)


def test_wrong_arity_names_missing_position():
    g = op_graph("mul", 2)
    g.remove_edge("a1", "out")
    with raises(r"node 'out' \(op 'mul'\) takes 2 operand\(s\) but position\(s\) \[1\]"):
        gc.plan(g)


def test_duplicate_position():
    g = op_graph("sub", 2)
    g.edges["a1", "out"]["arg"] = 0
    with raises("operand position 0 is given twice"):
        gc.plan(g)


def test_position_out_of_range_and_bad_types():
    for bad in (2, -1, "0", 1.0, True, [0, 5], [], np.int64(7), np.bool_(True)):
        g = op_graph("add", 2)
        g.edges["a1", "out"]["arg"] = bad
        with raises("'a1' -> 'out'"):
            gc.plan(g)


def test_missing_arg_on_binary_op():
    g = op_graph("add", 2)
    del g.edges["a0", "out"]["arg"]
    with raises("edge 'a0' -> 'out' has no 'arg'"):
        gc.plan(g)


def test_missing_feed_names_input():
    with raises("missing feed for input node 'a1'"):
        gc.evaluate(op_graph("add", 2), {"a0": 1.0})


def test_unknown_output_and_wrt_suggest_close_names():
    g = op_graph("add", 2)
    with raises(r"unknown output node 'outt' \(did you mean 'out'"):
        gc.grad(g, "outt", "a0")
    with raises(r"unknown wrt node 'a2' \(did you mean"):
        gc.grad(g, "out", ["a0", "a2"])
    with raises("unknown wrt node"):
        gc.grad(g, "out", 3.5)
    with raises("output must be a node key"):
        gc.grad(g, ["out"], "a0")


def test_duplicate_wrt():
    with raises("twice"):
        gc.grad(op_graph("add", 2), "out", ["a0", "a0"])


def test_shape_mismatch_names_node_op_and_both_shapes():
    g = op_graph("add", 2)
    with raises(r"node 'out' \(op 'add'\).*shape \(2, 3\).*shape \(4,\)"):
        gc.evaluate(g, {"a0": np.ones((2, 3)), "a1": np.ones(4)})
    with raises(r"node 'out' \(op 'matmul'\).*\(2, 3\).*\(2, 3\)"):
        gc.evaluate(op_graph("matmul", 2), {"a0": np.ones((2, 3)), "a1": np.ones((2, 3))})


def test_static_shape_mismatch_caught_before_running():
    g = op_graph("add", 2)
    with raises(r"node 'out' \(op 'add'\): shapes \(2, 3\) and \(4,\) do not broadcast"):
        gc.infer_shapes(g, {"a0": (2, 3), "a1": (4,)})


@pytest.mark.parametrize("bad", ["abc", None, object(), np.array(["a", "b"]), {"x": 1},
                                 np.array([object()]), [[1, 2], [3]]])
def test_non_numeric_feed_names_input(bad):
    with raises("input 'a0'"):
        gc.evaluate(op_graph("exp", 1), {"a0": bad})


def test_declared_input_shape_is_checked():
    g = op_graph("exp", 1)
    g.nodes["a0"]["shape"] = (3,)
    with raises(r"input 'a0' declares shape \(3,\)"):
        gc.evaluate(g, {"a0": np.ones(2)})


def test_leaf_errors():
    g = op_graph("exp", 1)
    g.nodes["a0"]["op"] = "const"
    with raises("const node 'a0' has no 'value'"):
        gc.plan(g)
    g = op_graph("exp", 1)
    g.nodes["out"]["op"] = "input"
    with raises("node 'out' is an 'input' but has incoming edges"):
        gc.plan(g)


def test_not_a_digraph_and_multigraph():
    with raises("expected a networkx DiGraph, got Graph"):
        gc.evaluate(nx.Graph(), {})
    with raises("multigraphs are not supported"):
        gc.evaluate(nx.MultiDiGraph(), {})
    with raises("feeds must be a mapping"):
        gc.evaluate(op_graph("exp", 1), [1.0])


def test_integer_or_boolean_wrt_is_a_clear_error():
    g = op_graph("mul", 2)
    with raises("wrt node 'a0' holds int64"):
        gc.gradients(g, {"a0": np.arange(3), "a1": np.ones(3)}, "out", ["a0"])
    with raises("wrt node 'a0' holds bool"):
        gc.gradients(g, {"a0": np.array([True]), "a1": np.ones(1)}, "out", ["a0"])


def test_bad_parameter_names_node():
    g = op_graph("sum", 1, axis=3)
    with raises(r"node 'out' \(op 'sum'\).*axis 3 is out of"):
        gc.evaluate(g, {"a0": np.ones((2, 2))})
    with raises(r"node 'out' \(op 'sum'\)"):
        gc.infer_shapes(g, {"a0": (2, 2)})
    g = op_graph("reshape", 1, shape=(5,))
    with raises(r"node 'out' \(op 'reshape'\)"):
        gc.evaluate(g, {"a0": np.ones((2, 2))})


def test_bad_disconnected_policy():
    with raises("disconnected must be one of"):
        gc.grad(op_graph("exp", 1), "out", "a0", disconnected="ignore")


def test_defop_rejects_bad_declarations():
    with raises("identifier"):
        gc.defop("no spaces", 1, lambda xp, x: x)
    with raises("reserved"):
        gc.defop("input", 1, lambda xp, x: x)
    with raises("2 VJP rules for arity 1"):
        gc.defop("bad_rules", 1, lambda xp, x: x, vjp=[None, None])


def test_bad_vjp_rule_is_named():
    gc.defop("broken_rule", 1, lambda xp, x: x, vjp=[lambda f, g, x, out: "oops"], replace=True)
    with raises("VJP rule 0 of op 'broken_rule' returned 'oops'"):
        gc.grad(op_graph("broken_rule", 1), "out", "a0")
    gc.defop("broken_rule2", 1, lambda xp, x: x, vjp=[lambda f, g, x, out: f.mull(g, x)], replace=True)
    with raises("unknown op 'mull'"):
        gc.grad(op_graph("broken_rule2", 1), "out", "a0")


def test_deep_graphs_never_raise_recursion_error():
    g = chain(30_000, "sin")
    values = gc.evaluate(g, {"x": 0.1})
    assert np.isfinite(values["n30000"])
    gc.plan(g)


def test_numpy_integer_positions_are_accepted():
    g = op_graph("sub", 2)
    g.edges["a0", "out"]["arg"] = np.int64(0)
    g.edges["a1", "out"]["arg"] = [np.int32(1)]
    assert gc.gradients(g, {"a0": 5.0, "a1": 3.0}, "out", ["a0", "a1"]) == {"a0": 1.0, "a1": -1.0}


def test_label_resolve_and_node_error_helpers():
    from gcompile.errors import label, node_error, resolve

    assert label("x") == "x" and label(("a", 1)) == "('a', 1)" and label(3) == "3"
    assert resolve({1: 2, 2: 3}, 1) == 3 and resolve({1: 2}, 5) == 5
    err = node_error(("n", 1), "exp", gc.GraphError("bad"), [np.zeros(3)])
    assert isinstance(err, gc.GraphError) and str(err) == "node ('n', 1) (op 'exp'): bad"
    err = node_error("z", "div", ValueError("boom"), [np.zeros((2, 3)), 1.5])
    assert str(err) == ("node 'z' (op 'div') failed on operands [array of shape (2, 3) and "
                        "dtype float64, float 1.5]: ValueError: boom")
