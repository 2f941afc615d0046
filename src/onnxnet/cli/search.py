"""``onnxnet search``: architecture search over a registered space, guided by a predictor, with true evaluations
from an oracle (published labels), one or two objectives, and a resumable run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from onnxnet.cli.app import app


def _kv(items: list[str] | None, what: str) -> dict[str, Any]:
    import ast

    from onnxnet.search.objectives import SearchError

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise SearchError(f"{what} {item!r}: expected KEY=VALUE")
        try:
            out[key.strip()] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            out[key.strip()] = raw
    return out


@app.command()
def search(
    space: str = typer.Option(..., "--space", help="search space (nb201, nb101, nb301, transnas_micro, ...)"),
    out: Path = typer.Option(..., "--out", help="run folder (rerun the same command to resume a killed search)"),
    predictor: Optional[str] = typer.Option(
        None, "--predictor", "-p", help="fitness: a folder made by `onnxnet fit`, or a predictor name (params, "
        "proxy-vote, ... used as is; gbm, pairwise, stack, ... fitted on the search's own evaluations); none: "
        "search on true labels alone"),
    param: Optional[list[str]] = typer.Option(None, "--param", help="predictor parameter KEY=VALUE (repeatable)"),
    strategy: str = typer.Option("evolution", "--strategy", "-s", help="random, evolution, tpe or nsga2"),
    strategy_param: Optional[list[str]] = typer.Option(
        None, "--strategy-param", help="strategy parameter KEY=VALUE, e.g. population=20 (repeatable)"),
    objective: str = typer.Option("accuracy", "--objective",
                                  help="accuracy, or accuracy,COST with COST params, flops, latency[:DEVICE]"),
    queries: int = typer.Option(2000, "--queries", help="predictor queries (candidates scored)"),
    evals: int = typer.Option(50, "--evals", help="true evaluations (oracle calls)"),
    top: int = typer.Option(10, "--top", help="write the .onnx files of this many best networks"),
    seed: int = typer.Option(0, "--seed"),
    batch: int = typer.Option(5, "--batch", help="true evaluations per round (between predictor refits)"),
    init: Optional[int] = typer.Option(None, "--init", help="random true evaluations before a predictor that "
                                       "learns from the search is first used (default: evals/5, at most 10)"),
    refit: Optional[bool] = typer.Option(None, "--refit/--no-refit", help="refit the predictor on the true "
                                         "evaluations each round (default: for a name that learns, not a folder)"),
    oracle: str = typer.Option("table", "--oracle", help="true evaluations: table (published labels) or train "
                               "(train each network with the labelling pipeline; fitness = validation accuracy)"),
    oracle_param: Optional[list[str]] = typer.Option(
        None, "--oracle-param", help="oracle parameter KEY=VALUE, e.g. epochs=12, train_images=5000 (repeatable)"),
    label: Optional[str] = typer.Option(None, "--label", help="table oracle: the label column (default: the "
                                        "space's primary)"),
    store: Optional[Path] = typer.Option(None, "--store", help="read candidate graphs from this benchmark store"),
    cache: Optional[Path] = typer.Option(None, "--cache", help="graph/feature cache folder shared between runs "
                                         "(default: OUT/cache)"),
    jobs: int = typer.Option(1, "--jobs", help="processes that build missing candidate graphs"),
) -> None:
    """Search a space for accurate (and cheap) networks; writes ranked.csv, evaluations.csv, onnx/, pareto.*"""
    import signal

    from onnxnet.search import SearchConfig, run_search

    def stop(signum: int, frame: object) -> None:  # killed: finish the journal line, flush the graph cache, exit
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)

    cfg = SearchConfig(space=space, predictor=None if predictor in (None, "", "none") else predictor,
                       predictor_params=_kv(param, "--param"), strategy=strategy,
                       strategy_params=_kv(strategy_param, "--strategy-param"), objective=objective,
                       queries=queries, evals=evals, top=top, seed=seed, init=init, batch=batch, refit=refit,
                       oracle=oracle, oracle_params=_kv(oracle_param, "--oracle-param"), label=label,
                       store=str(store) if store is not None else None)
    result = run_search(cfg, out, cache_dir=cache, jobs=jobs)
    cols = [c for c in ("rank", "accuracy", "score", "cost", "arch") if c in result.ranked.columns]
    typer.echo(result.ranked[cols].head(max(top, 1)).to_string(index=False))
    typer.echo(result.summary())
