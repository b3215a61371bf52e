"""gcompile.checks: the one-walk plan of graphs built operand-first equals the general path.

``plan`` first tries :func:`gcompile.checks.checked_in_insertion_order` (one walk,
op nodes checked inline); the oracle is ``plan`` with that fast path switched
off (a topological order, then :func:`check_node` on every node).  Both must
give the same plan, or the same :class:`~gcompile.GraphError` message, on valid
graphs and on graphs mutated into every kind of bad input.
"""
import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, strategies as st

import gcompile as gc
from gcompile import checks, graph as graph_module
from gcompile.examples import apple, two_layer_net
from strategies import profile, scalar_dags, tensor_graphs


def _outcome(g):
    try:
        p = gc.plan(g)
    except gc.GraphError as err:
        return "error", str(err)
    return p.order, p.ops, p.operands, p.params


def _both(g):
    fast = _outcome(g)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(graph_module, "checked_in_insertion_order", lambda graph: None)
        general = _outcome(g)
    return fast, general


@profile()
@given(scalar_dags())
def test_scalar_graphs_get_the_general_plan(case):
    fast, general = _both(case.graph)
    assert fast == general and fast[0] != "error"


@profile(scale=0.5)
@given(tensor_graphs())
def test_tensor_graphs_get_the_general_plan(case):
    fast, general = _both(case.graph)
    assert fast == general and fast[0] != "error"


_JUNK_ARGS = [None, -1, 0, 1, 2, 7, True, 1.0, [0, 1], [], (1,), np.int64(0), "0"]
_JUNK_OPS = ["mul", "sin", "input", "const", "nope", 3, None, "softmax", "sum"]


@st.composite
def mutated(draw):
    base = draw(st.sampled_from(["dag", "net", "apple"]))
    if base == "dag":
        g = draw(scalar_dags()).graph.copy()
    else:
        g = (two_layer_net() if base == "net" else apple())[0].copy()
    nodes, edges = list(g.nodes), list(g.edges)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["op", "attr", "drop_op", "arg", "drop_arg", "edge",
                                     "reorder", "key"]))
        v = draw(st.sampled_from(nodes))
        if kind == "op":
            g.nodes[v]["op"] = draw(st.sampled_from(_JUNK_OPS))
        elif kind == "attr":
            g.nodes[v][draw(st.sampled_from(["value", "shape", "axis", "label", "x"]))] = \
                draw(st.sampled_from([1.0, (2,), 0, "a", None, [1, 2], math.nan]))
        elif kind == "drop_op":
            g.nodes[v].pop("op", None)
        elif edges and kind in ("arg", "drop_arg"):
            u, w = draw(st.sampled_from(edges))
            if kind == "arg":
                g.edges[u, w]["arg"] = draw(st.sampled_from(_JUNK_ARGS))
            else:
                g.edges[u, w].pop("arg", None)
        elif kind == "edge":
            u = draw(st.sampled_from(nodes))
            if u != v:
                g.add_edge(u, v, arg=draw(st.sampled_from(_JUNK_ARGS)))
        elif kind == "reorder":  # the same graph, v inserted last (not operand-first any more)
            h = nx.DiGraph()
            h.graph.update(g.graph)
            h.add_nodes_from([(n, d) for n, d in g.nodes(data=True) if n != v])
            h.add_node(v, **g.nodes[v])
            h.add_edges_from(g.edges(data=True))
            g = h
        else:
            g = nx.relabel_nodes(g, {v: draw(st.sampled_from([0, ("t", 1), math.nan, v]))})
            nodes = list(g.nodes)
            edges = list(g.edges)
    return g


@profile(scale=3)
@given(mutated())
def test_mutated_graphs_get_the_general_plan_or_error(g):
    fast, general = _both(g)
    assert fast == general


@pytest.mark.parametrize("edit", ["unary_no_arg", "int_keys", "param_op", "const"])
def test_nodes_off_the_inline_check_still_take_the_one_walk(edit, monkeypatch):
    g = nx.DiGraph()
    g.add_node("x", op="input")
    if edit == "unary_no_arg":
        g.add_edge("x", "y"); g.nodes["y"]["op"] = "tanh"
    elif edit == "int_keys":
        g.add_node(1, op="sin"); g.add_edge("x", 1, arg=0)
    elif edit == "param_op":
        g.add_node("y", op="sum", axis=0); g.add_edge("x", "y", arg=0)
    else:
        g.add_node("c", op="const", value=2.0); g.add_node("y", op="mul")
        g.add_edge("x", "y", arg=0); g.add_edge("c", "y", arg=1)
    walked = checks.checked_in_insertion_order(g)
    assert walked is not None
    fast, general = _both(g)
    assert fast == general and (fast[1], fast[2], fast[3]) == walked


def test_a_cycle_is_reported_before_a_bad_node():
    g = nx.DiGraph()
    g.add_node("z", op="nope"); g.add_node("x", op="sin"); g.add_node("y", op="sin")
    g.add_edge("x", "y", arg=0); g.add_edge("y", "x", arg=0)
    fast, general = _both(g)
    assert fast == general and fast[0] == "error" and "cycle" in fast[1]


def test_out_of_order_nodes_get_the_general_plan():
    g = nx.DiGraph()
    g.add_node("y", op="mul"); g.add_node("x", op="input")
    g.add_edge("x", "y", arg=[0, 1])
    assert checks.checked_in_insertion_order(g) is None
    fast, general = _both(g)
    assert fast == general and fast[0] == ["x", "y"] and fast[2] == {"y": ("x", "x")}


def test_a_cycle_through_a_nan_key_names_the_key():
    g = nx.DiGraph()
    g.add_node("x", op="sin"); g.add_node(math.nan, op="sin")
    g.add_edge("x", math.nan, arg=0); g.add_edge(math.nan, "x", arg=0)
    with pytest.raises(gc.GraphError, match="NaN"):
        gc.plan(g)
