"""Fuzzed graph files through the whole pipeline: only GraphError, and no hang (issue 11 item 19).

Valid JSON and GraphML files (a forward graph with tensors, a scalar one, and a backward
graph with every backward attribute) are mutated: a value swapped for one of another type,
a key removed, huge numbers, NaN, nested junk, tagged junk, documented attributes added
with junk.  Each mutated file goes load -> evaluate -> grad -> compile -> to_dot -> compare
-> explain; every step may refuse it, but only with ``gc.GraphError``, within a time bound.
"""
import json
import re
import signal
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gcompile as gc
from gcompile.encoding import encode
from gcompile.examples import apple, two_layer_net
from gcompile.graphml import from_graphml, to_graphml
from strategies import profile

SECONDS = 30  # per case, for the whole pipeline


def _bases():
    net, net_feeds = two_layer_net()
    g, feeds = apple()
    bwd = gc.grad(g, "price", ["apple", "tax"])
    bwd_feeds = dict(gc.evaluate(g, feeds))
    return [(net, net_feeds), (g, feeds), (bwd, bwd_feeds)]


BASES = _bases()
DOCS = [json.loads(gc.to_json(g)) for g, _ in BASES]
GRAPHMLS = [to_graphml(g) for g, _ in BASES]

ATTRS = ["op", "shape", "value", "arg", "axis", "axes", "keepdims", "label", "group", "origin",
         "role", "rule", "local", "wrt_arg", "feedable", "order", "id", "source", "target"]
GRAPH_ATTRS = ["output", "wrt", "grads", "seed", "name"]
MARK = "__MARK_5e1c__"
#: Raw JSON text that json.dumps cannot write: put in place of the marker.
RAW = ["NaN", "-Infinity", "Infinity", "1e999", "-1e400", "1" + "0" * 400, "-" + "9" * 300,
       "[" * 300 + "]" * 300, '{"__tuple__": ' * 50 + "1" + "}" * 50]


def _junk():
    leaf = (st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats()
            | st.text(max_size=6) | st.sampled_from(
                ["input", "const", "mul", "sum", "(2, 3)", "2,3", "[2]", "3", "", "json:[1,",
                 "seed", "forward_value", "exp", "x", "W1", "price"]))
    tagged = st.sampled_from([
        {"__tuple__": [2, 3]}, {"__tuple__": "x"}, {"__float__": "nan"}, {"__float__": "inf"},
        {"__complex__": [1, 2]}, {"__dict__": [[1, 2]]}, {"__dict__": [["x", [1]]]},
        encode(np.zeros((2, 2))), encode(np.array([1j])), encode(np.float32(1.5)),
        {"__ndarray__": {"dtype": "<f8", "shape": [10 ** 6, 10 ** 6], "data": ""}},
        {"__tuple__": [20000, 20000]}, {"__tuple__": [-1]}, [20000, 20000]])
    return st.recursive(leaf | tagged, lambda kids: st.lists(kids, max_size=3)
                        | st.dictionaries(st.text(max_size=4), kids, max_size=2), max_leaves=6)


@st.composite
def mutated_json(draw):
    i = draw(st.integers(0, len(DOCS) - 1))
    doc = json.loads(json.dumps(DOCS[i]))
    raw = None
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(["node", "edge", "graph"]))
        items = {"node": doc["nodes"], "edge": doc["edges"], "graph": [doc["graph"]]}[where]
        if not items:
            continue
        item = draw(st.sampled_from(items))
        names = GRAPH_ATTRS if where == "graph" else ATTRS
        name = draw(st.sampled_from(sorted(set(names) | set(item))))
        action = draw(st.sampled_from(["set", "set", "set", "remove", "raw"]))
        if action == "remove":
            item.pop(name, None)
        elif action == "raw" and raw is None:
            item[name] = MARK
            raw = draw(st.sampled_from(RAW))
        else:
            item[name] = draw(_junk())
    text = json.dumps(doc)
    if raw is not None:
        text = text.replace(f'"{MARK}"', raw)
    return i, text


@st.composite
def mutated_graphml(draw):
    i = draw(st.integers(0, len(GRAPHMLS) - 1))
    text = GRAPHMLS[i]
    for _ in range(draw(st.integers(1, 3))):
        datas = list(re.finditer(r"<data key=\"(d\d+)\">([^<]*)</data>", text))
        choice = draw(st.sampled_from(["data", "type", "data"]))
        if choice == "data" and datas:
            m = draw(st.sampled_from(datas))
            new = draw(st.sampled_from(["3", "-1", "2.5", "(2, 3)", "2,3", "[2, 3]", "true",
                                        "nan", "inf", "", "json:5", "json:[1, NaN]",
                                        "json:{\"__float__\": \"nan\"}", "json:null",
                                        "json:[20000, 20000]", "x", "1" + "0" * 400]))
            text = text[:m.start(2)] + new + text[m.end(2):]
        else:
            keys = list(re.finditer(r'attr\.type="(\w+)"', text))
            if keys:
                m = draw(st.sampled_from(keys))
                new = draw(st.sampled_from(["int", "long", "double", "float", "boolean",
                                            "string"]))
                text = text[:m.start(1)] + new + text[m.end(1):]
    return i, text


def _alarm(*_):
    raise TimeoutError(f"a fuzzed graph took more than {SECONDS} s")


def _pipeline(load, i, text):
    graph0, feeds0 = BASES[i]
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(SECONDS)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            _steps(load, text, graph0, feeds0)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _attempt(step):
    try:
        return step()
    except gc.GraphError:
        return None


def _steps(load, text, graph0, feeds0):
    g = _attempt(lambda: load(text))
    if g is None:
        return
    feeds = {k: v for k, v in feeds0.items() if k in g}
    output = graph0.graph.get("output", "price")
    wrt = [w for w in graph0.graph.get("wrt", ["apple", "tax"]) if w in g] or list(g)[:1]
    values = _attempt(lambda: gc.evaluate(g, feeds))
    bwd = _attempt(lambda: gc.grad(g, output, wrt))
    _attempt(lambda: gc.compile(g, output, wrt)(feeds))
    _attempt(lambda: gc.to_dot(g, values).source)
    _attempt(lambda: gc.compare(g, bwd if bwd is not None else g, values))
    _attempt(lambda: gc.explain(g, feeds, output, wrt[0]))
    _attempt(lambda: gc.to_json(g))
    _attempt(lambda: to_graphml(g))


@pytest.fixture(autouse=True)
def _small_limit(monkeypatch):
    monkeypatch.setenv("GCOMPILE_MAX_BYTES", "200M")   # fuzzed shapes must not fill the machine


def test_the_unmutated_files_pass_the_pipeline():
    for i, doc in enumerate(DOCS):
        _pipeline(gc.from_json, i, json.dumps(doc))
        _pipeline(from_graphml, i, GRAPHMLS[i])


@profile(scale=3)
@given(mutated_json())
def test_mutated_json_files_raise_only_graph_errors(case):
    i, text = case
    _pipeline(gc.from_json, i, text)


@profile(scale=2)
@given(mutated_graphml())
def test_mutated_graphml_files_raise_only_graph_errors(case):
    i, text = case
    _pipeline(from_graphml, i, text)
