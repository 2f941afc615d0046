"""CLI commands: ``onnxnet bench build|import|export|info|labels`` (thin wrappers over ``onnxnet.bench``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from onnxnet.cli.app import app
from onnxnet.cli.options import renamed, split_names

bench_app = typer.Typer(help="Build, inspect, import and export ONNX-Bench stores.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("build")
def build(
    space: str = typer.Option(..., "--space", help="search space name (nb201, nb101, nb301, transnas_micro, ...)"),
    store: Optional[Path] = typer.Option(None, "--store", help="store folder (created, or resumed if it exists)"),
    out: Optional[Path] = typer.Option(None, "--out", hidden=True, help="Old name of --store."),
    limit: Optional[int] = typer.Option(None, "--limit", help="a seeded random subset of N architectures"),
    jobs: int = typer.Option(1, "--jobs", "-j", help="worker processes (one torch thread each)"),
    seed: int = typer.Option(0, "--seed", help="seed for --limit subsets and for sampling non-enumerable spaces"),
    archs: Optional[Path] = typer.Option(None, "--archs", help="file of architectures (one per line, or JSON list)"),
    labelled_only: bool = typer.Option(False, "--labelled-only", help="only architectures with published labels"),
    require_label: Optional[str] = typer.Option(None, "--require-label",
                                                help="only architectures that have this label (implies "
                                                     "--labelled-only), e.g. cifar10_val_108ep"),
    chunk_size: int = typer.Option(32, "--chunk-size", help="networks per committed part file"),
    reuse_isomorphic: str = typer.Option("auto", "--reuse-isomorphic",
                                         help="auto|on|off: export one network per isomorphism class "
                                              "(auto: only if a sample shows identical canonical ONNX)"),
    keep_weights: bool = typer.Option(False, "--keep-weights", help="store the exported init weights (large)"),
    simplifier: str = typer.Option("onnxsim", "--simplifier", help="onnxsim | onnxslim | none"),
    data: Optional[Path] = typer.Option(None, "--data", help="label data folder (default: $ONNXNET_DATA or ../shared/data)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
    executor: str = typer.Option("local", "--executor", help="local (process pool of --jobs) | ray (one Ray task "
                                                             "per chunk; every node must see --store)"),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster to join (default: a local Ray "
                                                                  "with --jobs CPUs)"),
) -> None:
    """Build SPACE's networks into a Parquet store (parallel, resumable: rerun the same command after a kill)."""
    from onnxnet.bench.build import BuildOptions, build_store

    out = renamed(store, out, "--store", "--out")
    report = build_store(BuildOptions(
        space=space, out=out, limit=limit, jobs=jobs, seed=seed, archs=archs, labelled_only=labelled_only,
        require_label=require_label, chunk_size=chunk_size, reuse_isomorphic=reuse_isomorphic,
        keep_weights=keep_weights, simplifier=None if simplifier.lower() == "none" else simplifier, data=data,
        progress=not quiet, executor=executor, address=address))
    typer.echo(report.summary())
    if report.labels_unjoined:
        typer.echo(f"note: {report.labels_unjoined} label rows did not join (see `onnxnet bench labels {space}`)")
    if report.failed:
        typer.echo(f"note: {report.failed} networks failed; see `onnxnet bench info --store {out} --failures`")


@bench_app.command("labels")
def labels(
    space: str = typer.Argument(..., help="search space name"),
    data: Optional[Path] = typer.Option(None, "--data", help="label data folder"),
    show_unjoined: int = typer.Option(10, "--show-unjoined", help="list up to N rows that did not join"),
) -> None:
    """Load SPACE's published labels: coverage per label, provenance, and rows that do not join."""
    from onnxnet.bench.labels import load_labels

    t = load_labels(space, data)
    typer.echo(t.summary())
    for info in t.infos:
        if info.name in t.frame.columns:
            d = info.as_dict()
            typer.echo(f"  [{info.name}] {d['dataset']}, {d['epochs'] or '-'} epochs, {d['metric']} ({d['split']}, "
                       f"{d['unit']}), from {d['file']} <- {d['source_repo']} ({d['licence']})")
    if len(t.unjoined) and show_unjoined > 0:
        typer.echo(f"first {min(show_unjoined, len(t.unjoined))} of {len(t.unjoined)} rows that did not join:")
        for r in t.unjoined.head(show_unjoined).itertuples():
            typer.echo(f"  {r.file}: {r.key[:120]}: {r.reason}")


@bench_app.command("info")
def info(
    store: Optional[Path] = typer.Option(None, "--store", help="store folder"),
    store_arg: Optional[Path] = typer.Argument(None, hidden=True, help="Old form: the store as an argument."),
    tokenizer: Optional[str] = typer.Option(None, "--tokenizer", help="tokenizer (name or folder) for token lengths"),
    encoding: str = typer.Option("compact", "--encoding", help="text encoding for length statistics"),
    lengths: bool = typer.Option(True, "--lengths/--no-lengths", help="encode networks for text-length statistics"),
    sample: int = typer.Option(500, "--sample", help="networks per space used for length statistics (0: all)"),
    failures: bool = typer.Option(False, "--failures", help="list the recorded failures"),
) -> None:
    """Counts per space, label coverage, node and text-length distributions, op-type divergence between spaces."""
    from onnxnet.bench.info import format_info, store_info

    store = renamed(store, store_arg, "--store", "the store as an argument")
    typer.echo(format_info(store_info(store, tokenizer=tokenizer, encoding=encoding, lengths=lengths,
                                      sample=sample), show_failures=failures))


@bench_app.command("import")
def import_(
    src: Path = typer.Argument(..., help="folder in the ONNX-Bench layout (one folder per space, one .onnx per net)"),
    store: Optional[Path] = typer.Option(None, "--store", help="store folder to create or add to"),
    out: Optional[Path] = typer.Option(None, "--out", hidden=True, help="Old name of --store."),
    key: Optional[str] = typer.Option(None, "--key", help="metadata_props key holding the accuracy "
                                                           "(default: try accuracy/acc/..., else the only property)"),
    space: Optional[str] = typer.Option(None, "--space", help="space name for files not in a per-space folder"),
    simplifier: str = typer.Option("onnxsim", "--simplifier", help="onnxsim | onnxslim | none"),
    keep_weights: bool = typer.Option(False, "--keep-weights", help="keep the files' weights in the store"),
    jobs: int = typer.Option(1, "--jobs", "-j", help="worker processes"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
) -> None:
    """Import an ONNX-Bench folder into a store (every file canonicalised; unreadable files recorded as failures)."""
    from onnxnet.bench.interop import import_onnx_bench

    rep = import_onnx_bench(src, renamed(store, out, "--store", "--out"), key=key, space=space,
                            simplifier=None if simplifier.lower() == "none" else simplifier,
                            keep_weights=keep_weights, jobs=jobs, progress=not quiet)
    typer.echo(rep.summary())


@bench_app.command("export")
def export(
    paths: list[Path] = typer.Argument(..., metavar="DEST",
                                       help="output folder (ONNX-Bench layout: <space>/<name>.onnx)"),
    store: Optional[Path] = typer.Option(None, "--store", help="store folder"),
    key: str = typer.Option("accuracy", "--key", help="metadata_props key to write the accuracy under"),
    spaces: Optional[str] = typer.Option(None, "--spaces", help="only these spaces, comma-separated"),
    space: Optional[list[str]] = typer.Option(None, "--space", hidden=True, help="Old form of --spaces."),
    labelled_only: bool = typer.Option(False, "--labelled-only", help="skip networks without an accuracy"),
) -> None:
    """Export a store to the ONNX-Bench layout (runnable ONNX, accuracy and provenance in metadata_props)."""
    from onnxnet.bench.interop import export_onnx_bench

    if len(paths) == 2 and store is None:  # the old form: STORE DEST
        store_arg, dest = paths
        store = renamed(store, store_arg, "--store", "the store as an argument")
    elif len(paths) == 1:
        store, dest = renamed(store, None, "--store", ""), paths[0]
    else:
        raise typer.BadParameter(f"expected one output folder DEST, got {len(paths)} paths")
    names = split_names(renamed(spaces, space, "--spaces", "--space", required=False)) or None
    n = export_onnx_bench(store, dest, key=key, spaces=names, labelled_only=labelled_only)
    typer.echo(f"wrote {n} ONNX files under {dest}")


def _recipe_options() -> list[Any]:
    """One ``--option`` per ``Recipe`` field (the dataclass is the single declaration of the recipe's settings)."""
    import dataclasses
    import inspect
    import typing

    from onnxnet.label.recipe import HELP, Recipe

    hints = typing.get_type_hints(Recipe)
    params = []
    for f in dataclasses.fields(Recipe):
        flag = "--" + f.name.replace("_", "-")
        tp = hints[f.name]
        decls = [f"{flag}/--no-{flag[2:]}"] if tp is bool else [flag]
        params.append(inspect.Parameter(f"recipe_{f.name}", inspect.Parameter.KEYWORD_ONLY, annotation=tp,
                                        default=typer.Option(f.default, *decls, help=HELP.get(f.name, f.name),
                                                             rich_help_panel="Recipe")))
    return params


def _label(models: Optional[list[Path]], store: Optional[Path], spaces: Optional[list[str]], n: Optional[int],
           ids: Optional[Path], seed: int, label: Optional[str], executor: str, jobs: int, per_gpu: int,
           address: Optional[str], cifar10: Optional[Path], cache: Optional[Path], import_table: Optional[Path],
           retry: Optional[list[str]], out: Optional[Path], quiet: bool, **recipe_opts: Any) -> None:
    """Train networks with the standard CIFAR-10 recipe and record their accuracies (resumable)."""
    import json

    from onnxnet.errors import DataError
    from onnxnet.label.recipe import Recipe

    recipe = Recipe.from_dict({k.removeprefix("recipe_"): v for k, v in recipe_opts.items()})
    if import_table is not None:
        from onnxnet.bench.store import BenchStore
        from onnxnet.label.run import import_table as do_import

        if store is None:
            raise DataError("--import needs --store STORE (the store to merge the label table into)")
        c = do_import(BenchStore(store), import_table, label)
        typer.echo(f"imported {import_table}: {c['added']} rows added, {c['present']} already present, "
                   f"{c['not_in_store']} not in the store {c['missing_by_space'] or ''}")
        if c["not_in_store"]:
            typer.echo("note: build the missing networks first (`onnxnet bench build --space S --archs FILE "
                       f"--out {store}`), then import again")
        return
    from onnxnet.label.executors import DataSource, make_executor

    source = DataSource(cifar10=str(cifar10) if cifar10 else None, cache_dir=str(cache) if cache else None)
    opts: dict[str, Any] = {"per_gpu": per_gpu, "device": recipe.device, "source": source}
    if executor == "local":
        opts["jobs"] = jobs
    elif executor == "ray":
        opts.update(address=address, num_cpus=jobs if not address else None)
    ex = make_executor(executor, **opts)
    if models:
        if store is not None or spaces:
            raise DataError("give either MODEL.onnx files or --store/--space, not both")
        from onnxnet.label.train import Network

        nets = [Network.from_onnx_file(m) for m in models]
        rows: list[dict[str, Any]] = []

        def show(job: Any, res: Any) -> None:
            rows.append({"file": job.net.source, **res.as_dict()})
            acc = f"val {res.val_acc:.2f}%  test {res.test_acc:.2f}%" if res.status == "ok" else res.error
            typer.echo(f"{job.net.source}: {res.status}  {acc}  ({res.seconds:.1f} s, "
                       f"{res.images_per_s:,.0f} img/s, recipe {res.recipe_hash})")

        from onnxnet.label.executors import Job

        try:
            ex.run([Job(nt, recipe) for nt in nets], show)
        finally:
            getattr(ex, "close", lambda: None)()
        if out is not None:
            from onnxnet import atomic

            atomic.write_json(out, {"recipe": recipe.as_dict(), "recipe_hash": recipe.hash, "results": rows})
        return
    if store is None:
        raise DataError("name MODEL.onnx files, or --store STORE with --space NAME (and --n N or --ids FILE)")
    from onnxnet.bench.store import BenchStore
    from onnxnet.label.run import label_networks, read_id_file, store_networks

    st = BenchStore(store)
    nets = store_networks(st, spaces=split_names(spaces) or None, n=n, seed=seed,
                          ids=read_id_file(ids) if ids is not None else None)
    rep = label_networks(st, nets, recipe, ex, label=label, progress=not quiet, retry=retry or ())
    typer.echo(rep.summary())
    _ = json


def _make_label_command() -> None:
    import inspect

    base = [
        inspect.Parameter("models", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[list[Path]],
                          default=typer.Argument(None, help="ONNX files to train (instead of --store)")),
        *[inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=tp, default=opt) for name, tp, opt in [
            ("store", Optional[Path], typer.Option(None, "--store", help="store whose networks to label")),
            ("spaces", Optional[list[str]], typer.Option(None, "--spaces", "--space",
                                                         help="spaces of the store to label, comma-separated")),
            ("n", Optional[int], typer.Option(None, "--n", help="a seeded sample of N networks (default: all)")),
            ("ids", Optional[Path], typer.Option(None, "--ids", help="file of store ids to label, one a line")),
            ("seed", int, typer.Option(0, "--sample-seed", help="seed of the --n sample")),
            ("label", Optional[str], typer.Option(None, "--label",
                                                  help="label name (default: onnxnet_cifar10_<E>ep[_<N>img])")),
            ("executor", str, typer.Option("local", "--executor", help="local (process pool) | ray")),
            ("jobs", int, typer.Option(1, "--jobs", "-j", help="CPU worker processes (local) / CPUs for a local Ray")),
            ("per_gpu", int, typer.Option(2, "--per-gpu", help="networks training at once on each GPU (2 was the "
                                                       "fastest for NB201 on an H200)")),
            ("address", Optional[str], typer.Option(None, "--address", help="Ray cluster to join (default: local)")),
            ("cifar10", Optional[Path], typer.Option(None, "--cifar10", help="cifar10_jpeg_pack.npz (or folder) or "
                                                     "cifar-10-batches-py (default: $ONNXNET_CIFAR10 / data dir)")),
            ("cache", Optional[Path], typer.Option(None, "--cache", help="decoded CIFAR-10 cache folder "
                                                   "(default: $ONNXNET_CACHE or ~/.cache/onnxnet)")),
            ("import_table", Optional[Path], typer.Option(None, "--import", help="merge a label table (.jsonl / "
                                                          ".parquet from bench_label_gpu.py) into --store")),
            ("retry", Optional[list[str]], typer.Option(None, "--retry", help="train again networks recorded with "
                                                        "this status (failed, timeout, diverged; repeatable)")),
            ("out", Optional[Path], typer.Option(None, "--out", help="MODEL.onnx mode: write results as JSON")),
            ("quiet", bool, typer.Option(False, "--quiet", "-q", help="no progress bar")),
        ]],
        *_recipe_options(),
    ]

    def label(**kw: Any) -> None:
        _label(**kw)

    label.__signature__ = inspect.Signature(base)  # type: ignore[attr-defined]
    label.__annotations__ = {p.name: p.annotation for p in base}
    label.__doc__ = ("Train networks with the standard CIFAR-10 recipe and record val/test accuracy, curve and "
                     "provenance in the store (resumable: rerun the same command after a kill).")
    bench_app.command("label")(label)


_make_label_command()
