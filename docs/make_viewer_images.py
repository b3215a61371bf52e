"""Make docs/viewer/*.png: the viewer page in headless Chromium, after real clicks.

Run from the repository root: ``python docs/make_viewer_images.py`` (needs a
``chromium`` on PATH).  Each image is a page written by :func:`gcompile.view`,
driven over the DevTools protocol (the client of ``tests/test_step_through.py``)
the way a reader would use it, then captured.  ``--out DIR`` writes elsewhere
(e.g. to look at the page while changing it).
"""
from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import gcompile as gc  # noqa: E402
from gcompile.examples import apple, two_layer_net  # noqa: E402
from test_step_through import BROWSER, DevTools  # noqa: E402


def _start(profile, width, height):
    proc = subprocess.Popen([BROWSER, "--headless", "--no-sandbox", "--disable-gpu",
                             "--disable-background-networking", "--no-first-run",
                             f"--window-size={width},{height}", f"--user-data-dir={profile}",
                             "--remote-debugging-port=0", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_file = Path(profile) / "DevToolsActivePort"
    deadline = time.monotonic() + 60
    while not port_file.exists() or not port_file.read_text().strip():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("chromium did not start")
        time.sleep(0.1)
    port = int(port_file.read_text().split()[0])
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as r:
        page = next(p for p in json.load(r) if p.get("type") == "page")
    tools = DevTools(page["webSocketDebuggerUrl"])
    tools.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
               deviceScaleFactor=1, mobile=False)
    return proc, tools


def _open(tools, path):
    tools.call("Page.navigate", url=path.as_uri())
    for _ in range(600):
        if tools.js("document.body && document.body.getAttribute('data-ready')") == "1":
            return
        time.sleep(0.05)
    raise SystemExit(f"{path} never became ready")


def _center(tools, key, side="f"):
    return tools.js(f"""(function () {{
        var d = JSON.parse(document.getElementById('gc-data').textContent);
        var i = d.nodes.findIndex(function (n) {{ return n.key === {json.dumps(key)}
                                                  && n.side === {json.dumps(side)}; }});
        var r = document.querySelector('[data-node="' + i + '"]').getBoundingClientRect();
        return [r.left + r.width / 2, r.top + r.height / 2]; }})()""")


def _click(tools, x, y):
    for kind in ("mousePressed", "mouseReleased"):
        tools.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)


def _shot(tools, out):
    time.sleep(0.2)
    out.write_bytes(base64.b64decode(tools.call("Page.captureScreenshot", format="png")["data"]))
    print(f"wrote {out}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "viewer")
    args = parser.parse_args(argv)
    if BROWSER is None:
        raise SystemExit("no chromium on PATH (apt-get install -y chromium)")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        g, feeds = apple()
        bwd = gc.grad(g, "price", g.graph["wrt"])
        gc.view(g, bwd, tmp / "apple.html", gc.evaluate(g, feeds))
        net, net_feeds = two_layer_net()
        net_bwd = gc.grad(net, "loss", net.graph["wrt"])
        gc.view(net, net_bwd, tmp / "net.html", gc.evaluate(net, net_feeds))
        proc, tools = _start(tmp / "profile", 1280, 720)
        try:
            _open(tools, tmp / "apple.html")   # select apple_price, hover dapple
            _click(tools, *_center(tools, "apple_price"))
            x, y = _center(tools, "dapple", "b")
            tools.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
            _shot(tools, args.out / "apple_selected.png")

            _open(tools, tmp / "net.html")     # chain-rule paths to W1, one group collapsed
            tools.js("var s = document.getElementById('gc-wrt'); s.value = s.options[1].value; "
                     "s.dispatchEvent(new Event('change'))")
            tools.js("document.querySelector('#gc-groups button').click()")
            _shot(tools, args.out / "two_layer_net_paths.png")
        finally:
            tools.sock.close()
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    main()
