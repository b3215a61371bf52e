"""gcompile.lowering: the fast paths give the program the general path gives.

The oracle is the lowering with every fast path turned off (each op through
``_add_op`` and :func:`gcompile.simplify.simplify`): same ids, ops, operands,
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
    general = lowering._add_op
    monkeypatch.setattr(lowering, "_add_op", lambda *a: calls.append(1) or general(*a))
    with np.errstate(all="ignore"):
        fast, records = lowered(g, output, signature)
        n_fast = len(calls)
        monkeypatch.setattr(lowering, "_fast", lambda opdef: 0)
        slow, _ = lowered(g, output, signature)
    same(fast, slow)
    assert n_fast <= len(calls) - n_fast  # the fast paths take some ops
    assert fast.folded > 0  # identities and constant folds were met
    for w, key in records[3]["grads"].items():
        assert fast.alias[key] == slow.alias[key]


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
    general = lowering._add_op
    monkeypatch.setattr(lowering, "_add_op", lambda *a: calls.append(a[2].name) or general(*a))
    prog, _ = lowered(g, g.graph["output"], signature)
    assert len(calls) < 0.2 * prog.kinds.count(lowering.OP)
    # what is left: x * -1 -> neg(x) (a rewrite), ops of two constants (folded)
    assert calls.count("mul") > len(calls) / 2
