"""Resumable labelling into a store: SIGKILL mid-run loses and repeats nothing; import; the Ray executor."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from label_models import tiny_onnx
from onnxnet.bench.store import BenchStore
from onnxnet.errors import DataError
from onnxnet.label.executors import DataSource, InlineExecutor
from onnxnet.label.recipe import Recipe
from onnxnet.label.run import import_table, label_dir, label_networks, read_trained
from onnxnet.label.train import Network

RECIPE = Recipe(epochs=1, batch_size=32, device="cpu", train_images=128, val_images=40, test_images=64)
N_NETS = 8

SCRIPT = textwrap.dedent("""
    import sys
    from label_models import tiny_onnx
    from onnxnet.bench.store import BenchStore
    from onnxnet.label.executors import DataSource, InlineExecutor
    from onnxnet.label.recipe import Recipe
    from onnxnet.label.run import label_networks
    from onnxnet.label.train import Network

    store, cifar = BenchStore.create(sys.argv[1]), sys.argv[2]
    recipe = Recipe(epochs=1, batch_size=32, device="cpu", train_images=128, val_images=40, test_images=64)
    nets = [Network(id=f"tiny/{{i}}", onnx=tiny_onnx(), source=f"tiny{{i}}.onnx") for i in range({n})]
    rep = label_networks(store, nets, recipe, InlineExecutor(device="cpu", source=DataSource(cifar)),
                         progress=False)
    print("TRAINED", rep.trained, "BEFORE", rep.done_before)
""").format(n=N_NETS)


def _run(tmp_path: Path, tiny_cifar: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path])}
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path / "store"), str(tiny_cifar)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_resume_after_sigkill_loses_and_repeats_nothing(tmp_path, tiny_cifar):
    proc = _run(tmp_path, tiny_cifar)
    folder = tmp_path / "store" / "trained" / RECIPE.label_name()
    t0 = time.time()
    while time.time() - t0 < 120:
        n = len(list(folder.glob("*.parquet"))) if folder.is_dir() else 0
        if n >= 2 or proc.poll() is not None:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    store = BenchStore(tmp_path / "store")
    before = read_trained(store, RECIPE.label_name())
    assert 2 <= len(before) < N_NETS, "the kill should land mid-run"
    out = _run(tmp_path, tiny_cifar).communicate(timeout=300)[0]
    assert f"TRAINED {N_NETS - len(before)} BEFORE {len(before)}" in out, out
    after = read_trained(store, RECIPE.label_name())
    assert sorted(after["id"]) == sorted(f"tiny/{i}" for i in range(N_NETS))  # none lost, none twice
    assert set(after["status"]) == {"ok"}
    kept = after.set_index("id").loc[list(before["id"])]
    assert (kept["seconds"].values == before.set_index("id")["seconds"].values).all()  # not retrained
    meta = store.reload_meta()["trained_labels"][RECIPE.label_name()]
    assert meta["recipe_hash"] == RECIPE.hash and meta["recipe"]["epochs"] == 1


def test_label_refuses_another_recipe_and_imports_tables(tmp_path, tiny_cifar):
    store = BenchStore.create(tmp_path / "s")
    nets = [Network(id="tiny/0", onnx=tiny_onnx(), source="t.onnx")]
    ex = InlineExecutor(device="cpu", source=DataSource(str(tiny_cifar)))
    label_networks(store, nets, RECIPE, ex, progress=False)
    with pytest.raises(DataError, match="already holds label"):
        label_networks(store, nets, RECIPE.replace(lr=0.05), ex, progress=False, label=RECIPE.label_name())
    # a table from elsewhere (the GPU benchmark's format) merges by space + arch string
    from onnxnet.spaces import get_space

    sp = get_space("nb201")
    arch = sp.to_string(sp.from_index(5))
    store_rows = store.read(columns=["id"])
    assert len(store_rows) == 0  # no networks built: the row cannot join
    table = tmp_path / "labels.jsonl"
    row = {"space": "nb201", "arch": arch, "status": "ok", "val_acc": 50.0, "test_acc": 49.0, "curve": [],
           "recipe_hash": "abc", "recipe": {"epochs": 2}, "label": "onnxnet_cifar10_2ep", "epochs": 2}
    table.write_text(json.dumps(row) + "\n")
    c = import_table(store, table)
    assert c["not_in_store"] == 1 and c["added"] == 0 and c["missing_by_space"] == {"nb201": 1}


@pytest.fixture(scope="module")
def ray_cluster():
    """One local Ray (2 CPUs) shared by the Ray tests (starting Ray is the slow part)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_local_cluster_gives_the_same_accuracies(tiny_cifar, ray_cluster):
    from onnxnet.label.executors import RayExecutor

    nets = [Network(id=f"tiny/{i}", onnx=tiny_onnx(), source=f"t{i}.onnx") for i in range(2)]
    recipes = [RECIPE.replace(seed=s) for s in (0, 1)]
    got: dict[tuple[str, int], float] = {}
    ref: dict[tuple[str, int], float] = {}
    from onnxnet.label.executors import Job

    jobs = [Job(n, r) for n in nets for r in recipes]
    InlineExecutor(device="cpu", source=DataSource(str(tiny_cifar))).run(
        jobs, lambda j, r: ref.__setitem__((j.net.id, j.recipe.seed), (r.status, r.val_acc, r.test_acc)))
    RayExecutor(device="cpu", source=DataSource(str(tiny_cifar))).run(
        jobs, lambda j, r: got.__setitem__((j.net.id, j.recipe.seed), (r.status, r.val_acc, r.test_acc)))
    assert got == ref and len(got) == 4 and all(v[0] == "ok" for v in got.values())


def test_bench_build_runs_on_ray(tmp_path, ray_cluster):
    from onnxnet.bench.build import BuildOptions, build_store

    archs = tmp_path / "archs.txt"
    archs.write_text("(0, 0, 0, 0, 0, 0)\n(2, 2, 2, 2, 2, 2)\n(4, 3, 2, 1, 0, 4)\n")
    rep = build_store(BuildOptions(space="nb201", out=tmp_path / "s", archs=archs, simplifier=None, chunk_size=1,
                                   executor="ray", progress=False))
    assert (rep.built, rep.failed, rep.chunks_built) == (3, 0, 3)
    assert len(BenchStore(tmp_path / "s").read(columns=["id"])) == 3
