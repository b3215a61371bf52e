"""Hostile input: node keys and labels that try to inject code or markup, and fuzzed graph files.

* Keys and labels with quotes, newlines, backslashes, ``<``, ``&``, braces,
  ``%``, Korean, Python that would run if pasted into code, and very long
  strings: graphs evaluate, differentiate, compile (the generated source holds
  no key as code: the keys below would end the test process if executed) and
  render to DOT and SVG with the markup escaped (the SVG parses as XML).
* The loaders (``gc.from_json``, ``from_graphml``, ``gc.load``) get random
  bytes, deep nesting, huge numbers, NaN literals, wrong types at every level
  and entity-expansion bombs: they raise ``gc.GraphError`` and nothing else,
  within bounded time.
"""
import io
import json
import math
import tokenize
import warnings
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gcompile as gc
from gcompile.graphml import from_graphml, to_graphml
from strategies import profile

EXIT = "import os; os._exit(3)"
HOSTILE = [
    'double"quote', "single'quote", "x'); " + EXIT + "; ('", 'x"); ' + EXIT + '; ("',
    "x\n" + EXIT + "\n", "x\r\n" + EXIT, "back\\slash\\", "trailing\\", "<b>bold</b>", "a & b &amp;",
    "{curly}", "{{0}}", "%s %d %(x)s", "한국어 노드", "__import__('os').system('x')",
    "]]><script>alert(1)</script>", "<!-- -->", "tab\there", "x" * 5000, "é\u200b\u202e", "",
    "label=\"x\" shape=box", "\\N \\G \\E \\L", "-- digraph { a -> b }",
]
#: Names that must never appear as code tokens in generated source.
CODE_WORDS = {"os", "_exit", "__import__", "system", "alert", "script"}


class EvilKey:
    """A hashable key whose repr and str are code (as a careless code generator would paste)."""

    def __init__(self, tag):
        self.tag = tag

    def __repr__(self):
        return "0\n" + EXIT + "\n"

    __str__ = __repr__

    def __hash__(self):
        return hash(("EvilKey", self.tag))

    def __eq__(self, other):
        return isinstance(other, EvilKey) and other.tag == self.tag


def hostile_graph(text):
    """x (input) -> mul with const -> tanh -> add(., x): every key and label built from ``text``."""
    x, c, m, t, out = text, text + "·c", (text, "mul"), text + "\nafter", ("out", text)
    g = nx.DiGraph()
    g.add_node(x, op="input", label=text, group=text)
    g.add_node(c, op="const", value=1.5, label=text)
    g.add_node(m, op="mul", label=text)
    g.add_node(t, op="tanh", label=text, group=text)
    g.add_node(out, op="add", label=text)
    g.add_edges_from([(x, m, {"arg": 0}), (c, m, {"arg": 1}), (m, t, {"arg": 0}),
                      (t, out, {"arg": 0}), (x, out, {"arg": 1})])
    return g, {x: 0.3}, out, [x]


def _expected(x=0.3):
    return math.tanh(1.5 * x) + x, 1.5 * (1 - math.tanh(1.5 * x) ** 2) + 1


def _code_names(source):
    """The NAME tokens of Python source (comments and string literals excluded)."""
    return {tok.string for tok in tokenize.generate_tokens(io.StringIO(source).readline)
            if tok.type == tokenize.NAME}


# ------------------------------------------------------------ keys and labels
@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_keys_evaluate_and_differentiate(text):
    g, feeds, out, wrt = hostile_graph(text)
    value, slope = _expected()
    assert gc.evaluate(g, feeds)[out] == pytest.approx(value, rel=1e-15)
    assert gc.gradients(g, feeds, out, wrt)[wrt[0]] == pytest.approx(slope, rel=1e-15)
    bwd = gc.grad(g, out, wrt)
    assert gc.plan(bwd).order
    assert text in bwd  # the forward read keeps its key


def test_evil_repr_keys_evaluate_and_differentiate():
    g = nx.DiGraph()
    x, y = EvilKey("x"), EvilKey("y")
    g.add_node(x, op="input")
    g.add_node(y, op="sin")
    g.add_edge(x, y, arg=0)
    assert gc.gradients(g, {x: 0.0}, y, [x])[x] == 1.0


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize("array", [False, True], ids=["float", "array"])
def test_hostile_keys_compile_without_injection(text, array):
    g, feeds, out, wrt = hostile_graph(text)
    if array:
        feeds = {wrt[0]: np.array([0.3, 0.3])}
    f = gc.compile(g, out, wrt)
    value, grads = f(feeds)  # the process would have exited with status 3 if injected
    np.testing.assert_allclose(value, _expected()[0], rtol=1e-15)
    np.testing.assert_allclose(grads[wrt[0]], _expected()[1], rtol=1e-15)
    assert f.fallbacks == 0
    assert not _code_names(f.source) & CODE_WORDS, f.source


def test_evil_repr_keys_compile_without_injection():
    g = nx.DiGraph()
    x, y = EvilKey("x"), EvilKey("y")
    g.add_nodes_from([(x, {"op": "input"}), (y, {"op": "sin"})])
    g.add_edge(x, y, arg=0)
    f = gc.compile(g, y, [x])
    value, grads = f({x: 0.0})
    assert value == 0.0 and grads[x] == 1.0
    assert not _code_names(f.source) & CODE_WORDS, f.source


def _svg_text(svg):
    """The text an SVG shows; fails if it is not XML or holds elements a label smuggled in."""
    root = ET.fromstring(svg.encode("utf-8"))  # raises on unescaped markup
    tags = {el.tag.rsplit("}", 1)[-1] for el in root.iter()}
    assert not tags & {"b", "i", "script", "foreignObject"}, tags
    return "\n".join("".join(el.itertext()) for el in root.iter() if el.tag.endswith("text"))


def _render_case(text):
    return text


@pytest.mark.parametrize("text", [_render_case(t) for t in HOSTILE if len(t) < 100], ids=str)
def test_hostile_labels_render_escaped(text):
    g, feeds, out, wrt = hostile_graph(text)
    values = gc.evaluate(g, feeds)
    dot = gc.to_dot(g, values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a missing CJK font is a warning, not our concern here
        svg = dot.svg()
    shown = _svg_text(svg)
    visible = text.strip().split("\n")[0][:20].strip()
    if visible and visible.isprintable() and "\\" not in visible:
        assert visible in shown, (visible, shown[:500])


@pytest.mark.parametrize("text", ["<b>bold</b>", "x'); " + EXIT + "; ('", "a & b", "한국어",
                                  "{curly} %s \\N"], ids=str)
def test_hostile_pair_renders_as_xml(text):
    g, feeds, out, wrt = hostile_graph(text)
    bwd = gc.grad(g, out, wrt)
    values = gc.evaluate(g, feeds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        svg = gc.render_pair(g, bwd, values=values, grads=gc.evaluate(bwd, values)).svg()
    _svg_text(svg)


def test_evil_repr_keys_render_escaped():
    g = nx.DiGraph()
    x, y = EvilKey("x"), EvilKey("y")
    g.add_nodes_from([(x, {"op": "input", "label": "<i>x</i>"}), (y, {"op": "sin"})])
    g.add_edge(x, y, arg=0)
    _svg_text(gc.to_dot(g).svg())


# ------------------------------------------------------------------ loaders
def _only_graph_errors(load, payload):
    try:
        graph = load(payload)
    except gc.GraphError:
        return None
    return graph


_VALID = json.loads(gc.to_json(hostile_graph("x")[0]))


def _json_values(max_leaves=12):
    leaves = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
              | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8)
              | st.sampled_from(["input", "const", "mul", "__tuple__", "__ndarray__", "arg", "id"]))
    return st.recursive(leaves, lambda kids: st.lists(kids, max_size=4)
                        | st.dictionaries(st.text(max_size=6) | st.sampled_from(
                            ["id", "op", "arg", "source", "target", "nodes", "edges", "value",
                             "shape", "__tuple__", "__float__", "__ndarray__", "__dict__",
                             "dtype", "data", "axis"]), kids, max_size=4),
                        max_leaves=max_leaves)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


_VALID_PATHS = list(_paths(_VALID))


def _replace(obj, path, new):
    if not path:
        return new
    obj = json.loads(json.dumps(obj))
    cur = obj
    for k in path[:-1]:
        cur = cur[k]
    cur[path[-1]] = new
    return obj


def _exercise(graph):
    """A loaded graph must also be safe to use: every failure is a GraphError."""
    if graph is None:
        return
    feeds = {v: 0.5 for v, d in graph.nodes(data=True) if d.get("op") == "input"}
    for step in (lambda: gc.evaluate(graph, feeds),
                 lambda: [gc.grad(graph, v, list(feeds)) for v in list(graph)[:3]]):
        try:
            with np.errstate(all="ignore"):
                step()
        except gc.GraphError:
            pass


@profile(scale=3)
@given(st.binary(max_size=300))
def test_json_loader_random_bytes(data):
    _only_graph_errors(gc.from_json, data)


@profile(scale=3)
@given(_json_values())
def test_json_loader_random_documents(doc):
    _exercise(_only_graph_errors(gc.from_json, json.dumps(doc)))


@profile(scale=5)
@given(st.sampled_from(_VALID_PATHS), _json_values(max_leaves=4))
def test_json_loader_wrong_type_at_every_level(path, new):
    """A valid file with one value (at any depth) replaced by anything."""
    text = json.dumps(_replace(_VALID, path, new))
    _exercise(_only_graph_errors(gc.from_json, text))


@profile(scale=2)
@given(st.sampled_from(_VALID_PATHS), st.sampled_from(
    ["NaN", "-Infinity", "Infinity", "1e999999", "-1e400", "9" * 5000, "-" + "9" * 400,
     "0.000000000000000000000000000001", "1" * 4301, '"\\ud800"', "[" * 500 + "]" * 500]))
def test_json_loader_hostile_literals_at_every_level(path, literal):
    marker = "__MARKER_7f3a__"
    text = json.dumps(_replace(_VALID, path, marker)).replace(f'"{marker}"', literal)
    _exercise(_only_graph_errors(gc.from_json, text))


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,
    '{"nodes": ' + "[" * 100_000 + "]" * 100_000 + ', "edges": []}',
    '{"a":' * 50_000 + "1" + "}" * 50_000,
    '{"nodes": [{"id": "x", "op": "const", "value": ' + '{"__tuple__": [' * 20_000 + "1"
    + "]}" * 20_000 + "}], " + '"edges": []}',
    '{"nodes": [{"id": ' + "[" * 20_000 + "1" + "]" * 20_000 + ', "op": "input"}], "edges": []}',
    "[" * 100_000,
    "",
    "\ufeff",
    "null",
    '{"nodes": [], "edges": []}' + " " * 10 + "x",
], ids=["list", "nodes", "objects", "tuples", "key", "open", "empty", "bom", "null", "trailing"])
def test_json_loader_deep_and_degenerate(text):
    graph = _only_graph_errors(gc.from_json, text)
    assert graph is None or len(graph) == 0


def test_json_loader_huge_graph_is_linear(tmp_path):
    """A 30,000-node chain loads (no recursion) as a valid graph."""
    n = 30_000
    nodes = [{"id": 0, "op": "input"}] + [{"id": i, "op": "neg"} for i in range(1, n)]
    edges = [{"source": i - 1, "target": i, "arg": 0} for i in range(1, n)]
    path = tmp_path / "chain.json"
    path.write_text(json.dumps({"directed": True, "nodes": nodes, "edges": edges}))
    assert len(gc.load(path)) == n


_GML_HEAD = ('<?xml version="1.0"?>{dtd}<graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
             '<key id="op" for="node" attr.name="op" attr.type="string"/>'
             '<graph edgedefault="directed">{body}</graph></graphml>')


def _gml(body, dtd=""):
    return _GML_HEAD.format(dtd=dtd, body=body)


_LAUGHS = ("<!DOCTYPE g [<!ENTITY l0 \"lol\">"
           + "".join(f"<!ENTITY l{i} \"{('&l' + str(i - 1) + ';') * 10}\">" for i in range(1, 10))
           + "]>")


@pytest.mark.parametrize("text", [
    _gml('<node id="&l9;"><data key="op">input</data></node>', _LAUGHS),
    _gml('<node id="x"><data key="op">&l9;</data></node>', _LAUGHS),
    _gml('<node id="&xxe;"/>', '<!DOCTYPE g [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'),
    _gml('<node id="x"/>', '<!DOCTYPE g [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>'),
    _gml("<node id='x'>" + "<data key='op'>" * 50_000 + "</data>" * 50_000 + "</node>"),
    "<a>" * 100_000 + "</a>" * 100_000,
    _gml('<node id="x"><data key="op">input</data></node><edge source="x" target="nowhere"/>'),
    _gml('<node id="x"><data key="op">mul</data></node><edge source="x" target="x"/>'),
    _gml('<node id="x"><data key="op">json:{"__tuple__": 3}</data></node>'),
    _gml('<node id="x"><data key="op">input</data><data key="nokey">1</data></node>'),
    _gml('<node id="x"><data key="op">input</data></node>').replace('"string"', '"int"'),
    _gml('<node id="x"><data key="op">input</data></node>').replace('"string"', '"long"'),
    _gml('<node id="x"/>').replace('edgedefault="directed"', 'edgedefault="undirected"'),
    _gml('<node id="a"/><node id="a"/>'),
    "<graphml>",
    "\x00\x01\x02",
    b"\xff\xfe<\x00g\x00",
    _gml('<node id="x"><data key="op">input</data></node>').replace("graphml xmlns", "graphml x"),
], ids=["laughs-id", "laughs-data", "xxe", "param-entity", "deep-data", "deep", "dangling",
        "self-loop", "json-tag", "unknown-key", "int-type", "long-type", "undirected", "dup-id",
        "open", "control", "utf16", "no-namespace"])
def test_graphml_loader_adversarial(text):
    graph = _only_graph_errors(lambda t: from_graphml(t), text)
    _exercise(graph)


@profile(scale=2)
@given(st.binary(max_size=300))
def test_graphml_loader_random_bytes(data):
    _only_graph_errors(from_graphml, data)


_GML_VALID = to_graphml(hostile_graph("x")[0])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # networkx: "No key type for id ..."
@profile(scale=3)
@given(st.integers(0, len(_GML_VALID) - 1), st.integers(1, 40),
       st.text(alphabet="<>&\"'/=;#x0123456789:{}[]json_-. \n\x00\u00e9", max_size=30))
def test_graphml_loader_mutated_files(start, length, insert):
    """A valid GraphML file with a slice replaced by markup-ish characters."""
    text = _GML_VALID[:start] + insert + _GML_VALID[start + length:]
    _exercise(_only_graph_errors(from_graphml, text))


@profile(scale=2)
@given(st.sampled_from(["op", "shape", "value", "arg", "axis", "keepdims", "label"]),
       _json_values(max_leaves=4))
def test_graphml_loader_json_attributes_of_any_type(name, value):
    """``json:`` attribute text holding any JSON value, on a node or an edge."""
    payload = escape("json:" + json.dumps(value), {'"': "&quot;"})
    where = "edge" if name == "arg" else "node"
    data = f'<data key="k">{payload}</data>'
    y_op = data if name == "op" else '<data key="op">sum</data>' + (data if where == "node" else "")
    text = ('<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
            '<key id="op" for="node" attr.name="op" attr.type="string"/>'
            f'<key id="k" for="{where}" attr.name="{name}" attr.type="string"/>'
            '<graph edgedefault="directed"><node id="x"><data key="op">input</data></node>'
            f'<node id="y">{y_op}</node><edge source="x" target="y">'
            f'{data if where == "edge" else ""}</edge></graph></graphml>')
    _exercise(_only_graph_errors(from_graphml, text))


def test_load_rejects_directories_and_devices(tmp_path):
    for path in (tmp_path, "/dev/null", tmp_path / "missing.graphml", 3, None):
        with pytest.raises(gc.GraphError):
            gc.load(path)
