"""The evaluation protocols of the ONNX-Net paper, for any predictor that follows the ``Predictor`` contract.

Each protocol is a function ``protocol(rows, predictor, ..., seeds) -> ProtocolResult``:

* ``in_space``: train on n graphs of one space, test on all its other graphs (the sample-efficiency curve);
* ``all_spaces``: train on the training split of every space, score each space's test split;
* ``leave_one_space_out``: for each space, train on all the others, test on all of it;
* ``zero_shot``: train on space(s) A (all, or n graphs), test on every graph of space B;
* ``few_shot``: zero-shot plus k graphs of B in training, test on the rest of B;
* ``cross_task``: one space, train on one task's labels and test on another task's labels (TransNAS micro).

Rules every protocol keeps: scores are per test space (per space and label source when a space mixes label
fidelities, e.g. ``nb101:cifar10_test_4ep``); splits are by isomorphism class (``evaluate.splits``: rows sharing
a ``graph_hash`` or a space's canonical architecture never straddle train and test; each test graph is scored
once, its label the mean over its duplicates); the predictor sees training rows only, so any model selection it
does (GBM early stopping, the surrogate's checkpoint choice) uses training spaces only; every seed gets a fresh
predictor; a network whose features are missing (a graph the predictor cannot read, proxies without their
images) stops that predictor's run with ``FeaturesMissingError``, unless ``allow_partial``: then its rows are
recorded in ``failures``, counted (``n_test`` vs ``n_scored``, and ``n_missing`` / ``n_train_missing`` for rows
scored or trained on with features missing), and the summary labels the predictor
``NAME [partial: proxies missing 96/96 test, 128/128 train]``; never silently dropped.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from onnxnet.errors import FeaturesMissingError, OnnxNetError, PredictorError, ProtocolError
from onnxnet.evaluate.metrics import evaluate_predictions
from onnxnet.evaluate.splits import (
    GROUP,
    TARGET,
    labelled,
    n_classes,
    sample_graphs,
    space_rows,
    store_split,
    straddling,
    unique_graphs,
    without_graphs,
)
from onnxnet.predictors.base import Predictor, registered_name

#: Train sizes of the in-space sample-efficiency protocol.
DEFAULT_TRAIN_SIZES: tuple[int, ...] = (16, 32, 64, 128, 256, 1024)
#: Target-space shots of the few-shot protocol.
DEFAULT_SHOTS: tuple[int, ...] = (16, 100)
#: Metrics averaged in summaries (the per-seed table has all of them).
SUMMARY_METRICS: tuple[str, ...] = ("kendall", "spearman", "p@top1%", "p@top5%", "p@top10%", "mae", "r2")

PredictorSpec = Any  # a registered name, a Predictor instance, or a callable seed -> Predictor


@dataclass
class ProtocolResult:
    """Per-seed scores, the predictions behind them, and per-row failures of one protocol run."""

    protocol: str
    predictor: str
    config: dict[str, Any]
    scores: Any  # DataFrame: one row per (seed, setting, test_space)
    predictions: Any  # DataFrame: id, space, seed, setting, y_true, y_pred
    failures: Any  # DataFrame: id, seed, setting, stage, reason
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> Any:
        """Mean and standard deviation over seeds per (setting, test_space), with n_test / n_scored."""
        import pandas as pd

        s = self.scores
        if s.empty:
            return pd.DataFrame()
        metrics = [m for m in SUMMARY_METRICS if m in s.columns]
        g = s.groupby(["setting", "test_space"], sort=False)
        out = g[metrics].mean().add_suffix("_mean").join(g[metrics].std(ddof=0).add_suffix("_std"))
        out = out.join(g[["n_test", "n_scored"]].min()).join(g["seed"].nunique().rename("seeds"))
        out = out.join(g[["n_train"]].mean())
        out.insert(0, "predictor", self.predictor)
        out.insert(0, "protocol", self.protocol)
        if "n_missing" in s.columns:  # rows scored with some features missing (only with allow_partial)
            out = out.join(g[["n_missing", "n_train_missing"]].max()).join(g["missing"].first())
            partial = (out["n_missing"] > 0) | (out["n_train_missing"] > 0)
            out.loc[partial, "predictor"] = [
                f"{self.predictor} [partial: {r.missing} missing {r.n_missing}/{r.n_test} test, "
                f"{r.n_train_missing}/{int(r.n_train)} train]" for r in out[partial].itertuples()]
        return out.reset_index()


# --- predictor handling -----------------------------------------------------------------------------------------

def _name_of(spec: PredictorSpec) -> str:
    """The registered name of a predictor spec (a class name for unregistered predictors)."""
    if isinstance(spec, str):
        return spec
    if isinstance(spec, Predictor):
        return registered_name(type(spec))
    return getattr(spec, "name", None) or getattr(spec, "__name__", None) or type(spec).__name__


def _factory(spec: PredictorSpec, params: dict[str, Any] | None) -> Callable[[int], Any]:
    """A function ``seed -> fresh predictor``; the seed is passed when the predictor takes one."""
    from onnxnet.predictors import get_predictor

    params = dict(params or {})

    def with_seed(cls: type, kw: dict[str, Any], seed: int) -> dict[str, Any]:
        if "seed" in inspect.signature(cls.__init__).parameters and "seed" not in params:
            return {**kw, "seed": seed}
        return kw

    if isinstance(spec, str):
        from onnxnet.predictors import PREDICTORS

        cls = PREDICTORS.get(spec)
        return lambda seed: get_predictor(spec, **with_seed(cls, params, seed))
    if isinstance(spec, Predictor):
        base = {**spec.get_params(), **params}
        return lambda seed: type(spec)(**with_seed(type(spec), base, seed))
    if callable(spec):
        return spec
    raise ProtocolError(
        f"predictor must be a registered name, a Predictor, or a seed -> Predictor function; got {spec!r}"
    )


def _seeds(seeds: int | Sequence[int]) -> list[int]:
    out = list(range(seeds)) if isinstance(seeds, (int, np.integer)) else [int(s) for s in seeds]
    if not out:
        raise ProtocolError("need at least one seed")
    return out


def _first_reason(failures: list[dict[str, Any]]) -> str:
    """The first failure's reason on one line (at most 300 characters)."""
    reason = " ".join(str(failures[0].get("reason", "")).split()) if failures else "non-finite prediction"
    return reason if len(reason) <= 300 else reason[:297] + "..."


def _what_failed(e: Exception) -> str:
    """An exception as ``Type: message``; a predictor's own ``OnnxNetError`` message is already attributed."""
    return str(e) if isinstance(e, OnnxNetError) else f"{type(e).__name__}: {e}"


def _missing_what(failures: list[dict[str, Any]]) -> str:
    """What is missing, for the partial label: ``proxies`` when every reason is a proxy failure (``proxies: ...``,
    ``proxies-seed1: ...``, ``proxy-meco_batch: ...``), else ``features``."""
    reasons = [str(f.get("reason", "")) for f in failures]
    return "proxies" if reasons and all(r.startswith("prox") for r in reasons) else "features"


# --- the shared core --------------------------------------------------------------------------------------------

class _Run:
    """Collects the score, prediction and failure records of one protocol run."""

    def __init__(self, protocol: str, predictor: PredictorSpec, params: dict[str, Any] | None, regression: bool,
                 progress: bool, allow_partial: bool, config: dict[str, Any]) -> None:
        self.protocol, self.name = protocol, _name_of(predictor)
        self.make = _factory(predictor, params)
        self.regression, self.progress, self.allow_partial = regression, progress, allow_partial
        self.config = {"predictor": self.name, "params": dict(params or {}), **config}
        self.scores: list[dict[str, Any]] = []
        self.preds: list[Any] = []
        self.failures: list[dict[str, Any]] = []

    def split(self, seed: int, setting: str, train: Any, test: Any) -> None:
        """Fit a fresh predictor on ``train``, score ``test`` per test space (``test`` already unique graphs)."""
        import pandas as pd

        if len(test) == 0:
            raise ProtocolError(f"{self.protocol} ({setting}, seed {seed}): the test set is empty")
        leak = straddling(train, test)
        if leak:  # a bug in a protocol, not bad input: fail loudly
            raise AssertionError(f"{leak} isomorphism classes are in both train and test")
        pred = self.make(seed)
        t0 = time.perf_counter()
        try:
            pred.fit(train, train[TARGET].to_numpy(), train[GROUP].to_numpy())
        except Exception as e:  # noqa: BLE001  (a predictor crash becomes a clear, attributed error)
            raise PredictorError(f"{self.name}: fit failed on {len(train)} rows ({setting}, seed {seed}): "
                                 f"{_what_failed(e)}") from e
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        try:
            y_pred = np.asarray(pred.predict(test), dtype=float)
        except Exception as e:  # noqa: BLE001  (per-row failures are NaN; a crash on the whole set is an error)
            raise PredictorError(f"{self.name}: predict failed on {len(test)} rows ({setting}, seed {seed}): "
                                 f"{_what_failed(e)}") from e
        predict_s = time.perf_counter() - t0
        if y_pred.shape != (len(test),):
            raise PredictorError(f"{self.name}: predict returned shape {y_pred.shape} for {len(test)} rows")
        fit_failed = list(getattr(pred, "fit_failures_", []) or [])
        failed = list(getattr(pred, "failures_", []) or [])
        ok = np.isfinite(y_pred)
        failed_ids = set(f["id"] for f in failed)
        failed += [{"id": rid, "reason": "non-finite prediction"}
                   for rid in test["id"].to_numpy()[~ok] if rid not in failed_ids]
        missing = ~ok | np.isin(test["id"].to_numpy(), list(failed_ids))
        n_train_missing = int(train["id"].isin({f["id"] for f in fit_failed}).sum())
        if (missing.any() or n_train_missing) and not self.allow_partial:
            raise FeaturesMissingError(
                f"{self.name}: features missing for {int(missing.sum())} of {len(test)} test and {n_train_missing} "
                f"of {len(train)} training networks ({setting}, seed {seed}); first reason: "
                f"{_first_reason(failed + fit_failed)}. Fix that (zero-cost proxies need the CIFAR-10 pack: "
                "--cifar10 PATH), or allow partial features (--allow-partial; allow_partial=True) to report this "
                "predictor labelled partial")
        what = _missing_what(failed + fit_failed)
        for stage, records in (("fit", fit_failed), ("predict", failed)):
            self.failures += [{**f, "seed": seed, "setting": setting, "stage": stage} for f in records]
        self.preds.append(pd.DataFrame({
            "id": test["id"].to_numpy(), "space": test[GROUP].to_numpy(), "seed": seed, "setting": setting,
            "y_true": test[TARGET].to_numpy(), "y_pred": y_pred,
        }))
        # Scored per group: a space whose test graphs carry labels of different fidelities (NB101 108-epoch and
        # 4-epoch) gets one score per label source, never one rank correlation over mixed labels.
        spaces = test[GROUP].to_numpy()
        for sp in sorted(set(spaces)):
            m = spaces == sp
            mm = m & ok
            rec: dict[str, Any] = {
                "seed": seed, "setting": setting, "test_space": sp, "n_train": len(train),
                "n_test": int(m.sum()), "n_scored": int(mm.sum()), "fit_s": fit_s, "predict_s": predict_s,
                "n_missing": int((m & missing).sum()), "n_train_missing": n_train_missing, "missing": what,
            }
            if mm.sum() >= 2:
                rec.update(evaluate_predictions(test[TARGET].to_numpy()[mm], y_pred[mm], regression=self.regression))
            self.scores.append(rec)

    def result(self, extra: dict[str, Any] | None = None) -> ProtocolResult:
        import pandas as pd

        fail_cols = ["id", "seed", "setting", "stage", "reason"]
        return ProtocolResult(
            protocol=self.protocol, predictor=self.name, config=self.config,
            scores=pd.DataFrame(self.scores),
            predictions=pd.concat(self.preds, ignore_index=True) if self.preds else pd.DataFrame(),
            failures=pd.DataFrame(self.failures, columns=fail_cols), extra=extra or {},
        )


def _progress(items: list[Any], on: bool, desc: str) -> Any:
    if not on:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="run")


# --- protocols --------------------------------------------------------------------------------------------------

#: Random stream of in-space's fixed test subset: not seed 0's, which draws the training graphs of seed 0 from
#: the same graphs (with seed 0 the subset was that seed's first k training picks: n >= k left nothing to test).
_IN_SPACE_SAMPLE_STREAM = (0, 0x7E57)


def _fixed_sample(graphs: Any, k: int | None, stream: Any = 0) -> Any:
    """``k`` of the unique ``graphs`` drawn with ``stream`` (the same for every seed and predictor), or all."""
    if k is None or k >= len(graphs):
        return graphs
    return graphs.iloc[np.sort(np.random.default_rng(stream).permutation(len(graphs))[:k])]


def in_space(rows: Any, predictor: PredictorSpec, space: str, *, train_sizes: Sequence[int] = DEFAULT_TRAIN_SIZES,
             seeds: int | Sequence[int] = 5, label: str | Sequence[str] = "accuracy", test_sample: int | None = None,
             params: dict[str, Any] | None = None, regression: bool = False, progress: bool = False,
             allow_partial: bool = False) -> ProtocolResult:
    """Sample efficiency in one space: train on n graphs of n isomorphism classes, test on every graph of the
    other classes, for each n and seed.

    ``test_sample`` tests on the others among a fixed random subset of the space's graphs (drawn from its own
    random stream, the same for every seed and predictor; stated in the setting name), for predictors too slow
    for all of them.
    """
    data = space_rows(labelled(rows, label), space)
    uniq = unique_graphs(data)
    bad = [n for n in train_sizes if n >= n_classes(uniq)]
    if bad:
        raise ProtocolError(
            f"in-space {space}: train size(s) {bad} leave nothing to test; the space has {len(uniq)} unique "
            f"labelled graphs in {n_classes(uniq)} isomorphism classes here; choose sizes below that"
        )
    subset = _fixed_sample(uniq, test_sample, _IN_SPACE_SAMPLE_STREAM)["graph_hash"]
    run = _Run("in_space", predictor, params, regression, progress, allow_partial,
               {"space": space, "train_sizes": list(train_sizes), "label": label, "unique_graphs": len(uniq),
                "test_sample": test_sample})
    jobs = [(s, n) for s in _seeds(seeds) for n in train_sizes]
    for seed, n in _progress(jobs, progress, f"in-space {space}"):
        train, test = sample_graphs(data, n, seed)
        setting = f"n={n}"
        if len(subset) < len(uniq):
            test = test[test["graph_hash"].isin(subset)]
            setting += f" [test: random {len(subset)} of {len(uniq)} graphs]"
        run.split(seed, setting, train, test)
    return run.result()


def all_spaces(rows: Any, predictor: PredictorSpec, *, spaces: Sequence[str] | None = None,
               seeds: int | Sequence[int] = 3, label: str | Sequence[str] = "accuracy",
               max_train_per_space: int | None = None,
               params: dict[str, Any] | None = None, regression: bool = False,
               progress: bool = False, allow_partial: bool = False) -> ProtocolResult:
    """Train on the training split of every space (the store's ``split`` column), score each space's test split.

    ``max_train_per_space`` caps each space's training graphs (sampled with the seed) to bound the cost.
    """
    import pandas as pd

    data = labelled(rows, label)
    names = sorted(data["space"].unique()) if spaces is None else list(spaces)
    data = space_rows(data, names)
    run = _Run("all_spaces", predictor, params, regression, progress, allow_partial,
               {"spaces": names, "label": label, "max_train_per_space": max_train_per_space})
    for seed in _progress(_seeds(seeds), progress, "all-spaces"):
        train, test = store_split(data, seed)
        if max_train_per_space:
            parts = []
            for sp, part in train.groupby("space"):
                u = unique_graphs(part)
                parts.append(u.sample(n=min(max_train_per_space, len(u)), random_state=seed))
            train = pd.concat(parts)
        run.split(seed, "all", train, unique_graphs(test))
    return run.result()


def leave_one_space_out(rows: Any, predictor: PredictorSpec, *, spaces: Sequence[str] | None = None,
                        seeds: int | Sequence[int] = 3, label: str | Sequence[str] = "accuracy",
                        params: dict[str, Any] | None = None, regression: bool = False,
                        progress: bool = False, allow_partial: bool = False) -> ProtocolResult:
    """For each space B: train on all labelled graphs of the other spaces, test on every graph of B."""
    data = labelled(rows, label)
    names = sorted(data["space"].unique()) if spaces is None else list(spaces)
    data = space_rows(data, names)
    if len(names) < 2:
        raise ProtocolError(f"leave-one-space-out needs at least two labelled spaces; have {names}")
    run = _Run("leave_one_space_out", predictor, params, regression, progress, allow_partial,
               {"spaces": names, "label": label})
    jobs = [(s, b) for s in _seeds(seeds) for b in names]
    for seed, held in _progress(jobs, progress, "leave-one-space-out"):
        test = unique_graphs(data[data["space"] == held])
        train = without_graphs(data[data["space"] != held], test)
        run.split(seed, f"without {held}", train, test)
    return run.result()


def zero_shot(rows: Any, predictor: PredictorSpec, train_space: str | Sequence[str], test_space: str, *,
              n: int | None = None, seeds: int | Sequence[int] = 3, label: str | Sequence[str] = "accuracy",
              test_sample: int | None = None, params: dict[str, Any] | None = None, regression: bool = False,
              progress: bool = False, allow_partial: bool = False) -> ProtocolResult:
    """Train on space(s) A (all labelled graphs, or ``n`` sampled with the seed), test on every graph of B.

    ``test_sample`` scores a fixed random subset of B's graphs instead (drawn with seed 0, the same for every
    seed and predictor); it is stated in the setting name, for predictors too slow for all of B (proxies).
    """
    data = labelled(rows, label)
    train_names = [train_space] if isinstance(train_space, str) else list(train_space)
    if test_space in train_names:
        raise ProtocolError(f"zero-shot: test space {test_space!r} is also a training space; use in_space instead")
    src = space_rows(data, train_names, what="training space")
    test = unique_graphs(space_rows(data, test_space, what="test space"))
    n_all = len(test)
    test = _fixed_sample(test, test_sample)
    src = without_graphs(src, test)
    run = _Run("zero_shot", predictor, params, regression, progress, allow_partial,
               {"train_spaces": train_names, "test_space": test_space, "n": n, "label": label,
                "test_sample": test_sample, "test_graphs_in_space": n_all})
    setting = f"{'+'.join(train_names)} -> {test_space}" + (f" (n={n})" if n else "")
    if len(test) < n_all:
        setting += f" [random {len(test)} of {n_all} test graphs]"
    for seed in _progress(_seeds(seeds), progress, "zero-shot"):
        train = sample_graphs(src, n, seed, leave=0)[0] if n else src
        run.split(seed, setting, train, test)
    return run.result()


def few_shot(rows: Any, predictor: PredictorSpec, train_space: str | Sequence[str], test_space: str, *,
             shots: Sequence[int] = DEFAULT_SHOTS, n: int | None = None, seeds: int | Sequence[int] = 3,
             label: str | Sequence[str] = "accuracy", params: dict[str, Any] | None = None, regression: bool = False,
             progress: bool = False, allow_partial: bool = False) -> ProtocolResult:
    """Zero-shot plus ``k`` graphs of the target space in training (k in ``shots``); test on the rest of B.

    ``k = 0`` is the zero-shot reference on the same test graphs.
    """
    import pandas as pd

    data = labelled(rows, label)
    train_names = [train_space] if isinstance(train_space, str) else list(train_space)
    if test_space in train_names:
        raise ProtocolError(f"few-shot: test space {test_space!r} is also a training space")
    src = space_rows(data, train_names, what="training space")
    target = space_rows(data, test_space, what="test space")
    run = _Run("few_shot", predictor, params, regression, progress, allow_partial,
               {"train_spaces": train_names, "test_space": test_space, "shots": list(shots), "n": n, "label": label})
    jobs = [(s, k) for s in _seeds(seeds) for k in shots]
    for seed, k in _progress(jobs, progress, "few-shot"):
        if k > 0:
            picked, test = sample_graphs(target, k, seed, what="shots k")
        else:
            picked, test = target.iloc[:0], unique_graphs(target)
        base = sample_graphs(src, n, seed, leave=0)[0] if n else src
        train = without_graphs(pd.concat([base, picked]), test)
        run.split(seed, f"k={k}", train, test)
    return run.result()


def cross_task(rows: Any, predictor: PredictorSpec, space: str, tasks: Sequence[str], *, n: int = 256,
               seeds: int | Sequence[int] = 3, params: dict[str, Any] | None = None,
               progress: bool = False, allow_partial: bool = False) -> ProtocolResult:
    """Train on ``n`` graphs labelled with task A, test on the other graphs with task B, for all pairs (A, B).

    ``tasks`` are label columns (e.g. ``label:transnas_class_object``); A == B is the in-task reference.
    Train and test graphs are disjoint, so no network's own label leaks across tasks.
    """
    if len(tasks) < 2:
        raise ProtocolError("cross-task needs at least two task label columns")
    missing = [t for t in tasks if t not in rows.columns]
    if missing:
        raise ProtocolError(f"cross-task: rows lack label column(s) {missing}; have "
                            f"{sorted(c for c in rows.columns if c.startswith('label:'))}")
    run = _Run("cross_task", predictor, params, False, progress, allow_partial,
               {"space": space, "tasks": list(tasks), "n": n})
    per_task = {t: space_rows(labelled(rows, t), space) for t in tasks}
    jobs = [(s, a, b) for s in _seeds(seeds) for a in tasks for b in tasks]
    for seed, a, b in _progress(jobs, progress, "cross-task"):
        train, _ = sample_graphs(per_task[a], n, seed)
        test = unique_graphs(without_graphs(per_task[b], train))
        run.split(seed, f"{a} -> {b}", train, test)
    return run.result()


#: Protocols by CLI name.
PROTOCOLS: dict[str, Callable[..., ProtocolResult]] = {
    "in-space": in_space,
    "all-spaces": all_spaces,
    "leave-one-space-out": leave_one_space_out,
    "zero-shot": zero_shot,
    "few-shot": few_shot,
    "cross-task": cross_task,
}
