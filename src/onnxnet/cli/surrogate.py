"""CLI commands: ``onnxnet train`` (train a surrogate on a benchmark store) and ``onnxnet predict`` (score ONNX files)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from onnxnet.cli.app import app
from onnxnet.errors import TrainingError


def _known_accuracy(path: Path, key: str) -> float | None:
    """The accuracy stored in an ONNX file's metadata under ``key`` (ONNX-Bench layout), if any."""
    import math

    import onnx

    try:
        m = onnx.load(str(path), load_external_data=False)
    except Exception:  # unreadable files were already reported by predict
        return None
    for p in m.metadata_props:
        if p.key == key:
            try:
                v = float(p.value)
            except ValueError:
                return None
            return v if math.isfinite(v) else None
    return None


def _correlation(scores: object, known: list[float | None]) -> dict[str, float] | None:
    """Kendall and Spearman between scores and known accuracies (files that have one; at least 3)."""
    import numpy as np
    from scipy.stats import kendalltau, spearmanr

    idx = [i for i, k in enumerate(known) if k is not None]
    if len(idx) < 3:
        return None
    sc = np.asarray(scores, dtype=float)[idx]
    y = np.asarray([known[i] for i in idx], dtype=float)
    return {"n": len(idx), "kendall": float(kendalltau(sc, y).statistic), "spearman": float(spearmanr(sc, y).statistic)}


def _split_spaces(spaces: str) -> list[str]:
    return [s.strip() for s in spaces.split(",") if s.strip()]


def _parse_rates(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in _split_spaces(text))
    except ValueError:
        raise TrainingError(f"--lr-grid {text!r}: expected numbers separated by commas, e.g. 1e-3,3e-4") from None


@app.command()
def train(
    bench: Path = typer.Option(..., "--bench", help="Benchmark store folder (from 'onnxnet bench build')."),
    spaces: str = typer.Option(..., "--spaces", help="Training search spaces, comma-separated, e.g. nb201,nb101."),
    out: Path = typer.Option(..., "--out", help="Output folder: the trained surrogate (and its checkpoints)."),
    backbone: str = typer.Option("modernbert-tiny", "--backbone",
                                 help="modernbert-tiny | modernbert-small | minilm | a local folder | a hub id."),
    loss: str = typer.Option("hinge", "--loss", help="Loss: hinge | mse | listnet | listmle."),
    target_norm: str = typer.Option("rank", "--target-norm", help="Per-space target normalisation: rank | zscore."),
    epochs: int = typer.Option(10, "--epochs"),
    batch_size: int = typer.Option(16, "--batch-size"),
    lr: Optional[float] = typer.Option(None, "--lr", help="Default: 1e-3 from scratch, 5e-5 pretrained."),
    lr_grid: str = typer.Option("", "--lr-grid", help="Several rates, comma-separated (e.g. 1e-3,3e-4,1e-4): one "
                                "run each on the same split; the best validation Kendall is kept. Not with --lr."),
    max_length: int = typer.Option(512, "--max-length", help="Context in tokens; longer texts follow the length policy."),
    encoding: str = typer.Option("compact", "--encoding"),
    vocab_size: int = typer.Option(2048, "--vocab-size", help="Learned BPE vocabulary (scratch backbones)."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Use at most N training networks per space (seeded)."),
    val_limit: Optional[int] = typer.Option(500, "--val-limit", help="At most N validation networks per space."),
    test_limit: int = typer.Option(1000, "--test-limit",
                                   help="Report rank correlation on up to N held-out test networks per space (0: skip)."),
    zero_shot: str = typer.Option("", "--zero-shot", help="Also report on these unseen spaces (comma-separated)."),
    patience: int = typer.Option(3, "--patience", help="Early stopping: epochs without validation improvement."),
    seed: int = typer.Option(0, "--seed"),
    gradient_checkpointing: bool = typer.Option(False, "--gradient-checkpointing/--no-gradient-checkpointing"),
    mixed_precision: str = typer.Option("auto", "--mixed-precision", help="auto | bf16 | fp16 | no."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Continue a killed run in --out."),
) -> None:
    """Train a surrogate on the train split of --spaces; select the epoch on their val split; report the test split.

    Same command on CPU or one GPU; on several GPUs or nodes run it under accelerate:
    accelerate launch --num_processes 4 -m onnxnet.cli.main train --bench ... A killed run resumes when rerun.
    """
    from onnxnet.surrogate.run import report_table, run_training

    result = run_training(
        bench=bench, spaces=_split_spaces(spaces), out=out, backbone=backbone, loss=loss, target_norm=target_norm,
        epochs=epochs, batch_size=batch_size, lr=lr, lr_grid=_parse_rates(lr_grid),
        max_length=max_length, encoding=encoding,
        vocab_size=vocab_size, limit=limit, val_limit=val_limit, test_limit=test_limit,
        zero_shot=_split_spaces(zero_shot), patience=patience, seed=seed,
        gradient_checkpointing=gradient_checkpointing, mixed_precision=mixed_precision, resume=resume,
    )
    report_table(result)
    print(f"saved surrogate to {out}")


@app.command()
def pretrain(
    bench: list[Path] = typer.Option(..., "--bench", help="Benchmark store folder(s) (repeatable)."),
    spaces: str = typer.Option(..., "--spaces", help="Search spaces whose encodings to learn from, labelled or not."),
    out: Path = typer.Option(..., "--out", help="Output folder: a backbone for 'onnxnet train --backbone OUT'."),
    backbone: str = typer.Option("modernbert-tiny", "--backbone", help="modernbert-tiny | modernbert-small."),
    epochs: int = typer.Option(1, "--epochs"),
    batch_size: int = typer.Option(32, "--batch-size"),
    lr: float = typer.Option(1e-3, "--lr"),
    max_length: int = typer.Option(512, "--max-length", help="Context in tokens; longer texts follow the length policy."),
    mlm_probability: float = typer.Option(0.3, "--mlm-probability", help="Share of tokens masked and predicted."),
    vocab_size: int = typer.Option(2048, "--vocab-size", help="Learned BPE vocabulary."),
    encoding: str = typer.Option("compact", "--encoding"),
    limit: Optional[int] = typer.Option(None, "--limit", help="At most N networks per space and store (seeded)."),
    seed: int = typer.Option(0, "--seed"),
    mixed_precision: str = typer.Option("auto", "--mixed-precision", help="auto | bf16 | fp16 | no."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Continue a killed run in --out."),
) -> None:
    """Pretrain a from-scratch backbone by masked-token prediction on the encodings of --spaces (no labels needed).

    Fine-tune it with: onnxnet train --backbone OUT (pass --lr; the default for a pretrained backbone is 5e-5).
    """
    from onnxnet.surrogate.run import run_pretraining

    folder = run_pretraining(bench=bench, spaces=_split_spaces(spaces), out=out, encoding=encoding, limit=limit,
                             seed=seed, resume=resume, backbone=backbone, epochs=epochs, batch_size=batch_size,
                             lr=lr, max_length=max_length, mlm_probability=mlm_probability, vocab_size=vocab_size,
                             mixed_precision=mixed_precision)
    print(f"saved pretrained backbone to {folder}")


@app.command()
def predict(
    models: list[Path] = typer.Argument(..., help="ONNX files to score."),
    surrogate: Path = typer.Option(..., "--surrogate", help="A trained surrogate folder ('onnxnet train') or a fitted predictor folder ('onnxnet fit')."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    space: Optional[str] = typer.Option(None, "--space",
                                        help="Also give accuracies on this training space's scale (MSE/zscore surrogates); "
                                             "for a fitted predictor: score the files as networks of this space."),
    batch_size: int = typer.Option(32, "--batch-size"),
    metadata_key: str = typer.Option("accuracy", "--metadata-key",
                                     help="Show this ONNX metadata property as the known accuracy (ONNX-Bench files)."),
) -> None:
    """Score ONNX files with a trained surrogate (higher = better), best first.

    Files that carry an accuracy in their metadata (ONNX-Bench layout, 'onnxnet bench export') get it shown beside
    the score, with the rank correlation over them.
    """
    from onnxnet.predictors.base import is_predictor_folder
    from onnxnet.surrogate.surrogate import Surrogate

    if is_predictor_folder(surrogate):  # from `onnxnet fit`
        from onnxnet.predictors import load_predictor
        from onnxnet.surrogate.inputs import as_rows

        s = load_predictor(surrogate)
        fitted_on = list(getattr(s, "fit_spaces_", None) or [])
        if space is None and len(fitted_on) == 1:
            space = fitted_on[0]
            typer.echo(f"note: scoring the files as {space} networks, the space this predictor was fitted on "
                       "(--space to change)", err=True)
        elif space is None and len(models) == 1:
            typer.echo(f"note: one network of a space this predictor was not fitted on has nothing to be ranked "
                       f"against; pass --space (one of {', '.join(fitted_on) or 'its training spaces'}) or more "
                       "files", err=True)
        elif fitted_on and (space or "user") not in fitted_on:
            typer.echo(f"note: scoring as a space this predictor was not fitted on ({', '.join(fitted_on)}): the "
                       "scores rank the files among each other (zero-shot; see docs/results.md for how well that "
                       "transfers)", err=True)
        scores = s.predict(as_rows([str(m) for m in models], space=space or "user"))
        for f in getattr(s, "failures_", []):
            typer.echo(f"note: {f['id']}: {f['reason']} (scored without it)", err=True)
        over = 0
        space = None  # a fitted predictor ranks; it does not regress accuracies
    else:
        s = Surrogate.from_pretrained(surrogate)
        scores = s.predict([str(m) for m in models], batch_size=batch_size)
        over = s.last_over_length_
    acc = None
    if space is not None:
        st = s.settings.get("space_stats", {})
        if not s.regresses_accuracy or space not in st.get("mean", {}):
            from onnxnet.errors import SurrogateError

            raise SurrogateError(
                f"--space {space}: this surrogate cannot give accuracies there (loss {s.settings.get('loss')!r}, "
                f"targets {s.settings.get('target_norm')!r}, spaces {', '.join(st.get('mean', {}))}); drop --space"
            )
        acc = scores * float(st["std"][space]) + float(st["mean"][space])
    known = [_known_accuracy(m, metadata_key) for m in models]
    order = sorted(range(len(models)), key=lambda i: -scores[i])
    rows = [{"model": str(models[i]), "score": float(scores[i]), "rank": r + 1,
             **({"accuracy": float(acc[i])} if acc is not None else {}),
             **({"known_accuracy": known[i]} if known[i] is not None else {})} for r, i in enumerate(order)]
    corr = _correlation(scores, known)
    if as_json:
        print(json.dumps({"surrogate": str(surrogate), "over_length": over, "predictions": rows,
                          **({"rank_correlation": corr} if corr else {})}, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"surrogate {surrogate}")
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
        print(f"note: {over} encodings exceeded {s.max_length} tokens and were shortened")


@app.command()
def fit(
    bench: list[Path] = typer.Option(..., "--bench", help="Benchmark store folder(s) (repeat to combine)."),
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
) -> None:
    """Fit a predictor on benchmark rows of --spaces and save it; `onnxnet predict --surrogate OUT` then scores
    ONNX files with it. Its own model selection (early stopping, blend weight) uses a validation part of these
    rows only; the test split of the store is reported when it was left out."""
    from onnxnet.cli.evaluate import FEATURE_CACHE, _params, _rows
    from onnxnet.errors import ProtocolError
    from onnxnet.evaluate.metrics import kendall_tau, spearman_rho
    from onnxnet.evaluate.splits import labelled
    from onnxnet.predictors import get_predictor
    from onnxnet.predictors.base import savable_learners

    names = _split_spaces(spaces)
    params = _params([predictor], param)[predictor]
    params.setdefault("cache_dir", str(FEATURE_CACHE))
    est = get_predictor(predictor, **params)
    if not est.can_save():
        raise ProtocolError(f"predictor {predictor!r} cannot be saved; use one of {', '.join(savable_learners())} "
                            "(or `onnxnet train` for the language model alone)")
    rows = labelled(_rows(bench, [predictor], names, label), _split_spaces(label))
    if rows.empty:
        raise ProtocolError(f"no labelled rows of {names} in {[str(b) for b in bench]}")
    test = rows[rows["split"] == "test"] if not include_test and "split" in rows.columns else rows.iloc[:0]
    train = rows.drop(test.index)
    print(f"fitting {predictor} on {len(train)} networks of {', '.join(names)}")
    est.fit(train, train["_y"].to_numpy(), train["_group"].tolist())
    est.record_reference_scores(train)  # lets `onnxnet serve` place a new network among these
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
