"""The runnable scripts of examples/ (each in a subprocess, writing into tmp_path), the bundled
example graphs against independent numpy, the Python blocks of docs/*.md, and the op reference."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gcompile as gc
from gcompile.examples import EXAMPLES

ROOT = Path(__file__).resolve().parents[1]


def run_script(path, *args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, str(path), *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=120)


def printed(stdout):
    """{name: number} for each 'name: number' line a script prints."""
    out = {}
    for line in stdout.splitlines():
        m = re.fullmatch(r"(\w+): (-?[\d.]+(?:e-?\d+)?)", line.strip())
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def assert_images(proc, out, names):
    for name in names:
        path = out / name
        assert path.is_file(), name
        assert "<svg" in path.read_text(encoding="utf-8")
        assert f"wrote {path}" in proc.stdout


def test_apple_script_prints_the_seed_numbers(tmp_path):
    proc = run_script(ROOT / "examples" / "apple.py", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert printed(proc.stdout) == pytest.approx(
        {"price": 220, "dapple": 2.2, "dapple_num": 110, "dtax": 200}, rel=1e-12)
    assert_images(proc, tmp_path, ["apple_forward.svg", "apple_backward.svg", "apple_pair.svg"])


def test_apple_orange_script_prints_the_seed_numbers(tmp_path):
    proc = run_script(ROOT / "examples" / "apple_orange.py", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert printed(proc.stdout) == pytest.approx(
        {"price": 715, "dapple": 2.2, "dapple_num": 110, "dorange": 3.3, "dorange_num": 165,
         "dtax": 650}, rel=1e-12)
    assert_images(proc, tmp_path, ["apple_orange_forward.svg", "apple_orange_backward.svg",
                                   "apple_orange_pair.svg"])


def test_two_layer_net_script_checks_gradients_and_trains(tmp_path):
    proc = run_script(ROOT / "examples" / "two_layer_net.py", tmp_path)
    assert proc.returncode == 0, proc.stderr
    values = printed(proc.stdout)
    for name in ("W1", "b1", "W2", "b2"):
        assert values[name] < 1e-8, (name, values[name])   # max |backprop - finite differences|
    first, last = map(float, re.search(r"loss ([\d.]+) -> ([\d.]+)", proc.stdout).groups())
    assert last < first / 2
    assert_images(proc, tmp_path, ["two_layer_net_forward.svg", "two_layer_net_backward.svg",
                                   "two_layer_net_pair.svg"])


def test_custom_op_script_registers_softplus_and_checks_it(tmp_path):
    proc = run_script(ROOT / "examples" / "custom_op.py", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "d softplus(x)/dx = σ(x)" in proc.stdout
    errors = [float(e) for e in re.findall(r"max error vs finite differences ([\d.e+-]+)\)",
                                           proc.stdout)]
    assert len(errors) == 2 and max(errors) < 1e-8
    assert_images(proc, tmp_path, ["custom_op_backward.svg", "custom_op_pair.svg"])


def test_scripts_default_to_out_in_the_working_directory(tmp_path):
    proc = run_script(ROOT / "examples" / "apple.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "apple_pair.svg").is_file()


# ---------------------------------------------------------- bundled examples
def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def test_bundled_two_layer_net_against_hand_written_numpy():
    """The book's forward and backward passes written directly in numpy (an independent oracle)."""
    g, feeds = EXAMPLES["two_layer_net"]()
    x, t, W1, b1, W2, b2 = (feeds[k] for k in ("x", "t", "W1", "b1", "W2", "b2"))
    z1 = _sigmoid(x @ W1 + b1)
    a2 = z1 @ W2 + b2
    y = np.exp(a2 - a2.max(axis=1, keepdims=True))
    y /= y.sum(axis=1, keepdims=True)
    n = x.shape[0]
    loss = -np.sum(t * np.log(y)) / n
    da2 = (y - t) / n                               # SoftmaxWithLoss.backward
    dW2, db2 = z1.T @ da2, da2.sum(axis=0)          # Affine.backward
    da1 = (da2 @ W2.T) * z1 * (1 - z1)              # Sigmoid.backward
    dW1, db1 = x.T @ da1, da1.sum(axis=0)
    assert float(gc.evaluate(g, feeds)["loss"]) == pytest.approx(loss, rel=1e-12)
    grads = gc.gradients(g, feeds, "loss", g.graph["wrt"])
    for name, expected in (("W1", dW1), ("b1", db1), ("W2", dW2), ("b2", db2)):
        np.testing.assert_allclose(grads[name], expected, rtol=1e-10, atol=1e-15)


def test_bundled_examples_declare_output_and_wrt():
    for name, make in EXAMPLES.items():
        g, feeds = make()
        assert g.graph["output"] in g and all(w in g for w in g.graph["wrt"]), name
        assert set(feeds) == {n for n, d in g.nodes(data=True) if d["op"] == "input"}, name


# ------------------------------------------------------------------- docs
DOCS = sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "gallery.md")  # gallery: renderer's
DOCS.append(ROOT / "README.md")


def python_blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.parametrize("doc", [d for d in DOCS if python_blocks(d)], ids=lambda d: d.name)
def test_python_blocks_in_the_docs_run(doc, tmp_path, monkeypatch):
    """Each page's ```python blocks run in order in one namespace, in an empty directory."""
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"docs_{doc.stem}"}
    for i, block in enumerate(python_blocks(doc)):
        exec(compile(block, f"{doc.name} block {i + 1}", "exec"), namespace)


def test_docs_link_only_to_existing_files():
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", doc.read_text(encoding="utf-8")):
            assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"


def test_op_reference_is_current():
    proc = run_script(ROOT / "docs" / "make_reference.py", "--check")
    assert proc.returncode == 0, proc.stderr
    stale = run_script(ROOT / "docs" / "make_reference.py", "--check", "--path", os.devnull)
    assert stale.returncode == 1 and "out of date" in stale.stderr
