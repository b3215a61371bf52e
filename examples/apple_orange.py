"""The seed's second example: 2 apples at 100, 3 oranges at 150, 10% tax.

The book's ``MulLayer``, ``MulLayer``, ``AddLayer``, ``MulLayer``: here one
traced node each. The apple price feeds one ``mul``; the backward graph adds
nothing up, since no value is used twice (see ``docs/index.md`` for fan-out).

Run:  python examples/apple_orange.py [OUT_DIR]      (default ./out)
"""
import sys
from pathlib import Path

import gcompile as gc

mul, add = gc.ops.mul, gc.ops.add


def buy_fruit(apple, apple_num, orange, orange_num, tax):
    apple_price = mul(apple, apple_num, name="apple_price")       # mul_apple_layer
    orange_price = mul(orange, orange_num, name="orange_price")   # mul_orange_layer
    all_price = add(apple_price, orange_price, name="all_price")  # add_apple_orange_layer
    return mul(all_price, tax, name="price")                      # mul_tax_layer


def main(out_dir):
    inputs = ["apple", "apple_num", "orange", "orange_num", "tax"]
    graph = gc.trace(buy_fruit, *inputs, wrt=inputs)
    feeds = {"apple": 100.0, "apple_num": 2.0, "orange": 150.0, "orange_num": 3.0, "tax": 1.1}

    values = gc.evaluate(graph, feeds)
    bwd = gc.grad(graph, "price", inputs)
    back = gc.evaluate(bwd, values)
    grads = {w: back[bwd.graph["grads"][w]] for w in inputs}

    print(f"price: {float(values['price']):.12g}")
    for w, g in grads.items():
        print(f"d{w}: {float(g):.12g}")
    # the book prints 715, then 2.2 110 3.3 165 650
    assert [round(float(x), 9) for x in (values["price"], *grads.values())] == \
        [715, 2.2, 110, 3.3, 165, 650]

    out_dir.mkdir(parents=True, exist_ok=True)
    for path in (gc.render(graph, out_dir / "apple_orange_forward.svg", values=values),
                 gc.render(bwd, out_dir / "apple_orange_backward.svg", values=back),
                 gc.render_pair(graph, bwd, out_dir / "apple_orange_pair.svg", values=values,
                                grads=back)):
        print(f"wrote {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "out"))
