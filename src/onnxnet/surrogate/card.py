"""The model card (README.md) written into every saved surrogate folder."""

from __future__ import annotations

from typing import Any


def _fmt(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def model_card(settings: dict[str, Any]) -> str:
    """Markdown describing the backbone, encoding, training data and validation scores of a surrogate."""
    tr = settings.get("training", {}) or {}
    enc = settings.get("encoding", {}) or {}
    lines = [
        "---",
        "library_name: onnxnet",
        "tags: [neural-architecture-search, performance-prediction, onnx]",
        "---",
        "",
        "# onnxnet surrogate",
        "",
        "Predicts how well a neural network ranks on CIFAR-10 from the text encoding of its ONNX graph.",
        "Scores are comparable *within* one search space (higher = better); "
        + ("they map back to accuracies per training space (`Surrogate.predict_accuracy`)."
           if settings.get("loss") == "mse" and settings.get("target_norm") == "zscore"
           else "they are ranking scores, not accuracies."),
        "",
        "```python",
        "from onnxnet.surrogate import Surrogate",
        "s = Surrogate.from_pretrained('THIS_FOLDER')",
        "s.predict(['net.onnx'])",
        "```",
        "or `onnxnet predict net.onnx --surrogate THIS_FOLDER`.",
        "",
        "## Model",
        f"- backbone: `{settings.get('backbone')}`" + (" (trained from scratch, byte-level BPE tokenizer learned on "
                                                         "the training encodings)" if settings.get("scratch") else ""),
        f"- encoding: `{enc.get('name')}` version `{enc.get('version')}`; context {settings.get('max_length')} tokens",
        f"- loss: `{settings.get('loss')}`; targets normalised per space: `{settings.get('target_norm')}`",
        "",
        "## Training data",
    ]
    for s, n in (tr.get("train_counts") or {}).items():
        lines.append(f"- `{s}`: {n} training networks, {(tr.get('val_counts') or {}).get(s, 0)} validation networks")
    if tr.get("label"):
        lines.append(f"- label: {tr['label']}")
    if tr.get("source"):
        lines.append(f"- source: {tr['source']}")
    lines += ["", "## Validation (held-out networks from the training spaces only)"]
    if tr.get("best_epoch") is not None:
        lines.append(f"Best epoch {tr.get('best_epoch')} of {tr.get('epochs_run')} (selected on this validation split).")
        lines += ["", "| space | Kendall tau | Spearman rho |", "|---|---|---|"]
        for s, m in (tr.get("val_metrics") or {}).items():
            lines.append(f"| {s} | {_fmt(m.get('kendall'))} | {_fmt(m.get('spearman'))} |")
    else:
        lines.append("No validation split was used; the last epoch was kept.")
    search = tr.get("lr_search") or {}
    if search:
        lines += ["", f"Learning rate {search.get('chosen'):g} chosen on the same validation split from:", "",
                  "| learning rate | validation Kendall tau | best epoch |", "|---|---|---|"]
        for r in search.get("runs", []):
            val = "diverged (NaN loss)" if r.get("val_kendall") is None else _fmt(r["val_kendall"])
            lines.append(f"| {r['lr']:g} | {val} | {r.get('best_epoch')} |")
    held = tr.get("held_out") or {}
    if any(held.values()):
        lines += ["", "## Held-out networks (reported only; never used to select anything)", "",
                  "| set | space | n | Kendall tau | Spearman rho |", "|---|---|---|---|---|"]
        for name, res in held.items():
            for s, m in (res or {}).items():
                if s != "mean":
                    lines.append(f"| {name.replace('_', '-')} | {s} | {m.get('n')} | {_fmt(m.get('kendall'))} | "
                                 f"{_fmt(m.get('spearman'))} |")
    cfg = tr.get("config") or {}
    if cfg:
        lines += ["", "## Training settings", "", "```json"]
        import json

        lines += [json.dumps(cfg, indent=2, default=str), "```"]
    lines += ["", "Written by onnxnet " + str(settings.get("onnxnet_version", "")), ""]
    return "\n".join(lines)
