"""PyTorch modules in: :func:`from_torch` traces a module to ONNX in memory, then :func:`from_onnx`.

Parameters and buffers are keyed by their ``state_dict`` names (``"fc1.weight"``)
and carry their values; the user inputs are keyed by the names of the module's
``forward`` arguments; the result is keyed ``"output"``.  The trace uses
torch's TorchScript-based ONNX exporter, which needs nothing beyond torch, with
constant folding off (so batch norm stays a node of its own) in eval mode.

Needs the ``onnx`` and ``torch`` extras.

Examples
--------
>>> import pytest, gcompile as gc
>>> torch = pytest.importorskip("torch")
>>> net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Tanh())
>>> g = gc.from_torch(net, (torch.ones(4, 3),))
>>> g.graph["output"], sorted(g.graph["wrt"])
('output', ['0.bias', '0.weight'])
"""
from __future__ import annotations

import inspect
import io
import warnings

from .errors import GraphError, describe_value
from .onnx_import import from_onnx, require_onnx

__all__ = ["from_torch"]


def from_torch(module, example_args, *, input_names=None):
    """A forward DiGraph of ``module(*example_args)`` (a ``torch.nn.Module`` in eval mode).

    Parameters
    ----------
    module : torch.nn.Module
    example_args : tuple of tensors
        Example inputs: they fix the graph's static shapes.
    input_names : list of str, optional
        Keys of the inputs (default: the names of ``module.forward``'s arguments).

    Examples
    --------
    >>> import gcompile as gc
    >>> gc.from_torch("not a module", ())
    Traceback (most recent call last):
    ...
    gcompile.errors.GraphError: from_torch needs a torch.nn.Module, got str 'not a module'
    """
    onnx = require_onnx()
    try:
        import torch
    except ImportError:
        raise GraphError("from_torch needs PyTorch: pip install gcompile[torch]") from None
    if not isinstance(module, torch.nn.Module):
        raise GraphError(f"from_torch needs a torch.nn.Module, got {describe_value(module)}")
    args = tuple(example_args) if isinstance(example_args, (tuple, list)) else (example_args,)
    if input_names is None:
        params = [p for p in inspect.signature(module.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        input_names = [p.name for p in params][:len(args)]
    buffer = io.BytesIO()
    was_training = module.training
    module.eval()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, args, buffer, dynamo=False, do_constant_folding=False,
                              input_names=list(input_names), output_names=["output"])
    except Exception as err:  # noqa: BLE001 -- torch raises many kinds
        raise GraphError(f"from_torch: torch could not export {type(module).__name__}: "
                         f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}") \
            from None
    finally:
        module.train(was_training)
    return from_onnx(onnx.load_from_string(buffer.getvalue()))
