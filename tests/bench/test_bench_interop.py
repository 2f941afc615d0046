"""ONNX-Bench layout: import folders of .onnx files (accuracy in metadata_props), export a store back."""

from __future__ import annotations

import math

import onnx
import pytest

from onnxnet.bench.info import format_info, jensen_shannon, store_info
from onnxnet.bench.interop import export_onnx_bench, import_onnx_bench, read_accuracy, space_from_folder
from onnxnet.bench.store import BenchStore
from onnxnet.errors import DataError

from bench_onnx_files import make_onnx  # noqa: E402  (tests/bench/conftest.py)


@pytest.fixture()
def onnx_bench_dir(tmp_path):
    root = tmp_path / "ONNX-Bench"
    make_onnx(root / "nasbench201_simplify" / "0.onnx", channels=4, props={"accuracy": "91.5"})
    make_onnx(root / "nasbench201_simplify" / "1.onnx", channels=8, props={"val_acc": "88.25", "x": "y"})
    # the reference code reads metadata_props[0] whatever its key
    make_onnx(root / "einspace" / "cifar10" / "seed0" / "a.onnx", kernel=5, relu=False, props={"acc_c10": "55.0"})
    make_onnx(root / "einspace" / "cifar10" / "seed0" / "unlabelled.onnx", kernel=1)
    (root / "einspace" / "cifar10" / "seed0" / "broken.onnx").write_bytes(b"not a protobuf at all")
    return root


def test_import_reads_layout_keys_and_records_failures(onnx_bench_dir, tmp_path):
    rep = import_onnx_bench(onnx_bench_dir, tmp_path / "store", progress=False)
    assert (rep.files, rep.imported, rep.failed, rep.unlabelled) == (5, 4, 1, 1)
    assert rep.keys == {"accuracy": 1, "val_acc": 1, "acc_c10": 1}
    st = BenchStore(tmp_path / "store")
    df = st.read().set_index("id")
    assert sorted(df.index) == ["einspace/cifar10/seed0/a", "einspace/cifar10/seed0/unlabelled", "nb201/0", "nb201/1"]
    assert df.loc["nb201/0", "accuracy"] == 91.5 and df.loc["nb201/1", "accuracy_label"] == "onnx_bench:val_acc"
    assert math.isnan(df.loc["einspace/cifar10/seed0/unlabelled", "accuracy"])
    assert df.loc["nb201/1", "n_params"] == 8 * 3 * 3 * 3
    f = st.failures()
    assert f["id"].tolist() == ["einspace/cifar10/seed0/broken"] and "broken.onnx" in f["reason"].iloc[0]
    # importing again is a no-op (resumable, no duplicates)
    again = import_onnx_bench(onnx_bench_dir, tmp_path / "store", progress=False)
    assert again.imported == 0 and again.skipped_done == 5 and len(BenchStore(tmp_path / "store").read()) == 4


def test_import_with_an_explicit_key(onnx_bench_dir, tmp_path):
    rep = import_onnx_bench(onnx_bench_dir, tmp_path / "s", key="val_acc", progress=False)
    df = BenchStore(tmp_path / "s").read().set_index("id")
    assert rep.keys == {"val_acc": 1} and df["accuracy"].notna().sum() == 1


def test_export_then_import_round_trips(tiny_store, tmp_path):
    n = export_onnx_bench(tiny_store, tmp_path / "out")
    assert n == 3
    files = sorted((tmp_path / "out" / "nb201").glob("*.onnx"))
    assert [f.name for f in files] == ["0.onnx", "1.onnx", "7.onnx"]
    m = onnx.load(str(files[0]))
    onnx.checker.check_model(m)  # placeholder weights make it a valid, runnable model
    assert m.metadata_props[0].key == "accuracy" and float(m.metadata_props[0].value) == pytest.approx(85.8633, abs=1e-3)
    assert read_accuracy(m) == (pytest.approx(85.8633, abs=1e-3), "accuracy")
    import_onnx_bench(tmp_path / "out", tmp_path / "back", progress=False)
    a = BenchStore(tiny_store).read(columns=["id", "graph_hash", "accuracy", "n_params"])
    b = BenchStore(tmp_path / "back").read(columns=["id", "graph_hash", "accuracy", "n_params"])
    assert a.equals(b)


def test_folder_names_and_bad_sources(tmp_path):
    assert space_from_folder("nasbench101_simplify") == "nb101" and space_from_folder("NATSBench") == "nb201"
    with pytest.raises(DataError, match="no .onnx files"):
        (tmp_path / "empty").mkdir()
        import_onnx_bench(tmp_path / "empty", tmp_path / "s", progress=False)
    make_onnx(tmp_path / "loose" / "a.onnx")
    with pytest.raises(DataError, match="pass --space"):
        import_onnx_bench(tmp_path / "loose", tmp_path / "s2", progress=False)


def test_info_counts_coverage_and_jsd(onnx_bench_dir, tmp_path):
    import_onnx_bench(onnx_bench_dir, tmp_path / "store", progress=False)
    info = store_info(tmp_path / "store", lengths=False)
    assert info["networks"] == 4 and info["failures"] == 1
    nb, ein = info["spaces"]["nb201"], info["spaces"]["einspace"]
    assert nb["networks"] == 2 and nb["labelled"] == 2 and ein["labelled"] == 1 and ein["failures"] == 1
    assert nb["op_types"] == {"Conv": 2, "Relu": 2, "GlobalAveragePool": 2}
    j = info["jsd"]
    assert j["nb201"]["nb201"] == 0 and j["nb201"]["einspace"] == pytest.approx(j["einspace"]["nb201"])
    assert j["nb201"]["einspace"] > 0
    assert jensen_shannon({"A": 1}, {"B": 1}) == pytest.approx(1.0)
    text = format_info(info, show_failures=True)
    assert "Jensen-Shannon" in text and "broken" in text
