"""The same graphs, interpreted and compiled, on dask arrays and torch tensors (array-api-compat).

Oracle: the numpy result of the same graph (itself checked against the hand
backprop of bench/layers.py and finite differences elsewhere).  Chunked sums
add in another order, so arrays are compared with ``rtol=1e-12`` relative to
their largest entry (``atol = 1e-12 * max |numpy|``).
"""
import networkx as nx
import numpy as np
import pytest

import gcompile as gc
from bench.workloads import W2_WRT, w2_data, w2_graph
from gcompile.examples.two_layer_net import two_layer_net
from gcompile.namespace import namespace_of
from helpers import op_graph
from test_optable import CASES, NON_DIFFERENTIABLE

da = pytest.importorskip("dask.array")

WRT = list(W2_WRT)


def close(got, want, rtol=1e-12):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * float(np.max(np.abs(want))))


def as_dask(feeds, chunk_rows=25):
    """x and t chunked along the batch (4 chunks of 25 rows); the parameters one chunk each."""
    return {k: da.from_array(v, chunks=(chunk_rows,) + v.shape[1:] if k in ("x", "t") else v.shape)
            for k, v in feeds.items()}


@pytest.fixture(scope="module")
def w2():
    """The W2 graph (bench/workloads.py), its feeds and the numpy loss and gradients."""
    g, feeds = w2_graph(), w2_data()
    loss = gc.evaluate(g, feeds)["L"]
    return g, feeds, loss, gc.gradients(g, feeds, "L", WRT)


def check_lazy_dask(loss, grads, ref_loss, ref_grads):
    assert isinstance(loss, da.Array) and all(isinstance(v, da.Array) for v in grads.values())
    assert grads["W1"].numblocks == (1, 1)
    close(loss.compute(), ref_loss)
    for w in WRT:
        close(grads[w].compute(), ref_grads[w])


def test_w2_interpreted_on_dask_matches_numpy(w2):
    g, feeds, ref_loss, ref_grads = w2
    dfeeds = as_dask(feeds)
    assert dfeeds["x"].numblocks == (4, 1)
    loss = gc.evaluate(g, dfeeds)["L"]
    grads = gc.gradients(g, dfeeds, "L", WRT)
    check_lazy_dask(loss, grads, ref_loss, ref_grads)


def test_w2_compiled_on_dask_matches_numpy(w2):
    g, feeds, ref_loss, ref_grads = w2
    f = gc.compile(g, "L", WRT)
    value, grads = f(feeds)
    close(value, ref_loss)
    loss, dgrads = f(as_dask(feeds))
    assert f.fallbacks == 0 and len(f.signatures) == 2  # numpy and dask: two signatures
    assert "math." not in f.source
    check_lazy_dask(loss, dgrads, ref_loss, ref_grads)
    value, grads = f(feeds)  # numpy again: its own cached code, numpy results
    assert type(grads["W1"]) is np.ndarray and len(f.signatures) == 2


def test_two_layer_net_example_on_dask_compiled_and_interpreted():
    """The example net (softmax_cross_entropy op, integer-free one-hot targets) at W2's sizes."""
    g, feeds = two_layer_net(batch=100, inputs=784, hidden=50, classes=10, seed=3)
    ref_value, ref_grads = gc.compile(g)(feeds)
    dfeeds = as_dask(feeds)
    value, grads = gc.compile(g)(dfeeds)
    check_lazy_dask(value, grads, ref_value, ref_grads)
    check_lazy_dask(gc.evaluate(g, dfeeds)["loss"], gc.gradients(g, dfeeds, "loss", WRT),
                    ref_value, ref_grads)


def test_w2_on_torch_matches_numpy(w2):
    torch = pytest.importorskip("torch")
    g, feeds, ref_loss, ref_grads = w2
    tfeeds = {k: torch.from_numpy(v) for k, v in feeds.items()}
    loss = gc.evaluate(g, tfeeds)["L"]
    grads = gc.gradients(g, tfeeds, "L", WRT)
    f = gc.compile(g, "L", WRT)
    closs, cgrads = f(tfeeds)
    assert f.fallbacks == 0
    for value, gs in ((loss, grads), (closs, cgrads)):
        assert isinstance(value, torch.Tensor) and value.dtype == torch.float64
        close(value.numpy(), ref_loss)
        for w in WRT:
            assert isinstance(gs[w], torch.Tensor)
            close(gs[w].numpy(), ref_grads[w])
    assert not any(np.shares_memory(cgrads[w].numpy(), feeds[w]) for w in WRT)


def test_torch_float32_stays_float32():
    torch = pytest.importorskip("torch")
    g = op_graph("mul", 2)
    value = gc.evaluate(g, {"a0": torch.ones(3, dtype=torch.float32), "a1": 2.0})["out"]
    assert value.dtype == torch.float32 and value.tolist() == [2.0, 2.0, 2.0]


def _op_cases():
    for name in sorted(CASES):
        for k in range(len(CASES[name])):
            yield name, k
    for name in sorted(NON_DIFFERENTIABLE):
        yield name, None


def _chunks(shape):
    """Two chunks along the first axis where it has 2+ entries (dask splits the work)."""
    return ((max(1, shape[0] // 2),) + shape[1:]) if shape else ()


@pytest.mark.parametrize("name, k", list(_op_cases()))
def test_every_op_on_dask_matches_numpy(name, k):
    operands, params = CASES[name][k] if k is not None else NON_DIFFERENTIABLE[name]
    g = op_graph(name, gc.lookup(name).arity, **params)
    feeds = {f"a{i}": v for i, v in enumerate(operands)}
    if (name, k) == ("reshape", 0):  # (3, 4) -> (2, 6) across row chunks: dask refuses
        chunked = {"a0": da.from_array(operands[0], chunks=(1, 4))}
        with pytest.raises(gc.GraphError, match=r"(?s)node 'out' \(op 'reshape'\).*Dask's reshape"):
            gc.evaluate(g, chunked)
    dfeeds = {a: da.from_array(v, chunks=v.shape if name == "reshape" else _chunks(v.shape))
              if isinstance(v, np.ndarray) else v for a, v in feeds.items()}
    want = gc.evaluate(g, feeds)["out"]
    got = gc.evaluate(g, dfeeds)["out"]
    if any(isinstance(v, da.Array) for v in dfeeds.values()) and name not in ("count", "batch_size"):
        assert isinstance(got, da.Array), type(got)
    got = got.compute() if isinstance(got, da.Array) else got
    np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(want, dtype=float),
                               rtol=1e-12, atol=1e-15)
    assert np.shape(got) == np.shape(want)


def test_mixing_libraries_is_a_graph_error_naming_the_inputs():
    g = op_graph("add", 2)
    with pytest.raises(gc.GraphError, match=r"dask for 'a0'; numpy for 'a1'"):
        gc.evaluate(g, {"a0": da.ones(3), "a1": np.ones(3)})
    f = gc.compile(g, "out", ["a0", "a1"])
    with pytest.raises(gc.GraphError, match=r"mix array libraries"):
        f({"a0": da.ones(3), "a1": np.ones(3)})


def test_numbers_and_numpy_scalars_do_not_count_as_numpy_arrays():
    g = op_graph("mul", 2)
    got = gc.evaluate(g, {"a0": da.ones(3), "a1": np.float64(2.0)})["out"]
    assert isinstance(got, da.Array) and got.compute().tolist() == [2.0, 2.0, 2.0]
    assert namespace_of([("a", 1.0), ("b", np.ones(2))]) is np


def test_numpy_constants_join_the_feeds_library():
    g = nx.DiGraph()
    g.add_node("x", op="input")
    g.add_node("c", op="const", value=np.array([1.0, 2.0, 3.0]))
    g.add_node("y", op="mul")
    g.add_edge("x", "y", arg=0)
    g.add_edge("c", "y", arg=1)
    got = gc.evaluate(g, {"x": da.ones(3, chunks=1)})["y"]
    assert isinstance(got, da.Array) and got.compute().tolist() == [1.0, 2.0, 3.0]
    value, grads = gc.compile(g, "y", "x")({"x": da.ones(3, chunks=1)})
    assert isinstance(value, da.Array) and value.compute().tolist() == [1.0, 2.0, 3.0]


def test_explicit_xp_is_used_as_given():
    g = op_graph("neg", 1)
    assert float(gc.evaluate(g, {"a0": 2.0}, xp=np)["out"]) == -2.0
