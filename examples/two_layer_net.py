"""The book's TwoLayerNet (ch. 5): Affine, Sigmoid, Affine, SoftmaxWithLoss.

Traced from ordinary Python with one ``group`` per layer (the renderer draws
each as a cluster), differentiated once with ``gc.grad``, checked against
central finite differences (the book's ``gradient_check``), then trained for a
few steps of gradient descent by evaluating the same two graphs again.

Run:  python examples/two_layer_net.py [OUT_DIR]      (default ./out)
"""
import sys
from pathlib import Path

import numpy as np

import gcompile as gc

PARAMS = ["W1", "b1", "W2", "b2"]


def two_layer_net(x, t, W1, b1, W2, b2):
    b = x.builder
    with b.group("Affine1"):
        a1 = b.name(x @ W1 + b1, "a1")
    with b.group("Sigmoid"):
        z1 = gc.ops.sigmoid(a1, name="z1")
    with b.group("Affine2"):
        a2 = b.name(z1 @ W2 + b2, "a2")
    with b.group("SoftmaxWithLoss"):
        return gc.ops.softmax_cross_entropy(a2, t, name="loss")


def init(batch=3, inputs=4, hidden=5, classes=3, seed=0):
    """Random weights (the book's 0.01 scale made larger to get visible gradients) and a batch."""
    rng = np.random.default_rng(seed)
    return {"x": rng.normal(size=(batch, inputs)),
            "t": np.eye(classes)[np.arange(batch) % classes],
            "W1": 0.5 * rng.normal(size=(inputs, hidden)), "b1": np.zeros(hidden),
            "W2": 0.5 * rng.normal(size=(hidden, classes)), "b2": np.zeros(classes)}


def numerical_gradient(graph, feeds, name, eps=1e-5):
    """Central differences of the loss w.r.t. every element of feeds[name] (float64)."""
    grad = np.zeros_like(feeds[name])
    for i in np.ndindex(grad.shape):
        plus, minus = dict(feeds), dict(feeds)
        plus[name] = feeds[name].copy()
        plus[name][i] += eps
        minus[name] = feeds[name].copy()
        minus[name][i] -= eps
        grad[i] = (gc.evaluate(graph, plus)["loss"] - gc.evaluate(graph, minus)["loss"]) / (2 * eps)
    return grad


def main(out_dir):
    feeds = init()
    shapes = {k: v.shape for k, v in feeds.items()}
    graph = gc.trace(two_layer_net, "x", "t", *PARAMS, shapes=shapes, wrt=PARAMS, name="two_layer_net")
    bwd = gc.grad(graph, "loss", PARAMS, shapes=shapes)

    values = gc.evaluate(graph, feeds)
    back = gc.evaluate(bwd, values)
    print(f"loss: {float(values['loss']):.6f}")
    print("gradient check (max |backprop - numerical|):")
    for name in PARAMS:
        analytic = back[bwd.graph["grads"][name]]
        numeric = numerical_gradient(graph, feeds, name)
        diff = float(np.max(np.abs(analytic - numeric)))
        print(f"  {name}: {diff:.2e}")
        assert analytic.shape == feeds[name].shape and diff < 1e-8, (name, diff)

    out_dir.mkdir(parents=True, exist_ok=True)
    for path in (gc.render(graph, out_dir / "two_layer_net_forward.svg", values=values),
                 gc.render(bwd, out_dir / "two_layer_net_backward.svg", values=back),
                 gc.render_pair(graph, bwd, out_dir / "two_layer_net_pair.svg", values=values,
                                grads=back)):
        print(f"wrote {path}")

    # training: the graphs are built once; each step only evaluates them
    params = {k: feeds[k].copy() for k in PARAMS}
    first = None
    for step in range(100):
        values = gc.evaluate(graph, {**feeds, **params})
        back = gc.evaluate(bwd, values)
        for name in PARAMS:
            params[name] = params[name] - 0.5 * back[bwd.graph["grads"][name]]
        first = float(values["loss"]) if first is None else first
    last = float(gc.evaluate(graph, {**feeds, **params})["loss"])
    print(f"100 steps of gradient descent: loss {first:.4f} -> {last:.4f}")
    assert last < first


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "out"))
