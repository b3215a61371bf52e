"""Skip doctest collection of modules whose optional extra is not installed."""
import importlib.util

collect_ignore = [f"gcompile/{module}.py" for module, needs in
                  [("sphinx", "sphinx"), ("markdown", "markdown"), ("torch_import", "torch"),
                   ("onnx_import", "onnx"), ("onnx_export", "onnxruntime"),
                   ("onnx_lower", "onnx")]
                  if importlib.util.find_spec(needs) is None]
