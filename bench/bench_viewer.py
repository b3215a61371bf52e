"""Benchmark the viewer page on a 5,000-node graph in headless Chromium; record it in
bench/RESULTS.md (the ``## Viewer`` section).

The graph is bench_render's W1-like random DAG with a ``group`` per 100 nodes
(so the page opens collapsed to its 50 groups).  Timed separately: the layout
(``gc.view`` writing the page: DOT, Graphviz layout, data), then in Chromium
(over the DevTools protocol) the time from navigation to the page being
interactive (the script's ``data-ready``, ``performance.now()``), a search
(typing a query: matches highlighted, view moved), selecting a node (links
lit) and expanding every group, each followed by a forced style and layout.

Usage::

    python bench/bench_viewer.py                 # 5,000 nodes, writes the section
    python bench/bench_viewer.py --nodes 500 --no-write
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import gcompile as gc  # noqa: E402
from bench.bench_render import machine, random_dag  # noqa: E402
from test_step_through import BROWSER, DevTools  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"

_MEASURE = """(function () {
  function t(fn) { var s = performance.now(); fn(); document.body.offsetHeight;
                   return performance.now() - s; }
  var field = document.getElementById('gc-search');
  var search = t(function () { field.value = %s; field.dispatchEvent(new Event('input')); });
  var clear = t(function () { field.value = ''; field.dispatchEvent(new Event('input')); });
  var expand = t(function () { document.getElementById('gc-expand-all').click(); });
  var visible = document.querySelectorAll('g.node:not(.gc-hidden)').length;
  var node = document.querySelectorAll('g.node')[visible >> 1];
  var select = t(function () { node.dispatchEvent(new MouseEvent('click', {bubbles: true})); });
  var search2 = t(function () { field.value = %s; field.dispatchEvent(new Event('input')); });
  return {search: search, clear: clear, select: select, expand: expand, visible: visible,
          search_expanded: search2, matches: +document.body.getAttribute('data-matches')};
})()"""


def browser_times(page):
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.Popen([BROWSER, "--headless", "--no-sandbox", "--disable-gpu",
                                 "--disable-background-networking", "--no-first-run",
                                 "--window-size=1280,800", f"--user-data-dir={profile}",
                                 "--remote-debugging-port=0", "about:blank"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            while not port_file.exists() or not port_file.read_text().strip():
                time.sleep(0.1)
            port = int(port_file.read_text().split()[0])
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as r:
                target = next(p for p in json.load(r) if p.get("type") == "page")
            tools = DevTools(target["webSocketDebuggerUrl"])
            tools.sock.settimeout(600)
            start = time.perf_counter()
            tools.call("Page.navigate", url=page.as_uri())
            while tools.js("document.body && document.body.getAttribute('data-ready')") != "1":
                time.sleep(0.02)
            wall = time.perf_counter() - start
            ready = tools.js("performance.now()")
            first = tools.js("document.querySelectorAll('g.node:not(.gc-hidden)').length")
            timings = tools.js(_MEASURE % (json.dumps("n4999"), json.dumps("n49")))
            tools.sock.close()
            return wall, ready / 1000, first, timings
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def run(n_nodes):
    g, feeds = random_dag(n_nodes)
    for j, key in enumerate(g.nodes):
        g.nodes[key]["group"] = f"block{j // 100}"
    values = gc.evaluate(g, feeds)
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "viewer.html"
        start = time.perf_counter()
        gc.view(g, None, page, values)
        layout = time.perf_counter() - start
        size = page.stat().st_size
        wall, ready, first, timings = browser_times(page)
    return g, dict(layout=layout, size=size, wall=wall, ready=ready, first=first, **timings)


def section(g, r, n_nodes):
    ms = lambda x: f"{x:.0f} ms"  # noqa: E731
    return "\n".join([
        "## Viewer", "",
        f"`python bench/bench_viewer.py`: bench_render's W1-like DAG of {n_nodes:,} nodes "
        f"({g.number_of_edges():,} edges) with a `group` per 100 nodes, values on every edge, "
        "as one `gc.view` page (forward graph) opened in headless Chromium over the DevTools "
        "protocol.", "",
        f"Machine: {machine()}, load average {os.getloadavg()[0]:.1f} (shared). Each browser "
        "time includes a forced style and layout after the action.", "",
        "| step | time |", "|---|---:|",
        f"| layout: `gc.view` writing the page (DOT, Graphviz, data; {r['size']:,} bytes) "
        f"| {r['layout']:.1f} s |",
        f"| page interactive (navigation to the script's ready mark, after its first layout; "
        f"opens folded to {n_nodes // 100} group boxes, {r['first']:,} loose nodes) "
        f"| {r['ready']:.2f} s |",
        f"| the same, wall clock from the test driver | {r['wall']:.2f} s |",
        f"| search 'n4999' (highlight, open its group, move the view) | {ms(r['search'])} |",
        f"| clear the search | {ms(r['clear'])} |",
        f"| expand all {n_nodes // 100} groups ({r['visible']:,} nodes visible) "
        f"| {ms(r['expand'])} |",
        f"| select a node (dims the rest) | {ms(r['select'])} |",
        f"| search 'n49' with every group open ({r['matches']} matches) "
        f"| {ms(r['search_expanded'])} |", ""]) + "\n"


def write_section(text):
    """Replace (or append) the ``## Viewer`` section of RESULTS.md, leaving others alone."""
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.is_file() else "# Benchmark results\n"
    pattern = re.compile(r"^## Viewer\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(old):
        new = pattern.sub(lambda _: text, old, count=1)
    else:
        new = old.rstrip("\n") + "\n\n" + text
    RESULTS.write_text(new, encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if BROWSER is None:
        raise SystemExit("no chromium on PATH (apt-get install -y chromium)")
    g, r = run(args.nodes)
    text = section(g, r, args.nodes)
    print(text)
    if not args.no_write:
        write_section(text)
        print(f"updated {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
