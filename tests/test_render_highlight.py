"""highlight=: a path, a forward/backward correspondence, or exact nodes, outlined in the
theme's highlight colour with class gc-hl; SVG parsed as XML on both engines."""
import shutil
import xml.etree.ElementTree as ET

import pytest

import gcompile as gc
from gcompile.examples import apple
from gcompile.drawing.pair import drawn_backward_nodes, pair_to_dot

SVG = "{http://www.w3.org/2000/svg}"
ENGINES = ["graphviz-pure", pytest.param("dot", marks=pytest.mark.skipif(
    shutil.which("dot") is None, reason="system Graphviz (dot) not installed"))]
RED, RED_DARK = "#d62728", "#ff7b72"


def lit(path):
    """{'nodes': {id: (stroke, stroke-width)}, 'edges': {title: (stroke, width)}} of gc-hl groups."""
    root = ET.parse(path).getroot()
    out = {"nodes": {}, "edges": {}}
    for g in root.iter(SVG + "g"):
        classes = g.get("class", "").split()
        if "gc-hl" not in classes:
            continue
        shape = next(el for el in g.iter() if el.tag in (SVG + "ellipse", SVG + "polygon", SVG + "path"))
        style = (shape.get("stroke"), shape.get("stroke-width"))
        if "node" in classes:
            out["nodes"][g.get("id")] = style
        else:
            assert "edge" in classes
            out["edges"][g.find(SVG + "title").text] = style
    return out


def apple_pair():
    g, feeds = apple()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    values = gc.evaluate(g, feeds)
    return g, bwd, values, gc.evaluate(bwd, values)


def ids(g, bwd):
    fwd_id = {k: f"fwd{i}" for i, k in enumerate(g.nodes)}
    bwd_id = {k: f"bwd{i}" for i, k in enumerate(drawn_backward_nodes(g, bwd))}
    return fwd_id, bwd_id


@pytest.mark.parametrize("engine", ENGINES)
def test_pair_path_lights_the_gradient_flowing_back_along_it(tmp_path, engine):
    g, bwd, fv, bv = apple_pair()
    out = gc.render_pair(g, bwd, tmp_path / "p.svg", fv, bv, engine=engine,
                         highlight=["apple", "apple_price", "price"])
    fwd_id, bwd_id = ids(g, bwd)
    found = lit(out)
    # forward path, and the backward nodes carrying d price/d apple back: the seed,
    # d(x*y)/dx at price (wrt apple_price) and d(x*y)/dx at apple_price (wrt apple);
    # not dtax or dapple_num (they differentiate with respect to nodes off the path)
    want = ([fwd_id[k] for k in ("apple", "apple_price", "price")]
            + [bwd_id[k] for k in ("dprice", "dapple_price", "dapple")])
    assert found["nodes"] == {i: (RED, "4") for i in want}
    f = {k: "f" + v[3:] for k, v in fwd_id.items()}
    b = {k: "b" + v[3:] for k, v in bwd_id.items()}
    # backward edges are declared head -> tail with dir=back (see render_pairs)
    assert found["edges"] == {
        f"{f['apple']}->{f['apple_price']}": (RED, "3"),
        f"{f['apple_price']}->{f['price']}": (RED, "3"),
        f"{b['dapple_price']}->{b['dprice']}": (RED, "3"),
        f"{b['dapple']}->{b['dapple_price']}": (RED, "3")}


def test_pair_correspondence_lights_a_node_its_backward_nodes_and_kept_value(tmp_path):
    g, bwd, fv, bv = apple_pair()
    out = gc.render_pair(g, bwd, tmp_path / "c.svg", fv, bv, engine="graphviz-pure",
                         highlight="apple_price")
    fwd_id, bwd_id = ids(g, bwd)
    found = lit(out)
    assert set(found["nodes"]) == {fwd_id["apple_price"], bwd_id["dapple"], bwd_id["dapple_num"]}
    # the value of apple_price is kept for dtax (d(x*y)/dy = x): that dashed link is lit
    assert found["edges"] == {f"f{fwd_id['apple_price'][3:]}->b{bwd_id['dtax'][3:]}": (RED, "3")}
    root = ET.parse(out).getroot()
    classes = {g_.get("id"): g_.get("class") for g_ in root.iter(SVG + "g")}
    # origin class kept; column class: dapple stands under apple (forward node 0)
    assert classes[bwd_id["dapple"]] == "node gc-bwd gc-o3 gc-c0 gc-hl"


def test_exact_nodes_and_dark_theme(tmp_path):
    g, bwd, fv, bv = apple_pair()
    out = gc.render_pair(g, bwd, tmp_path / "e.svg", fv, bv, engine="graphviz-pure",
                         theme="dark", highlight={"forward": ["tax"], "backward": ["dtax"]})
    fwd_id, bwd_id = ids(g, bwd)
    assert lit(out) == {"nodes": {fwd_id["tax"]: (RED_DARK, "4"), bwd_id["dtax"]: (RED_DARK, "4")},
                        "edges": {}}


def test_single_graph_path_and_correspondence(tmp_path):
    g, bwd, fv, bv = apple_pair()
    out = gc.render(g, tmp_path / "f.svg", fv, engine="graphviz-pure",
                    highlight=["apple_num", "apple_price", "price"])
    n = {k: f"n{i}" for i, k in enumerate(g.nodes)}
    assert lit(out) == {"nodes": {n[k]: (RED, "4") for k in ("apple_num", "apple_price", "price")},
                        "edges": {f"{n['apple_num']}->{n['apple_price']}": (RED, "3"),
                                  f"{n['apple_price']}->{n['price']}": (RED, "3")}}
    out = gc.render(bwd, tmp_path / "b.svg", bv, engine="graphviz-pure", highlight="price")
    m = {k: f"n{i}" for i, k in enumerate(bwd.nodes)}
    # the backward nodes whose origin is price: the seed and the two local derivatives
    assert set(lit(out)["nodes"]) == {m["dprice"], m["dapple_price"], m["dtax"]}
    exact = gc.to_dot(bwd, highlight={"nodes": ["dapple"]}).source
    assert exact.count("gc-hl") == 1


def test_no_highlight_changes_nothing():
    g, bwd, fv, bv = apple_pair()
    plain = pair_to_dot(g, bwd, fv, bv).source
    assert "gc-hl" not in plain and RED not in plain
    assert pair_to_dot(g, bwd, fv, bv, highlight=None).source == plain
    assert gc.to_dot(g, fv, highlight=None).source == gc.to_dot(g, fv).source


def test_highlight_errors_are_graph_errors():
    g, bwd, fv, bv = apple_pair()
    with pytest.raises(gc.GraphError, match="no edge 'apple' -> 'price'"):
        gc.render_pair(g, bwd, highlight=["apple", "price"])
    with pytest.raises(gc.GraphError, match="'pear' is not a node of the forward graph"):
        gc.render_pair(g, bwd, highlight="pear")
    with pytest.raises(gc.GraphError, match="'pear' is not a node of the graph"):
        gc.to_dot(g, highlight=["apple", "pear"])
    with pytest.raises(gc.GraphError, match="neither a node of the graph nor the origin"):
        gc.to_dot(bwd, highlight="pear")
    with pytest.raises(gc.GraphError, match="keys 'forward' and 'backward'"):
        gc.render_pair(g, bwd, highlight={"nodes": ["apple"]})
    with pytest.raises(gc.GraphError, match="'nodes' only"):
        gc.to_dot(g, highlight={"forward": ["apple"]})
    with pytest.raises(gc.GraphError, match="not drawn in the pair picture"):
        gc.render_pair(g, bwd, highlight={"backward": ["tax"]})   # a residual read
    with pytest.raises(gc.GraphError, match="the path is empty"):
        gc.to_dot(g, highlight=[])
    with pytest.raises(gc.GraphError, match="not a node"):
        gc.to_dot(g, highlight=[["unhashable"]])
