"""gcompile.testing: check_grads and numerical_gradient, on good and bad requests."""
import math

import networkx as nx
import pytest

import gcompile as gc
from gcompile.examples import apple
from gcompile.testing import numerical_gradient


def _tanh_of_tuple_key():
    g = nx.DiGraph()
    g.add_node(("t", 1), op="input")
    g.add_node("z", op="tanh")
    g.add_edge(("t", 1), "z", arg=0)
    return g


def test_a_tuple_key_is_one_wrt_node_not_a_list_of_two():
    g = _tanh_of_tuple_key()
    assert gc.check_grads(g, {("t", 1): 0.3}, "z", ("t", 1))
    d = numerical_gradient(g, {("t", 1): 0.3}, "z", ("t", 1))
    assert d == pytest.approx(1 - math.tanh(0.3) ** 2, rel=1e-9)  # closed form


def test_the_seed_numbers_agree_with_finite_differences():
    g, feeds = apple()
    assert gc.check_grads(g, feeds, "price", ["apple", "apple_num", "tax"])
    assert numerical_gradient(g, feeds, "price", "tax") == pytest.approx(200.0, rel=1e-9)


def test_wrt_an_op_node_is_refused_by_name():
    g, feeds = apple()
    with pytest.raises(gc.GraphError, match=r"'apple_price' need a feed.*op 'mul'"):
        gc.check_grads(g, feeds, "price", ["apple_price"])


def test_unknown_wrt_and_bad_feeds_are_graph_errors():
    g, feeds = apple()
    with pytest.raises(gc.GraphError, match="unknown wrt node 'tux'"):
        gc.check_grads(g, feeds, "price", ["tux"])
    with pytest.raises(gc.GraphError, match="'tax' is not a float array"):
        numerical_gradient(g, {**feeds, "tax": "abc"}, "price", "tax")
