"""examples/onnx_cnn.py: its model is made by the script; the numbers it prints are checked."""
import re

import pytest

from test_examples import ROOT, assert_images, run_script

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def test_onnx_cnn_script_checks_gradients_and_runs_them_in_onnxruntime(tmp_path):
    proc = run_script(ROOT / "examples" / "onnx_cnn.py", tmp_path)
    assert proc.returncode == 0, proc.stderr
    fd = float(re.search(r"max \|backprop - finite differences\| = (\S+)", proc.stdout).group(1))
    ort = float(re.search(r"max \|onnxruntime - gcompile\| over the gradients = (\S+)",
                          proc.stdout).group(1))
    assert fd < 1e-7 and ort < 1e-5, proc.stdout
    assert "conv1.weight, conv1.bias, bn.scale" in proc.stdout
    assert (tmp_path / "cnn.onnx").is_file() and (tmp_path / "cnn_grad.onnx").is_file()
    assert_images(proc, tmp_path, ["onnx_cnn_forward.svg", "onnx_cnn_backward.svg"])
