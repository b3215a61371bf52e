"""The viewer page driven in a real headless Chromium (skipped only where none is installed).

Reuses the DevTools-protocol client of ``test_step_through.py``; clicks, key
presses, wheel turns and typing are real input events dispatched by the
browser, not calls into the page's script.
"""
import json
import struct
import time
import zlib

import networkx as nx
import pytest

import gcompile as gc
from gcompile.examples import apple, two_layer_net
from gcompile.viewer.model import COLLAPSE_NODES
from test_step_through import chromium

HOSTILE = '<img src=x onerror="document.title=\'pwned\'">'
HOSTILE_LABEL = "</script><script>document.title='pwned'</script>"


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    out = tmp_path_factory.mktemp("viewer")
    g, feeds = apple()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    net, net_feeds = two_layer_net()
    net_bwd = gc.grad(net, net.graph["output"], net.graph["wrt"])
    hostile = nx.DiGraph()
    hostile.add_node(HOSTILE, op="input", shape=(), label=HOSTILE_LABEL)
    hostile.add_node("y", op="sin")
    hostile.add_edge(HOSTILE, "y", arg=0)
    big = nx.DiGraph()
    big.add_node("x", op="input", shape=())
    prev = "x"
    for i in range(COLLAPSE_NODES + 10):
        big.add_node(f"t{i}", op="tanh", group=f"block{i // 40}")
        big.add_edge(prev, f"t{i}", arg=0)
        prev = f"t{i}"
    return {
        "apple": gc.view(g, bwd, out / "apple.html", gc.evaluate(g, feeds)),
        "net": gc.view(net, net_bwd, out / "net.html", gc.evaluate(net, net_feeds)),
        "hostile": gc.view(hostile, gc.grad(hostile, "y", [HOSTILE]), out / "hostile.html",
                           {HOSTILE: 0.5, "y": 0.479425538604203}),
        "big": gc.view(big, path=out / "big.html"),
    }


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("profile"), "about:blank",
                  extra=("--window-size=1280,800",)) as tools:
        tools.call("Emulation.setDeviceMetricsOverride", width=1280, height=800,
                   deviceScaleFactor=1, mobile=False)
        yield tools


def _open(tools, path):
    tools.call("Page.navigate", url=path.as_uri())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready = tools.js("document.readyState === 'complete' && document.body !== null "
                         "&& document.body.getAttribute('data-ready')")
        if ready == "1":
            return tools
        time.sleep(0.05)
    pytest.fail(f"the viewer page {path.name} never became ready (a script error?)")


def _node_center(tools, key, side="f"):
    xy = tools.js(f"""(function () {{
        var data = JSON.parse(document.getElementById('gc-data').textContent);
        var i = data.nodes.findIndex(function (n) {{ return n.key === {json.dumps(key)}
                                                     && n.side === {json.dumps(side)}; }});
        var r = document.querySelector('[data-node="' + i + '"]').getBoundingClientRect();
        return [r.left + r.width / 2, r.top + r.height / 2];
    }})()""")
    return xy


def _click(tools, x, y):
    for kind in ("mousePressed", "mouseReleased"):
        tools.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)


def _keys_with(tools, cls):
    return sorted(tools.js(f"""(function () {{
        var data = JSON.parse(document.getElementById('gc-data').textContent);
        var seen = {{}};
        document.querySelectorAll('g.node.{cls}').forEach(function (e) {{
            var n = data.nodes[+e.getAttribute('data-node')];
            seen[n.side + ':' + n.key] = true; }});
        return Object.keys(seen); }})()"""))


def _viewbox(tools):
    return tools.js("document.querySelector('#gc-canvas svg').getAttribute('data-view')")


def test_search_highlights_matches_and_jumps(browser, pages):
    tools = _open(browser, pages["apple"])
    before = _viewbox(tools)
    tools.js("document.getElementById('gc-search').focus()")
    tools.call("Input.insertText", text="apple_pr")
    # 'apple_price' forward and 'dapple_price' backward both contain it
    assert _keys_with(tools, "gc-match") == ["b:dapple_price", "f:apple_price"]
    assert tools.js("document.getElementById('gc-count').textContent") == "1 of 2"
    assert _viewbox(tools) != before  # the view moved to the first match
    first = _keys_with(tools, "gc-current")
    tools.key("Enter", 13)
    second = _keys_with(tools, "gc-current")
    assert len(first) == len(second) == 1 and first != second
    assert tools.js("document.getElementById('gc-count').textContent") == "2 of 2"
    tools.key("Escape", 27)
    assert _keys_with(tools, "gc-match") == []


def test_clicking_a_forward_node_lights_its_backward_nodes(browser, pages):
    tools = _open(browser, pages["apple"])
    g, _ = apple()
    bwd = gc.grad(g, "price", g.graph["wrt"])
    _click(tools, *_node_center(tools, "apple"))
    assert _keys_with(tools, "gc-sel") == ["f:apple"]
    assert _keys_with(tools, "gc-lit") == ["b:dapple"]
    # a node with a rule: its gradient and every drawn backward node whose origin it is
    _click(tools, *_node_center(tools, "apple_price"))
    drawn = gc.drawing.pair.drawn_backward_nodes(g, bwd)
    expected = {"b:dapple_price"} | {f"b:{k}" for k in drawn
                                    if bwd.nodes[k]["origin"] == "apple_price"}
    assert set(_keys_with(tools, "gc-lit")) == expected == {"b:dapple_price", "b:dapple",
                                                             "b:dapple_num"}
    side = tools.js("document.getElementById('gc-sel').textContent")
    assert "value200.0" in side and "gradientdapple_price = 1.1" in side and "dapple_num" in side
    # a backward node: its forward origin and the forward values it reads
    _click(tools, *_node_center(tools, "dapple", "b"))
    assert _keys_with(tools, "gc-lit") == ["f:apple_num", "f:apple_price"]
    assert tools.js("document.querySelectorAll('g.edge.gc-lit').length") >= 1
    tools.key("Escape", 27)
    assert _keys_with(tools, "gc-lit") == [] and _keys_with(tools, "gc-sel") == []


def test_keyboard_tab_enter_and_zoom(browser, pages):
    tools = _open(browser, pages["apple"])
    tools.js("document.getElementById('gc-canvas').focus()")
    tools.key("Tab", 9)
    focused = tools.js("document.activeElement.getAttribute('data-node')")
    assert focused is not None
    assert not tools.js("document.getElementById('gc-tip').hidden")
    assert tools.js("document.getElementById('gc-tip').textContent").startswith(
        tools.js(f"JSON.parse(document.getElementById('gc-data').textContent).nodes[{focused}].key"))
    tools.key("Enter", 13)
    assert tools.js("document.body.getAttribute('data-selected')") == focused
    fitted = _viewbox(tools)
    tools.call("Input.dispatchKeyEvent", type="keyDown", key="+", text="+")
    tools.call("Input.dispatchKeyEvent", type="keyUp", key="+")
    zoomed = [float(v) for v in _viewbox(tools).split()]
    assert zoomed[2] < float(fitted.split()[2])
    tools.call("Input.dispatchMouseEvent", type="mouseWheel", x=400, y=400, deltaX=0, deltaY=300)
    assert [float(v) for v in _viewbox(tools).split()][2] > zoomed[2]
    tools.call("Input.dispatchKeyEvent", type="keyDown", key="0", text="0")
    assert _viewbox(tools) == fitted


def test_collapse_and_expand_change_the_visible_nodes(browser, pages):
    tools = _open(browser, pages["net"])
    visible = "document.querySelectorAll('#gc-canvas g.node:not(.gc-hidden)').length"
    total = tools.js(visible)
    assert total == 12 + tools.js("document.querySelectorAll('g.node.gc-bwd').length")
    tools.js("document.getElementById('gc-collapse-all').click()")
    collapsed = tools.js(visible)
    assert collapsed < total
    assert tools.js("document.querySelectorAll('g.gc-group:not(.gc-hidden)').length") >= 5
    # a collapsed group's boxes never cover a node left visible
    assert tools.js("""(function () {
        var shown = Array.from(document.querySelectorAll('#gc-canvas g.node')).map(function (e) {
            var r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; });
        return Array.from(document.querySelectorAll('g.gc-group:not(.gc-hidden) rect')).every(
            function (b) { var r = b.getBoundingClientRect(); return shown.every(function (c) {
                return c[0] < r.left || c[0] > r.right || c[1] < r.top || c[1] > r.bottom; }); });
    })()""")
    box = tools.js("""(function () { var r = document.querySelector('g.gc-group:not(.gc-hidden) rect')
        .getBoundingClientRect(); return [r.left + 5, r.top + 5]; })()""")
    _click(tools, *box)
    assert collapsed < tools.js(visible) < total
    tools.js("document.getElementById('gc-expand-all').click()")
    assert tools.js(visible) == total
    # big graphs open collapsed to their groups
    tools = _open(browser, pages["big"])
    assert tools.js(visible) == 1  # only 'x' is outside the blocks
    assert tools.js("document.querySelectorAll('g.gc-group:not(.gc-hidden)').length") == 4
    tools.js("document.getElementById('gc-search').focus()")
    tools.call("Input.insertText", text="t100")
    assert tools.js(visible) == 41  # jumping to a match opens its group


def test_paths_and_toggles(browser, pages):
    tools = _open(browser, pages["apple"])
    tools.js("var s = document.getElementById('gc-wrt'); s.value = s.options[1].value; "
             "s.dispatchEvent(new Event('change'))")
    text = tools.js("document.getElementById('gc-paths').textContent")
    assert "price ← apple_price ← apple" in text and "1 × 1.1 × 2 = 2.2" in text
    assert _keys_with(tools, "gc-path") == ["b:dapple", "b:dapple_price", "b:dprice", "f:apple",
                                            "f:apple_price", "f:price"]
    value_shown = ("getComputedStyle(document.querySelector('#gc-canvas .gc-value')).display "
                   "!== 'none'")
    assert tools.js(value_shown)
    tools.js("document.getElementById('gc-values').click()")
    assert not tools.js(value_shown)
    assert tools.js("document.querySelectorAll('g.edge.gc-residual').length") == 4  # dashed
    tools.js("document.getElementById('gc-residual').click()")
    assert tools.js("getComputedStyle(document.querySelector('g.edge.gc-residual')).display") == "none"


def test_hostile_keys_render_as_text(browser, pages):
    tools = _open(browser, pages["hostile"])
    assert tools.js("document.title") != "pwned"
    assert tools.js("document.querySelectorAll('img, #gc-canvas script').length") == 0
    x, y = _node_center(tools, HOSTILE)
    tools.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
    tip = tools.js("document.getElementById('gc-tip').textContent")
    assert HOSTILE in tip and HOSTILE_LABEL in tip
    _click(tools, x, y)
    assert HOSTILE in tools.js("document.getElementById('gc-sel').textContent")
    assert tools.js("document.querySelectorAll('img').length") == 0
    assert tools.js("document.title") != "pwned"


def _png_pixels(png):
    """Decompressed scanlines of a PNG (enough to tell a blank image from a drawing)."""
    pos, idat = 8, b""
    while pos < len(png):
        n, kind = struct.unpack(">I4s", png[pos:pos + 8])
        if kind == b"IDAT":
            idat += png[pos + 8:pos + 8 + n]
        pos += 12 + n
    return zlib.decompress(idat)


def test_screenshot_is_not_blank(browser, pages):
    import base64

    tools = _open(browser, pages["net"])
    shot = base64.b64decode(tools.call("Page.captureScreenshot", format="png")["data"])
    pixels = _png_pixels(shot)
    assert len(set(pixels)) > 50
    assert pixels.count(255) < 0.97 * len(pixels)
