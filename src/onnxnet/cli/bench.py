"""CLI commands: ``onnxnet bench build|import|export|info|labels`` (thin wrappers over ``onnxnet.bench``)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from onnxnet.cli.app import app

bench_app = typer.Typer(help="Build, inspect, import and export ONNX-Bench stores.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("build")
def build(
    space: str = typer.Option(..., "--space", help="search space name (nb201, nb101, nb301, transnas_micro, ...)"),
    out: Path = typer.Option(..., "--out", help="store folder (created, or resumed if it exists)"),
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
) -> None:
    """Build SPACE's networks into a Parquet store (parallel, resumable: rerun the same command after a kill)."""
    from onnxnet.bench.build import BuildOptions, build_store

    report = build_store(BuildOptions(
        space=space, out=out, limit=limit, jobs=jobs, seed=seed, archs=archs, labelled_only=labelled_only,
        require_label=require_label, chunk_size=chunk_size, reuse_isomorphic=reuse_isomorphic,
        keep_weights=keep_weights, simplifier=None if simplifier.lower() == "none" else simplifier, data=data,
        progress=not quiet))
    typer.echo(report.summary())
    if report.labels_unjoined:
        typer.echo(f"note: {report.labels_unjoined} label rows did not join (see `onnxnet bench labels {space}`)")
    if report.failed:
        typer.echo(f"note: {report.failed} networks failed; see `onnxnet bench info {out} --failures`")


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
    store: Path = typer.Argument(..., help="store folder"),
    tokenizer: Optional[str] = typer.Option(None, "--tokenizer", help="tokenizer (name or folder) for token lengths"),
    encoding: str = typer.Option("compact", "--encoding", help="text encoding for length statistics"),
    lengths: bool = typer.Option(True, "--lengths/--no-lengths", help="encode networks for text-length statistics"),
    sample: int = typer.Option(500, "--sample", help="networks per space used for length statistics (0: all)"),
    failures: bool = typer.Option(False, "--failures", help="list the recorded failures"),
) -> None:
    """Counts per space, label coverage, node and text-length distributions, op-type divergence between spaces."""
    from onnxnet.bench.info import format_info, store_info

    typer.echo(format_info(store_info(store, tokenizer=tokenizer, encoding=encoding, lengths=lengths,
                                      sample=sample), show_failures=failures))


@bench_app.command("import")
def import_(
    src: Path = typer.Argument(..., help="folder in the ONNX-Bench layout (one folder per space, one .onnx per net)"),
    out: Path = typer.Option(..., "--out", help="store folder to create or add to"),
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

    rep = import_onnx_bench(src, out, key=key, space=space,
                            simplifier=None if simplifier.lower() == "none" else simplifier,
                            keep_weights=keep_weights, jobs=jobs, progress=not quiet)
    typer.echo(rep.summary())


@bench_app.command("export")
def export(
    store: Path = typer.Argument(..., help="store folder"),
    dest: Path = typer.Argument(..., help="output folder (ONNX-Bench layout: <space>/<name>.onnx)"),
    key: str = typer.Option("accuracy", "--key", help="metadata_props key to write the accuracy under"),
    spaces: Optional[list[str]] = typer.Option(None, "--space", help="only these spaces (repeatable)"),
    labelled_only: bool = typer.Option(False, "--labelled-only", help="skip networks without an accuracy"),
) -> None:
    """Export a store to the ONNX-Bench layout (runnable ONNX, accuracy and provenance in metadata_props)."""
    from onnxnet.bench.interop import export_onnx_bench

    n = export_onnx_bench(store, dest, key=key, spaces=spaces, labelled_only=labelled_only)
    typer.echo(f"wrote {n} ONNX files under {dest}")
