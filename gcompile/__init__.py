"""gcompile: compile a networkx DiGraph into its reverse-mode gradient graph.

Examples
--------
>>> import gcompile as gc
>>> sorted(gc.ROLES)[:2]
['accumulation', 'forward_value']
"""
from . import optable as _optable  # noqa: F401  (registers the built-in ops)
from . import optable_nn as _optable_nn  # noqa: F401  (conv and pooling ops)
from . import optable_array as _optable_array  # noqa: F401  (gather, concat, batched matmul)
from .autodiff import ROLES, grad, gradients
from .compiled import CompiledGradient, compile  # noqa: A004  (gc.compile; shadows the builtin only here)
from .errors import GraphError
from .evaluate import evaluate
from .graph import plan
from .io import from_json, load, save, to_json
from .registry import OpDef, defop, lookup, registered_ops
from .drawing import render, render_pair, render_passes, to_dot
from .shapes import infer_shapes
from . import ops
from .trace import GraphBuilder, trace
from . import testing
from .testing import check_grads
from .compare import Report, compare
from .explain import Explanation, explain
from .higher import hessian, hessian_values, hvp, hvp_values, joint_graph
from .passes import (PassLog, eliminate_common_subexpressions, eliminate_dead_code,
                     fold_constants, optimize)
from .step_through import step_through
from .onnx_import import from_onnx
from .onnx_export import to_onnx
from .viewer import view
from .sympy_bridge import from_sympy, to_sympy
from .torch_import import from_torch

__all__ = ["CompiledGradient", "GraphBuilder", "GraphError", "ROLES", "OpDef", "check_grads",
           "compile", "defop", "evaluate",
           "from_json", "grad", "gradients", "infer_shapes", "load", "lookup", "ops", "plan",
           "registered_ops", "render", "render_pair", "save", "testing", "to_dot", "to_json",
           "trace"]
__all__ += ["Explanation", "PassLog", "Report", "compare", "eliminate_common_subexpressions",
            "eliminate_dead_code", "explain", "fold_constants", "hessian", "hessian_values", "hvp",
            "hvp_values", "joint_graph", "optimize", "render_passes", "step_through"]
__all__ += ["from_onnx", "from_sympy", "from_torch", "to_onnx", "to_sympy", "view"]
__version__ = "0.1.0"

from .api import export as _export
from .drawing.diff import passes_to_dot as _passes_to_dot
from .drawing.pair import pair_to_dot as _pair_to_dot

# Every public function checks its arguments (a wrong one is a GraphError): gcompile/api.py.
_export(globals(), __all__, forwards={"render": to_dot, "render_pair": _pair_to_dot,
                                      "render_passes": _passes_to_dot})
