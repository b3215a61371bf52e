"""Resource limits (issue 11 item 22): a graph whose tensors would not fit is refused before it runs."""
import json
import os
import resource
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest

from hypothesis import given

import gcompile as gc
from gcompile import limits
from gcompile.evaluate import interpreter
from strategies import profile, scalar_dags, tensor_graphs

#: The 223-byte file of the issue: broadcast a scalar to 20000 x 20000, then exp (3.2 GB each).
ATTACK = {"nodes": [{"id": "x", "op": "input", "value": 1.0},
                    {"id": "b", "op": "broadcast_to", "shape": [20000, 20000]},
                    {"id": "e", "op": "exp"}],
          "edges": [{"source": "x", "target": "b"}, {"source": "b", "target": "e"}]}


def attack_graph(leaf="input"):
    g = gc.from_json(json.dumps(ATTACK))
    g.nodes["x"]["op"] = leaf
    return g


def _two_gb():
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


@pytest.mark.parametrize("command", ["eval", "grad"])
def test_cli_refuses_the_issue_file_without_allocating(command, tmp_path):
    path = tmp_path / "attack.json"
    path.write_text(json.dumps(ATTACK))
    env = dict(os.environ, GCOMPILE_MAX_BYTES="1G")
    run = subprocess.run([sys.executable, "-m", "gcompile", command, str(path), "-o",
                          str(tmp_path / "out")] if command == "grad" else
                         [sys.executable, "-m", "gcompile", command, str(path)],
                         capture_output=True, text=True, env=env, timeout=120,
                         preexec_fn=_two_gb)  # 2 GB of address space: 3.2 GB cannot be allocated
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "over the limit of 1.07 GB (GCOMPILE_MAX_BYTES or max_bytes=)" in lines[0]
    assert "node 'b' (op 'broadcast_to') alone has shape (20000, 20000), 3.2 GB" in lines[0]
    assert "MemoryError" not in run.stderr


def test_evaluate_refuses_before_running_and_names_the_largest_tensor(monkeypatch):
    monkeypatch.delenv(limits.ENV, raising=False)
    g = attack_graph()
    with pytest.raises(gc.GraphError, match=r"would take 3.2 GB or more, over the limit of 100 MB"
                                            r".*node 'b' \(op 'broadcast_to'\)"):
        gc.evaluate(g, max_bytes=10 ** 8)
    with pytest.raises(gc.GraphError, match="would take 6.4 GB, over the limit of 5 GB"):
        gc.evaluate(g, max_bytes=5 * 10 ** 9)      # both tensors count: evaluate keeps them
    with pytest.raises(gc.GraphError, match="over the limit"):
        gc.gradients(g, {"x": 1.0}, "e", ["x"])  # default: 1/8 of physical memory ...
    monkeypatch.setattr(limits, "physical_memory", lambda: 64 * 10 ** 9)   # ... of 64 GB
    with pytest.raises(gc.GraphError, match="over the limit of 8 GB"):
        gc.evaluate(gc.from_json(json.dumps(ATTACK).replace("20000, 20000", "40000, 40000")))


def test_the_environment_variable_and_the_option(monkeypatch):
    g = nx.DiGraph()
    g.add_node("x", op="input")
    g.add_node("b", op="broadcast_to", shape=(100, 100))
    g.add_edge("x", "b")
    monkeypatch.setenv(limits.ENV, "50000")
    with pytest.raises(gc.GraphError, match=r"80 kB, over the limit of 50 kB"):
        gc.evaluate(g, {"x": 1.0})
    assert gc.evaluate(g, {"x": 1.0}, max_bytes=80_000)["b"].shape == (100, 100)  # option wins
    for text in ("0", "none", "off"):
        monkeypatch.setenv(limits.ENV, text)
        assert gc.evaluate(g, {"x": 1.0})["b"].shape == (100, 100)
    monkeypatch.setenv(limits.ENV, "1K")
    with pytest.raises(gc.GraphError, match="over the limit of 1.02 kB"):
        gc.evaluate(g, {"x": 1.0})
    monkeypatch.setenv(limits.ENV, "lots")
    with pytest.raises(gc.GraphError, match="GCOMPILE_MAX_BYTES='lots' is not a size"):
        gc.evaluate(g, {"x": 1.0})
    with pytest.raises(gc.GraphError, match="max_bytes must be a non-negative int"):
        gc.evaluate(g, {"x": 1.0}, max_bytes=-1)


def test_feeds_count_with_their_own_shapes(monkeypatch):
    monkeypatch.setenv(limits.ENV, "100000")
    g = nx.DiGraph()
    g.add_node("x", op="input")
    g.add_node("y", op="input")
    g.add_node("s", op="add")
    g.add_edge("x", "s", arg=0)
    g.add_edge("y", "s", arg=1)
    small = gc.evaluate(g, {"x": np.ones((50, 1)), "y": np.ones((1, 50))})
    assert small["s"].shape == (50, 50)
    with pytest.raises(gc.GraphError, match=r"node 's' \(op 'add'\) alone has shape \(200, 200\)"):
        gc.evaluate(g, {"x": np.ones((200, 1)), "y": np.ones((1, 200))})  # outer sum: 320 kB
    run = interpreter(g)
    assert run({"x": np.ones((50, 1)), "y": np.ones((1, 50))})["s"].shape == (50, 50)
    with pytest.raises(gc.GraphError, match="over the limit"):
        run({"x": np.ones((200, 1)), "y": np.ones((1, 200))})


def test_compile_and_constant_folding_refuse_too(monkeypatch):
    monkeypatch.setenv(limits.ENV, "1G")
    with pytest.raises(gc.GraphError, match="node 'b' .* alone has shape"):
        gc.compile(attack_graph(), "e", ["x"])({"x": 1.0})
    const = attack_graph("const")
    with pytest.raises(gc.GraphError, match=r"node 'b' \(op 'broadcast_to'\): its result would "
                                            r"take 3.2 GB, over the limit of 1.07 GB"):
        gc.optimize(const)
    with pytest.raises(gc.GraphError, match=r"node .* its result would take 3.2 GB"):
        gc.grad(attack_graph(), "e", ["x"], optimize=True)   # folds ones_like(b) to a constant


def test_default_is_an_eighth_of_physical_memory(monkeypatch):
    monkeypatch.delenv(limits.ENV, raising=False)
    assert limits.max_bytes() == int(limits.physical_memory() / 8)
    assert limits.physical_memory() > 2 ** 28


def test_scalar_graphs_skip_the_estimate(monkeypatch):
    calls = []
    monkeypatch.setattr(sys.modules["gcompile.evaluate"], "check_sizes",
                        lambda *a, **k: calls.append(a))
    g, feeds = __import__("gcompile.examples", fromlist=["apple"]).apple()
    gc.evaluate(g, feeds)
    assert calls == []


def _chain(*steps, leaf_value=None, leaf_shape=None):
    """x -> steps[0] -> steps[1] ...; each step ``(op, params)``."""
    g = nx.DiGraph()
    g.add_node("x", op="input", **({} if leaf_shape is None else {"shape": leaf_shape}))
    prev = "x"
    for k, (op, params) in enumerate(steps):
        g.add_node(f"s{k}", op=op, **params)
        g.add_edge(prev, f"s{k}", arg=0)
        prev = f"s{k}"
    return g


@pytest.mark.parametrize("steps, leaf", [
    ([("exp", {}), ("sum", {"axis": 0})], (4, 3)),
    ([("broadcast_to", {"shape": (2, 5)}), ("tanh", {}), ("sum", {"axis": 1, "keepdims": True})], ()),
    ([("sin", {}), ("neg", {})], ()),
    ([("reshape", {"shape": (6,)}), ("max", {"axis": 0})], (2, 3)),
])
def test_checked_shapes_is_infer_shapes_and_check_sizes_in_one_walk(steps, leaf):
    g = _chain(*steps)
    p = gc.plan(g)
    assert limits.checked_shapes(g, p, {"x": leaf}) == gc.infer_shapes(g, {"x": leaf}, plan=p)
    with pytest.raises(gc.GraphError) as one:
        limits.checked_shapes(g, p, {"x": (5000, 5000)}, limit=1000)
    with pytest.raises(gc.GraphError) as two:
        limits.check_sizes(g, p, {"x": (5000, 5000)}, limit=1000)
    assert str(one.value) == str(two.value)


def test_checked_shapes_raises_infer_shapes_error_only_when_the_graph_fits():
    g = _chain(("sum", {"axis": 5}), ("broadcast_to", {"shape": (20000, 20000)}))
    g.add_node("big", op="broadcast_to", shape=(30000, 30000))
    g.add_edge("x", "big", arg=0)
    p = gc.plan(g)
    with pytest.raises(gc.GraphError, match="over the limit"):  # the memory limit comes first
        limits.checked_shapes(g, p, {"x": (1,)}, limit=10**9)
    with pytest.raises(gc.GraphError) as want:
        gc.infer_shapes(g, {"x": (1,)}, plan=p)
    with pytest.raises(gc.GraphError) as got:
        limits.checked_shapes(g, p, {"x": (1,)}, limit=10**12)
    assert str(got.value) == str(want.value) and "'s0'" in str(got.value)


def test_checked_shapes_reads_list_consts_as_both_rules_do():
    g = nx.DiGraph()
    g.add_node("c", op="const", value=[2, 3])
    g.add_node("x", op="input")
    g.add_node("y", op="mul")
    g.add_edge("c", "y", arg=0)
    g.add_edge("x", "y", arg=1)
    p = gc.plan(g)
    assert limits.checked_shapes(g, p, {"x": ()}) == gc.infer_shapes(g, {"x": ()}, plan=p)


def test_compile_counts_the_users_graph_when_fusion_adds_nodes(monkeypatch):
    """softmax_cross_entropy is split into added nodes: the limit still reads the user's graph."""
    from test_fusion import _sce_feeds, sce_graph
    g, feeds = sce_graph(), _sce_feeds(0)
    f = gc.compile(g, "L", ["W"], feeds=feeds)
    assert f._fused_graph is not g  # the split path (limits.check_sizes, then infer_shapes)
    value, _ = f(feeds)
    assert np.isfinite(value)
    monkeypatch.setenv(limits.ENV, "200")  # a, tanh(a) (160 bytes each) and more
    with pytest.raises(gc.GraphError, match=r"over the limit of 200 bytes"):
        gc.compile(g, "L", ["W"], feeds=feeds)
    big = {**feeds, "a": np.ones((5000, 4))}
    monkeypatch.setenv(limits.ENV, "100K")
    with pytest.raises(gc.GraphError, match="over the limit"):
        f(big)


@profile()
@given(scalar_dags())
def test_all_scalar_graphs_take_the_short_cut_to_the_walks_shapes(case):
    p = gc.plan(case.graph)
    leaves = {k: () for k in case.wrt}
    fast = limits.checked_shapes(case.graph, p, leaves)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(limits, "_ELEMENTWISE", lambda opdef: False)  # the node-by-node walk
        walked = limits.checked_shapes(case.graph, p, leaves)
    assert fast == walked == gc.infer_shapes(case.graph, leaves, plan=p)
    assert list(fast) == list(walked) and all(type(s) is tuple for s in fast.values())


@profile(scale=0.5)
@given(tensor_graphs())
def test_tensor_graphs_walk_node_by_node(case):
    p = gc.plan(case.graph)
    shapes = {k: np.shape(v) for k, v in case.feeds.items()}
    fast = limits.checked_shapes(case.graph, p, shapes)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(limits, "_ELEMENTWISE", lambda opdef: False)
        walked = limits.checked_shapes(case.graph, p, shapes)
    assert fast == walked == gc.infer_shapes(case.graph, shapes, plan=p)
