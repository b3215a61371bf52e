"""gcompile.lowering: the fast paths give the program the general path gives.

The oracle is the lowering with every fast path turned off (each op through
``add_op`` and :func:`gcompile.simplify.simplify`): same ids, ops, operands,
params, shapes, dtypes, folds and aliases, on random scalar DAGs with
constants (identities, ``x * -1`` rewrites, folds of two constants) and on
graphs mixing arrays and scalars.
"""
import random

import networkx as nx
import numpy as np
import pytest

import gcompile as gc
from gcompile import lowering
from gcompile.autodiff import backward_records

OPS = ["add", "sub", "mul", "div", "tanh", "exp", "sin", "neg", "pow", "cos", "abs"]
CONSTS = [1.0, 0.0, -1.0, 2.0, -0.0, 1, 0.5]


def random_graph(n, seed, shapes=None, ops=OPS):
    rng = random.Random(seed)
    g = nx.DiGraph()
    names = []
    for i in range(4):
        g.add_node(f"x{i}", op="input")
        names.append(f"x{i}")
    for k in range(n):
        v = f"n{k}"
        op = rng.choice(ops)
        arity = gc.registry.lookup(op).arity
        args = []
        for _ in range(arity):
            if rng.random() < 0.25:
                c = f"c{k}_{len(args)}"
                g.add_node(c, op="const", value=rng.choice(CONSTS))
                args.append(c)
            else:
                args.append(rng.choice(names[-20:]))
        g.add_node(v, op=op)
        for pos, u in enumerate(args):
            if g.has_edge(u, v):  # one edge, two positions (x * x)
                g.edges[u, v]["arg"] = [g.edges[u, v]["arg"], pos]
            else:
                g.add_edge(u, v, arg=pos)
        names.append(v)
    signature = {f"x{i}": ((shapes or {}).get(f"x{i}", ()), "f8") for i in range(4)}
    return g, names[-1], signature


def lowered(g, output, signature):
    wrt = list(signature)
    p = gc.plan(g)
    records = backward_records(g, output, wrt, {k: s for k, (s, _) in signature.items()},
                               "zero", p)
    return lowering.lower_records(g, records, output, signature, p), records


def same(a, b):
    assert a.kinds == b.kinds and a.keys == b.keys and a.op_names == b.op_names
    assert a.shapes == b.shapes and a.dtypes == b.dtypes and a.scalar == b.scalar
    assert a.plain == b.plain and a.folded == b.folded and a.alias == b.alias
    assert a.uniforms == b.uniforms and a.inputs == b.inputs
    for x, y in zip(a.payload, b.payload):
        if type(x) is tuple:
            assert x[0] is y[0] and x[1] == y[1] and x[2] == y[2]
        else:
            assert type(x) is type(y) and np.array_equal(x, y)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("arrays", [False, True])
def test_fast_paths_give_the_general_program(seed, arrays, monkeypatch):
    shapes = {"x1": (3,), "x2": (2, 3)} if arrays else None
    g, output, signature = random_graph(60, seed, shapes)
    calls = []
    general = lowering.add_op
    monkeypatch.setattr(lowering, "add_op", lambda *a: calls.append(1) or general(*a))
    with np.errstate(all="ignore"):
        fast, records = lowered(g, output, signature)
        n_fast = len(calls)
        monkeypatch.setattr(lowering, "fast_kind", lambda opdef: 0)
        slow, _ = lowered(g, output, signature)
    same(fast, slow)
    assert n_fast <= len(calls) - n_fast  # the fast paths take some ops
    assert fast.folded > 0  # identities and constant folds were met
    for w, key in records[3]["grads"].items():
        assert fast.alias[key] == slow.alias[key]


def test_a_sign_flip_becomes_neg_and_two_flips_cancel_on_the_fast_path(monkeypatch):
    # tanh(x - (y - z)): dy = -(dt), dz = -(-(dt)) = dt, where dt is the tanh derivative
    g = nx.DiGraph()
    g.add_nodes_from(["x", "y", "z"], op="input")
    g.add_node("inner", op="sub")
    g.add_node("outer", op="sub")
    g.add_node("t", op="tanh")
    g.add_edges_from([("y", "inner", {"arg": 0}), ("z", "inner", {"arg": 1}),
                      ("x", "outer", {"arg": 0}), ("inner", "outer", {"arg": 1}),
                      ("outer", "t", {"arg": 0})])
    signature = {k: ((), "f8") for k in ("x", "y", "z")}
    fast, records = lowered(g, "t", signature)
    assert fast.op_names.count("neg") == 1
    assert fast.grad_ids["z"] == fast.grad_ids["x"]  # neg(neg(dt)) is dt itself
    neg = fast.op_names.index("neg")
    assert fast.grad_ids["y"] == neg and fast.payload[neg][1] == (fast.grad_ids["x"],)
    monkeypatch.setattr(lowering, "fast_kind", lambda opdef: 0)  # simplify's own answer
    same(fast, lowered(g, "t", signature)[0])


def test_alias_holds_the_forward_keys_and_the_gradients():
    g, output, signature = random_graph(30, 3)
    prog, records = lowered(g, output, signature)
    for v in g:
        if nx.has_path(g, v, output) or v == output:
            assert prog.keys[prog.alias[v]] is not None
    assert set(records[3]["grads"].values()) <= set(prog.alias)


def test_a_scalar_program_takes_the_fast_path_and_matches_the_interpreter():
    g, output, signature = random_graph(200, 11, ops=["add", "sub", "mul", "tanh", "sin"])
    feeds = {f"x{i}": 0.3 + 0.1 * i for i in range(4)}
    f = gc.compile(g, output, list(feeds), feeds=feeds, backend="python")
    value, grads = f(feeds)
    with np.errstate(all="ignore"):
        want = gc.evaluate(g, feeds)[output]
        want_grads = gc.gradients(g, feeds, output, list(feeds))
    assert np.isfinite(value) and value == pytest.approx(float(want), rel=1e-12)
    for k in feeds:
        assert grads[k] == pytest.approx(float(want_grads[k]), rel=1e-9, abs=1e-12)


def test_w1_ops_mostly_skip_the_general_path(monkeypatch):
    from bench.workloads import make_w1, w1_graph
    g = w1_graph(make_w1(300, seed=5))
    signature = {k: ((), "f8") for k in g.graph["wrt"]}
    calls = []
    general = lowering.add_op
    monkeypatch.setattr(lowering, "add_op", lambda *a: calls.append(a[2].name) or general(*a))
    prog, _ = lowered(g, g.graph["output"], signature)
    assert len(calls) < 0.2 * prog.kinds.count(lowering.OP)
    # what is left: ops of two constants, folded (x * -1 -> neg(x) has its own fast path)
    assert calls.count("mul") > len(calls) / 2


# -- deferred naming: gc.compile lowers unnamed records (autodiff.Unnamed) and names the
# backward keys only when a listing, the source or an error asks for them.  The oracle is
# the same compile with the records named up front (as gc.grad names them).

def colliding_graph(n, seed, shapes=None, ops=OPS):
    """``random_graph`` with some nodes renamed to the keys their neighbours' gradients
    would get (``dn3``, ``dn3@n5``, ``dx0.sum1``): the naming must add ``_2``, ``_3``..."""
    g, output, signature = random_graph(n, seed, shapes, ops)
    rng = random.Random(seed + 1000)
    ops_nodes = [v for v in g if v.startswith("n") and v != output]
    mapping = {}
    for v in rng.sample(ops_nodes, len(ops_nodes) // 3):
        other = rng.choice(list(signature) + ops_nodes)
        new = rng.choice([f"d{other}", f"d{other}@{v}", f"d{other}.sum1", f"d{output}"])
        if new not in g and new not in mapping.values():
            mapping[v] = new
    return nx.relabel_nodes(g, mapping), output, signature


def named_compile(monkeypatch):
    """Make gc.compile name its records up front (the behaviour before the deferral)."""
    from gcompile import autodiff, compiled

    def named(*args, **kwargs):
        return autodiff.backward_records(*args, **dict(kwargs, named=True))
    monkeypatch.setattr(compiled, "backward_records", named)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("arrays", [False, True])
def test_unnamed_records_lower_to_the_named_program(seed, arrays):
    shapes = {"x1": (3,), "x2": (2, 3)} if arrays else None
    g, output, signature = colliding_graph(60, seed, shapes)
    wrt, p = list(signature), gc.plan(g)
    known = {k: s for k, (s, _) in signature.items()}
    named = backward_records(g, output, wrt, known, "zero", p, full=False)
    unnamed = backward_records(g, output, wrt, known, "zero", p, full=False, named=False)
    # the unnamed records add a template's constant once (lowering merges them anyway)
    assert len(unnamed[0]) <= len(named[0])
    with np.errstate(all="ignore"):
        want = lowering.lower_records(g, named, output, signature, p)
        got = lowering.lower_records(g, unnamed, output, signature, p)
    assert got.namer is not None and want.namer is None
    keys = got.name_keys()
    assert keys is got.keys and got.name_keys() == want.keys  # named once, in place
    names = unnamed[0].resolve()
    assert set(names) <= set(named[0]) and any(k.endswith("_2") for k in names if type(k) is str)
    meta = unnamed[3]
    assert {w: names[r] for w, r in meta["grads"].items()} == named[3]["grads"]
    assert names[meta["seed"]] == named[3]["seed"]
    assert got.grad_ids == want.grad_ids == {w: want.alias[k]
                                             for w, k in named[3]["grads"].items()}
    got.alias.update({k: want.alias[k] for k in named[3]["grads"].values()})
    same(got, want)


def _compiled_views(g, output, wrt, feeds, backend):
    with np.errstate(all="ignore"):
        f = gc.compile(g, output, wrt, feeds=feeds, backend=backend)
        value, grads = f(feeds)
    return f.source, f.tape, f.signatures[f._last]["backend"], value, grads


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("backend", ["python", "native", "auto"])
def test_compile_source_tape_and_results_equal_the_named_compile(seed, backend, monkeypatch):
    from bench.workloads import make_w1, w1_graph, w1_inputs

    pytest.importorskip("numba")
    if seed < 4:
        g, output, signature = colliding_graph(
            80, seed, ops=["add", "sub", "mul", "neg", "tanh", "sin", "cos", "exp", "div"])
        feeds = {f"x{i}": 0.3 + 0.2 * i for i in range(4)}
    else:
        g = w1_graph(make_w1(400, seed=seed))
        output, feeds = g.graph["output"], dict(zip(g.graph["wrt"], w1_inputs()))
    wrt = list(feeds)
    deferred = _compiled_views(g, output, wrt, feeds, backend)
    named_compile(monkeypatch)
    named = _compiled_views(g, output, wrt, feeds, backend)
    assert deferred[0] == named[0] and "def gcompiled" in deferred[0]
    assert deferred[1] == named[1] and deferred[2] == named[2]
    if deferred[2] == "native" and "tape: 0 instructions" not in deferred[1]:
        assert "'d" in deferred[1]  # the listing names backward nodes
    np.testing.assert_array_equal(deferred[3], named[3])
    for w in wrt:
        np.testing.assert_array_equal(deferred[4][w], named[4][w])
    with np.errstate(all="ignore"):
        want = gc.gradients(g, feeds, output, wrt)
    for w in wrt:  # and both are the interpreter's gradients
        np.testing.assert_allclose(deferred[4][w], float(want[w]), rtol=1e-9, atol=1e-12)


def test_errors_in_the_backward_lowering_name_the_node_as_before(monkeypatch):
    """Lowering unnamed records that fails runs again on the named ones: the error names
    the backward node by its key (here a refused op met only in the backward graph)."""
    g = nx.DiGraph()
    g.add_nodes_from(["x0", "x1"], op="input")
    g.add_node("dx0", op="sin")  # the key x0's gradient would get (it gets dx0_2)
    g.add_node("y", op="mul")
    g.add_edges_from([("x0", "dx0", {"arg": 0}), ("dx0", "y", {"arg": 0}),
                      ("x1", "y", {"arg": 1})])
    output, signature = "y", {"x0": ((), "f8"), "x1": ((), "f8")}
    wrt, p = list(signature), gc.plan(g)
    known = {k: s for k, (s, _) in signature.items()}
    real = lowering.lookup

    def refuse_cos(name, node=None):
        if name == "cos":
            raise gc.GraphError(f"node {node!r}: cos refused")
        return real(name, node=node)
    monkeypatch.setattr(lowering, "lookup", refuse_cos)
    messages = []
    for named in (True, False):
        records = backward_records(g, output, wrt, known, "zero", p, full=False, named=named)
        with pytest.raises(gc.GraphError, match="cos refused") as err:
            lowering.lower_records(g, records, output, signature, p)
        messages.append(str(err.value))
    assert messages[0] == messages[1] and "'ddx0.cos'" in messages[0]
