"""Property tests: on random graphs, gcompile's gradients are right and its backward graphs sound.

Random scalar DAGs and tensor graphs with broadcasting come from
``tests/strategies.py``.  The oracle is central finite differences
(``gc.testing``).  The example budget is fixed and derandomized in CI;
``HYPOTHESIS_PROFILE=gcompile-release`` runs the long version (docs/robustness.md).
"""
import copy
import os
import subprocess
import sys
import tempfile
import textwrap

import networkx as nx
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import gcompile as gc
from gcompile.graph import active_nodes
from strategies import kink_margin, profile, scalar_dags, tensor_graphs

KINK = 1e-4  # finite differences with eps=1e-6 resolve kinks farther than this


def _values(case):
    values = gc.evaluate(case.graph, case.feeds)
    assume(kink_margin(case.graph, values) > KINK)
    return values


def _snapshot(graph):
    """Everything about a graph, as comparable Python data (order included)."""
    return (repr(list(graph.nodes(data=True))), repr(list(graph.edges(data=True))),
            repr(sorted(graph.graph.items(), key=repr)))


# ------------------------------------------------------------------ gradients
@profile(scale=2)
@given(scalar_dags())
def test_scalar_dag_gradients_match_finite_differences(case):
    values = _values(case)
    assert all(np.isfinite(v).all() for v in values.values())
    assert gc.check_grads(case.graph, case.feeds, case.output, case.wrt, rtol=1e-6, atol=1e-8)


@profile()
@given(tensor_graphs())
def test_tensor_graph_gradients_match_finite_differences(case):
    values = _values(case)
    assert all(np.isfinite(np.asarray(v)).all() for v in values.values())
    assert gc.check_grads(case.graph, case.feeds, case.output, case.wrt, rtol=1e-6, atol=1e-8)
    grads = gc.gradients(case.graph, case.feeds, case.output, case.wrt)
    for w in case.wrt:
        assert np.shape(grads[w]) == np.shape(case.feeds[w])


@profile(scale=0.5)
@given(scalar_dags(max_ops=6))
def test_backward_graph_is_itself_differentiable(case):
    """The backward graph is made of registry ops: finite differences agree with its own grad."""
    values = _values(case)
    bwd = gc.grad(case.graph, case.output, case.wrt)
    leaves = [v for v, d in bwd.nodes(data=True) if d["op"] == "input"]
    assume(leaves)
    feeds = {v: values[v] for v in leaves}
    back = gc.evaluate(bwd, feeds)
    assume(kink_margin(bwd, back) > KINK)
    target = bwd.graph["grads"][case.wrt[0]]
    assert gc.check_grads(bwd, feeds, target, leaves, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------- backward structure
def _check_structure(case):
    fwd = case.graph
    before = copy.deepcopy(fwd)
    bwd = gc.grad(fwd, case.output, case.wrt)
    assert _snapshot(fwd) == _snapshot(before), "gc.grad modified its input"
    assert nx.is_directed_acyclic_graph(bwd)
    gc.plan(bwd)  # a valid graph of registry ops
    assert _snapshot(gc.grad(fwd, case.output, case.wrt)) == _snapshot(bwd)

    active = active_nodes(fwd, case.wrt, case.output)
    # forward values read: operands of active nodes, the output (the seed's shape) and
    # disconnected wrt nodes (the shape of their zero gradient)
    readable = active | {u for v in active for u in fwd.predecessors(v)} | {case.output}
    readable |= set(case.wrt) - active
    for key, data in bwd.nodes(data=True):
        assert data["role"] in gc.ROLES
        origin = data["origin"]
        if data["role"] == "forward_value":
            assert key == origin and origin in readable, key
            assert data["op"] == ("const" if fwd.nodes[origin]["op"] == "const" else "input")
        elif data["role"] == "zero":
            assert origin in case.wrt and origin not in active, key
        else:
            assert origin in active or origin == case.output, (key, origin)
    # every node is needed by some gradient (no dead code)
    needed = set()
    for w in case.wrt:
        g = bwd.graph["grads"][w]
        needed |= nx.ancestors(bwd, g) | {g}
    assert needed == set(bwd.nodes)
    assert set(bwd.graph["grads"]) == set(case.wrt)
    assert bwd.nodes[bwd.graph["seed"]]["role"] == "seed"
    return bwd


@profile(scale=2)
@given(scalar_dags(max_ops=16))
def test_backward_graph_of_scalar_dag_is_sound(case):
    _check_structure(case)


@profile()
@given(tensor_graphs())
def test_backward_graph_of_tensor_graph_is_sound(case):
    _check_structure(case)


def test_backward_graph_is_deterministic_across_processes():
    """Same graph, different PYTHONHASHSEED: byte-identical backward node and edge lists."""
    script = textwrap.dedent("""
        import hashlib, sys
        sys.path.insert(0, %r)
        import gcompile as gc
        from bench.workloads import make_w1, w1_graph, w2_graph
        from gcompile.examples import EXAMPLES
        h = hashlib.sha256()
        graphs = [w1_graph(make_w1(300)), w2_graph()] + [EXAMPLES[k]()[0] for k in sorted(EXAMPLES)]
        for g in graphs:
            bwd = gc.grad(g, g.graph["output"], g.graph["wrt"])
            h.update(repr(list(bwd.nodes(data=True))).encode())
            h.update(repr(list(bwd.edges(data=True))).encode())
        print(h.hexdigest())
    """) % os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    digests = set()
    for seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                             text=True, check=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1


# ------------------------------------------------------- two ways to the gradient
@profile()
@given(scalar_dags())
def test_evaluating_backward_graph_on_forward_values_gives_gradients(case):
    values = gc.evaluate(case.graph, case.feeds)
    bwd = gc.grad(case.graph, case.output, case.wrt)
    back = gc.evaluate(bwd, values)
    grads = gc.gradients(case.graph, case.feeds, case.output, case.wrt)
    for w in case.wrt:
        np.testing.assert_array_equal(back[bwd.graph["grads"][w]], grads[w])


@profile()
@given(tensor_graphs())
def test_evaluating_tensor_backward_graph_on_forward_values_gives_gradients(case):
    values = gc.evaluate(case.graph, case.feeds)
    bwd = gc.grad(case.graph, case.output, case.wrt)
    back = gc.evaluate(bwd, values)
    grads = gc.gradients(case.graph, case.feeds, case.output, case.wrt)
    for w in case.wrt:
        np.testing.assert_array_equal(back[bwd.graph["grads"][w]], grads[w])


# ----------------------------------------------------------- compiled, saved
def _assert_close_ulps(got, want, ulps=64):
    """Equal to within ``ulps`` units in the last place of the larger magnitude."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape
    scale = np.maximum(np.abs(got), np.abs(want))
    np.testing.assert_array_less(np.abs(got - want), ulps * np.spacing(scale) + 1e-300)


def _compiled_agrees(case, ulps=None, rtol=1e-13, atol=0.0):
    values = gc.evaluate(case.graph, case.feeds)
    grads = gc.gradients(case.graph, case.feeds, case.output, case.wrt)
    f = gc.compile(case.graph, case.output, case.wrt)
    value, cgrads = f(case.feeds)
    assert f.fallbacks == 0
    pairs = [(value, values[case.output])] + [(cgrads[w], grads[w]) for w in case.wrt]
    for got, want in pairs:
        if ulps is not None:
            _assert_close_ulps(got, want, ulps)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


@profile()
@given(scalar_dags())
def test_compiled_scalar_code_agrees_with_interpreter(case):
    """Float feeds compile to ``math`` calls, the interpreter calls numpy's ufuncs.

    The two libraries may round an elementary function (tanh, exp) one ulp
    apart, and a rule such as ``1 - tanh(x)**2`` near saturation amplifies
    that ulp by the cancellation (found by the long run: 8e-16 absolute on a
    gradient of 0.0099), so the bound here is 1e-12 relative plus 1e-13 absolute.
    """
    _compiled_agrees(case, rtol=1e-12, atol=1e-13)


@profile()
@given(tensor_graphs())
def test_compiled_array_code_agrees_with_interpreter(case):
    """Array feeds compile to the same numpy ufuncs the interpreter calls: 64 ulps."""
    _compiled_agrees(case, ulps=64, rtol=1e-13)


def _roundtrip_grads(case, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "graph" + suffix)
        gc.save(case.graph, path)
        loaded = gc.load(path)
    assert sorted(map(repr, loaded.nodes)) == sorted(map(repr, case.graph.nodes))
    want = gc.gradients(case.graph, case.feeds, case.output, case.wrt)
    got = gc.gradients(loaded, case.feeds, case.output, case.wrt)
    for w in case.wrt:
        np.testing.assert_array_equal(got[w], want[w])
    bwd, bwd2 = gc.grad(case.graph, case.output, case.wrt), gc.grad(loaded, case.output, case.wrt)
    assert _snapshot(bwd) == _snapshot(bwd2)


@profile()
@given(scalar_dags(), st.sampled_from([".json", ".graphml"]))
def test_saved_and_loaded_scalar_dag_gives_same_gradients(case, suffix):
    _roundtrip_grads(case, suffix)


@profile()
@given(tensor_graphs(), st.sampled_from([".json", ".graphml"]))
def test_saved_and_loaded_tensor_graph_gives_same_gradients(case, suffix):
    _roundtrip_grads(case, suffix)
