"""CLI: ``onnxnet evaluate PROTOCOL ...``: run an evaluation protocol for one or more predictors on a store.

Mirrors ``onnxnet.evaluate.protocols``; every command writes a results folder (``--out``) with the tables,
plots and failures (``onnxnet.evaluate.report``) and prints the summary table.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from onnxnet.cli.app import app
from onnxnet.cli.options import ALLOW_PARTIAL, CIFAR10, QUIET, split_names

evaluate_app = typer.Typer(help="Evaluate accuracy predictors on the paper's protocols (results folder + table).",
                           no_args_is_help=True)
app.add_typer(evaluate_app, name="evaluate")

_CORE = ["id", "space", "arch", "arch_hash", "graph_hash", "split", "accuracy", "accuracy_label"]

StoreOpt = typer.Option(..., "--store", "-s", help="benchmark store folder (onnxnet bench build --out DIR); "
                        "repeat to combine stores (rows with the same id are taken from the first)")
TestSampleOpt = typer.Option(None, "--test-sample", help="test on a fixed random subset of the test space's "
                             "graphs (seed 0; stated in the table), for slow predictors")
PredOpt = typer.Option("params,flops,gbm", "--predictor", "-p",
                       help="registered predictor name(s), comma-separated (see `onnxnet evaluate predictors`)")
ParamOpt = typer.Option(None, "--param", help="predictor hyperparameter KEY=VALUE (repeatable); "
                        "NAME.KEY=VALUE sets it for one predictor only")
SeedsOpt = typer.Option(5, "--seeds", help="number of seeds (0..N-1)")
LabelOpt = typer.Option("accuracy", "--label", help="target column(s), comma-separated in priority order: each "
                        "row uses the first it has (e.g. accuracy,label:cifar10_test_4ep)")
OutOpt = typer.Option(None, "--out", "-o", help="results folder (default results/<protocol>)")
RegOpt = typer.Option(False, "--regression", help="also report MAE / R^2 (for predictors that regress accuracy)")
PlotOpt = typer.Option(True, "--plots/--no-plots", help="write plots")
TagOpt = typer.Option(None, "--tag", help="label shown after the predictor name in tables, e.g. a parameter variant "
                      "(repeatable); NAME=TEXT labels one predictor only")
#: Graph features are cached here by graph hash and feature version (safe to share between stores and runs).
FEATURE_CACHE = Path("results") / "cache"


def _ints(text: str, what: str) -> list[int]:
    from onnxnet.errors import ProtocolError

    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ProtocolError(f"{what} must be comma-separated integers, got {text!r}") from None


def _value(text: str) -> Any:
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _params(predictors: list[str], raw: list[str] | None) -> dict[str, dict[str, Any]]:
    """``--param`` values per predictor; a key no chosen predictor accepts is an error naming the choices."""
    import inspect

    from onnxnet.errors import ProtocolError
    from onnxnet.predictors import PREDICTORS

    out: dict[str, dict[str, Any]] = {p: {} for p in predictors}
    accepted = {p: set(inspect.signature(PREDICTORS.get(p).__init__).parameters) - {"self"} for p in predictors}
    for item in raw or []:
        key, sep, val = item.partition("=")
        if not sep:
            raise ProtocolError(f"--param {item!r}: expected KEY=VALUE")
        target, _, k = key.rpartition(".")
        names = [target] if target else predictors
        if target and target not in out:
            raise ProtocolError(f"--param {item!r}: predictor {target!r} is not among {predictors}")
        hit = [p for p in names if k in accepted[p]]
        if not hit:
            raise ProtocolError(
                f"--param {item!r}: no chosen predictor takes {k!r}; they take: "
                + "; ".join(f"{p}: {', '.join(sorted(accepted[p])) or '-'}" for p in names)
            )
        for p in hit:
            out[p][k] = _value(val)
    return out


def _tags(predictors: list[str], raw: list[str] | None) -> dict[str, str]:
    """``--tag`` labels per predictor: ``NAME=TEXT`` (NAME one of the chosen predictors) labels that one, else all."""
    out: dict[str, list[str]] = {p: [] for p in predictors}
    for item in raw or []:
        name, sep, text = item.partition("=")
        one = bool(sep) and name.strip() in out
        for p in ([name.strip()] if one else predictors):
            out[p].append(text.strip() if one else item)
    return {p: ", ".join(t) for p, t in out.items() if t}


def _rows(stores: list[Path], predictors: list[str], spaces: list[str] | None, label: str) -> Any:
    import pandas as pd

    from onnxnet.bench.store import BenchStore, network_schema
    from onnxnet.errors import DataError
    from onnxnet.predictors import PREDICTORS

    for store in stores:
        if not Path(store).is_dir():
            raise DataError(f"store {store} does not exist; build one with `onnxnet bench build --out {store}`")
    need: set[str] | None = set(_CORE)
    for p in predictors:
        cols = PREDICTORS.get(p).required_columns
        if cols is None:
            need = None
            break
        need.update(cols)
    names = network_schema().names
    columns = None if need is None else [c for c in names if c in need or c.startswith("label:")]
    frames = [BenchStore(s).read(spaces=spaces, columns=columns) for s in stores]
    rows = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return rows.drop_duplicates("id", keep="first").reset_index(drop=True)


def _run(protocol: str, store: list[Path], predictor: str, param: list[str] | None, out: Optional[Path],
         plots: bool, read_spaces: list[str] | None, label: str, tag: list[str] | None = None, *,
         cifar10: Optional[Path] = None, quiet: bool = False, allow_partial: bool = False, **kwargs: Any) -> None:
    """Run ``protocol`` for each predictor; the results folder is rewritten after each one, a failing predictor
    is listed with its reason and the others go on; exit code 1 when any predictor produced no valid score."""
    import inspect

    import pandas as pd
    from rich.console import Console

    from onnxnet.config import use_cifar10
    from onnxnet.errors import PredictorError
    from onnxnet.evaluate.protocols import PROTOCOLS
    from onnxnet.evaluate.report import markdown_table, write_report
    from onnxnet.features.jobs import set_progress
    from onnxnet.predictors import PREDICTORS

    use_cifar10(cifar10)
    set_progress(not quiet)
    preds = split_names(predictor)
    params = _params(preds, param)
    tags = _tags(preds, tag)
    for p in preds:  # predictors that compute graph features share one on-disk cache
        if "cache_dir" in inspect.signature(PREDICTORS.get(p).__init__).parameters:
            params[p].setdefault("cache_dir", str(FEATURE_CACHE))
    rows = _rows(store, preds, read_spaces, label)
    fn = PROTOCOLS[protocol]
    console = Console(stderr=True)
    out_dir = Path(out) if out is not None else Path("results") / protocol
    command = "onnxnet " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    results: list[Any] = []
    failed: list[dict[str, str]] = []
    labels = split_names(label)
    extra = {"label": labels if len(labels) > 1 else labels[0]} if protocol != "cross-task" else {}
    for p in preds:
        if not quiet:
            console.print(f"[bold]{protocol}[/bold]: {p} on {len(rows)} rows", soft_wrap=True)
        name = f"{p} ({tags[p]})" if p in tags else p
        try:
            res = fn(rows, p, params=params[p] or None, progress=not quiet, allow_partial=allow_partial, **extra,
                     **kwargs)
        except PredictorError as e:
            failed.append({"predictor": name, "reason": " ".join(str(e).split())})
            print(f"{name} failed: {' '.join(str(e).split())}", file=sys.stderr)
        else:
            res.predictor = name
            results.append(res)
            if not (len(res.scores) and res.scores.get("kendall", pd.Series(dtype=float)).notna().any()):
                failed.append({"predictor": name, "reason": f"no valid score: {len(res.failures)} per-row "
                                                             "failure(s), see failures.csv"})
        write_report(results, out_dir, command=command, plots=plots, failed=failed, protocol=protocol)
    summaries = [r.summary() for r in results]
    print(markdown_table(pd.concat(summaries, ignore_index=True) if summaries else None))
    n_fail = sum(len(r.failures) for r in results)
    console.print(f"results in {out_dir}/ ({n_fail} per-row failure(s) in failures.csv)", markup=False)
    if failed:
        print(f"{len(failed)} of {len(preds)} predictor(s) produced no valid score:", file=sys.stderr)
        for f in failed:
            print(f"  {f['predictor']}: {f['reason']}", file=sys.stderr)
        raise typer.Exit(1)


@evaluate_app.command("predictors")
def list_predictors() -> None:
    """List the registered predictors, with whether they train and their first doc line."""
    from onnxnet.predictors import PREDICTORS

    for name in PREDICTORS.names():
        cls = PREDICTORS.get(name)
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        kind = "trained" if cls.needs_training else "zero-shot"
        print(f"{name:16s} {kind:9s} {doc}")


@evaluate_app.command("in-space")
def in_space_cmd(
    store: list[Path] = StoreOpt,
    space: str = typer.Option(..., "--space", help="search space to train and test in"),
    sizes: str = typer.Option("16,32,64,128,256,1024", "--sizes", help="train sizes n, comma-separated"),
    test_sample: Optional[int] = TestSampleOpt,
    predictor: str = PredOpt, param: Optional[list[str]] = ParamOpt, seeds: int = SeedsOpt,
    label: str = LabelOpt, out: Optional[Path] = OutOpt, regression: bool = RegOpt, plots: bool = PlotOpt,
    tag: Optional[list[str]] = TagOpt, cifar10: Optional[Path] = CIFAR10, quiet: bool = QUIET,
    allow_partial: bool = ALLOW_PARTIAL,
) -> None:
    """Sample efficiency: train on n graphs of SPACE, test on all its other graphs (isomorphic ones on one side)."""
    _run("in-space", store, predictor, param, out, plots, [space], label, tag, space=space,
         train_sizes=_ints(sizes, "--sizes"), test_sample=test_sample, seeds=seeds, regression=regression,
         cifar10=cifar10, quiet=quiet, allow_partial=allow_partial)


@evaluate_app.command("all-spaces")
def all_spaces_cmd(
    store: list[Path] = StoreOpt,
    spaces: Optional[str] = typer.Option(None, "--spaces", help="spaces to use (default: all labelled)"),
    max_train: Optional[int] = typer.Option(None, "--max-train", help="cap of training graphs per space"),
    predictor: str = PredOpt, param: Optional[list[str]] = ParamOpt, seeds: int = typer.Option(3, "--seeds"),
    label: str = LabelOpt, out: Optional[Path] = OutOpt, regression: bool = RegOpt, plots: bool = PlotOpt,
    tag: Optional[list[str]] = TagOpt, cifar10: Optional[Path] = CIFAR10, quiet: bool = QUIET,
    allow_partial: bool = ALLOW_PARTIAL,
) -> None:
    """Train on the store's train split of every space; score each space's test split separately."""
    names = split_names(spaces) if spaces else None
    _run("all-spaces", store, predictor, param, out, plots, names, label, tag, spaces=names,
         max_train_per_space=max_train, seeds=seeds, regression=regression,
         cifar10=cifar10, quiet=quiet, allow_partial=allow_partial)


@evaluate_app.command("leave-one-space-out")
def loso_cmd(
    store: list[Path] = StoreOpt,
    spaces: Optional[str] = typer.Option(None, "--spaces", help="spaces to use (default: all labelled)"),
    predictor: str = PredOpt, param: Optional[list[str]] = ParamOpt, seeds: int = typer.Option(3, "--seeds"),
    label: str = LabelOpt, out: Optional[Path] = OutOpt, regression: bool = RegOpt, plots: bool = PlotOpt,
    tag: Optional[list[str]] = TagOpt, cifar10: Optional[Path] = CIFAR10, quiet: bool = QUIET,
    allow_partial: bool = ALLOW_PARTIAL,
) -> None:
    """For each space: train on all the other spaces, test on all of it."""
    names = split_names(spaces) if spaces else None
    _run("leave-one-space-out", store, predictor, param, out, plots, names, label, tag, spaces=names, seeds=seeds,
         regression=regression,
         cifar10=cifar10, quiet=quiet, allow_partial=allow_partial)


@evaluate_app.command("zero-shot")
def zero_shot_cmd(
    store: list[Path] = StoreOpt,
    train: str = typer.Option(..., "--train", help="training space(s), comma-separated (e.g. nb101)"),
    test: str = typer.Option(..., "--test", help="test space (e.g. nb201)"),
    n: Optional[int] = typer.Option(None, "--n", help="train on n sampled graphs instead of all"),
    test_sample: Optional[int] = TestSampleOpt,
    predictor: str = PredOpt, param: Optional[list[str]] = ParamOpt, seeds: int = typer.Option(3, "--seeds"),
    label: str = LabelOpt, out: Optional[Path] = OutOpt, regression: bool = RegOpt, plots: bool = PlotOpt,
    tag: Optional[list[str]] = TagOpt, cifar10: Optional[Path] = CIFAR10, quiet: bool = QUIET,
    allow_partial: bool = ALLOW_PARTIAL,
) -> None:
    """Train on space(s) A, test on every graph of space B (the paper's headline: nb101 -> nb201)."""
    tr = split_names(train)
    _run("zero-shot", store, predictor, param, out, plots, tr + [test], label, tag, train_space=tr, test_space=test,
         n=n, test_sample=test_sample, seeds=seeds, regression=regression,
         cifar10=cifar10, quiet=quiet, allow_partial=allow_partial)


@evaluate_app.command("few-shot")
def few_shot_cmd(
    store: list[Path] = StoreOpt,
    train: str = typer.Option(..., "--train", help="training space(s), comma-separated"),
    test: str = typer.Option(..., "--test", help="target space"),
    shots: str = typer.Option("0,16,100", "--shots", help="target-space graphs k added to training"),
    n: Optional[int] = typer.Option(None, "--n", help="train on n sampled source graphs instead of all"),
    predictor: str = PredOpt, param: Optional[list[str]] = ParamOpt, seeds: int = typer.Option(3, "--seeds"),
    label: str = LabelOpt, out: Optional[Path] = OutOpt, regression: bool = RegOpt, plots: bool = PlotOpt,
    tag: Optional[list[str]] = TagOpt, cifar10: Optional[Path] = CIFAR10, quiet: bool = QUIET,
    allow_partial: bool = ALLOW_PARTIAL,
) -> None:
    """Zero-shot plus k target-space graphs in training; test on the rest of the target space."""
    tr = split_names(train)
    _run("few-shot", store, predictor, param, out, plots, tr + [test], label, tag, train_space=tr, test_space=test,
         shots=_ints(shots, "--shots"), n=n, seeds=seeds, regression=regression,
         cifar10=cifar10, quiet=quiet, allow_partial=allow_partial)


@evaluate_app.command("cross-task")
def cross_task_cmd(
    store: list[Path] = StoreOpt,
    space: str = typer.Option("transnas_micro", "--space"),
    tasks: Optional[str] = typer.Option(None, "--tasks", help="label columns, comma-separated (default: every "
                                        "trained-metric label of the space, e.g. the 7 TransNAS tasks)"),
    n: int = typer.Option(256, "--n", help="training graphs per run"),
    predictor: str = PredOpt, param: Optional[list[str]] = ParamOpt, seeds: int = typer.Option(3, "--seeds"),
    out: Optional[Path] = OutOpt, plots: bool = PlotOpt, tag: Optional[list[str]] = TagOpt,
    cifar10: Optional[Path] = CIFAR10, quiet: bool = QUIET, allow_partial: bool = ALLOW_PARTIAL,
) -> None:
    """Train on one task's labels, test on another task's labels of other networks (all task pairs)."""
    from onnxnet.errors import ProtocolError

    if tasks:
        task_list = split_names(tasks)
    else:  # every trained-metric label the space has (not proxies, latencies or costs)
        from onnxnet.bench.provenance import labels_for

        task_list = [i.column for i in labels_for(space) if i.kind == "accuracy"]
        if len(task_list) < 2:
            raise ProtocolError(f"space {space!r} has fewer than two task labels; pass --tasks COL,COL,...")
    _run("cross-task", store, predictor, param, out, plots, [space], "accuracy", tag, space=space, tasks=task_list,
         n=n, seeds=seeds,
         cifar10=cifar10, quiet=quiet, allow_partial=allow_partial)
