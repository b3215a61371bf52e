"""gc.from_torch: PyTorch modules in, keyed by state_dict and forward-argument names."""
import numpy as np
import pytest

import gcompile as gc

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
from onnx_models import RNG, torch_models  # noqa: E402
from test_onnx_import import _torch_grads  # noqa: E402


@pytest.mark.parametrize("which", ["mlp", "cnn", "embed"])
def test_keys_and_float64_gradients_equal_torch_autograd(which):
    name, module, inputs = next(m for m in torch_models() if m[0] == which)
    arg = "idx" if which == "embed" else "x"  # forward(self, idx) / forward(self, x)
    g = gc.from_torch(module, tuple(torch.as_tensor(v) for v in inputs.values()))
    assert g.graph["output"] == "output" and g.nodes[arg]["op"] == "input"
    params = {k for k, _ in module.named_parameters()}
    assert params <= set(g.graph["wrt"])
    for k, v in module.state_dict().items():
        if v.is_floating_point():  # (num_batches_tracked is not read in eval mode)
            np.testing.assert_array_equal(g.nodes[k]["value"], v.numpy())
    feeds = {arg: inputs[arg].astype(np.float64) if inputs[arg].dtype.kind == "f" else inputs[arg]}
    feeds.update({k: v.double().numpy() for k, v in module.state_dict().items()
                  if v.is_floating_point()})
    c = RNG.uniform(0.5, 1.5, size=gc.evaluate(g, feeds)["output"].shape)
    out, expected = _torch_grads(module, inputs, c, torch.float64)
    np.testing.assert_allclose(gc.evaluate(g, feeds)["output"], out, rtol=1e-10, atol=1e-12)
    wrt = sorted(expected)
    got = gc.gradients(g, feeds, "output", wrt, seed=c)
    for k in wrt:
        np.testing.assert_allclose(got[k], expected[k], rtol=1e-10, atol=1e-12, err_msg=k)


def test_errors():
    with pytest.raises(gc.GraphError, match="needs a torch.nn.Module"):
        gc.from_torch(lambda x: x, (torch.ones(2),))

    class Bad(torch.nn.Module):
        def forward(self, x):
            return torch.special.gammaln(x)

    with pytest.raises(gc.GraphError, match="unsupported op type|could not export"):
        gc.from_torch(Bad(), (torch.ones(2),))
