"""Surrogate speed and memory: training tokens/s and peak memory per backbone and context length, prediction
throughput (networks/s, encoding included, cache cold and warm), and the time to train a tiny ModernBERT on
2,000 NB201 networks.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_surrogate.py train-speed [--lengths 512 2048] [--threads 2]
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_surrogate.py predict-speed --bench runs/bench-small --surrogate DIR
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_surrogate.py train-2000 --bench runs/bench --out runs/s2000

Every training-speed cell runs in its own process so its peak resident memory (``ru_maxrss``) is its own. The
device (CPU or GPU) is printed with each table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def device_name(threads: int | None = None) -> str:
    import platform

    import torch

    if torch.cuda.is_available():
        return f"GPU {torch.cuda.get_device_name(0)}"
    return f"CPU {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads {threads or torch.get_num_threads()}"


# ------------------------------------------------------------------------------------------------ train speed
def _train_cell(backbone: str, length: int, batch: int, steps: int, mp: str, threads: int, ckpt: bool) -> dict:
    """One measurement: ``steps`` optimizer steps on random token ids of exactly ``length`` tokens."""
    import resource

    import torch

    torch.set_num_threads(threads)
    from accelerate import Accelerator

    from onnxnet.surrogate.backbone import load_pretrained, resolve_backbone, scratch_config
    from onnxnet.surrogate.model import SurrogateModel
    from onnxnet.surrogate.losses import get_loss

    spec = resolve_backbone(backbone)
    if spec.scratch:
        from transformers import ModernBertModel

        from onnxnet.surrogate.tokenizer import train_bpe_tokenizer

        tok = train_bpe_tokenizer(["%1 = Conv[k=3](%0) Relu Add Concat AveragePool"] * 4, vocab_size=2048)
        cfg = scratch_config(spec, tok, length)
        cfg.vocab_size = 2048
        bb = ModernBertModel(cfg)
    else:
        bb, tok = load_pretrained(spec)
    ctx = int(bb.config.max_position_embeddings)
    if length > ctx:
        return {"backbone": backbone, "length": length, "skipped": f"context is {ctx} tokens"}
    if ckpt:
        bb.gradient_checkpointing_enable()
    model = SurrogateModel(bb)
    acc = Accelerator(mixed_precision=mp, cpu=not torch.cuda.is_available())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model, opt = acc.prepare(model, opt)
    loss_fn = get_loss("hinge")
    vocab = int(bb.config.vocab_size)
    g = torch.Generator().manual_seed(0)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for step in range(steps + 1):  # step 0 is warm-up, not timed
        ids = torch.randint(5, vocab, (batch, length), generator=g).to(acc.device)
        mask = torch.ones_like(ids)
        t = torch.rand(batch, generator=g).to(acc.device)
        t0 = time.perf_counter()
        loss = loss_fn(model(ids, mask), t, torch.zeros(batch, dtype=torch.long, device=acc.device))
        acc.backward(loss)
        opt.step()
        opt.zero_grad()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        if step:
            times.append(time.perf_counter() - t0)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {"backbone": backbone, "length": length, "batch": batch, "mixed_precision": mp,
           "grad_ckpt": ckpt, "tokens_per_s": batch * length * len(times) / sum(times),
           "peak_rss_mb": rss / 1024, "peak_rss_growth_mb": (rss - rss0) / 1024,
           "params_m": sum(p.numel() for p in model.parameters()) / 1e6}
    if torch.cuda.is_available():
        out["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def train_speed(args: argparse.Namespace) -> None:
    rows = []
    for backbone in args.backbones:
        for length in args.lengths:
            for mp in args.precisions:
                batch = max(1, args.tokens_per_batch // length)
                cmd = [sys.executable, __file__, "_cell", backbone, str(length), str(batch), str(args.steps), mp,
                       str(args.threads), "1" if length >= 4096 else "0"]
                t0 = time.time()
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
                if r.returncode != 0:
                    rows.append({"backbone": backbone, "length": length, "mixed_precision": mp,
                                 "skipped": (r.stderr.strip().splitlines() or ["failed"])[-1][:80]})
                else:
                    rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
                rows[-1]["wall_s"] = time.time() - t0
                print(json.dumps(rows[-1]), file=sys.stderr)
    print(f"\nTraining throughput ({device_name(args.threads)}, {args.steps} timed steps after 1 warm-up)\n")
    print("| backbone | tokens | batch | precision | grad ckpt | params (M) | tokens/s | peak RSS (MB) | growth (MB) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "skipped" in r:
            print(f"| {r['backbone']} | {r['length']} | | {r.get('mixed_precision', '')} | | | skipped: {r['skipped']} | | |")
        else:
            print(f"| {r['backbone']} | {r['length']} | {r['batch']} | {r['mixed_precision']} | {r['grad_ckpt']} | "
                  f"{r['params_m']:.1f} | {r['tokens_per_s']:.0f} | {r['peak_rss_mb']:.0f} | {r['peak_rss_growth_mb']:.0f} |")


# ------------------------------------------------------------------------------------------------ predict speed
def predict_speed(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from onnxnet.bench.store import BenchStore
    from onnxnet.surrogate.surrogate import Surrogate

    df = BenchStore(args.bench).read(spaces=[args.space])
    df = df.sample(n=min(args.n, len(df)), random_state=0)
    enc_t = []
    from onnxnet.surrogate.inputs import encode_items

    for b in df["onnx"].iloc[:50]:
        t0 = time.perf_counter()
        encode_items([{"onnx": b}], args.encoding)
        enc_t.append(time.perf_counter() - t0)
    s = Surrogate.from_pretrained(args.surrogate)
    warm_df = BenchStore(args.bench).read(spaces=[args.space]).drop(df.index, errors="ignore").head(3)
    s.predict(warm_df)  # first calls pay one-off kernel set-up; they are not what a user waits for per network
    s.cache.clear()
    rows = []
    for label, batch in (("one at a time", 1), (f"batches of {args.batch}", args.batch)):
        res = []
        for phase in ("cold", "warm"):
            if phase == "cold":
                s.cache.clear()
            per = []
            for i in range(0, len(df), batch):
                t0 = time.perf_counter()
                s.predict(df.iloc[i:i + batch], batch_size=batch)
                per.append((time.perf_counter() - t0) / len(df.iloc[i:i + batch]))
            total = sum(p * len(df.iloc[i:i + batch]) for p, i in zip(per, range(0, len(df), batch)))
            res += [len(df) / total, 1000 * float(np.median(per))]
        rows.append((label, *res))
    lens = [len(x) for x in s.tokenizer(s.encode(df.iloc[:200]))["input_ids"]]
    print(f"\nPrediction throughput, {args.space} store rows (canonical, simplified ONNX), surrogate "
          f"{s.settings.get('backbone')} ({device_name()})\n")
    print(f"encoding alone: {1000 * float(np.median(enc_t)):.1f} ms per network (median of 50); "
          f"tokens per network: median {int(np.median(lens))}, max {max(lens)}\n")
    print("| mode | cold cache nets/s | cold median ms/net | warm cache nets/s | warm median ms/net |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]:.1f} | {r[2]:.1f} | {r[3]:.1f} | {r[4]:.1f} |")


# ------------------------------------------------------------------------------------------------ train 2000
def train_2000(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    from onnxnet.surrogate.run import report_table, run_training

    t0 = time.time()
    res = run_training(bench=args.bench, spaces=[args.space], out=args.out, backbone="modernbert-tiny",
                       epochs=args.epochs, limit=args.n, val_limit=300, test_limit=1000, resume=False)
    report_table(res)
    hist = res["surrogate"].settings["training"]["history"]
    tokens = sum(h["tokens"] for h in hist)
    print(f"\n{args.n} {args.space} networks, {len(hist)} epochs, {tokens} training tokens: "
          f"{(time.time() - t0) / 60:.1f} min end to end ({device_name()})")


# ------------------------------------------------------------------------------------------------ quality
VARIANTS: dict[str, tuple[str, dict]] = {
    "params": ("params", {}),
    "gbm": ("gbm", {}),
    "trees": ("onnxnet-hybrid", {"lm": None}),
    "lm-tiny": ("surrogate", {"backbone": "modernbert-tiny", "epochs": 15, "max_length": 1024, "patience": 5}),
    "lm-tiny-mse": ("surrogate", {"backbone": "modernbert-tiny", "epochs": 15, "max_length": 1024, "patience": 5,
                                  "loss": "mse", "target_norm": "zscore"}),
    "hybrid": ("onnxnet-hybrid", {"lm": "modernbert-tiny", "lm_epochs": 15, "lm_max_length": 1024}),
    "hybrid-emb": ("onnxnet-hybrid", {"lm": "modernbert-tiny", "lm_epochs": 15, "lm_max_length": 1024,
                                      "lm_features": 8}),
}


def load_rows(benches: list[str], spaces: list[str]):
    """The union of several stores' rows of ``spaces`` (by id)."""
    import pandas as pd

    from onnxnet.bench.store import BenchStore

    parts = [BenchStore(b).read(spaces=spaces) for b in benches]
    df = pd.concat(parts, ignore_index=True)
    return df.drop_duplicates("id").reset_index(drop=True)


def quality(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    from onnxnet.evaluate import protocols

    spaces = [args.space] if args.protocol == "in-space" else [*args.train_spaces, args.space]
    rows = load_rows(args.bench, spaces)
    print(f"rows: {rows.groupby('space').size().to_dict()}", file=sys.stderr)
    out = []
    for v in args.variants:
        name, params = VARIANTS[v]
        t0 = time.time()
        if args.protocol == "in-space":
            res = protocols.in_space(rows, name, args.space, train_sizes=[args.n], seeds=args.seeds, params=params)
        else:
            res = protocols.zero_shot(rows, name, args.train_spaces, args.space, seeds=args.seeds, params=params)
        sc = res.scores
        out.append((v, sc["kendall"].mean(), sc["kendall"].std(ddof=0), sc["spearman"].mean(),
                    sc["spearman"].std(ddof=0), int(sc["n_test"].min()), time.time() - t0,
                    ", ".join(f"{k:.3f}" for k in sc["kendall"])))
        print(out[-1], file=sys.stderr)
    what = (f"in-space {args.space}, {args.n} training nets" if args.protocol == "in-space"
            else f"zero-shot {'+'.join(args.train_spaces)} -> {args.space}")
    print(f"\nQuality: {what}, seeds {args.seeds} ({device_name(args.threads)})\n")
    print("| variant | Kendall tau (mean +- sd) | Spearman rho (mean +- sd) | test nets | seconds | Kendall per seed |")
    print("|---|---|---|---|---|---|")
    for r in out:
        print(f"| {r[0]} | {r[1]:.3f} +- {r[2]:.3f} | {r[3]:.3f} +- {r[4]:.3f} | {r[5]} | {r[6]:.0f} | {r[7]} |")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_cell":
        b, length, batch, steps, mp, threads, ckpt = sys.argv[2:9]
        print(json.dumps(_train_cell(b, int(length), int(batch), int(steps), mp, int(threads), ckpt == "1")))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("train-speed")
    a.add_argument("--backbones", nargs="+", default=["modernbert-tiny", "minilm"])
    a.add_argument("--lengths", nargs="+", type=int, default=[512, 2048])
    a.add_argument("--precisions", nargs="+", default=["no", "bf16"])
    a.add_argument("--tokens-per-batch", type=int, default=4096)
    a.add_argument("--steps", type=int, default=3)
    a.add_argument("--threads", type=int, default=2)
    a.add_argument("--timeout", type=int, default=900)
    a.set_defaults(fn=train_speed)
    p = sub.add_parser("predict-speed")
    p.add_argument("--bench", required=True)
    p.add_argument("--surrogate", required=True)
    p.add_argument("--space", default="nb201")
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--encoding", default="compact")
    p.add_argument("--threads", type=int, default=2)
    p.set_defaults(fn=predict_speed)
    t = sub.add_parser("train-2000")
    t.add_argument("--bench", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--space", default="nb201")
    t.add_argument("--n", type=int, default=2000)
    t.add_argument("--epochs", type=int, default=5)
    t.add_argument("--threads", type=int, default=2)
    t.set_defaults(fn=train_2000)
    q = sub.add_parser("quality")
    q.add_argument("--bench", nargs="+", required=True, help="One or more stores (rows are united by id).")
    q.add_argument("--protocol", choices=["in-space", "zero-shot"], default="in-space")
    q.add_argument("--space", default="nb201", help="The evaluated (test) space.")
    q.add_argument("--train-spaces", nargs="+", default=["nb101"])
    q.add_argument("--n", type=int, default=128)
    q.add_argument("--seeds", type=int, default=3)
    q.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    q.add_argument("--threads", type=int, default=1)
    q.set_defaults(fn=quality)
    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
