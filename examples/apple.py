"""The seed's apple example: 2 apples at 100 each, 10% consumption tax.

*Deep Learning from Scratch*, chapter 5, computes it with two ``MulLayer``s and
runs ``backward`` by hand. Here each layer is one ``mul`` node of a traced
graph, and ``gc.grad`` builds the backward graph the book draws.

Run:  python examples/apple.py [OUT_DIR]      (default ./out)
"""
import sys
from pathlib import Path

import gcompile as gc

mul = gc.ops.mul


def buy_apples(apple, apple_num, tax):
    apple_price = mul(apple, apple_num, name="apple_price")  # mul_apple_layer.forward
    return mul(apple_price, tax, name="price")                # mul_tax_layer.forward


def main(out_dir):
    graph = gc.trace(buy_apples, "apple", "apple_num", "tax", wrt=["apple", "apple_num", "tax"])
    feeds = {"apple": 100.0, "apple_num": 2.0, "tax": 1.1}

    values = gc.evaluate(graph, feeds)                  # forward
    bwd = gc.grad(graph, "price", graph.graph["wrt"])   # the backward graph: 4 mul nodes
    back = gc.evaluate(bwd, values)                     # backward
    grads = {w: back[bwd.graph["grads"][w]] for w in graph.graph["wrt"]}

    print(f"price: {float(values['price']):.12g}")
    for w, g in grads.items():
        print(f"d{w}: {float(g):.12g}")
    # the book prints 220, 2.2, 110, 200
    assert [round(float(x), 9) for x in (values["price"], *grads.values())] == [220, 2.2, 110, 200]

    out_dir.mkdir(parents=True, exist_ok=True)
    for path in (gc.render(graph, out_dir / "apple_forward.svg", values=values),
                 gc.render(bwd, out_dir / "apple_backward.svg", values=back),
                 gc.render_pair(graph, bwd, out_dir / "apple_pair.svg", values=values, grads=back)):
        print(f"wrote {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "out"))
