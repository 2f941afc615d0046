"""Export the big models of the big-file checks once: GPT-2 (``transformers.GPT2Config()``, 124M parameters,
~500 MB of float32 weights) and a ViT-B/16 (``transformers.ViTConfig()``, 86M), randomly initialised, as ONNX.

    python benchmarks/make_big_models.py --out runs/big

Writes ``gpt2.onnx`` and ``vit_b16.onnx`` (legacy exporter, opset 17, weights inline); existing files are kept.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path


def _export(module, args: tuple, path: Path) -> None:
    import torch

    tmp = path.with_suffix(".tmp")
    module.eval()
    with torch.no_grad():
        torch.onnx.export(module, args, str(tmp), opset_version=17, dynamo=False, do_constant_folding=True,
                          input_names=["input"], output_names=["output"])
    os.replace(tmp, path)



def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/big"))
    ap.add_argument("--only", choices=["gpt2", "vit"], default=None)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, ViTConfig, ViTModel

    class First(torch.nn.Module):
        def __init__(self, m: torch.nn.Module) -> None:
            super().__init__()
            self.m = m

        def forward(self, x):  # noqa: ANN001, ANN201
            if hasattr(self.m.config, "image_size"):
                out = self.m(pixel_values=x, return_dict=False)
            else:  # an explicit mask keeps transformers off its packed-sequence check (aten::diff: no ONNX op)
                out = self.m(input_ids=x, attention_mask=torch.ones_like(x), return_dict=False)
            return out[0]

    torch.manual_seed(0)
    if a.only in (None, "gpt2") and not (a.out / "gpt2.onnx").exists():
        t = time.time()
        cfg = GPT2Config(attn_implementation="eager")
        cfg.use_cache = False
        _export(First(GPT2LMHeadModel(cfg)), (torch.zeros(1, 128, dtype=torch.long),), a.out / "gpt2.onnx")
        print(f"gpt2.onnx {(a.out / 'gpt2.onnx').stat().st_size / 1e6:.0f} MB in {time.time() - t:.0f} s")
    if a.only in (None, "vit") and not (a.out / "vit_b16.onnx").exists():
        t = time.time()
        _export(First(ViTModel(ViTConfig(attn_implementation="eager"), add_pooling_layer=False)), (torch.zeros(1, 3, 224, 224),),
                a.out / "vit_b16.onnx")
        print(f"vit_b16.onnx {(a.out / 'vit_b16.onnx').stat().st_size / 1e6:.0f} MB in {time.time() - t:.0f} s")


if __name__ == "__main__":
    main()
