"""gcompile: compile a networkx DiGraph into its reverse-mode gradient graph.

Examples
--------
>>> import gcompile as gc
>>> sorted(gc.ROLES)[:2]
['accumulation', 'forward_value']
"""
from . import optable as _optable  # noqa: F401  (registers the built-in ops)
from .autodiff import ROLES, grad, gradients
from .errors import GraphError
from .evaluate import evaluate
from .graph import plan
from .registry import OpDef, defop, lookup, registered_ops
from .shapes import infer_shapes
from . import ops
from .trace import GraphBuilder, trace
from . import testing
from .testing import check_grads

__all__ = ["GraphBuilder", "GraphError", "ROLES", "OpDef", "check_grads", "defop", "evaluate",
           "grad", "gradients", "infer_shapes", "lookup", "ops", "plan", "registered_ops", "testing",
           "trace"]
__version__ = "0.1.0"
