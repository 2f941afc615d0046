"""The Parquet store: readable by pandas / pyarrow / datasets, deterministic splits, strict and atomic."""

from __future__ import annotations

import errno
import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from onnxnet.bench.store import BenchStore, network_schema, split_of
from onnxnet.errors import DataError


def test_store_rows_follow_the_schema_and_labels_join(tiny_store):
    st = BenchStore(tiny_store)
    df = st.read()
    assert list(df["id"]) == ["nb201/0", "nb201/1", "nb201/7"]
    core = ["id", "space", "arch", "arch_hash", "graph_hash", "onnx", "n_params", "flops", "n_nodes", "split",
            "accuracy", "accuracy_label"]
    assert all(c in df.columns for c in core)
    assert (df["accuracy_label"] == "cifar10_test_200ep").all()
    assert df["accuracy"].tolist() == pytest.approx([85.8633, 93.66, df["label:cifar10_test_200ep"][2]], abs=1e-3)
    assert (df["accuracy"] == df["label:cifar10_test_200ep"]).all()
    assert df.loc[0, "label:hw_edgegpu_latency"] == pytest.approx(5.8074, abs=1e-3)
    # static facts are those of the stored (weight-free) graph
    import onnx

    from onnxnet.graph import graph_facts, graph_hash

    m = onnx.load_from_string(df.loc[0, "onnx"])
    assert df.loc[0, "n_params"] == graph_facts(m).n_params > 100_000 and df.loc[0, "graph_hash"] == graph_hash(m)
    assert set(df["split"]) <= {"train", "val", "test"}
    assert (df["split"] == [split_of(h) for h in df["graph_hash"]]).all()
    # label provenance travels with the store and the Parquet schema
    meta = json.loads((tiny_store / "meta.json").read_text())
    prov = meta["spaces"]["nb201"]["labels"]["cifar10_test_200ep"]
    assert prov["epochs"] == 200 and prov["source_repo"].startswith("v-tao/nats-bench-landscape")
    part = st.part_files()[0]
    assert b"onnxnet" in pq.read_schema(part).metadata


def test_readable_by_pyarrow_pandas_and_datasets(tiny_store):
    files = sorted(str(p) for p in (tiny_store / "networks").glob("*.parquet"))
    assert len(files) == 2  # chunks of 2
    t = pq.read_table(tiny_store / "networks")
    assert t.num_rows == 3 and t.schema.names == network_schema().names
    assert len(pd.read_parquet(tiny_store / "networks", columns=["id", "accuracy"])) == 3
    from datasets import load_dataset

    ds = load_dataset("parquet", data_files=files, split="train")
    assert ds.num_rows == 3 and sorted(ds["id"]) == ["nb201/0", "nb201/1", "nb201/7"]


def test_split_is_a_pure_function_of_graph_hash():
    hashes = [f"{i:064x}" for i in range(2000)]
    splits = [split_of(h) for h in hashes]
    assert splits == [split_of(h) for h in hashes]
    frac = pd.Series(splits).value_counts(normalize=True)
    assert 0.76 < frac["train"] < 0.84 and 0.07 < frac["val"] < 0.13 and 0.07 < frac["test"] < 0.13


def test_corrupted_part_and_meta_give_clear_errors(tiny_store, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(tiny_store, bad)
    part = BenchStore(bad).part_files()[0]
    part.write_bytes(part.read_bytes()[:100])
    with pytest.raises(DataError, match=f"{part.name} is corrupted"):
        BenchStore(bad).read()
    (bad / "meta.json").write_text("{truncated")
    with pytest.raises(DataError, match="meta.json is corrupted"):
        BenchStore(bad)
    with pytest.raises(DataError, match="not an onnxnet benchmark store"):
        BenchStore(tmp_path / "nothing")


def test_disk_full_leaves_the_store_unchanged(tiny_store, tmp_path, monkeypatch):
    import shutil

    st_path = tmp_path / "copy"
    shutil.copytree(tiny_store, st_path)
    st = BenchStore(st_path)
    before = sorted(p.name for p in st_path.rglob("*"))

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq, "write_table", full)
    rows = st.read().head(1).assign(id="nb201/99999")
    with pytest.raises(DataError, match="disk full"):
        st.write_part("nb201-extra-00000", rows)
    assert sorted(p.name for p in st_path.rglob("*")) == before
    assert len(BenchStore(st_path).read()) == 3


def test_encodings_are_cached_per_name_version_and_parts(tiny_store, tmp_path):
    import shutil

    p = tmp_path / "enc"
    shutil.copytree(tiny_store, p)
    st = BenchStore(p)
    texts = pd.DataFrame({"id": ["nb201/0", "nb201/1"], "text": ["abc", "defg"]})
    st.add_encodings("demo", 3, None, texts)
    st.add_encodings("demo", 3, ["ops"], texts.head(1))
    assert st.encodings("demo", version=3)["n_chars"].tolist() == [3, 4]
    assert st.encodings("demo", ["ops"], version=3)["id"].tolist() == ["nb201/0"]
    assert st.encodings("demo", version=4).empty  # another version is another cache


def test_encode_fills_the_cache_once(tiny_store, tmp_path, monkeypatch):
    import shutil

    import onnxnet.encode as enc

    p = tmp_path / "e"
    shutil.copytree(tiny_store, p)
    st = BenchStore(p)
    texts = st.encode("compact", progress=False)
    assert texts["id"].tolist() == ["nb201/0", "nb201/1", "nb201/7"] and (texts["n_chars"] > 100).all()

    def boom(*a, **k):
        raise AssertionError("cached texts must not be recomputed")

    monkeypatch.setattr(enc, "encode", boom)
    again = BenchStore(p).encode("compact", progress=False, ids=["nb201/1"])
    assert again["text"].tolist() == texts["text"].iloc[[1]].tolist()


def test_strip_keeps_constant_valued_weights(tmp_path):
    """All-zero weights can carry structure (onnxsim folds NB201's Mul-by-0 'none' edges into a Conv)."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    from bench_onnx_files import make_onnx
    from onnxnet.graph.weights import is_empty, materialize, strip

    m = onnx.load(str(make_onnx(tmp_path / "m.onnx", channels=8)))
    zero = numpy_helper.from_array(np.zeros((8, 3, 3, 3), np.float32), "w")
    m.graph.initializer[0].CopyFrom(zero)
    assert not is_empty(strip(m).graph.initializer[0])
    m2 = onnx.load(str(tmp_path / "m.onnx"))  # random weights: stripped, then runnable again via materialize
    s = strip(m2)
    assert is_empty(s.graph.initializer[0]) and len(s.SerializeToString()) < 400
    onnx.checker.check_model(materialize(s))
