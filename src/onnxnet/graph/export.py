"""Export a torch module to ONNX with the legacy (TorchScript) exporter: fast, fixed opset, weights inline."""

from __future__ import annotations

import io
import warnings
from typing import Any, Sequence

import onnx

from onnxnet.errors import ModelLoadError

#: The opset every exported network uses unless asked otherwise.
DEFAULT_OPSET = 17


def strip_metadata(model: onnx.ModelProto) -> onnx.ModelProto:
    """Remove doc strings and metadata (they can hold machine paths and stack traces), in place."""
    model.doc_string = ""
    del model.metadata_props[:]
    model.graph.doc_string = ""
    for n in model.graph.node:
        n.doc_string = ""
        del n.metadata_props[:]
    for t in model.graph.initializer:
        t.doc_string = ""
    for vi in list(model.graph.input) + list(model.graph.output) + list(model.graph.value_info):
        vi.doc_string = ""
    return model


def export_torch(module: Any, input_shape: Sequence[int], opset: int = DEFAULT_OPSET) -> onnx.ModelProto:
    """Export ``module`` (in eval mode: Dropout gone, BatchNorm folded into Conv) on a zero input of
    ``input_shape``; weights inline, metadata stripped. Raises ``ModelLoadError`` if torch cannot export it."""
    import torch

    if not isinstance(module, torch.nn.Module):
        raise ModelLoadError(f"export_torch needs a torch.nn.Module, got {type(module).__name__}")
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        raise ModelLoadError(f"input_shape must be a sequence of ints such as (1, 3, 32, 32), got {input_shape!r}") from None
    was_training = module.training
    module.eval()
    buf = io.BytesIO()
    try:
        # grad stays enabled: under no_grad, nn.TransformerEncoder takes a fused fast path with no ONNX export
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dummy = torch.zeros(shape)
            torch.onnx.export(module, (dummy,), buf, opset_version=opset, dynamo=False, do_constant_folding=True,
                              training=torch.onnx.TrainingMode.EVAL, input_names=["input"], output_names=["output"],
                              export_params=True)
    except Exception as e:  # torch raises many types here; the user needs the reason, not the traceback
        raise ModelLoadError(
            f"torch could not export {type(module).__name__} on input shape {shape} at opset {opset}: "
            f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}; check that the module runs on a "
            "tensor of that shape"
        ) from None
    finally:
        module.train(was_training)
    return strip_metadata(onnx.load_from_string(buf.getvalue()))
