"""gc.grad's records: rule templates replayed, the compiler's lean records, compact dicts.

The oracle for the templates is the rule itself: the same records with every
VJP rule run at every node (the path taken when a rule's output cannot be
shared) must equal the replayed ones, node for node and key order included.
"""
from unittest import mock

import networkx as nx
import numpy as np
import pytest
from hypothesis import given

import gcompile as gc
from gcompile import autodiff, fragment, records, sweep
from gcompile.lowering import lower_records
from strategies import profile, scalar_dags, tensor_graphs


def _records(case, shapes, **kw):
    return autodiff.backward_records(case.graph, case.output, case.wrt, shapes, "zero", **kw)


def _canon(records):
    names, attrs, operands, meta = records
    return names, [list(d.items()) for d in attrs], [tuple(o) for o in operands], meta


def _without_templates(monkeypatch):
    monkeypatch.setattr(fragment.Recorder, "record", lambda self, *a, **k: None)


@profile(0.5)
@given(case=scalar_dags())
def test_replayed_templates_write_what_running_each_rule_writes_scalars(case):
    for shapes in (None, case.feeds):
        replayed = _canon(_records(case, shapes))
        with pytest.MonkeyPatch.context() as mp:
            _without_templates(mp)
            direct = _canon(_records(case, shapes))
        assert replayed == direct


@profile(0.5)
@given(case=tensor_graphs())
def test_replayed_templates_write_what_running_each_rule_writes_tensors(case):
    for shapes in (None, case.feeds):
        try:
            replayed = _canon(_records(case, shapes))
        except gc.GraphError as err:  # the direct path must fail the same way
            with pytest.MonkeyPatch.context() as mp:
                _without_templates(mp)
                with pytest.raises(gc.GraphError, match="") as info:
                    _records(case, shapes)
            assert str(info.value) == str(err)
            continue
        with pytest.MonkeyPatch.context() as mp:
            _without_templates(mp)
            direct = _canon(_records(case, shapes))
        assert replayed == direct


def test_a_rule_reading_shapes_gets_one_template_per_shape_signature():
    """An op scaling scalars by 2 and arrays by 3, whose rule asks ``f.shape``: the
    template recorded at the scalar node must not be replayed at the array node."""
    from gcompile import registry

    gc.defop("scale_by_rank_test", 1, lambda xp, x: x * (2.0 if np.ndim(x) == 0 else 3.0),
             shape=lambda s: s,
             vjp=[lambda f, g, x, out: f.mul(g, 2.0 if f.shape(x) == () else 3.0)],
             rules=["2 or 3"])
    try:
        g = nx.DiGraph()
        g.add_nodes_from(["s", "v"], op="input")
        g.add_nodes_from(["fs", "fv", "sum_v"], op="scale_by_rank_test")
        g.nodes["sum_v"]["op"] = "sum"
        g.add_node("y", op="add")
        g.add_edges_from([("s", "fs"), ("v", "fv"), ("fv", "sum_v"),
                          ("fs", "y", {"arg": 0}), ("sum_v", "y", {"arg": 1})])
        grads = gc.gradients(g, {"s": 1.5, "v": np.array([1.0, 2.0])}, "y", ["s", "v"])
        assert grads["s"] == 2.0
        np.testing.assert_array_equal(grads["v"], [3.0, 3.0])
    finally:
        registry._REGISTRY.pop("scale_by_rank_test", None)


def test_the_compilers_lean_records_are_the_full_ones_without_user_text():
    from bench.workloads import make_w1, w1_graph

    g = w1_graph(make_w1(300))
    out, wrt = g.graph["output"], g.graph["wrt"]
    full = autodiff.backward_records(g, out, wrt, None, "zero")
    lean = autodiff.backward_records(g, out, wrt, None, "zero", full=False)
    _assert_lean_is_full(full, lean)
    sig = {w: ((), "f8") for w in wrt}
    p = gc.plan(g)
    progs = [lower_records(g, r, out, sig, p) for r in (full, lean)]
    assert progs[0].keys == progs[1].keys and progs[0].op_names == progs[1].op_names


def test_grad_dicts_are_plain_and_independent():
    """Node and edge dicts of gc.grad's graph are key-sharing dicts: still ordinary,
    separately mutable dicts (editing one node or edge changes no other)."""
    from gcompile.examples import apple_orange

    g, _ = apple_orange()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    a, b = [n for n, d in bwd.nodes(data=True) if d["role"] == "local_derivative"][:2]
    assert type(bwd.nodes[a]) is dict and bwd.nodes[a] is not bwd.nodes[b]
    before = dict(bwd.nodes[b])
    bwd.nodes[a]["color"] = "red"
    bwd.nodes[a]["origin"] = "elsewhere"
    assert bwd.nodes[b] == before and bwd.nodes[a]["color"] == "red"
    (u, v, d1), (x, y, d2) = list(bwd.edges(data=True))[:2]
    assert type(d1) is dict and d1 is not d2
    bwd.edges[u, v]["weight"] = 2
    assert "weight" not in bwd.edges[x, y]
    copy = bwd.copy()
    assert list(copy.nodes(data=True)) == list(bwd.nodes(data=True))


def _assert_lean_is_full(full, lean):
    """The compiler's records (rule templates replayed by generated code, one shared dict
    per kind) are the full records (the events loop) without what only users read."""
    assert lean[0] == full[0] and lean[2] == full[2] and lean[3] == full[3]
    text = {"origin", "wrt_arg", "rule", "local", "along"}
    for a, b in zip(full[1], lean[1], strict=True):
        if a["role"] in ("local_derivative", "accumulation"):
            assert b == {k: v for k, v in a.items() if k not in text}
        elif a["role"] == "forward_value" and b is records.LEAN_READ:  # lowering reads
            assert b == {"op": "input", "role": "forward_value"}  # the forward node itself
        else:  # the seed, a zero gradient, an unbroadcast, reads they made: as gc.grad has
            assert b == {k: v for k, v in a.items() if k != "along"}  # them, edges aside


def _lean_both_ways(case, shapes):
    """The lean records by the events loop alone and with every kind's generated replay
    from its second node on, each checked against the full records."""
    full = _records(case, shapes)
    for after in (10**9, 0):
        with mock.patch.object(sweep, "REPLAY_AFTER", after):
            _assert_lean_is_full(full, _records(case, shapes, full=False))


@profile(0.5)
@given(case=tensor_graphs())
def test_generated_replays_write_what_the_rules_write_on_broadcasting_graphs(case):
    with np.errstate(all="ignore"):
        _lean_both_ways(case, {k: np.shape(v) for k, v in case.feeds.items()})


@profile(0.5)
@given(case=scalar_dags(max_ops=30))
def test_generated_replays_write_what_the_rules_write_on_scalar_dags(case):
    _lean_both_ways(case, {k: () for k in case.feeds})


def test_unnamed_records_share_a_templates_constant_and_lower_to_the_same_program():
    from bench.workloads import make_w1, w1_graph

    g = w1_graph(make_w1(300))
    out, wrt = g.graph["output"], g.graph["wrt"]
    named = autodiff.backward_records(g, out, wrt, None, "zero", full=False)
    with mock.patch.object(sweep, "REPLAY_AFTER", 10**9):  # the events loop shares them too
        loop = autodiff.backward_records(g, out, wrt, None, "zero", full=False, named=False)
    unnamed = autodiff.backward_records(g, out, wrt, None, "zero", full=False, named=False)
    assert loop[0].resolve() == unnamed[0].resolve() and loop[1:] == unnamed[1:]
    count = [sum(d["op"] == "const" for d in r[1]) for r in (named, unnamed)]
    assert count[1] < count[0] // 10  # one per template position, not one per node
    sig = {w: ((), "f8") for w in wrt}
    p = gc.plan(g)
    progs = [lower_records(g, r, out, sig, p) for r in (named, unnamed)]
    assert progs[0].keys == progs[1].name_keys() and progs[0].op_names == progs[1].op_names
    assert progs[0].payload == progs[1].payload
