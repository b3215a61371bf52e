"""The step-through page: its frames, and driven in a real headless Chromium (skipped without one).

The browser is driven over the Chrome DevTools Protocol with a minimal
WebSocket client written here on the standard library (no extra packages).
"""
import base64
import contextlib
import html
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

import gcompile as gc
from gcompile.examples import apple, apple_orange
from gcompile.step_through import frames, step_through

BROWSER = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(b)), None)
RED = 'stroke="#d62728"'


@pytest.fixture(scope="module")
def apple_page(tmp_path_factory):
    g, feeds = apple()
    return step_through(g, feeds, "price", g.graph["wrt"],
                        tmp_path_factory.mktemp("page") / "apple.html")


def _frames(text):
    return re.findall(r'<div class="frame" id="frame-(\d+)" data-phase="(\w+)" '
                      r'data-caption="([^"]*)" data-known="([^"]*)" data-now="([^"]*)" hidden>'
                      r'</div>', text)


def _svg_nodes(text):
    """DOT name (the SVG <title>) -> the node's texts and tooltip, from the page's one SVG."""
    svg = text[text.index("<svg"):text.index("</svg>")]
    nodes = {}
    for group in re.findall(r'<g id="[^"]*" class="node[^"]*">(.*?)</g>\s*</g>|'
                            r'<g id="[^"]*" class="node[^"]*">(.*?)</g>', svg, re.S):
        body = group[0] or group[1]
        name = re.search(r"<title>(.*?)</title>", body).group(1)
        nodes[name] = body
    return nodes


def test_frames_walk_forward_then_backward_then_gradients():
    g, feeds = apple()
    steps, bwd, values = frames(g, feeds, "price", g.graph["wrt"])
    captions = [s[3] for s in steps]
    assert [s[0] for s in steps] == ["forward"] * 5 + ["backward"] * 5 + ["done"]
    assert captions[0] == "forward 1/5: apple = 100 (input)"
    assert captions[5].startswith("backward 1/5: dprice = 1 (constant); dprice/dprice = 1")
    assert any("dapple = mul(dapple_price, apple_num) = 2.2; d(x*y)/dx = y" in c for c in captions[5:10])
    assert captions[-1] == ("gradients: d price/d apple = 2.2, d price/d apple_num = 110, "
                            "d price/d tax = 200")
    # values are revealed one step at a time
    assert [len(s[2]) for s in steps[:5]] == [1, 2, 3, 4, 5]
    first = next(i for i, st in enumerate(steps) if "dapple" in st[2])
    assert steps[first][1] == [("bwd", "dapple")] and first > 5
    # the last frame outlines the nodes holding the gradients (dtax, dapple, dapple_num)
    assert sorted(k for _, k in steps[-1][1]) == ["dapple", "dapple_num", "dtax"]


def test_page_is_self_contained_and_highlights_the_current_node(apple_page):
    text = apple_page.read_text(encoding="utf-8")
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', text)
    assert "<link" not in text and "<script src" not in text and "@import" not in text
    assert "default-src 'none'" in text
    assert text.count("<svg") == 1          # laid out once: no node moves between steps
    nodes = _svg_nodes(text)
    found = _frames(text)
    assert len(found) == 11
    known_before = set()
    for k, phase, caption, known, now in found:
        known, now = set(known.split()), set(now.split())
        assert now <= set(nodes) and known <= set(nodes), (k, now, known)
        assert known_before <= known        # values only appear, step by step
        known_before = known
        if phase != "done":
            assert len(now) == 1, (k, caption)
            name = html.unescape(caption).split(": ", 1)[1].split(" = ")[0]
            label = {"apple_num": "apple count"}.get(name, name)
            assert f'xlink:title="{label}' in nodes[now.pop()], (name, k)
        else:
            assert len(now) == 3
    # every value is in the one picture; the steps decide which are shown
    assert all(v in text for v in (">= 2.2<", ">= 110<", ">= 200<"))
    assert "&#x23EE;" not in text and "&#x23ED;" not in text   # glyphs many fonts lack


def test_edge_labels_follow_their_source_node(apple_page):
    text = apple_page.read_text(encoding="utf-8")
    edges = json.loads(re.search(r'<script type="application/json" id="edges">(.*?)</script>',
                                 text, re.S).group(1))
    titles = set(re.findall(r'<g id="[^"]*" class="edge[^"]*">\s*<title>(.*?)</title>', text))
    titles = {html.unescape(t) for t in titles}
    assert set(edges) <= titles
    assert edges["f0->f3"] == "f0"            # apple -> apple_price shows apple's value
    assert all(src == title.split("->")[1] for title, src in edges.items()
               if title.startswith("b"))        # backward edges are declared against the flow


def test_errors_and_step_cap(tmp_path):
    g, feeds = apple_orange()
    with pytest.raises(gc.GraphError, match="exceed max_steps=5"):
        step_through(g, feeds, "price", g.graph["wrt"], tmp_path / "p.html", max_steps=5)
    with pytest.raises(gc.GraphError, match="cannot write step-through page"):
        step_through(*apple(), "price", "apple", tmp_path / "missing" / "p.html")


# --------------------------------------------------------------- the browser
class DevTools:
    """A minimal Chrome DevTools Protocol client over a hand-written WebSocket."""

    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("devtools closed the connection during the handshake")
            buf += chunk
        head, self.buf = buf.split(b"\r\n\r\n", 1)
        assert b" 101 " in head.split(b"\r\n")[0], head
        self.next_id = 0

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("devtools closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _recv(self):
        message = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            if b0 & 0x0F in (0x1, 0x0):
                message += payload
                if b0 & 0x80:
                    return json.loads(message)

    def _send(self, obj):
        data = json.dumps(obj).encode()
        mask = os.urandom(4)
        n = len(data)
        head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                                bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536 else
                                bytes([0x80 | 127]) + struct.pack(">Q", n))
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def call(self, method, **params):
        self.next_id += 1
        self._send({"id": self.next_id, "method": method, "params": params})
        while True:
            msg = self._recv()
            if msg.get("id") == self.next_id:
                assert "error" not in msg, msg
                return msg.get("result", {})

    def js(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, (expression, result["exceptionDetails"])
        return result["result"].get("value")

    def key(self, name, code):
        for kind in ("keyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key=name, code=name,
                      windowsVirtualKeyCode=code, nativeVirtualKeyCode=code)


def stop(proc):
    """End a browser process started by a fixture (killed if it does not exit in 20 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def chromium(profile, url, *, page=lambda info: True, extra=()):
    """A headless Chromium opened on ``url``: its DevTools session on the first page that
    ``page`` accepts (a ``/json/list`` entry); skips the test when no Chromium is installed."""
    if BROWSER is None:
        pytest.skip("no chromium on PATH: the browser tests need one (apt-get install -y chromium)")
    proc = subprocess.Popen([BROWSER, "--headless", "--no-sandbox", "--disable-gpu",
                             "--disable-background-networking", "--no-first-run", *extra,
                             f"--user-data-dir={profile}", "--remote-debugging-port=0", url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.exists() or not port_file.read_text().strip():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("chromium did not start its DevTools endpoint")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        while True:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as r:
                pages = [p for p in json.load(r) if p.get("type") == "page" and page(p)]
            if pages or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert pages, f"chromium opened no page for {url}"
        tools = DevTools(pages[0]["webSocketDebuggerUrl"])
        tools.deadline = deadline
        yield tools
        tools.sock.close()
    finally:
        stop(proc)


@pytest.fixture
def browser(tmp_path, apple_page):
    with chromium(tmp_path / "profile", apple_page.as_uri(),
                  page=lambda info: info.get("url", "").startswith("file:")) as tools:
        ready = "document.body !== null && document.body.hasAttribute('data-step')"
        while not tools.js(ready) and time.monotonic() < tools.deadline:
            time.sleep(0.1)
        yield tools


VISIBLE = "Array.from(document.querySelectorAll('.frame')).filter(f => !f.hidden)"


def test_arrow_keys_and_buttons_in_headless_chromium(browser):
    def state():
        return browser.js(f"[document.body.getAttribute('data-step'), {VISIBLE}.length, "
                          f"{VISIBLE}[0].id, document.getElementById('caption').textContent, "
                          f"{VISIBLE}[0].innerHTML.length, document.getElementById('counter').textContent]")

    step, n_visible, frame, caption, size, counter = state()
    assert (step, n_visible, frame, counter) == ("0", 1, "frame-0", "step 1 / 11")
    assert caption == "forward 1/5: apple = 100 (input)"
    NOW = "Array.from(document.querySelectorAll('#figure g.gc-now title')).map(t => t.textContent)"
    SHOWN = ("Array.from(document.querySelectorAll('#figure text')).filter(t => "
             "getComputedStyle(t).visibility !== 'hidden').map(t => t.textContent)")
    BOXES = ("(() => { const o = document.querySelector('#figure svg').getBoundingClientRect();"
             " return Array.from(document.querySelectorAll('#figure g.node')).map(g => {"
             " const r = g.getBoundingClientRect(); return [r.x - o.x, r.y - o.y]; }); })()")
    first_now, first_boxes = browser.js(NOW), browser.js(BOXES)
    assert first_now == ["f0"] and "= 2.2" not in browser.js(SHOWN)
    browser.key("ArrowRight", 39)
    step, n_visible, frame, caption, size, counter = state()
    assert (step, n_visible, frame, counter) == ("1", 1, "frame-1", "step 2 / 11")
    assert caption.startswith("forward 2/5: apple_num")
    assert browser.js(NOW) == ["f1"] and browser.js(BOXES) == first_boxes   # nothing moved
    browser.key("ArrowLeft", 37)
    assert state()[0] == "0"
    browser.key("End", 35)
    step, n_visible, frame, caption, size, counter = state()
    assert (step, frame) == ("10", "frame-10")
    assert caption == ("gradients: d price/d apple = 2.2, d price/d apple_num = 110, "
                       "d price/d tax = 200")
    assert {"= 2.2", "= 110", "= 200"} <= set(browser.js(SHOWN))
    assert browser.js(BOXES) == first_boxes
    # the whole figure fits in the window
    assert browser.js("document.querySelector('#figure svg').getBoundingClientRect().bottom "
                      "<= window.innerHeight + 1")
    browser.key("ArrowRight", 39)  # past the end: stays on the last frame
    assert state()[0] == "10"
    browser.js("document.getElementById('first').click()")
    assert state()[0] == "0"
    browser.js("document.getElementById('next').click(); document.getElementById('next').click()")
    assert state()[:3] == ["2", 1, "frame-2"]
    browser.js("location.hash = '#7'")
    deadline = time.monotonic() + 10
    while state()[0] != "7" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert state()[3].startswith("backward 3/5")
