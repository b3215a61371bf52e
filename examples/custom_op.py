"""Register your own op with its VJP rule, and check its gradient.

``softplus(x) = log(1 + exp(x))``, whose derivative is ``sigmoid(x)``. One
``gc.defop`` declaration gives it everything the built-in ops have: evaluation,
shape inference, a node in traced graphs (``gc.ops.softplus``), a local
derivative in backward graphs (written with registry ops, so the backward graph
can be evaluated, drawn and differentiated again) and a row in the op reference.

Run:  python examples/custom_op.py [OUT_DIR]      (default ./out)
"""
import sys
from pathlib import Path

import numpy as np

import gcompile as gc

gc.defop(
    "softplus", 1,
    forward=lambda xp, x: xp.logaddexp(xp.zeros_like(x), x),   # log(1 + e^x) without overflow
    vjp=[lambda f, g, x, out: f.mul(g, f.sigmoid(x))],           # cotangent times d/dx
    rules=["d softplus(x)/dx = σ(x)"],                           # the text diagrams show
    shape=lambda s: s, symbol="softplus",
    doc="log(1 + exp(x)), a smooth relu.",
    replace=True,   # so the script can run twice in one interpreter
)


def model(x, w):
    return gc.ops.sum(gc.ops.softplus(x * w, name="h"), name="y")


def central_differences(graph, feeds, name, eps=1e-6):
    grad = np.zeros_like(feeds[name])
    for i in np.ndindex(grad.shape):
        plus, minus = feeds[name].copy(), feeds[name].copy()
        plus[i] += eps
        minus[i] -= eps
        grad[i] = (gc.evaluate(graph, {**feeds, name: plus})["y"]
                   - gc.evaluate(graph, {**feeds, name: minus})["y"]) / (2 * eps)
    return grad


def main(out_dir):
    graph = gc.trace(model, "x", "w", wrt=["x", "w"])
    feeds = {"x": np.array([-2.0, -0.5, 0.0, 1.5]), "w": np.array([0.3, 1.0, 2.0, -1.2])}
    values = gc.evaluate(graph, feeds)
    bwd = gc.grad(graph, "y", ["x", "w"])
    back = gc.evaluate(bwd, values)

    print(f"y = {float(values['y']):.6f}")
    rules = sorted({d["rule"] for _, d in bwd.nodes(data=True) if d.get("origin") == "h"
                    and d.get("rule")})
    print(f"local rule in the backward graph: {rules}")
    for name in ("x", "w"):
        analytic = back[bwd.graph["grads"][name]]
        numeric = central_differences(graph, feeds, name)
        err = float(np.max(np.abs(analytic - numeric)))
        print(f"d y / d {name} = {np.round(analytic, 6)}   (max error vs finite differences {err:.1e})")
        assert err < 1e-8, (name, err)
    assert gc.check_grads(graph, feeds, "y", ["x", "w"])   # the same check, packaged

    out_dir.mkdir(parents=True, exist_ok=True)
    for path in (gc.render(bwd, out_dir / "custom_op_backward.svg", values=back),
                 gc.render_pair(graph, bwd, out_dir / "custom_op_pair.svg", values=values,
                                grads=back)):
        print(f"wrote {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "out"))
