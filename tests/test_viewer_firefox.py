"""The viewer page in headless Firefox, driven over WebDriver BiDi (skipped without Firefox).

Firefox speaks WebDriver BiDi on ``--remote-debugging-port``; its messages
have the DevTools protocol's shape, so the WebSocket client of
``test_step_through.py`` drives it.  Clicks, pointer moves and typing are
``input.performActions`` (real input events).  Chromium runs the fuller
suite in ``test_viewer_browser.py``; this checks the same page works in
Firefox.
"""
import re
import shutil
import subprocess
import time

import pytest

from test_step_through import DevTools, stop
from test_viewer_browser import HOSTILE, pages  # noqa: F401  (the pages fixture)

FIREFOX = next((shutil.which(b) for b in ("firefox-esr", "firefox") if shutil.which(b)), None)


class Firefox:
    def __init__(self, tools, context):
        self.tools, self.context = tools, context

    def open(self, path):
        self.tools.call("browsingContext.navigate", context=self.context, url=path.as_uri(),
                        wait="complete")
        deadline = time.monotonic() + 30
        while self.js("document.body && document.body.getAttribute('data-ready')") != "1":
            if time.monotonic() > deadline:
                pytest.fail(f"the viewer page {path.name} never became ready in Firefox")
            time.sleep(0.05)
        return self

    def js(self, expression):
        r = self.tools.call("script.evaluate", expression=expression, awaitPromise=False,
                            target={"context": self.context})
        assert r["type"] == "success", (expression, r)
        return _value(r["result"])

    def actions(self, *sources):
        self.tools.call("input.performActions", context=self.context, actions=list(sources))

    def click(self, x, y):
        self.actions({"type": "pointer", "id": "mouse", "actions": [
            {"type": "pointerMove", "x": int(x), "y": int(y)},
            {"type": "pointerDown", "button": 0}, {"type": "pointerUp", "button": 0}]})

    def hover(self, x, y):
        self.actions({"type": "pointer", "id": "mouse", "actions": [
            {"type": "pointerMove", "x": int(x), "y": int(y)}]})

    def type(self, text):
        keys = []
        for ch in text:
            keys += [{"type": "keyDown", "value": ch}, {"type": "keyUp", "value": ch}]
        self.actions({"type": "key", "id": "keyboard", "actions": keys})


def _value(remote):
    kind = remote["type"]
    if kind == "array":
        return [_value(v) for v in remote["value"]]
    return remote.get("value")


@pytest.fixture(scope="module")
def firefox(tmp_path_factory):
    if FIREFOX is None:
        pytest.skip("no Firefox on PATH: the Firefox check of the viewer needs one "
                    "(apt-get install -y firefox-esr)")
    profile = tmp_path_factory.mktemp("ffprofile")
    log = profile.parent / "firefox.log"
    with open(log, "w") as err:
        proc = subprocess.Popen([FIREFOX, "--headless", "--profile", str(profile), "--no-remote",
                                 "--remote-debugging-port", "0", "--window-size=1280,800",
                                 "about:blank"], stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 60
        while not (port := re.search(r"ws://127\.0\.0\.1:(\d+)", log.read_text())):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("Firefox did not start WebDriver BiDi")
            time.sleep(0.1)
        tools = DevTools(f"ws://127.0.0.1:{port.group(1)}/session")
        tools.call("session.new", capabilities={})
        context = tools.call("browsingContext.getTree")["contexts"][0]["context"]
        tools.call("browsingContext.setViewport", context=context,
                   viewport={"width": 1280, "height": 800})
        yield Firefox(tools, context)
        tools.sock.close()
    finally:
        stop(proc)


def _center(ff, key, side="f"):
    return ff.js(f"""(function () {{
        var d = JSON.parse(document.getElementById('gc-data').textContent);
        var i = d.nodes.findIndex(function (n) {{ return n.key === {key!r} && n.side === '{side}'; }});
        var r = document.querySelector('[data-node="' + i + '"]').getBoundingClientRect();
        return [r.left + r.width / 2, r.top + r.height / 2]; }})()""")


def _keys_with(ff, cls):
    return sorted(ff.js(f"""(function () {{
        var d = JSON.parse(document.getElementById('gc-data').textContent), seen = {{}};
        document.querySelectorAll('g.node.{cls}').forEach(function (e) {{
            var n = d.nodes[+e.getAttribute('data-node')]; seen[n.side + ':' + n.key] = 1; }});
        return Object.keys(seen); }})()"""))


def test_search_click_and_escape_in_firefox(firefox, pages):  # noqa: F811
    ff = firefox.open(pages["apple"])
    ff.click(*_center(ff, "apple"))
    assert _keys_with(ff, "gc-sel") == ["f:apple"] and _keys_with(ff, "gc-lit") == ["b:dapple"]
    ff.click(*_center(ff, "apple_price"))
    assert _keys_with(ff, "gc-lit") == ["b:dapple", "b:dapple_num", "b:dapple_price"]
    ff.js("document.getElementById('gc-search').focus()")
    ff.type("apple_pr")
    assert _keys_with(ff, "gc-match") == ["b:dapple_price", "f:apple_price"]
    ff.type("\ue00c")  # Escape
    assert _keys_with(ff, "gc-lit") == [] and _keys_with(ff, "gc-match") == []


def test_collapse_and_hostile_text_in_firefox(firefox, pages):  # noqa: F811
    ff = firefox.open(pages["net"])
    visible = "document.querySelectorAll('#gc-canvas g.node:not(.gc-hidden)').length"
    total = ff.js(visible)
    ff.js("document.getElementById('gc-collapse-all').click()")
    assert ff.js(visible) < total
    ff.js("document.getElementById('gc-expand-all').click()")
    assert ff.js(visible) == total
    ff = firefox.open(pages["hostile"])
    ff.hover(*_center(ff, HOSTILE))
    assert HOSTILE in ff.js("document.getElementById('gc-tip').textContent")
    assert ff.js("document.querySelectorAll('img').length") == 0
    assert ff.js("document.title") != "pwned"
