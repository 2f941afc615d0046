"""Reports: a results folder per run (CSV tables, Markdown summary, plots) and Markdown tables for the docs.

Layout of ``out_dir`` (one folder can hold several predictors' results of one protocol):

* ``scores.csv``: every (predictor, seed, setting, test space) with all metrics and n_test / n_scored;
* ``summary.csv`` and ``summary.md``: mean and std over seeds;
* ``predictions.parquet``: every prediction with its true label; ``failures.csv``: per-row failures;
* ``failed_predictors.csv``: predictors whose run failed, with a one-line reason (also listed in ``summary.md``);
* ``config.json``: what was run; ``plots/``: sample-efficiency curves and predicted-vs-true scatters.
Writes are atomic (temporary file, then rename), so an interrupted run never leaves a half-written table; the CLI
rewrites the folder after each predictor, so a later failure or a kill loses none of the finished ones.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from onnxnet.atomic import write_with as _atomic_write
from onnxnet.evaluate.protocols import ProtocolResult


def _fmt(mean: float, std: float | None) -> str:
    if mean is None or not np.isfinite(mean):
        return "n/a"
    return f"{mean:.3f}" if std is None or not np.isfinite(std) else f"{mean:.3f} ± {std:.3f}"


def markdown_table(summary: Any, metrics: Sequence[str] = ("kendall", "spearman", "p@top5%")) -> str:
    """A Markdown table of a summary frame: one line per (predictor, setting, test space), mean ± std."""
    if summary is None or len(summary) == 0:
        return "_no results_\n"
    metrics = [m for m in metrics if f"{m}_mean" in summary.columns]
    head = ["predictor", "setting", "test space", *metrics, "n scored / test", "seeds"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in summary.to_dict("records"):
        cells = [str(r["predictor"]), str(r["setting"]), str(r["test_space"])]
        cells += [_fmt(r[f"{m}_mean"], r.get(f"{m}_std")) for m in metrics]
        cells += [f"{int(r['n_scored'])} / {int(r['n_test'])}", str(int(r["seeds"]))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_report(results: ProtocolResult | Sequence[ProtocolResult], out_dir: str | os.PathLike[str], *,
                 command: str | None = None, plots: bool = True,
                 failed: Sequence[dict[str, str]] = (), protocol: str | None = None) -> Path:
    """Write the results of one or more runs (typically several predictors, one protocol) to ``out_dir``.

    ``failed``: ``{"predictor", "reason"}`` of predictors that produced no result (listed, never dropped);
    ``protocol`` names the report when no run finished.
    """
    import pandas as pd

    runs = [results] if isinstance(results, ProtocolResult) else list(results)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    def tagged(frame: Any, r: ProtocolResult) -> Any:
        f = frame.copy()
        f.insert(0, "predictor", r.predictor)
        f.insert(0, "protocol", r.protocol)
        return f

    scores = pd.concat([tagged(r.scores, r) for r in runs if len(r.scores)], ignore_index=True) \
        if any(len(r.scores) for r in runs) else pd.DataFrame()
    summary = pd.concat([r.summary() for r in runs if len(r.scores)], ignore_index=True) \
        if any(len(r.scores) for r in runs) else pd.DataFrame()
    preds = pd.concat([tagged(r.predictions, r) for r in runs if len(r.predictions)], ignore_index=True) \
        if any(len(r.predictions) for r in runs) else pd.DataFrame()
    fails = pd.concat([tagged(r.failures, r) for r in runs], ignore_index=True) if runs else pd.DataFrame(
        columns=["protocol", "predictor", "id", "seed", "setting", "stage", "reason"])
    failed_frame = pd.DataFrame(list(failed), columns=["predictor", "reason"])

    _atomic_write(out / "scores.csv", lambda p: scores.to_csv(p, index=False))
    _atomic_write(out / "summary.csv", lambda p: summary.to_csv(p, index=False))
    _atomic_write(out / "failures.csv", lambda p: fails.to_csv(p, index=False))
    _atomic_write(out / "failed_predictors.csv", lambda p: failed_frame.to_csv(p, index=False))
    if len(preds):
        _atomic_write(out / "predictions.parquet", lambda p: preds.to_parquet(p, index=False))
    config = {"command": command, "runs": [r.config for r in runs], "failed_predictors": list(failed)}
    _atomic_write(out / "config.json", lambda p: p.write_text(json.dumps(config, indent=2, default=str)))
    md = [f"# {runs[0].protocol if runs else protocol or 'results'}\n"]
    if command:
        md.append(f"Command: `{command}`\n")
    md.append(markdown_table(summary))
    if len(failed_frame):
        md.append("\n**Failed predictors** (no result):\n")
        md += [f"- {r.predictor}: {r.reason}" for r in failed_frame.itertuples()]
    md.append(f"\n{len(fails)} per-row failure(s) recorded in failures.csv.\n")
    _atomic_write(out / "summary.md", lambda p: p.write_text("\n".join(md)))
    if plots and len(summary):
        plot_sample_efficiency(summary, out / "plots" / "sample_efficiency.png")
        if len(preds):
            plot_scatter(preds, out / "plots")
    return out


def plot_sample_efficiency(summary: Any, path: Path, metric: str = "kendall") -> Path | None:
    """Kendall tau (mean ± std over seeds) against the number of training graphs, one line per predictor/space."""
    s = summary[summary["setting"].astype(str).str.match(r"^(n|k)=\d+$")]
    if s.empty:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for (pred, sp), g in s.groupby(["predictor", "test_space"], sort=False):
        x = g["setting"].str.split("=").str[1].astype(int).to_numpy()
        order = np.argsort(x)
        m, e = g[f"{metric}_mean"].to_numpy()[order], g[f"{metric}_std"].to_numpy()[order]
        ax.errorbar(x[order], m, yerr=e, marker="o", capsize=3, label=f"{pred} ({sp})")
    xs = s["setting"].str.split("=").str[1].astype(int)
    if (xs > 0).all():
        ax.set_xscale("log", base=2)
    else:  # few-shot includes k = 0 (the zero-shot reference)
        ax.set_xscale("symlog", base=2, linthresh=1)
    ax.set_xlabel("training networks" if s["setting"].str.startswith("n=").any() else "target-space shots k")
    ax.set_ylabel(f"{metric} (mean ± std over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    _atomic_write(path, lambda p: fig.savefig(p, dpi=120, format="png"))
    plt.close(fig)
    return path


def plot_scatter(preds: Any, folder: Path, max_points: int = 5000) -> list[Path]:
    """Predicted vs true accuracy per (predictor, test space), first seed, largest setting."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    seed0 = preds["seed"].min()
    for (pred, sp), g in preds[preds["seed"] == seed0].groupby(["predictor", "space"], sort=False):
        setting = sorted(g["setting"].unique(), key=lambda s: (len(s), s))[-1]
        g = g[(g["setting"] == setting) & np.isfinite(g["y_pred"])]
        if len(g) > max_points:
            g = g.sample(n=max_points, random_state=0)
        fig, ax = plt.subplots(figsize=(4.5, 4))
        ax.scatter(g["y_true"], g["y_pred"], s=4, alpha=0.4)
        ax.set_xlabel("true accuracy")
        ax.set_ylabel(f"{pred} score")
        ax.set_title(f"{pred} on {sp} ({setting}, seed {seed0})", fontsize=9)
        fig.tight_layout()
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"scatter_{pred}_{sp}.png")
        _atomic_write(folder / safe, lambda p: fig.savefig(p, dpi=110, format="png"))
        plt.close(fig)
        paths.append(folder / safe)
    return paths
