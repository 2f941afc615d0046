"""export_torch: eval-mode export (Dropout gone, BN folded), no machine paths, module state restored."""

from __future__ import annotations

import pytest
import torch

from onnxnet.errors import ModelLoadError
from onnxnet.graph import export_torch, load_model


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1, bias=False), torch.nn.BatchNorm2d(8),
                               torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.AdaptiveAvgPool2d(1),
                               torch.nn.Flatten(), torch.nn.Linear(8, 4))


def test_export_is_eval_mode_without_paths_and_restores_training_flag():
    net = _net().train()
    m = export_torch(net, (1, 3, 16, 16))
    assert net.training  # the caller's module is left as it was
    ops = [n.op_type for n in m.graph.node]
    assert "Dropout" not in ops and "BatchNormalization" not in ops
    assert all(not n.doc_string and not n.metadata_props for n in m.graph.node)
    assert {o.version for o in m.opset_import if o.domain in ("", "ai.onnx")} == {17}
    assert all(t.raw_data or t.float_data for t in m.graph.initializer)  # weights inline


def test_export_matches_torch_numerically():
    import numpy as np
    import onnxruntime as ort

    net = _net().eval()
    x = torch.randn(2, 3, 16, 16)
    m = load_model(export_torch(net, (2, 3, 16, 16)))
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    (y,) = sess.run(None, {"x0": x.numpy()})
    np.testing.assert_allclose(y, net(x).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_export_failure_is_a_model_load_error():
    class Bad(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.view(7, -1, 5)  # cannot reshape this input

    with pytest.raises(ModelLoadError, match=r"torch could not export Bad on input shape \(1, 3, 4, 4\)"):
        export_torch(Bad(), (1, 3, 4, 4))
