"""The W2 gradient on a dask.distributed cluster (a LocalCluster of worker processes here),
the batch chunked across the workers, equal to numpy."""
import numpy as np
import pytest

import gcompile as gc
from bench.workloads import W2_WRT, w2_data, w2_graph

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, worker_dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.mark.parametrize("compiled", [False, True], ids=["interpreted", "compiled"])
def test_w2_gradient_on_a_process_cluster_equals_numpy(client, compiled):
    g, feeds = w2_graph(), w2_data()
    wrt = list(W2_WRT)
    ref_loss = gc.evaluate(g, feeds)["L"]
    ref = gc.gradients(g, feeds, "L", wrt)
    rows = feeds["x"].shape[0] // 4
    dfeeds = {k: da.from_array(v, chunks=(rows,) + v.shape[1:] if k in ("x", "t") else v.shape)
              for k, v in feeds.items()}
    if compiled:
        loss, grads = gc.compile(g, "L", wrt)(dfeeds)
    else:
        loss, grads = gc.evaluate(g, dfeeds)["L"], gc.gradients(g, dfeeds, "L", wrt)
    futures = client.compute([loss] + [grads[w] for w in wrt])  # runs on the workers
    got = client.gather(futures)
    assert len(client.scheduler_info()["workers"]) == 2
    np.testing.assert_allclose(got[0], ref_loss, rtol=1e-12)
    for w, value in zip(wrt, got[1:]):
        np.testing.assert_allclose(value, ref[w], rtol=1e-12,
                                   atol=1e-12 * float(np.max(np.abs(ref[w]))), err_msg=w)
