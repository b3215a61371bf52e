"""The seed text's printed numbers are the first acceptance test (an independent oracle)."""
import pytest

import gcompile as gc
from gcompile.examples import apple, apple_orange

SEED_APPLE = {"price": 220.00000000000003, "apple": 2.2, "apple_num": 110.00000000000001, "tax": 200}
SEED_APPLE_ORANGE = {"price": 715.0000000000001, "apple": 2.2, "apple_num": 110.00000000000001,
                     "orange": 3.3000000000000003, "orange_num": 165.0, "tax": 650}


@pytest.mark.parametrize("make, expected", [(apple, SEED_APPLE), (apple_orange, SEED_APPLE_ORANGE)])
def test_seed_numbers_through_the_graph_api(make, expected):
    g, feeds = make()
    values = gc.evaluate(g, feeds)
    assert values["price"] == pytest.approx(expected["price"], rel=1e-15)
    bwd = gc.grad(g, "price", g.graph["wrt"])
    back = gc.evaluate(bwd, values)
    for w in g.graph["wrt"]:
        assert back[bwd.graph["grads"][w]] == pytest.approx(expected[w], rel=1e-15), w


def test_seed_backward_of_mul_is_two_mul_nodes():
    g, feeds = apple()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    ops = [d["op"] for _, d in bwd.nodes(data=True) if d["role"] == "local_derivative"]
    assert ops == ["mul"] * 4
    assert bwd.nodes["dtax"]["rule"] == "d(x*y)/dy = x"
    assert bwd.nodes["dapple_price"]["local"] == "tax"
    # forward values read by the backward pass keep their forward keys
    reads = {n for n, d in bwd.nodes(data=True) if d["role"] == "forward_value"}
    assert reads == {"apple", "apple_num", "apple_price", "tax"}
