"""gc.compare on the seed examples, with every count written out by hand."""
import json

import networkx as nx
import numpy as np
import pytest

import gcompile as gc
from gcompile.compare import compare
from gcompile.examples import apple, apple_orange
from gcompile.higher import hvp


def test_apple_counts_by_hand():
    g, feeds = apple()
    r = compare(g, gc.grad(g, "price", g.graph["wrt"]))
    # forward: apple, apple_num, tax (input); apple_price, price (mul); 2 edges into each mul
    assert r.forward == {"nodes": 5, "edges": 4, "depth": 2, "ops": {"input": 3, "mul": 2},
                         "edges_by_op": {"mul": 4}, "roles": {}, "orders": {}}
    # backward: seed dprice (const); reads apple, apple_num, apple_price, tax;
    # dapple_price = dprice*tax, dtax = dprice*apple_price, dapple = dapple_price*apple_num,
    # dapple_num = dapple_price*apple; longest path dprice -> dapple_price -> dapple
    assert r.backward == {"nodes": 9, "edges": 8, "depth": 2,
                          "ops": {"const": 1, "input": 4, "mul": 4}, "edges_by_op": {"mul": 8},
                          "roles": {"forward_value": 4, "local_derivative": 4, "seed": 1},
                          "orders": {}}
    assert r.correspondence == {"apple": [], "apple_num": [], "tax": [],
                                "apple_price": ["dapple", "dapple_num"],
                                "price": ["dprice", "dapple_price", "dtax"]}
    assert [(x["node"], x["shape"], x["bytes"]) for x in r.residuals] == [
        ("apple", (), 8), ("apple_num", (), 8), ("tax", (), 8), ("apple_price", (), 8)]
    assert r.residual_bytes == 32
    assert [(t["edge"], t["ok"], t["via"]) for t in r.transpose] == [
        (("apple", "apple_price"), True, "dapple"), (("apple_num", "apple_price"), True, "dapple_num"),
        (("apple_price", "price"), True, "dapple_price"), (("tax", "price"), True, "dtax")]


def test_apple_orange_counts_by_hand():
    g, feeds = apple_orange()
    r = compare(g, gc.grad(g, "price", g.graph["wrt"]), gc.evaluate(g, feeds))
    assert (r.forward["nodes"], r.forward["edges"], r.forward["depth"]) == (9, 8, 3)
    assert r.forward["ops"] == {"add": 1, "input": 5, "mul": 3}
    # backward: seed dprice; 6 reads (tax and all_price for the last mul, apple, apple_num,
    # orange, orange_num for the first two); 8 mul: 2 per forward mul and the add's two
    # "g * 1" nodes, each with its own const 1
    assert r.backward["ops"] == {"const": 3, "input": 6, "mul": 8}
    assert (r.backward["nodes"], r.backward["edges"], r.backward["depth"]) == (17, 16, 3)
    assert r.backward["roles"] == {"forward_value": 6, "local_derivative": 10, "seed": 1}
    assert sorted(x["node"] for x in r.residuals) == ["all_price", "apple", "apple_num", "orange",
                                                      "orange_num", "tax"]
    assert r.residual_bytes == 6 * 8  # float64 scalars from the values
    assert r.correspondence["all_price"] == ["dall_price.c", "dall_price.c_2", "dapple_price",
                                             "dorange_price"]
    assert len(r.transpose) == 8 and r.transpose_ok


def test_text_markdown_and_json_are_deterministic():
    g, feeds = apple()
    a = compare(g, gc.grad(g, "price", g.graph["wrt"]))
    b = compare(*apple()[:1], gc.grad(apple()[0], "price", g.graph["wrt"]))
    assert str(a) == str(b) and a.to_markdown() == b.to_markdown() and a.to_json() == b.to_json()
    text = str(a)
    assert "nodes                        5         9" in text
    assert "residuals (forward values the backward pass reads): 4, 32 bytes" in text
    assert "transpose property: 4/4 active edges have gradient flowing back" in text
    md = a.to_markdown()
    assert "| nodes | 5 | 9 |" in md and "| apple_price | dapple, dapple_num |" in md
    data = json.loads(a.to_json())
    assert data["residual_bytes"] == 32 and data["transpose_ok"] is True
    assert data["transpose"][0] == {"edge": ["apple", "apple_price"], "ok": True, "via": "dapple"}


def test_tensor_graph_with_broadcasting_bytes_from_shapes_and_values():
    g = nx.DiGraph()
    g.add_node("x", op="input", shape=(4, 3))
    g.add_node("b", op="input", shape=(3,))
    g.add_node("h", op="add")
    g.add_edge("x", "h", arg=0)
    g.add_edge("b", "h", arg=1)
    g.add_node("a", op="tanh")
    g.add_edge("h", "a")
    g.add_node("loss", op="sum")
    g.add_edge("a", "loss")
    bwd = gc.grad(g, "loss", ["x", "b"])
    r = compare(g, bwd)
    # tanh reads its output a (4x3 floats); sum_to_like for b reads b (3 floats)
    assert {x["node"]: x["bytes"] for x in r.residuals} == {"a": 96, "b": 24}
    assert r.backward["roles"]["unbroadcast"] == 1
    assert r.transpose_ok and len(r.transpose) == 4
    values = gc.evaluate(g, {"x": np.ones((4, 3), dtype=np.float32), "b": np.zeros(3, np.float32)})
    assert compare(g, bwd, values).residual_bytes == 48 + 12
    unknown = nx.DiGraph(g)
    unknown.nodes["x"].pop("shape")
    r2 = compare(unknown, gc.grad(unknown, "loss", ["x", "b"]))
    assert r2.residual_bytes is None and "?" in str(r2)


def test_missing_gradient_edge_is_reported():
    g, _ = apple()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    broken = nx.DiGraph(bwd)
    broken.graph["grads"] = dict(bwd.graph["grads"], tax="dapple")
    broken.nodes["dtax"]["origin"] = "apple"
    r = compare(g, broken)
    assert not r.transpose_ok
    assert [t["edge"] for t in r.transpose if t["ok"] is False] == [("tax", "price")]
    assert "3/4 active edges" in str(r) and "MISSING" in str(r)


def test_labels_get_no_rule_and_errors():
    g = nx.DiGraph()
    g.add_node("z", op="input", shape=(2, 3))
    g.add_node("t", op="input", shape=(6,))
    g.add_node("r", op="reshape_like")
    g.add_edge("z", "r", arg=0)
    g.add_edge("t", "r", arg=1)
    g.add_node("s", op="sum")
    g.add_edge("r", "s")
    r = compare(g, gc.grad(g, "s", ["z", "t"]))
    status = {t["edge"]: t["ok"] for t in r.transpose}
    assert status[("t", "r")] is None and status[("z", "r")] is True
    assert "no rule" in str(r)
    with pytest.raises(gc.GraphError, match="no 'output'/'wrt'"):
        compare(g, g)


def test_second_order_counts_per_order():
    g, feeds = apple()
    h = hvp(g, "price", g.graph["wrt"], shapes=feeds)
    r = compare(g, h)
    # order 0: the 5 forward nodes; order 1: the 5 backward nodes of test_higher plus the
    # projection <grad, v> (3 v inputs, 3 mul, 3 sum, 2 add = 11); order 2: the second pass
    orders = r.backward["orders"]
    assert orders[0] == 5 and orders[1] == 5 + 11
    assert sum(orders.values()) == r.backward["nodes"] and orders[2] > orders[1]
    assert r.transpose_ok
    assert "order 2" in str(r)


def test_text_and_markdown_escape_hostile_keys():
    """Issue 11 items 15 and 25: keys holding newlines, ESC, `|` or HTML stay one literal cell."""
    import re

    import networkx as nx

    bad = "\n# H\n<img src=x onerror=alert(1)>|\x1b[31m"
    g = nx.DiGraph()
    g.add_node(bad, op="input")
    g.add_node("y<script>", op="exp")
    g.add_edge(bad, "y<script>")
    report = gc.compare(g, gc.grad(g, "y<script>", bad))
    text = str(report)
    assert "\x1b" not in text and "\\n# H\\n<img src=x onerror=alert(1)>|\\x1b[31m" in text
    assert all(not line.startswith("#") for line in text.splitlines())
    md = report.to_markdown()
    assert "<img" not in md and "<script>" not in md and "\x1b" not in md
    assert not any(line.lstrip().startswith("#") for line in md.splitlines())
    for line in md.splitlines():
        if line.startswith("| ") and "forward node" not in line and "nodes" not in line:
            cells = re.split(r"(?<!\\)\|", line)[1:-1]
            assert len(cells) in (2, 3), line
    assert "| \\\\n\\# H\\\\n&lt;img src=x onerror=alert(1)&gt;\\|\\\\x1b\\[31m | - |" in md
