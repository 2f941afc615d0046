"""Reading big ONNX files without their weights (``onnxnet.graph.structure``) and loading them through it."""

from __future__ import annotations

import io

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from onnxnet.errors import ModelLoadError
from onnxnet.graph import graph_facts, graph_hash, load_model
from onnxnet.graph.structure import KEEP_BYTES, read_structure


def _model(zero_second: bool = False) -> onnx.ModelProto:
    """x -> Conv(w1 16x3x3x3) -> Relu -> Conv(w2 16x16x3x3, all zero if asked) -> Add -> Reshape(shape const)."""
    rng = np.random.default_rng(0)
    w1 = numpy_helper.from_array(rng.standard_normal((16, 3, 3, 3)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array((np.zeros if zero_second else lambda s: rng.standard_normal(s))((16, 16, 3, 3))
                                 .astype(np.float32), "w2")
    shape = numpy_helper.from_array(np.array([1, -1], np.int64), "shape")
    nodes = [helper.make_node("Conv", ["x", "w1"], ["a"], pads=[1] * 4),
             helper.make_node("Relu", ["a"], ["b"]),
             helper.make_node("Conv", ["b", "w2"], ["c"], pads=[1] * 4),
             helper.make_node("Add", ["b", "c"], ["d"]),
             helper.make_node("Reshape", ["d", "shape"], ["y"])]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1024])], [w1, w2, shape])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def test_weights_keep_dims_without_values_small_constants_keep_values():
    m = _model()
    light = read_structure(io.BytesIO(m.SerializeToString()), "m.onnx")
    inits = {t.name: t for t in light.graph.initializer}
    assert len(inits["w1"].raw_data) == 16 * 3 * 3 * 3 * 4 <= KEEP_BYTES  # small payloads are kept as they are
    assert not inits["w2"].raw_data and list(inits["w2"].dims) == [16, 16, 3, 3]  # 9 KB: skipped
    assert numpy_helper.to_array(inits["shape"]).tolist() == [1, -1]
    assert [n.op_type for n in light.graph.node] == [n.op_type for n in m.graph.node]
    assert light.opset_import[0].version == 17


def test_all_zero_kernels_are_told_apart_without_their_values(tmp_path, monkeypatch):
    import onnxnet.graph.load as load

    for zero in (False, True):
        p = tmp_path / f"m{zero}.onnx"
        onnx.save(_model(zero_second=zero), str(p))
        full = load_model(p)
        monkeypatch.setattr(load, "STRUCTURE_BYTES", 0)  # every file through the structure reader
        light = load_model(p)
        monkeypatch.setattr(load, "STRUCTURE_BYTES", 64 * 2**20)
        assert graph_hash(light) == graph_hash(full)
        assert graph_facts(light) == graph_facts(full)
        from onnxnet.encode import encode

        assert encode(light) == encode(full)
        assert ("=0.0>" in encode(light)) == zero


def test_truncated_and_foreign_bytes_are_clear_errors():
    data = _model().SerializeToString()
    with pytest.raises(ModelLoadError, match="m.onnx: the file ends in the middle"):
        read_structure(io.BytesIO(data[: len(data) - 100]), "m.onnx")
    with pytest.raises(ModelLoadError, match="x.onnx: not"):
        read_structure(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\xff" * 100), "x.onnx")
    with pytest.raises(ModelLoadError, match="e.onnx: not an ONNX model"):
        read_structure(io.BytesIO(b""), "e.onnx")


def test_files_onnxnet_wrote_skip_the_simplifier(tmp_path, monkeypatch):
    import onnxnet.graph.load as load

    canonical = load_model(_model())
    assert canonical.producer_name == "onnxnet"
    p = tmp_path / "c.onnx"
    onnx.save(canonical, str(p))
    calls = []
    real = load.simplify
    monkeypatch.setattr(load, "simplify", lambda m, s, w: calls.append(s) or real(m, s, w))
    again = load_model(p)
    assert calls == [None] and graph_hash(again) == graph_hash(canonical)
    load_model(_model())
    assert calls[-1] == "onnxsim"


def test_tied_weights_are_counted_once_without_their_values(tmp_path, monkeypatch):
    """A token embedding written again transposed as the output layer (GPT-2's tied weight) counts once when the
    file is read without weight values, as it does with them; an untied weight of the same shape counts."""
    import onnxnet.graph.load as load

    rng = np.random.default_rng(0)
    emb = rng.standard_normal((64, 32)).astype(np.float32)  # 8 KB: above KEEP_BYTES, read without values
    inits = [numpy_helper.from_array(emb, "emb"), numpy_helper.from_array(np.ascontiguousarray(emb.T), "head"),
             numpy_helper.from_array(rng.standard_normal((32, 64)).astype(np.float32), "other")]
    nodes = [helper.make_node("Gather", ["emb", "ids"], ["h"]),
             helper.make_node("MatMul", ["h", "head"], ["a"]),
             helper.make_node("MatMul", ["h", "other"], ["b"]),
             helper.make_node("Add", ["a", "b"], ["y"])]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 12])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 12, 64])], inits)
    p = tmp_path / "tied.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(p))
    full = load_model(p)
    monkeypatch.setattr(load, "STRUCTURE_BYTES", 0)  # every file through the structure reader
    light = load_model(p)
    assert not any(t.raw_data for t in light.graph.initializer if len(t.dims) == 2)
    assert graph_facts(light).n_params == graph_facts(full).n_params == 64 * 32 + 32 * 64
    assert graph_hash(light) == graph_hash(full)  # the marks are not structure


class _First:
    """Wraps a transformers model so the export sees one tensor in, the first output out."""

    @staticmethod
    def module(model):
        import torch

        class First(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.m = model

            def forward(self, x):  # noqa: ANN001, ANN201
                if hasattr(self.m.config, "image_size"):
                    return self.m(pixel_values=x, return_dict=False)[0]
                return self.m(input_ids=x, attention_mask=torch.ones_like(x), return_dict=False)[0]

        return First().eval()


@pytest.mark.parametrize("kind", ["vit", "gpt2"])
def test_small_transformers_get_the_same_text_with_and_without_weight_values(kind, tmp_path, monkeypatch):
    """The structure path (weights over 4 KB without values) must give the text and hash of the full path: a
    freshly initialised (all-zero) bias enters the simplifier as zeros on both."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    import warnings

    import onnxnet.graph.load as load
    from onnxnet.encode import encode

    torch.manual_seed(0)
    if kind == "vit":
        model = transformers.ViTModel(transformers.ViTConfig(hidden_size=64, num_hidden_layers=1, num_attention_heads=2,
                                                             intermediate_size=128, image_size=32, patch_size=8))
        x = torch.randn(1, 3, 32, 32)
    else:
        model = transformers.GPT2LMHeadModel(transformers.GPT2Config(n_embd=64, n_layer=1, n_head=2, vocab_size=100,
                                                                     n_positions=32, bos_token_id=0, eos_token_id=0))
        x = torch.randint(0, 100, (1, 16))
    path = tmp_path / f"{kind}.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(_First.module(model), (x,), str(path), opset_version=17, dynamo=False,
                          do_constant_folding=True, input_names=["input"], output_names=["output"])
    full = load_model(path)
    monkeypatch.setattr(load, "STRUCTURE_BYTES", 0)  # every file through the structure reader
    light = load_model(path)
    assert any(not t.raw_data and len(t.dims) == 2 for t in light.graph.initializer)  # weights without values
    assert encode(light) == encode(full)
    assert graph_hash(light) == graph_hash(full)
