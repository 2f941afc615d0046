"""Real models from transformers' model classes through onnxnet: facts, zero-cost proxies, signals, per model.

Eight architectures with their classes' *default* configs (random initialisation, no download): ResNet-50,
ConvNeXt-T, MobileNetV2, EfficientNet (the default config is B7 at 600 px), ViT-B/16, RegNet, BERT-base and
GPT-2 small. Each is exported once with torch's TorchScript exporter (``dynamo=False``, fixed input shape, weights
inline: what ``torch.onnx.export`` gives a user without onnxscript) into ``--out`` and reused on later runs. Then
for every file, as ``onnxnet inspect`` / ``onnxnet predict`` would see it (``load_model``: simplify, canonicalise):

- parameters: ``graph_facts(model).n_params`` against torch's ``sum(p.numel() for p in model.parameters())``
  (torch counts a tied weight once);
- encoding: every text encoding parses back to the canonical graph, and a second canonicalisation keeps the
  graph hash;
- signals: the zero-cost proxies of ``onnxnet.features.onnx_proxies`` for image models (which input size they
  ran at), the image-free signals for token models, and the time they took (one torch thread).

A model whose class this transformers version lacks is skipped with a line saying so.

    nice .venv/bin/python benchmarks/bench_model_zoo.py --out runs/zoo
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any, Callable

#: name -> (transformers model class, config class, input kind, input shape); "image" inputs are float NCHW,
#: "tokens" inputs are int64 token ids (N, sequence length).
MODELS: dict[str, tuple[str, str, str, tuple[int, ...]]] = {
    "resnet50": ("ResNetForImageClassification", "ResNetConfig", "image", (1, 3, 224, 224)),
    "convnext_tiny": ("ConvNextForImageClassification", "ConvNextConfig", "image", (1, 3, 224, 224)),
    "mobilenet_v2": ("MobileNetV2ForImageClassification", "MobileNetV2Config", "image", (1, 3, 224, 224)),
    "efficientnet": ("EfficientNetForImageClassification", "EfficientNetConfig", "image", (1, 3, 600, 600)),
    "vit_base": ("ViTForImageClassification", "ViTConfig", "image", (1, 3, 224, 224)),
    "regnet": ("RegNetForImageClassification", "RegNetConfig", "image", (1, 3, 224, 224)),
    "bert_base": ("BertModel", "BertConfig", "tokens", (1, 128)),
    "gpt2_small": ("GPT2LMHeadModel", "GPT2Config", "tokens", (1, 128)),
}


class _Logits:
    """Wrap a transformers model so the export sees one tensor in and one tensor out."""

    def __new__(cls, model: Any) -> Any:
        import torch

        class Wrapped(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, x: Any) -> Any:
                # token models get an all-ones attention mask: without one, transformers looks for packed
                # sequences with aten::diff, which the TorchScript exporter cannot export
                mask = {"attention_mask": torch.ones_like(x)} if not x.is_floating_point() else {}
                out = self.model(x, return_dict=True, **mask)
                return out.logits if hasattr(out, "logits") else out.last_hidden_state

        return Wrapped()


def build(name: str) -> tuple[Any, tuple[int, ...], str] | str:
    """``(module, input_shape, kind)`` for model ``name``, or the reason it cannot be built here."""
    import torch
    import transformers

    cls_name, cfg_name, kind, shape = MODELS[name]
    cls, cfg = getattr(transformers, cls_name, None), getattr(transformers, cfg_name, None)
    if cls is None or cfg is None:
        return f"transformers {transformers.__version__} has no {cls_name if cls is None else cfg_name}"
    torch.manual_seed(0)
    config = cfg()
    if kind == "tokens":
        config.use_cache = False
    return _Logits(cls(config).eval()), shape, kind


def export(name: str, out: Path) -> tuple[Path, int, str] | str:
    """Export ``name`` once into ``out`` (reused after); ``(file, torch parameter count, kind)`` or why not."""
    import torch

    path, meta = out / f"{name}.onnx", out / f"{name}.json"
    if path.exists() and meta.exists():
        info = json.loads(meta.read_text())
        return path, int(info["torch_params"]), info["kind"]
    built = build(name)
    if isinstance(built, str):
        return built
    module, shape, kind = built
    n_params = sum(p.numel() for p in module.parameters())  # parameters() yields a tied weight once
    x = torch.zeros(shape, dtype=torch.long) if kind == "tokens" else torch.zeros(shape)
    tmp = out / f"{name}.onnx.part"
    with torch.no_grad():
        torch.onnx.export(module, (x,), str(tmp), dynamo=False, opset_version=17, input_names=["input"],
                          output_names=["output"])
    tmp.replace(path)
    meta.write_text(json.dumps({"torch_params": n_params, "kind": kind, "input_shape": list(shape)}))
    return path, n_params, kind


def round_trip(model: Any) -> str:
    """``"ok"`` when every encoding parses back to the canonical graph and canonicalising the canonical model
    again gives the same graph hash; else what differed."""
    from onnxnet.encode import ENCODINGS, encode, parse
    from onnxnet.graph import Graph, graph_hash, load_model

    reference = Graph.from_onnx(model)
    bad = [name for name in ENCODINGS.names() if parse(encode(model, name)) != reference]
    if graph_hash(load_model(model)) != graph_hash(model):
        bad.append("canonical order (a second load changed the hash)")
    return "ok" if not bad else "FAILED: " + ", ".join(bad)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/zoo"))
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of " + ", ".join(MODELS))
    ap.add_argument("--export-only", action="store_true", help="export the files and stop")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    import torch

    torch.set_num_threads(1)
    rows = []
    for name in args.models.split(","):
        made = export(name, args.out)
        if isinstance(made, str):
            print(f"skip {name}: {made}", flush=True)
            continue
        path, torch_params, kind = made
        print(f"exported {name}: {path} ({path.stat().st_size / 2**20:.0f} MiB)", flush=True)
        if args.export_only:
            continue
        from onnxnet.graph import graph_facts, load_model
        from onnxnet.features.onnx_proxies import onnx_signals

        model, t_load = timed(lambda: load_model(path))
        n_params = graph_facts(model).n_params
        trip = round_trip(model)
        try:
            signals, t_sig = timed(lambda: onnx_signals(model))
            used = signals.note
        except Exception as e:  # a benchmark row says what failed and goes on
            signals, t_sig, used = None, float("nan"), f"FAILED {type(e).__name__}: {str(e).splitlines()[0][:160]}"
        rows.append((name, kind, trip, torch_params, n_params, 100 * (n_params - torch_params) / torch_params,
                     t_load, t_sig, used))
        print(f"  {name}: round trip {trip}; onnx params {n_params:,} torch {torch_params:,}; load {t_load:.1f} s; "
              f"signals {t_sig:.1f} s: {used}", flush=True)
    print("\n| model | input | encode / round trip | torch params | onnxnet params | diff % | load (s) | signals (s) "
          "| signals used |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, kind, trip, tp, op, diff, tl, ts, used in rows:
        print(f"| {name} | {kind} | {trip} | {tp:,} | {op:,} | {diff:+.2f} | {tl:.1f} | {ts:.1f} | {used} |")


if __name__ == "__main__":
    main()
