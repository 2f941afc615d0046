"""What a finished (or resumed) search writes into its run folder.

- ``evaluations.csv``: every true evaluation in order (round, architecture, score at selection, accuracy, cost,
  predictor queries spent so far, best accuracy so far);
- ``ranked.csv``: the evaluated networks, best true accuracy first (unlabelled ones last, by score), with the
  final predictor's score when there is a predictor;
- ``onnx/rank-XX.onnx``: the canonical ONNX graphs of the ``top`` ranked networks (built with the space's own
  builder: freshly initialised, untrained weights);
- with a cost: ``pareto.csv`` (the true front of the evaluated networks) and ``pareto.png``;
- ``summary.json``.
"""

from __future__ import annotations

from dataclasses import dataclass

from typing import Any

import numpy as np
import pandas as pd

from onnxnet.search.objectives import hypervolume, pareto_mask



@dataclass
class SearchResult:
    """What a search found (also written to the run folder)."""

    evaluations: pd.DataFrame  # one row per true evaluation, journal order
    ranked: pd.DataFrame  # evaluated networks, best first
    queries_used: int
    best_accuracy: float
    front: pd.DataFrame | None = None
    hypervolume: float | None = None
    out: Path | None = None
    built_graphs: int = 0

    def summary(self) -> str:
        lines = [f"{len(self.evaluations)} true evaluations, {self.queries_used} predictor queries, "
                 f"best accuracy {self.best_accuracy:.2f}"]
        if self.hypervolume is not None and self.front is not None:
            lines.append(f"Pareto front: {len(self.front)} networks, hypervolume {self.hypervolume:.4g}")
        if len(self.ranked):
            top = self.ranked.iloc[0]
            lines.append(f"best: {top['arch']}")
        if self.out is not None:
            lines.append(f"-> {self.out}")
        return "\n".join(lines)

def write_results(run: Any, write_onnx: bool = True) -> Any:
    from onnxnet.atomic import write_json, write_with

    out = run.out
    recs = run.journal.records[: len(run.evaluated)]
    ev = pd.DataFrame(recs, columns=["i", "round", "arch", "arch_hash", "score", "accuracy", "cost", "queries"])
    ev["accuracy"] = ev["accuracy"].astype(float)
    ev["best_so_far"] = ev["accuracy"].cummax()
    write_with(out / "evaluations.csv", lambda p: ev.to_csv(p, index=False))

    ranked = ev.drop(columns=["best_so_far"]).copy()
    if run.fitness is not None and run.fitness.fitted and len(ranked):
        archs = [run.archs[k] for k in ranked["arch_hash"]]
        ranked["final_score"] = run.fitness.score(run.rows(archs))
    ranked = ranked.sort_values(["accuracy", "score"], ascending=False, na_position="last", kind="stable")
    ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
    ranked = ranked.reset_index(drop=True)
    top = ranked.head(run.cfg.top).copy()
    if write_onnx and len(top):
        top["onnx"] = _write_onnx(run, top)
    ranked = ranked.merge(top[["rank", "onnx"]], on="rank", how="left") if "onnx" in top else ranked
    write_with(out / "ranked.csv", lambda p: ranked.to_csv(p, index=False))

    front = hv = None
    summary: dict[str, Any] = {"space": run.cfg.space, "evaluations": int(len(ev)), "queries": int(run.queries),
                               "best_accuracy": _num(ev["accuracy"].max()), "oracle_label": run.oracle.label,
                               "space_best": run.oracle.best(), "graphs_built": int(run.graphs.built),
                               "predictor_fits": run.fitness.n_fits if run.fitness is not None else 0}
    if run.objective.n == 2 and len(ev):
        acc, cost = ev["accuracy"].to_numpy(float), ev["cost"].to_numpy(float)
        mask = pareto_mask(acc, cost)
        front = ev.loc[mask, ["arch", "accuracy", "cost"]].sort_values("cost").reset_index(drop=True)
        ref = reference_point(run)
        hv = hypervolume(acc, cost, ref)
        write_with(out / "pareto.csv", lambda p: front.to_csv(p, index=False))
        plot_front(ev, front, run.objective.cost or "cost", out / "pareto.png")
        summary.update({"front_size": int(len(front)), "hypervolume": hv, "hv_reference": list(ref)})
    write_json(out / "summary.json", summary)
    return SearchResult(ev, ranked, run.queries, float(ev["accuracy"].max()) if len(ev) else float("nan"),
                        front, hv, out, run.graphs.built)


def _num(x: Any) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def reference_point(run: Any) -> tuple[float, float]:
    """Hypervolume reference ``(accuracy, cost)``: accuracy 0 and the worst cost seen among the evaluations,
    or over the whole space when the cost is a published table (latency)."""
    name = (run.objective.cost or "").split(":")[0]
    if name == "latency":
        from onnxnet.search.objectives import latency_table

        dev = (run.objective.cost or "").partition(":")[2] or "edgegpu"
        return 0.0, float(max(latency_table(dev).values()))
    costs = [r["cost"] for r in run.evaluated.values() if r["cost"] is not None]
    return 0.0, float(max(costs)) if costs else 1.0


def plot_front(ev: pd.DataFrame, front: pd.DataFrame, cost_name: str, path: Any) -> None:
    """Scatter of the evaluated networks with their Pareto front as a step line (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from onnxnet.atomic import write_with

    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.scatter(ev["cost"], ev["accuracy"], s=12, color="0.6", label="evaluated")
    ax.step(front["cost"], front["accuracy"], where="post", color="C3", marker="o", ms=4, label="Pareto front")
    ax.set_xlabel(f"{cost_name} (ms)" if cost_name.startswith("latency") else cost_name)
    ax.set_ylabel("accuracy (%)")
    if cost_name.split(":")[0] in ("params", "flops"):
        ax.set_xscale("log")
    ax.legend(loc="lower right")
    fig.tight_layout()
    write_with(path, lambda p: fig.savefig(p, format="png", dpi=120))
    plt.close(fig)


def _write_onnx(run: Any, top: pd.DataFrame) -> list[str]:

    from onnxnet.atomic import write_bytes
    from onnxnet.bench.build import _StageError, canonical_onnx

    paths = []
    for rank, key in zip(top["rank"], top["arch_hash"]):
        rel = f"onnx/rank-{int(rank):02d}.onnx"
        target = run.out / rel
        if not target.is_file():
            try:
                model = canonical_onnx(run.space, run.archs[key], keep_weights=True)
            except _StageError as e:
                paths.append(f"failed: {e}")
                continue
            write_bytes(target, model.SerializeToString())
        paths.append(rel)
    return paths
