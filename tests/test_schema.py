"""The format layer (gcompile/schema.py): every documented attribute is type-checked at load and on use.

Issue 11 items 5, 19 and 20; issue 10 item 6 (the format layer does not import the registry).
"""
import ast
import io
import json
import math
import pathlib
import signal

import networkx as nx
import numpy as np
import pytest

import gcompile as gc
from gcompile.encoding import encode
from gcompile.graphml import from_graphml, to_graphml

ROOT = pathlib.Path(gc.__file__).parent


def chain(node_attrs=None, graph_attrs=None, key="x", edge=None):
    g = nx.DiGraph(**(graph_attrs or {}))
    g.add_node(key, op="input", **(node_attrs or {}))
    g.add_node("y", op="exp")
    g.add_edge(key, "y", **({"arg": 0} if edge is None else edge))
    return g


def node_link(node, graph=None):
    return json.dumps({"graph": graph or {}, "nodes": [node, {"id": "y", "op": "exp"}],
                       "edges": [{"source": node.get("id", "x"), "target": "y"}]})


def graphml_with(value):
    """A GraphML file as plain networkx writes it, with ``shape`` of any native type."""
    g = nx.DiGraph()
    g.add_node("x", op="input", shape=value)
    g.add_node("y", op="exp")
    g.add_edge("x", "y")
    buffer = io.BytesIO()
    nx.write_graphml(g, buffer)
    return buffer.getvalue()


# ------------------------------------------------------------- shapes (item 5)
@pytest.mark.parametrize("text, shape", [
    ("(2, 3)", (2, 3)), ("2,3", (2, 3)), ("[2, 3]", (2, 3)), ("3", (3,)), ("(3,)", (3,)),
    ("()", ()), (" 4 , 5 ", (4, 5)),
])
def test_natural_graphml_shape_spellings_load_as_tuples(text, shape):
    g = from_graphml(graphml_with(text), source="g.graphml")
    assert g.nodes["x"]["shape"] == shape
    value = np.ones(shape)
    assert np.array_equal(gc.evaluate(g, {"x": value})["y"], np.exp(value))


def test_an_int_shape_in_graphml_or_json_is_one_dimension():
    assert from_graphml(graphml_with(3)).nodes["x"]["shape"] == (3,)
    g = gc.from_json(node_link({"id": "x", "op": "input", "shape": 3}))
    assert g.nodes["x"]["shape"] == (3,)
    assert gc.evaluate(g, {"x": np.zeros(3)})["y"].tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("bad", ["2x3", "(2, 3", "a,b", "2.5", "[[2]]", "-"])
def test_other_shape_text_is_refused_naming_file_and_node(bad):
    with pytest.raises(gc.GraphError, match=r"g.graphml: node 'x': attribute 'shape' .* is not a "
                                            r"shape: write \(2, 3\)"):
        from_graphml(graphml_with(bad), source="g.graphml")


@pytest.mark.parametrize("bad", [2.5, True, -1, [2, "a"], [2, 1.5], {"a": 1}, [True]])
def test_wrong_shape_types_are_refused_at_load(bad):
    with pytest.raises(gc.GraphError, match=r"f.json: node 'x': attribute 'shape'"):
        gc.from_json(node_link({"id": "x", "op": "input", "shape": bad}), source="f.json")


@pytest.mark.parametrize("bad", [3, 2.5, True, "2,3", (2, -1), (2, "a"), np.zeros(2), {"a": 1}])
def test_wrong_shape_types_are_refused_on_use(bad):
    g = chain({"shape": bad})
    for use in (lambda: gc.evaluate(g, {"x": 1.0}), lambda: gc.grad(g, "y", "x"),
                lambda: gc.compile(g, "y", "x"), lambda: gc.to_dot(g), gc.infer_shapes):
        with pytest.raises(gc.GraphError, match=r"node 'x': attribute 'shape'"):
            use(g) if use is gc.infer_shapes else use()


# ------------------------------------------------------------------- values
@pytest.mark.parametrize("bad, message", [
    (10 ** 400, "too large for a float64"), ([10 ** 400], "too large for a float64"),
    (1 + 2j, "complex"), (np.array([1j]), "complex"), ("3", "must be a number"),
    ([1, [2, 3]], "not a regular numeric array"), ({"a": 1}, "must be a number"),
    (np.array(["a"]), "must be a number"), ([None], "must be a number"),
])
def test_bad_values_are_graph_errors_at_load_and_on_use(bad, message, tmp_path):
    g = chain({"value": bad})
    with pytest.raises(gc.GraphError, match=f"node 'x': attribute 'value'.*{message}"):
        gc.evaluate(g)
    g.nodes["x"]["op"] = "const"
    with pytest.raises(gc.GraphError, match=f"node 'x': attribute 'value'.*{message}"):
        gc.grad(g, "y", [])
    if isinstance(bad, int) or bad == [10 ** 400]:  # JSON holds big ints natively
        text = node_link({"id": "x", "op": "const", "value": bad})
        with pytest.raises(gc.GraphError, match=f"f.json: node 'x': attribute 'value'"):
            gc.from_json(text, source="f.json")


def test_good_values_still_load_and_run():
    for value in (2, 2.5, [1.0, 2.0], np.float32(1.5), np.arange(3), -2 ** 70):
        g = chain({"value": value})
        np.testing.assert_allclose(gc.evaluate(g)["y"], np.exp(np.asarray(value, float)),
                                   rtol=1e-6)


# ---------------------------------------------------------- every attribute
@pytest.mark.parametrize("name, bad", [
    ("op", 5), ("op", None), ("op", ["input"]), ("axis", "0"), ("axis", 1.5), ("axis", [0, "a"]),
    ("axes", 3), ("keepdims", "yes"), ("keepdims", np.ones(2)), ("label", [1]), ("group", {"a": 1}),
    ("role", np.zeros(2)), ("role", [1, "a"]), ("rule", 3), ("local", [1, 2]), ("origin", {"a": 1}),
    ("origin", float("nan")), ("wrt_arg", -1), ("wrt_arg", "0"), ("order", [1, "a"]),
    ("order", np.zeros(3)), ("order", 1.5), ("feedable", np.ones(3)), ("feedable", "yes"),
    ("along", 3), ("along", [("x", "y")]), ("along", [("x", "y", -1)]),
    ("along", [("x", float("nan"), 0)]),
])
def test_every_documented_node_attribute_is_type_checked(name, bad):
    g = chain()
    g.nodes["y"][name] = bad
    pattern = f"node 'y'.*attribute '{name}'"
    for use in (lambda: gc.evaluate(g, {"x": 1.0}), lambda: gc.grad(g, "y", "x"),
                lambda: gc.to_dot(g), lambda: gc.compare(g, g),
                lambda: gc.explain(g, {"x": 1.0}, "y", "x"), lambda: gc.to_json(g)):
        with pytest.raises(gc.GraphError, match=pattern):
            use()


@pytest.mark.parametrize("bad", [1.5, True, "0", [0, "a"], [], -1, [1.0]])
def test_edge_arg_types(bad):
    g = chain(edge={"arg": bad})
    with pytest.raises(gc.GraphError, match="edge 'x' -> 'y'.*'arg'"):
        gc.evaluate(g, {"x": 1.0})
    with pytest.raises(gc.GraphError, match="edge 'x' -> 'y'.*'arg'"):
        gc.to_dot(g)


@pytest.mark.parametrize("attrs, pattern", [
    ({"wrt": 5}, "graph attribute 'wrt' must be a list of node keys, got int 5"),
    ({"wrt": np.array([1, 2])}, "graph attribute 'wrt' must be a list"),
    ({"wrt": [["x"]]}, "graph attribute 'wrt': node key .* is not hashable"),
    ({"output": ["y"]}, "graph attribute 'output' .* is not hashable"),
    ({"output": float("nan")}, "graph attribute 'output' nan is not equal to itself"),
    ({"grads": ["x"]}, "graph attribute 'grads' must be a dict"),
    ({"grads": {"x": ["dx"]}}, r"graph attribute 'grads'\['x'\]"),
    ({"seed": {"a": 1}}, "graph attribute 'seed'"),
])
def test_graph_attributes_are_type_checked_at_load_and_on_use(attrs, pattern, tmp_path):
    g = chain(graph_attrs=attrs)
    for use in (lambda: gc.evaluate(g, {"x": 1.0}), lambda: gc.to_dot(g),
                lambda: gc.compare(g, g), lambda: gc.compile(g, "y", "x")):
        with pytest.raises(gc.GraphError, match=pattern):
            use()
    path = tmp_path / "g.json"
    path.write_text(gc.to_json(chain()).replace('"graph": {}', '"graph": '
                                                + json.dumps(encode(attrs))))
    with pytest.raises(gc.GraphError, match="g.json: graph attribute"):
        gc.load(path)


# ------------------------------------------------------------ keys (item 20)
@pytest.mark.parametrize("key", [float("nan"), np.float64("nan"), ("a", float("nan"))])
def test_keys_not_equal_to_themselves_are_refused_on_use(key):
    g = chain(key=key)
    for use in (lambda: gc.evaluate(g, {key: 1.0}), lambda: gc.grad(g, "y", [key]),
                lambda: gc.compare(g, g), lambda: gc.to_dot(g), lambda: gc.to_json(g)):
        with pytest.raises(gc.GraphError, match="is not equal to itself"):
            use()


@pytest.mark.parametrize("key", ["null", "NaN", '["a", NaN]', "-Infinity"])
def test_null_and_nan_keys_are_refused_at_load(key):
    text = '{"nodes": [{"id": %s, "op": "input"}], "edges": []}' % key
    if key == "-Infinity":  # a key equal to itself loads
        assert list(gc.from_json(text)) == [-math.inf]
        return
    with pytest.raises(gc.GraphError, match=r"f.json: node 0: key .*(None|not equal to itself)"):
        gc.from_json(text, source="f.json")


def _alarm(*_):
    raise TimeoutError("hang")


def test_nan_key_does_not_hang_compare_in_the_cli(tmp_path, capsys):
    """Issue 11 item 20: `gcompile compare` on a file with a NaN key looped forever."""
    path = tmp_path / "g.json"
    path.write_text('{"nodes": [{"id": NaN, "op": "input"}, {"id": "y", "op": "exp"}], '
                    '"edges": []}')
    from gcompile.cli.app import main
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(20)
    try:
        code = main(["compare", str(path)])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert code == 2
    err = capsys.readouterr().err
    assert "not equal to itself" in err and len(err.strip().splitlines()) == 1


def test_graphml_round_trip_keeps_shapes_and_values():
    g = chain({"shape": (2, 3), "value": np.ones((2, 3))})
    h = from_graphml(to_graphml(g))
    assert h.nodes["x"]["shape"] == (2, 3)


# ------------------------------------------------- layering (issue 10 item 6)
def _imports(path):
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            out.add(("." * node.level) + (node.module or ""))
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_the_format_layer_knows_no_op():
    """schema.py (format) imports neither the registry nor the op table; checks.py does."""
    fmt = _imports(ROOT / "schema.py")
    assert not {m for m in fmt if "registry" in m or "optable" in m or "checks" in m}, fmt
    assert ".registry" in _imports(ROOT / "checks.py")
    assert not {m for m in _imports(ROOT / "graph.py") if "registry" in m}
