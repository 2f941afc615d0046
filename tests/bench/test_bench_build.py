"""The build pipeline: resumable after kill -9 (same store as an uninterrupted build), failures recorded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from onnxnet.bench.build import BuildOptions, build_store
from onnxnet.bench.store import BenchStore
from onnxnet.errors import ArchitectureError, DataError, UnknownNameError


def _parts(store: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((store / "networks").glob("*.parquet"))}


def test_kill_9_mid_build_then_rerun_gives_the_same_store(tmp_path, tiny_store, nb201_archs_file):
    """SIGKILL a 2-worker CLI build after its first chunk is committed; the rerun completes the same store."""
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "onnxnet.cli.main", "bench", "build", "--space", "nb201", "--archs",
           str(nb201_archs_file), "--chunk-size", "2", "--jobs", "2", "--reuse-isomorphic", "off", "--quiet",
           "--store", str(out)]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    try:
        while time.time() < deadline and proc.poll() is None:
            if (out / "networks").is_dir() and any((out / "networks").glob("*.parquet")):
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert any((out / "networks").glob("*.parquet")), proc.stderr.read().decode()[-2000:]
    # a leftover temp file from the killed writer must neither be read nor survive the rerun
    (out / "networks" / ".nb201-x.parquet.tmp-1").write_bytes(b"half a file")
    rep = build_store(BuildOptions(space="nb201", out=out, archs=nb201_archs_file, chunk_size=2, jobs=1,
                                   reuse_isomorphic="off", progress=False))
    assert rep.chunks_done_before + rep.chunks_built == 2
    assert _parts(out) == _parts(tiny_store)  # byte-identical part files: no row lost, none duplicated
    assert not list(out.rglob(".*.tmp-*"))
    assert BenchStore(out).validate()["networks"] == 3
    # a third run finds everything done
    again = build_store(BuildOptions(space="nb201", out=out, archs=nb201_archs_file, chunk_size=2, jobs=1,
                                     reuse_isomorphic="off", progress=False))
    assert again.chunks_built == 0 and again.chunks_done_before == 2


def test_sigterm_stops_the_workers_at_once_and_the_rerun_resumes(tmp_path, shared_data):
    """SIGTERM while a worker builds a 16-network chunk: the build exits 143 without finishing the chunk, no
    worker outlives it, and the rerun builds the whole store."""
    import psutil

    from onnxnet.spaces import get_space

    sp = get_space("nb201")
    archs = tmp_path / "archs.txt"
    archs.write_text("\n".join(sp.to_string(sp.from_index(i)) for i in range(16)) + "\n")
    out = tmp_path / "store"
    cmd = [sys.executable, "-m", "onnxnet.cli.main", "bench", "build", "--space", "nb201", "--archs", str(archs),
           "--chunk-size", "16", "--jobs", "2", "--reuse-isomorphic", "off", "--quiet", "--store", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    workers: set[int] = set()
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and len(workers) < 1:
        workers |= {c.pid for c in psutil.Process(proc.pid).children(recursive=True)}
        time.sleep(0.1)
    time.sleep(3.0)  # the worker is inside its chunk (16 exports take far longer)
    assert proc.poll() is None and not list((out / "networks").glob("*.parquet")), "too fast to interrupt"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 143, proc.stderr.read().decode()[-2000:]
    time.sleep(0.5)
    alive = [w for w in workers if psutil.pid_exists(w) and psutil.Process(w).status() != psutil.STATUS_ZOMBIE]
    assert not alive, "build workers outlived the terminated build"
    assert not list((out / "networks").glob("*.parquet")), "the build finished its chunk instead of stopping"
    rep = build_store(BuildOptions(space="nb201", out=out, archs=archs, chunk_size=16, jobs=1,
                                   reuse_isomorphic="off", progress=False))
    assert rep.chunks_built == 1 and BenchStore(out).validate()["networks"] == 16


def test_failures_are_recorded_with_stage_and_reason(tmp_path, nb201_archs_file, monkeypatch):
    import onnxnet.bench.build as build  # the builder exports through its own name for export_torch
    from onnxnet.spaces.nb201 import NB201Space

    real = NB201Space.build

    def flaky(self, arch):
        if self.index_of(arch) == 1:
            raise RuntimeError("simulated builder crash")
        return real(self, arch)

    def no_export(module, input_shape, opset=17):
        raise RuntimeError("simulated exporter crash")

    monkeypatch.setattr(NB201Space, "build", flaky)
    monkeypatch.setattr(build, "export_torch", no_export)
    out = tmp_path / "f"
    lines = nb201_archs_file.read_text().splitlines()
    archs = tmp_path / "two.txt"
    archs.write_text("\n".join(lines[1:3]))  # arch 0 and arch 1
    rep = build_store(BuildOptions(space="nb201", out=out, archs=archs, jobs=1, reuse_isomorphic="off",
                                   progress=False))
    assert (rep.built, rep.failed) == (0, 2)
    st = BenchStore(out)
    f = st.failures()
    assert f["id"].tolist() == ["nb201/0", "nb201/1"] and f["stage"].tolist() == ["export", "build"]
    assert "simulated exporter crash" in f["reason"].iloc[0] and "simulated builder crash" in f["reason"].iloc[1]
    assert len(st.read()) == 0 and st.validate()["failures"] == 2  # the chunk is committed, with no rows


def test_ids_from_other_builds_are_not_duplicated(tmp_path, tiny_store, nb201_archs_file):
    import shutil

    out = tmp_path / "s"
    shutil.copytree(tiny_store, out)
    # a different plan (other chunking) over the same archs: everything is already there
    rep = build_store(BuildOptions(space="nb201", out=out, archs=nb201_archs_file, chunk_size=5, jobs=1,
                                   reuse_isomorphic="off", progress=False))
    assert rep.skipped_existing == 3 and rep.built == 0
    assert BenchStore(out).validate()["networks"] == 3


def test_bad_input_is_rejected_clearly(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|\n"
                   "|conv_7x7~0|+|none~0|none~1|+|none~0|none~1|none~2|\n")
    with pytest.raises(ArchitectureError, match=r"bad.txt, entry 2: .*unknown operation 'conv_7x7'"):
        build_store(BuildOptions(space="nb201", out=tmp_path / "o", archs=bad, progress=False))
    with pytest.raises(UnknownNameError, match="unknown search space 'nb202'"):
        build_store(BuildOptions(space="nb202", out=tmp_path / "o", progress=False))
    with pytest.raises(ArchitectureError, match="--limit must be a positive number"):
        build_store(BuildOptions(space="nb201", out=tmp_path / "o", limit=0, progress=False))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("someone else's file")
    with pytest.raises(DataError, match="non-empty folder without meta.json"):
        build_store(BuildOptions(space="nb201", out=tmp_path / "full", limit=1, reuse_isomorphic="off",
                                 progress=False))


def test_one_build_per_space_and_store_at_a_time(tmp_path, tiny_store, nb201_archs_file):
    import fcntl
    import shutil

    out = tmp_path / "busy"
    shutil.copytree(tiny_store, out)
    with open(out / ".build-nb201.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # as if another build of nb201 were running
        with pytest.raises(DataError, match="another build of space 'nb201' is running"):
            build_store(BuildOptions(space="nb201", out=out, archs=nb201_archs_file, chunk_size=2,
                                     reuse_isomorphic="off", progress=False))


def test_cli_reports_errors_without_traceback(tmp_path, capsys):
    from onnxnet.cli.main import main

    assert main(["bench", "build", "--space", "nope", "--store", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown search space 'nope'") and "Traceback" not in err
    assert main(["bench", "info", "--store", str(tmp_path / "missing")]) == 2
    assert "not an onnxnet benchmark store" in capsys.readouterr().err


def test_plans_are_seeded_subsets_in_index_order(shared_data):
    from onnxnet.bench.build import labelled_archs, plan_archs
    from onnxnet.bench.labels import load_labels
    from onnxnet.spaces import get_space

    sp = get_space("nb201")
    table = load_labels("nb201", shared_data)
    all_archs = labelled_archs(table)
    a = plan_archs(BuildOptions(space="nb201", out="x", labelled_only=True, limit=50, seed=3), sp, all_archs)
    b = plan_archs(BuildOptions(space="nb201", out="x", labelled_only=True, limit=50, seed=3), sp, all_archs)
    c = plan_archs(BuildOptions(space="nb201", out="x", labelled_only=True, limit=50, seed=4), sp, all_archs)
    idx = [sp.index_of(x) for x in a]
    assert a == b != c and len(a) == 50 and idx == sorted(idx)
    nb101 = load_labels("nb101", shared_data)
    assert len(labelled_archs(nb101, "cifar10_val_108ep")) == 301 and len(labelled_archs(nb101)) == 2647
    with pytest.raises(DataError, match="has no such label"):
        labelled_archs(nb101, "cifar10_test_200ep")


def test_isomorphic_reuse_exports_each_graph_once(tmp_path, monkeypatch):
    """With reuse on, two NB201 strings of one isomorphism class share one export (and one graph hash)."""
    import onnxnet.bench.build as b
    from onnxnet.spaces import get_space

    sp = get_space("nb201")
    x = "|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|"
    y = "|skip_connect~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|"  # node 1 feeds only 'none' edges
    assert sp.arch_hash(sp.parse(x)) == sp.arch_hash(sp.parse(y))
    archs = tmp_path / "iso.txt"
    archs.write_text(f"{x}\n{y}\n")
    calls = []
    real = b.canonical_onnx
    monkeypatch.setattr(b, "canonical_onnx", lambda *a, **k: calls.append(1) or real(*a, **k))
    rep = build_store(BuildOptions(space="nb201", out=tmp_path / "s", archs=archs, reuse_isomorphic="on",
                                   progress=False))
    df = BenchStore(tmp_path / "s").read()
    assert rep.reuse_isomorphic and len(calls) == 1 and len(df) == 2
    assert df["graph_hash"].nunique() == 1 and sorted(df["arch"]) == sorted([x, y])
