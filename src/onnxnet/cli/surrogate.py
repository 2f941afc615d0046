"""CLI commands: ``onnxnet train`` / ``pretrain`` (the language model), ``fit`` (any predictor) and ``predict``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from onnxnet.cli.app import app
from onnxnet.cli.config_options import config_options
from onnxnet.cli.options import ALLOW_PARTIAL, CIFAR10, OLD_BENCH, QUIET, STORE, renamed, split_names
from onnxnet.cli.evaluate import FEATURE_CACHE
from onnxnet.errors import SurrogateError, TrainingError
from onnxnet.surrogate.pretrain import PretrainConfig
from onnxnet.surrogate.trainer import TrainConfig


def _correlation(scores: object, known: list[float | None]) -> dict[str, float] | None:
    """Kendall and Spearman between scores and known accuracies (files that have one; at least 3)."""
    import numpy as np

    from onnxnet.ranking import group_correlation

    idx = [i for i, k in enumerate(known) if k is not None]
    per = group_correlation(np.asarray(scores, dtype=float)[idx], [known[i] for i in idx], ["all"] * len(idx),
                            min_rows=3)
    return per.get("all")


@app.command()
@config_options(TrainConfig)
def train(
    store: Optional[Path] = STORE,
    bench: Optional[Path] = OLD_BENCH,
    spaces: str = typer.Option(..., "--spaces", help="Training search spaces, comma-separated, e.g. nb201,nb101."),
    out: Path = typer.Option(..., "--out", help="Output folder: the trained surrogate (and its checkpoints)."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Use at most N training networks per space (seeded)."),
    val_limit: Optional[int] = typer.Option(500, "--val-limit", help="At most N validation networks per space."),
    test_limit: int = typer.Option(1000, "--test-limit",
                                   help="Report rank correlation on up to N held-out test networks per space (0: skip)."),
    zero_shot: str = typer.Option("", "--zero-shot", help="Also report on these unseen spaces (comma-separated)."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Continue a killed run in --out."),
    config: TrainConfig = TrainConfig(),
) -> None:
    """Train a surrogate on the train split of --spaces; select the epoch on their val split; report the test split.

    Same command on CPU or one GPU; on several GPUs or nodes run it under accelerate:
    accelerate launch --num_processes 4 -m onnxnet.cli.main train --store ... A killed run resumes when rerun.
    Every hyperparameter option is a field of ``TrainConfig`` (one declaration).
    """
    from onnxnet.surrogate.run import report_table, run_training

    result = run_training(config, bench=renamed(store, bench, "--store", "--bench"), spaces=split_names(spaces),
                          out=out, limit=limit, val_limit=val_limit, test_limit=test_limit,
                          zero_shot=split_names(zero_shot), resume=resume)
    report_table(result)
    print(f"saved surrogate to {out}")


@app.command()
@config_options(PretrainConfig)
def pretrain(
    store: Optional[list[Path]] = STORE,
    bench: Optional[list[Path]] = OLD_BENCH,
    spaces: str = typer.Option(..., "--spaces", help="Search spaces whose encodings to learn from, labelled or not."),
    out: Path = typer.Option(..., "--out", help="Output folder: a backbone for 'onnxnet train --backbone OUT'."),
    encoding: str = typer.Option("compact", "--encoding", help="Text encoding of the graphs: compact | chain."),
    limit: Optional[int] = typer.Option(None, "--limit", help="At most N networks per space and store (seeded)."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Continue a killed run in --out."),
    config: PretrainConfig = PretrainConfig(),
) -> None:
    """Pretrain a from-scratch backbone by masked-token prediction on the encodings of --spaces (no labels needed).

    Fine-tune it with: onnxnet train --backbone OUT (pass --lr; the default for a pretrained backbone is 5e-5).
    Every hyperparameter option is a field of ``PretrainConfig``.
    """
    from onnxnet.surrogate.run import run_pretraining

    folder = run_pretraining(config, bench=renamed(store, bench, "--store", "--bench"), spaces=split_names(spaces),
                             out=out, encoding=encoding, limit=limit, resume=resume)
    print(f"saved pretrained backbone to {folder}")


def _space_for(est: Any, space: str | None, n_files: int) -> str | None:
    """The space a fitted predictor scores the files as: ``--space``, else the one it was fitted on (notes say
    what was assumed, and when the files are scored zero-shot)."""
    fitted_on = list(getattr(est, "fit_spaces_", None) or [])
    if space is None and len(fitted_on) == 1:
        typer.echo(f"note: scoring the files as {fitted_on[0]} networks, the space this predictor was fitted on "
                   "unless most of them lie outside its training networks' reach (--space to force it)", err=True)
        return fitted_on[0]
    if space is None and n_files == 1:
        typer.echo(f"note: one network of a space this predictor was not fitted on has nothing to be ranked "
                   f"against; pass --space (one of {', '.join(fitted_on) or 'its training spaces'}) or more "
                   "files", err=True)
    elif fitted_on and (space or "user") not in fitted_on:
        typer.echo(f"note: scoring as a space this predictor was not fitted on ({', '.join(fitted_on)}): the "
                   "scores rank the files among each other (zero-shot; see docs/results.md for how well that "
                   "transfers)", err=True)
    return space


def _unless_unseen(est: Any, rows: Any, space: str) -> Any:
    """``rows`` as networks of ``space``, or of a new space when most of them lie outside the reach of the
    training networks (``novelty.unseen_space``), saying so."""
    from onnxnet.predictors.novelty import unseen_space

    new, note = unseen_space(est.within_reach(rows), space)
    if note:
        typer.echo(f"note: {note}", err=True)
    if new != space:
        rows = rows.assign(space=new)
        if not _has_zero_shot(est):
            typer.echo("note: this predictor has no zero-shot member, so its learned scores rank them; learned "
                       "scores carried between cell spaces but were reported near chance on networks of another kind "
                       "(docs/zero-shot.md). A folder fitted with onnxnet fit's default (auto) scores such networks "
                       "by training-free signals and says which", err=True)
    return rows


def _has_zero_shot(est: Any) -> bool:
    """Whether ``est`` scores spaces it was not fitted on by training-free signals (``zero-shot``, or ``auto``
    with its ``unseen`` member)."""
    from onnxnet.predictors.base import registered_name

    return registered_name(type(est)) == "zero-shot" or "unseen" in getattr(est, "models_", {})


def _signal_notes(est: Any, rows: Any, cache: Path) -> list[str]:
    """One statement per file of what it was scored on: files with the same signals share a line, and a file the
    predictor could not fully score gets its reasons (each once) on its own line."""
    from onnxnet.features import features_frame
    from onnxnet.features.onnx_proxies import INPUT_COLUMN, PROXY_SET, describe_signals

    families = tuple(getattr(est, "feature_families", ()))
    chosen = getattr(est, est.proxies_param) if getattr(est, "proxies_param", None) else True
    chosen = [chosen] if isinstance(chosen, str) and chosen != "auto" else chosen
    names = PROXY_SET if isinstance(chosen, (bool, str)) else [n for n in PROXY_SET if n in chosen]
    reasons: dict[str, list[str]] = {}
    for f in getattr(est, "failures_", []):
        if f["reason"] not in reasons.setdefault(str(f["id"]), []):
            reasons[str(f["id"])].append(f["reason"])
    used = f"features {', '.join(families)}" if families else ""
    notes: dict[str, list[str]] = {}
    if "proxies" in families:
        frame, _ = features_frame(rows, kind="proxies", cache_dir=cache, compute=False)
        frame = frame.reindex(columns=[f"zc_{n}" for n in names] + [INPUT_COLUMN])
        for (_, row), (_, values) in zip(rows.iterrows(), frame.iterrows()):
            if str(row["id"]) not in reasons:
                note = f"{used}; {describe_signals(row['onnx'], values.to_dict())}"
                notes.setdefault(note, []).append(str(row["id"]))
    lines = [f"note: {ids[0] if len(ids) == 1 else f'{len(ids)} files'}: scored on {note}"
             for note, ids in notes.items()]
    return lines + [f"note: {i}: {'; '.join(r)} (scored without it)" for i, r in reasons.items()]


@app.command()
def predict(
    models: list[Path] = typer.Argument(..., help="ONNX files to score."),
    predictor: Optional[Path] = typer.Option(None, "--predictor", help="A fitted predictor folder ('onnxnet fit') "
                                             "or a trained surrogate folder ('onnxnet train')."),
    surrogate: Optional[Path] = typer.Option(None, "--surrogate", hidden=True, help="Old name of --predictor."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    space: Optional[str] = typer.Option(None, "--space",
                                        help="Also give accuracies on this training space's scale (MSE/zscore surrogates); "
                                             "for a fitted predictor: score the files as networks of this space."),
    batch_size: int = typer.Option(32, "--batch-size"),
    metadata_key: str = typer.Option("accuracy", "--metadata-key",
                                     help="Show this ONNX metadata property as the known accuracy (ONNX-Bench files)."),
    cifar10: Optional[Path] = CIFAR10, quiet: bool = QUIET,
    cache: Path = typer.Option(FEATURE_CACHE, "--cache", help="Feature cache folder, keyed by graph hash and shared "
                               "with 'onnxnet evaluate' and 'onnxnet fit': a file scored before is not recomputed."),
) -> None:
    """Score ONNX files with a fitted predictor or trained surrogate (higher = better), best first.

    Files that carry an accuracy in their metadata (ONNX-Bench layout, 'onnxnet bench export') get it shown beside
    the score, with the rank correlation over them.
    """
    from onnxnet.config import use_cifar10
    from onnxnet.features.jobs import set_progress
    from onnxnet.inputs import as_rows, metadata_value
    from onnxnet.predictors import load_predictor
    from onnxnet.predictors.surrogate import SurrogatePredictor

    use_cifar10(cifar10)
    set_progress(not quiet)
    folder = renamed(predictor, surrogate, "--predictor", "--surrogate")
    est = load_predictor(folder, cache_dir=cache)
    lm = est.surrogate_ if isinstance(est, SurrogatePredictor) else None
    assumed = space is None
    if lm is None:
        space = _space_for(est, space, len(models))
    rows = as_rows([str(m) for m in models], space=(space if lm is None else None) or "user",  # each file read once
                   cache_dir=cache)
    if lm is None:
        if assumed and space is not None:
            rows = _unless_unseen(est, rows, space)
        scores = est.predict(rows)
        for line in getattr(est, "explain_lines", lambda: [])():
            typer.echo(f"zero-shot {line}", err=True)
        for line in _signal_notes(est, rows, cache):
            typer.echo(line, err=True)
        over = 0
        space = None  # a fitted predictor ranks; it does not regress accuracies
    else:
        scores = lm.predict(rows, batch_size=batch_size)
        over = lm.last_over_length_
    acc = None
    if space is not None:
        st = lm.settings.get("space_stats", {})
        if not lm.regresses_accuracy or space not in st.get("mean", {}):
            raise SurrogateError(
                f"--space {space}: this surrogate cannot give accuracies there (loss {lm.settings.get('loss')!r}, "
                f"targets {lm.settings.get('target_norm')!r}, spaces {', '.join(st.get('mean', {}))}); drop --space"
            )
        acc = scores * float(st["std"][space]) + float(st["mean"][space])
    known = metadata_value(rows, metadata_key)
    order = sorted(range(len(models)), key=lambda i: -scores[i])
    rows = [{"model": str(models[i]), "score": float(scores[i]), "rank": r + 1,
             **({"accuracy": float(acc[i])} if acc is not None else {}),
             **({"known_accuracy": known[i]} if known[i] is not None else {})} for r, i in enumerate(order)]
    corr = _correlation(scores, known)
    if as_json:
        print(json.dumps({"predictor": str(folder), "surrogate": str(folder), "over_length": over, "predictions": rows,
                          **({"rank_correlation": corr} if corr else {})}, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"predictor {folder}")
    has_known = any(k is not None for k in known)
    for c in ("rank", "model", "score") + (("accuracy",) if acc is not None else ()) + \
            (("known accuracy",) if has_known else ()):
        t.add_column(c, justify="left" if c == "model" else "right")
    for r in rows:
        t.add_row(str(r["rank"]), r["model"], f"{r['score']:.4f}",
                  *([f"{r['accuracy']:.2f}"] if acc is not None else []),
                  *([f"{r['known_accuracy']:.2f}" if "known_accuracy" in r else "-"] if has_known else []))
    Console().print(t)
    if corr:
        print(f"rank correlation with the known accuracies of {corr['n']} networks: "
              f"Kendall tau {corr['kendall']:.3f}, Spearman rho {corr['spearman']:.3f}")
    if over:
        print(f"note: {over} encodings exceeded {lm.max_length} tokens and were shortened")


@app.command()
def fit(
    store: Optional[list[Path]] = STORE,
    bench: Optional[list[Path]] = OLD_BENCH,
    spaces: str = typer.Option(..., "--spaces", help="Training search spaces, comma-separated, e.g. nb101."),
    out: Path = typer.Option(..., "--out", help="Output folder for the fitted predictor."),
    predictor: str = typer.Option("auto", "--predictor", help="A registered predictor that can save itself: auto "
                                  "(per space: pairwise below 1,000 labelled rows, stack from there), pairwise (the "
                                  "best in-space with up to a few hundred labels), stack (from ~1,000), "
                                  "onnxnet-hybrid, rank-linear, wl-ridge, or any training-free one."),
    param: Optional[list[str]] = typer.Option(None, "--param", help="Hyperparameter KEY=VALUE (repeatable), "
                                              "e.g. --param proxies=True --param lm=None."),
    label: str = typer.Option("accuracy", "--label", help="Target column(s) in priority order (see evaluate)."),
    include_test: bool = typer.Option(False, "--include-test/--exclude-test",
                                      help="Also fit on the store's test split (default: keep it for evaluation)."),
    cifar10: Optional[Path] = CIFAR10, quiet: bool = QUIET, allow_partial: bool = ALLOW_PARTIAL,
) -> None:
    """Fit a predictor on benchmark rows of --spaces and save it; `onnxnet predict --predictor OUT` then scores
    ONNX files with it. Its own model selection (early stopping, blend weight) uses a validation part of these
    rows only; the test split of the store is reported when it was left out (the isomorphic twins of its networks
    are left out of fitting too). A training network whose features are missing stops the fit unless
    --allow-partial."""
    from onnxnet.cli.evaluate import FEATURE_CACHE, _params, _rows
    from onnxnet.config import use_cifar10
    from onnxnet.errors import FeaturesMissingError, ProtocolError
    from onnxnet.evaluate.metrics import kendall_tau, spearman_rho
    from onnxnet.evaluate.splits import labelled, without_graphs
    from onnxnet.predictors import get_predictor
    from onnxnet.predictors.base import savable_learners
    from onnxnet.features.jobs import set_progress

    store = renamed(store, bench, "--store", "--bench")
    use_cifar10(cifar10)
    set_progress(not quiet)
    names = split_names(spaces)
    params = _params([predictor], param)[predictor]
    params.setdefault("cache_dir", str(FEATURE_CACHE))
    est = get_predictor(predictor, **params)
    if not est.can_save():
        raise ProtocolError(f"predictor {predictor!r} cannot be saved; use one of {', '.join(savable_learners())} "
                            "(or `onnxnet train` for the language model alone)")
    rows = labelled(_rows(store, [predictor], names, label), split_names(label))
    if rows.empty:
        raise ProtocolError(f"no labelled rows of {names} in {[str(b) for b in store]}")
    test = rows[rows["split"] == "test"] if not include_test and "split" in rows.columns else rows.iloc[:0]
    train = without_graphs(rows.drop(test.index), test)
    twins = len(rows) - len(test) - len(train)
    print(f"fitting {predictor} on {len(train)} networks of {', '.join(names)}"
          + (f" ({twins} isomorphic twins of test-split networks left out)" if twins else ""))
    est.fit(train, train["_y"].to_numpy(), train["_group"].tolist())
    missing = list(getattr(est, "fit_failures_", None) or [])
    if missing:
        msg = (f"features missing for {len({f['id'] for f in missing})} of {len(train)} training networks; first "
               f"reason: {' '.join(str(missing[0].get('reason')).split())}")
        if not allow_partial:
            raise FeaturesMissingError(f"{predictor}: {msg}. Fix that (zero-cost proxies need the CIFAR-10 pack: "
                                       "--cifar10 PATH), or pass --allow-partial to fit without them")
        typer.echo(f"warning: {msg} (fitted with partial features: --allow-partial)", err=True)
    est.record_reference_scores(train)  # lets `onnxnet serve` place a new network among these
    est.record_reach(train)  # lets `predict` tell networks unlike every training network
    est.save(out)
    for line in est.fit_summary():
        print(line)
    card: dict[str, object] = {"label": label, "n_train": len(train), "validation": {}, "test": {}}
    for name, value in sorted(getattr(est, "val_scores_", {}).items()):
        if name.endswith(" weight"):
            print(f"{name}: {value:.3f}")
        else:
            card["validation"][name] = {"kendall": float(value)}  # type: ignore[index]
            print(f"validation (training spaces) {name}: Kendall {value:.3f}")
    for group, part in test.groupby("_group"):
        pred = est.predict(part)
        y = part["_y"].to_numpy()
        tau, rho = kendall_tau(y, pred), spearman_rho(y, pred)
        card["test"][str(group)] = {"n": len(part), "kendall": float(tau), "spearman": float(rho)}  # type: ignore[index]
        print(f"test split {group}: {len(part)} networks, Kendall {tau:.3f}, Spearman {rho:.3f}")
    est.card_ = card  # quality figures saved with the predictor (`onnxnet serve` shows them)
    est.save(out)  # again, now with the card
    print(f"saved {predictor} to {out}")
