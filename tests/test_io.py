"""Saving and loading: lossless JSON and GraphML round-trips, and every bad file named."""
import json
import math

import networkx as nx
import numpy as np
import pytest

import gcompile as gc
from gcompile.examples import apple, apple_orange
from gcompile.registry import registered_ops


# ----------------------------------------------------------- strict comparison
def identical(a, b):
    """Equal values of the same type, bit for bit (NaN equals NaN, -0.0 differs from 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (np.ndarray, np.generic)):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, (float, complex)):
        return repr(a) == repr(b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return (list(map(repr, a)) == list(map(repr, b))
                and all(identical(k1, k2) and identical(a[k1], b[k2]) for k1, k2 in zip(a, b)))
    return a == b


def assert_identical_graphs(g, h):
    assert type(h) is nx.DiGraph
    assert identical(list(g.nodes), list(h.nodes))
    for n in g:
        assert identical(g.nodes[n], h.nodes[n]), (n, g.nodes[n], h.nodes[n])
    assert identical(list(g.edges), list(h.edges))
    for u, v in g.edges:
        assert identical(g.edges[u, v], h.edges[u, v]), (u, v)
    assert identical(g.graph, h.graph), (g.graph, h.graph)


def roundtrip(graph, fmt, tmp_path):
    path = tmp_path / f"graph.{fmt}"
    assert gc.save(graph, path) == path
    return gc.load(path)


FORMATS = ["json", "graphml"]


# -------------------------------------------------------------- every op
SAMPLE_PARAMS = {"axis": (0, 1), "keepdims": True, "shape": (3, -1), "axes": (1, 0)}


def one_node_graph(name):
    opdef = registered_ops()[name]
    g = nx.DiGraph(name=name)
    for i in range(opdef.arity):
        g.add_node(f"a{i}", op="input", shape=(2, 3))
    g.add_node(name, op=name, **{k: SAMPLE_PARAMS.get(k, d) for k, d in opdef.params.items()})
    for i in range(opdef.arity):
        g.add_edge(f"a{i}", name, arg=i)
    g.graph.update(output=name, wrt=[f"a{i}" for i in range(opdef.arity)])
    return g


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("op", sorted(registered_ops()))
def test_every_registered_op_round_trips(op, fmt, tmp_path):
    g = one_node_graph(op)
    assert_identical_graphs(g, roundtrip(g, fmt, tmp_path))


# -------------------------------------------------------- every attribute kind
def every_kind():
    big = np.arange(6, dtype=">f8").reshape(2, 3)  # non-native byte order, kept
    values = {
        "none": None, "true": True, "false": False, "int": -7, "bigint": 2 ** 100,
        "float": 0.1, "negzero": -0.0, "nan": math.nan, "inf": math.inf, "neginf": -math.inf,
        "subnormal": 5e-324, "complex": complex(1.5, -math.inf), "str": "d(x×y)/dx = y",
        "jsonish": "json:[1, 2]", "tagish": "__tuple__", "empty_tuple": (), "shape": (2, 3),
        "nested": ((1, 2), [3, (4,)], {"k": (5,)}), "list": [0, 1], "strdict": {"a": 1, "b": [2]},
        "keydict": {("x", 0): "dx", 1: 2.5, "__tuple__": None, None: ()},
        "f64": np.array([[0.1, np.nan], [np.inf, -0.0]]), "f32": np.float32([1 / 3, 1e-45]),
        "f16": np.array([65504, 1e-7], dtype=np.float16), "i8": np.array([-128, 127], dtype=np.int8),
        "u64": np.array([2 ** 64 - 1], dtype=np.uint64), "bool": np.array([True, False]),
        "c128": np.array([1 + 2j, complex(math.nan, 1)]), "zero_d": np.array(2.5),
        "empty": np.zeros((0, 3)), "strided": np.arange(12.0).reshape(3, 4).T,
        "s_f64": np.float64(0.1), "s_f32": np.float32(0.1), "s_i64": np.int64(-2 ** 63),
        "s_bool": np.bool_(True), "s_c64": np.complex64(1j),
    }
    g = nx.DiGraph(name="kinds", grads={("x", 0): "d", 3: "e"}, wrt=[("x", 0), 3], seed=None)
    g.add_node(("x", 0), op="input", **values)
    g.add_node(3, op="input", shape=(), value=big)
    g.add_node((("nested", 1), "key"), op="mul", label="×")
    g.add_node("s", op="sum", axis=(0, -1), keepdims=True)
    g.add_edge(("x", 0), (("nested", 1), "key"), arg=[0, 1])
    g.add_edge((("nested", 1), "key"), "s", arg=0)
    g.add_edge(3, "s", note=(1.5, "edge"))  # extra edge: only written and read, not validated
    return g


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_attribute_kind_and_key_kind_round_trips(fmt, tmp_path):
    g = every_kind()
    g.remove_edge(3, "s")
    h = roundtrip(g, fmt, tmp_path)
    assert_identical_graphs(g, h)
    assert h.nodes[3]["value"].dtype.str == ">f8"
    strided = h.nodes[("x", 0)]["strided"]
    assert strided.flags.writeable and strided.tolist() == np.arange(12.0).reshape(3, 4).T.tolist()


@pytest.mark.parametrize("fmt", FORMATS)
def test_edge_attributes_round_trip_without_validation(fmt, tmp_path):
    g = every_kind()
    path = tmp_path / f"g.{fmt}"
    gc.save(g, path)
    with pytest.raises(gc.GraphError, match="edge 3 -> 's' has no 'arg'"):
        gc.load(path)
    h = gc.load(path, validate=False)
    assert identical(h.edges[3, "s"], {"note": (1.5, "edge")})


def test_json_text_is_node_link_form_readable_by_networkx():
    g, feeds = apple()
    text = gc.to_json(g)
    data = json.loads(text)
    assert list(data) == ["directed", "multigraph", "graph", "nodes", "edges"]
    plain = nx.node_link_graph(data, edges="edges")
    assert list(plain.nodes) == list(g.nodes) and list(plain.edges) == list(g.edges)
    assert plain.nodes["tax"]["shape"] == {"__tuple__": []}
    assert len(text.splitlines()) == 4 + g.number_of_nodes() + 1 + g.number_of_edges() + 1


def test_files_written_by_plain_networkx_load_with_tuples(tmp_path):
    g = nx.DiGraph()
    g.add_node(("layer", 1), op="input", shape=(2, 3))
    g.add_node("s", op="sum", axis=(0, 1))
    g.add_edge(("layer", 1), "s")
    path = tmp_path / "plain.json"
    path.write_text(json.dumps(nx.node_link_data(g, edges="edges")))
    h = gc.load(path)
    assert list(h.nodes) == [("layer", 1), "s"]
    assert h.nodes[("layer", 1)]["shape"] == (2, 3) and h.nodes["s"]["axis"] == (0, 1)
    legacy = json.loads(path.read_text())
    legacy["links"] = legacy.pop("edges")
    path.write_text(json.dumps(legacy))
    assert list(gc.load(path).edges) == [(("layer", 1), "s")]


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_is_deterministic(fmt, tmp_path):
    g = every_kind()
    gc.save(g, tmp_path / f"a.{fmt}")
    gc.save(every_kind(), tmp_path / f"b.{fmt}")
    assert (tmp_path / f"a.{fmt}").read_bytes() == (tmp_path / f"b.{fmt}").read_bytes()


def test_saving_does_not_modify_the_graph():
    g = every_kind()
    before = gc.to_json(g)
    gc.from_json(gc.to_json(g), validate=False)
    assert gc.to_json(g) == before


# --------------------------------------------------------- backward graphs
def two_layer_graph():
    rng = np.random.default_rng(1)
    w = {"W1": rng.normal(size=(4, 5)), "b1": rng.normal(size=5), "W2": rng.normal(size=(5, 3)),
         "b2": rng.normal(size=3)}

    def net(x, t):
        b = x.builder
        with b.group("affine1"):
            h = gc.ops.sigmoid(x @ w["W1"] + w["b1"])
        with b.group("affine2"):
            return gc.ops.softmax_cross_entropy(h @ w["W2"] + w["b2"], t, name="loss")
    g = gc.trace(net, "x", "t", shapes={"x": (3, 4), "t": (3,)})
    feeds = {"x": rng.normal(size=(3, 4)), "t": np.array([0, 2, 1])}
    return g, feeds


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("make", [apple, apple_orange, two_layer_graph])
def test_loaded_forward_and_backward_graphs_give_the_same_gradients(make, fmt, tmp_path):
    g, feeds = make()
    output = g.graph["output"]
    wrt = g.graph.get("wrt") or [n for n, d in g.nodes(data=True) if d["op"] == "const"]
    h = roundtrip(g, fmt, tmp_path)
    assert_identical_graphs(g, h)
    ours, theirs = gc.gradients(g, feeds, output, wrt), gc.gradients(h, feeds, output, wrt)
    for w in wrt:
        assert identical(np.asarray(ours[w]), np.asarray(theirs[w])), w
    bwd = gc.grad(g, output, wrt)
    bwd2 = roundtrip(bwd, fmt, tmp_path)
    assert_identical_graphs(bwd, bwd2)
    values = gc.evaluate(g, feeds)
    back, back2 = gc.evaluate(bwd, values), gc.evaluate(bwd2, values)
    for w in wrt:
        assert identical(np.asarray(back[bwd.graph["grads"][w]]),
                         np.asarray(back2[bwd2.graph["grads"][w]]))


@pytest.mark.parametrize("fmt", FORMATS)
def test_backward_graph_with_tuple_keys_round_trips(fmt, tmp_path):
    g = nx.DiGraph()
    g.add_node(("x", 0), op="input")
    g.add_node(("x", 1), op="input")
    g.add_node(("y",), op="mul")
    g.add_edge(("x", 0), ("y",), arg=0)
    g.add_edge(("x", 1), ("y",), arg=1)
    bwd = gc.grad(g, ("y",), [("x", 0), ("x", 1)])
    assert list(bwd.graph["grads"]) == [("x", 0), ("x", 1)]
    h = roundtrip(bwd, fmt, tmp_path)
    assert_identical_graphs(bwd, h)
    back = gc.evaluate(h, gc.evaluate(g, {("x", 0): 3.0, ("x", 1): 4.0}))
    assert float(back[h.graph["grads"][("x", 0)]]) == 4.0
    assert float(back[h.graph["grads"][("x", 1)]]) == 3.0


# -------------------------------------------------------------- bad files
GOOD = gc.to_json(apple()[0])
ARRAY = '{"nodes": [{"id": "c", "op": "const", "value": {"__ndarray__": %s}}], "edges": []}'
BAD_JSON = {
    "syntax": ('{\n "nodes": [\n  {"id": "x",, "op": "input"}\n ], "edges": []}',
               ["invalid JSON at line 3, column 14"]),
    "truncated": (GOOD[:len(GOOD) // 2], ["invalid JSON at line"]),
    "empty": ("", ["invalid JSON at line 1, column 1"]),
    "deep": ("[" * 100_000 + "]" * 100_000, ["nested too deeply"]),
    "deep_value": ('{"nodes": [{"id": "x", "op": "input", "v": %s}], "edges": []}'
                   % ("[" * 500 + "]" * 500), ["node 'x' attribute 'v'", "nested more than"]),
    "top_list": ("[1, 2]", ["top level is list"]),
    "top_string": ('"graph"', ["top level is str"]),
    "no_nodes": ('{"edges": []}', ["missing 'nodes'"]),
    "no_edges": ('{"nodes": []}', ["missing 'edges'"]),
    "nodes_not_list": ('{"nodes": {"x": 1}, "edges": []}', ["'nodes' must be a list"]),
    "node_not_object": ('{"nodes": [3], "edges": []}', ["node 0 must be an object"]),
    "node_no_id": ('{"nodes": [{"op": "input"}], "edges": []}', ["node 0", "'id'"]),
    "unhashable_id": ('{"nodes": [{"id": {"a": 1}, "op": "input"}], "edges": []}',
                      ["node 0", "not hashable"]),
    "duplicate_node": ('{"nodes": [{"id": "x", "op": "input"}, {"id": "x", "op": "input"}], '
                       '"edges": []}', ["node 'x' is listed twice"]),
    "edge_unknown_node": ('{"nodes": [{"id": "x", "op": "input"}], '
                          '"edges": [{"source": "x", "target": "q"}]}', ["'q' is not a listed node"]),
    "edge_no_target": ('{"nodes": [{"id": "x", "op": "input"}], "edges": [{"source": "x"}]}',
                       ["edge 0 must be an object with 'source' and 'target'"]),
    "undirected": ('{"directed": false, "nodes": [], "edges": []}', ["'directed' is not true"]),
    "multigraph": ('{"multigraph": true, "nodes": [], "edges": []}', ["'multigraph'"]),
    "graph_not_object": ('{"graph": [1], "nodes": [], "edges": []}', ["'graph' must be an object"]),
    "unknown_op": ('{"nodes": [{"id": "x", "op": "input"}, {"id": "y", "op": "sigmod"}], '
                   '"edges": [{"source": "x", "target": "y"}]}',
                   ["node 'y': unknown op 'sigmod'", "did you mean 'sigmoid'"]),
    "cycle": ('{"nodes": [{"id": "a", "op": "exp"}, {"id": "b", "op": "exp"}], "edges": '
              '[{"source": "a", "target": "b"}, {"source": "b", "target": "a"}]}', ["cycle"]),
    "wrong_arity": ('{"nodes": [{"id": "x", "op": "input"}, {"id": "y", "op": "mul"}], '
                    '"edges": [{"source": "x", "target": "y", "arg": 0}]}',
                    ["node 'y' (op 'mul') takes 2 operand(s)"]),
    "bad_base64": (ARRAY % '{"dtype": "<f8", "shape": [1], "data": "!!!!"}', ["not valid base64"]),
    "short_data": (ARRAY % '{"dtype": "<f8", "shape": [2], "data": "AAAAAAAAAAA="}',
                   ["node 'c' attribute 'value'", "holds 8 bytes", "need 16"]),
    "object_dtype": (ARRAY % '{"dtype": "|O", "shape": [1], "data": "AAAAAAAAAAA="}',
                     ["bad array dtype '|O'"]),
    "text_dtype": (ARRAY % '{"dtype": "<U1", "shape": [1], "data": "QQAAAA=="}',
                   ["bad array dtype '<U1'"]),
    "nonsense_dtype": (ARRAY % '{"dtype": "float128x", "shape": [1], "data": ""}', ["bad array dtype"]),
    "dtype_not_str": (ARRAY % '{"dtype": 8, "shape": [1], "data": ""}', ["bad array dtype 8"]),
    "negative_shape": (ARRAY % '{"dtype": "<f8", "shape": [-1], "data": ""}', ["non-negative ints"]),
    "missing_field": (ARRAY % '{"dtype": "<f8", "data": ""}', ["missing ['shape']"]),
    "extra_field": (ARRAY % '{"dtype": "<f8", "shape": [], "data": "", "x": 1}', ["unexpected ['x']"]),
    "ndarray_not_object": (ARRAY % '[1, 2]', ["__ndarray__ must hold an object"]),
    "huge_shape": (ARRAY % '{"dtype": "<f8", "shape": [0, 4000000000000000000000], "data": ""}',
                   ["cannot build an array"]),
    "bad_float_tag": ('{"nodes": [{"id": "x", "op": "input", "v": {"__float__": 1}}], "edges": []}',
                      ["__float__ must be"]),
    "bad_dict_tag": ('{"nodes": [{"id": "x", "op": "input", "v": {"__dict__": [[1]]}}], '
                     '"edges": []}', ["[key, value] pairs"]),
}


@pytest.mark.parametrize("case", sorted(BAD_JSON))
def test_every_bad_json_file_is_a_graph_error_naming_the_file(case, tmp_path):
    text, expected = BAD_JSON[case]
    path = tmp_path / f"{case}.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(gc.GraphError) as info:
        gc.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    for part in expected:
        assert part in message, message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_non_utf8_bytes_name_the_file_and_the_line(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"nodes": [\n {"id": "caf\xe9", "op": "input"}], "edges": []}')
    with pytest.raises(gc.GraphError, match=r"latin1\.json: not UTF-8 text: byte 0xe9 at line 2"):
        gc.load(path)


BAD_GRAPHML = {
    "syntax": ('<graphml>\n<graph edgedefault="directed">\n<node id="x">\n</graph></graphml>',
               ["invalid GraphML at line 4"]),
    "empty": ("", ["invalid GraphML"]),
    "undirected": ('<graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
                   '<graph edgedefault="undirected"></graph></graphml>', ["must be directed"]),
    "bad_payload": ('<graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
                    '<key id="d0" for="node" attr.name="shape" attr.type="string"/>'
                    '<graph edgedefault="directed"><node id="x"><data key="d0">json:[1,</data>'
                    '</node></graph></graphml>', ["node 'x' attribute 'shape'", "invalid JSON"]),
    "no_op": ('<graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
              '<graph edgedefault="directed"><node id="x"/></graph></graphml>',
              ["node 'x' has no 'op' attribute"]),
}


@pytest.mark.parametrize("case", sorted(BAD_GRAPHML))
def test_every_bad_graphml_file_is_a_graph_error_naming_the_file(case, tmp_path):
    text, expected = BAD_GRAPHML[case]
    path = tmp_path / f"{case}.graphml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(gc.GraphError) as info:
        gc.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    for part in expected:
        assert part in message, message


def test_unreadable_paths_and_unwritable_graphs(tmp_path):
    with pytest.raises(gc.GraphError, match="cannot read .*No such file"):
        gc.load(tmp_path / "missing.json")
    with pytest.raises(gc.GraphError, match="cannot read .*directory"):
        gc.load(tmp_path)
    with pytest.raises(gc.GraphError, match="cannot write"):
        gc.save(apple()[0], tmp_path / "no" / "dir.json")
    with pytest.raises(gc.GraphError, match="load needs a file path"):
        gc.load(3)
    with pytest.raises(gc.GraphError, match="unknown graph file format 'yaml'"):
        gc.save(apple()[0], tmp_path / "g.yaml", format="yaml")
    g = nx.DiGraph()
    g.add_node("x", op="input", fn=print)
    with pytest.raises(gc.GraphError, match="node 'x' attribute 'fn': cannot save builtin_function"):
        gc.to_json(g)
    with pytest.raises(gc.GraphError, match="node 'x' attribute 'fn'"):
        gc.save(g, tmp_path / "g.graphml")
    g = nx.DiGraph()
    g.add_node("x", op="input", id=3)
    with pytest.raises(gc.GraphError, match="attribute named 'id'"):
        gc.to_json(g)
    with pytest.raises(gc.GraphError, match="needs a networkx DiGraph, got MultiDiGraph"):
        gc.to_json(nx.MultiDiGraph())
    with pytest.raises(gc.GraphError, match="dtype <U1"):
        gc.to_json(nx.DiGraph(names=np.array(["a"])))


def test_from_json_names_its_source_and_accepts_bytes():
    g = gc.from_json(GOOD.encode("utf-8"))
    assert list(g.nodes) == list(apple()[0].nodes)
    with pytest.raises(gc.GraphError, match=r"^<string>: invalid JSON"):
        gc.from_json("{")
    with pytest.raises(gc.GraphError, match=r"^cli-arg: expected JSON text, got int 3"):
        gc.from_json(3, source="cli-arg")


# ------------------------------------------------------------ property test
def _values():
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.text()
               | st.complex_numbers())
    arrays = hnp.arrays(hnp.scalar_dtypes().filter(lambda d: d.kind in "biufc"),
                        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
    np_scalars = hnp.from_dtype(np.dtype("float32")).map(np.float32)
    keys = st.text() | st.integers() | st.tuples(st.text(), st.integers())
    return st.recursive(scalars | arrays | np_scalars,
                        lambda inner: st.lists(inner, max_size=3)
                        | st.lists(inner, max_size=3).map(tuple)
                        | st.dictionaries(keys, inner, max_size=3), max_leaves=8)


def test_any_supported_value_round_trips_bit_for_bit():
    from hypothesis import given, settings, HealthCheck

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(value=_values())
    def check(value):
        g = nx.DiGraph(extra=value)
        g.add_node(("k", 1), op="input", attr=value)
        for h in (gc.from_json(gc.to_json(g)), gc.graphml.from_graphml(gc.graphml.to_graphml(g))):
            assert identical(h.nodes[("k", 1)]["attr"], value)
            assert identical(h.graph["extra"], value)
    check()


@pytest.mark.parametrize("fmt", FORMATS)
def test_strings_xml_cannot_carry_round_trip(fmt, tmp_path):
    g = nx.DiGraph()
    for key in ["plain", "line\nbreak", "tab\tkey", "", " padded ", "cr\r", "\x1e", "caf\u00e9 ×"]:
        g.add_node(key, op="input", label=key, rule="\x00\x1f\r\n\u2028", empty="", pad="  x  ")
    h = roundtrip(g, fmt, tmp_path)
    assert_identical_graphs(g, h)


@pytest.mark.parametrize("fmt", FORMATS)
def test_lone_surrogates_in_keys_and_values_round_trip(fmt, tmp_path):
    g = nx.DiGraph(note="\ud800")
    g.add_node("x\udfff", op="input", label="\ud83d", tags=["\udc00"])
    h = roundtrip(g, fmt, tmp_path)
    assert_identical_graphs(g, h)
    if fmt == "json":
        text = (tmp_path / "graph.json").read_text(encoding="utf-8")
        assert "\\udfff" in text


@pytest.mark.parametrize("name", ["g.yaml", "g.txt", "g", "g.json.bak", "g.pkl"])
def test_unknown_suffixes_are_refused_naming_the_supported_ones(name, tmp_path):
    """Issue 11 item 7: gc.save(g, "x.yaml") wrote JSON silently."""
    path = tmp_path / name
    expected = r"graph files end in \.json, \.graphml, \.xml \(or pass format="
    with pytest.raises(gc.GraphError, match=expected):
        gc.save(apple()[0], path)
    assert not path.exists()
    path.write_text(gc.to_json(apple()[0]), encoding="utf-8")
    with pytest.raises(gc.GraphError, match=r"graph files end in \.json, \.graphml, \.xml, "
                                            r"\.onnx \(or pass format="):
        gc.load(path)
    assert sorted(gc.load(path, format="json")) == sorted(apple()[0])   # an explicit format
    gc.save(apple()[0], path, format="graphml")
    assert sorted(gc.load(path, format="graphml")) == sorted(apple()[0])


@pytest.mark.parametrize("suffix", [".json", ".JSON", ".graphml", ".xml"])
def test_known_suffixes_any_case(suffix, tmp_path):
    path = gc.save(apple()[0], tmp_path / f"g{suffix}")
    assert sorted(gc.load(path)) == sorted(apple()[0])
