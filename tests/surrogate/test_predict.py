"""Inference on every accepted input form, the Predictor contract, and the train/predict CLI, on small real
ONNX graphs exported from torch (labels are synthetic: mechanics only, no quality claims)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from surrogate_tiny import TINY
from onnxnet.errors import ModelLoadError
from onnxnet.predictors import load_predictor


def _net(c: int, k: int, depth: int):
    import torch.nn as nn

    layers, cin = [], 3
    for _ in range(depth):
        layers += [nn.Conv2d(cin, c, k, padding=k // 2), nn.ReLU()]
        cin = c
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 10))


@pytest.fixture(scope="module")
def nets(tmp_path_factory):
    """16 small CNNs as canonical ONNX (files and store rows) in two spaces, label = f(depth, width)."""
    import onnx
    import torch

    from onnxnet.graph import graph_hash, load_model

    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("nets")
    rows, modules = [], []
    for i, (c, k, depth) in enumerate((c, k, dep) for c in (4, 8) for k in (1, 3) for dep in (1, 2, 3, 4)):
        mod = _net(c, k, depth).eval()
        model = load_model(mod, (1, 3, 8, 8))
        path = d / f"net{i}.onnx"
        onnx.save(model, str(path))
        modules.append(mod)
        rows.append({"id": f"toy{i % 2}/{i}", "space": f"toy{i % 2}", "arch": f"c{c}k{k}d{depth}",
                     "graph_hash": graph_hash(model), "onnx": model.SerializeToString(), "path": str(path),
                     "split": "val" if i in (4, 5, 10, 11) else ("test" if i in (6, 7) else "train"),
                     "accuracy": 50.0 + 5 * depth + c / 4 + k})
    return pd.DataFrame(rows), modules


@pytest.fixture(scope="module")
def fitted(nets):
    from onnxnet.predictors import get_predictor

    df, _ = nets
    p = get_predictor("surrogate", backbone_overrides=dict(TINY), epochs=2, batch_size=4, vocab_size=400,
                      max_length=256, val_fraction=0.0, seed=0)
    return p.fit(df, df["accuracy"].to_numpy(), df["space"].tolist())


def test_predictor_contract(fitted, nets):
    df, _ = nets
    pred = fitted.predict(df)
    assert pred.shape == (len(df),) and np.all(np.isfinite(pred))
    tau = fitted.score(df, df["accuracy"], df["space"])
    assert -1.0 <= tau <= 1.0
    assert fitted.get_params()["backbone"] == "modernbert-tiny"


def test_every_input_form_gives_the_same_score(fitted, nets):
    import onnx

    from onnxnet.graph import load_model

    df, modules = nets
    s = fitted.surrogate_
    by_row = s.predict(df.iloc[[0, 3]])
    by_path = s.predict([df["path"].iloc[0], df["path"].iloc[3]])
    by_proto = s.predict([onnx.load(df["path"].iloc[0]), load_model(df["path"].iloc[3])])
    by_bytes = s.predict([df["onnx"].iloc[0], df["onnx"].iloc[3]])
    by_module = s.predict([modules[0], modules[3]], input_shape=(1, 3, 8, 8))
    for other in (by_path, by_proto, by_bytes, by_module):
        np.testing.assert_allclose(other, by_row, rtol=0, atol=1e-6)
    single = s.predict(df["path"].iloc[0])
    assert single.shape == (1,) and single[0] == pytest.approx(by_row[0], abs=1e-6)


def test_encoding_cache_is_used(fitted, nets):
    df, _ = nets
    s = fitted.surrogate_
    s.cache.clear()
    s.predict(df)
    assert s.cache.misses == len(df) and s.cache.hits == 0
    s.predict(df)
    assert s.cache.hits == len(df)


def test_torch_module_needs_an_input_shape(fitted, nets):
    _, modules = nets
    with pytest.raises(ModelLoadError, match="input_shape"):
        fitted.surrogate_.predict(modules[0])
    with pytest.raises(ModelLoadError, match="no such ONNX file"):
        fitted.surrogate_.predict("missing.onnx")


def test_hybrid_predictor_runs_the_contract(nets):
    from onnxnet.predictors import get_predictor

    df, _ = nets
    p = get_predictor("onnxnet-hybrid", lm="modernbert-tiny", lm_backbone_overrides=dict(TINY), lm_epochs=1,
                      lm_max_length=256, n_trees=2, val_fraction=0.0, lm_weight=0.5)
    p.fit(df, df["accuracy"].to_numpy(), df["space"].tolist())
    pred = p.predict(df)
    assert pred.shape == (len(df),) and np.all(np.isfinite(pred))
    trees_only = get_predictor("onnxnet-hybrid", lm=None, n_trees=2, val_fraction=0.0)
    trees_only.fit(df, df["accuracy"].to_numpy(), df["space"].tolist())
    assert np.all(np.isfinite(trees_only.predict(df)))


def test_hybrid_saves_and_reloads_identically(nets, tmp_path):
    from onnxnet.errors import SurrogateError
    from onnxnet.predictors.hybrid import HybridPredictor

    df, _ = nets
    p = HybridPredictor(lm="modernbert-tiny", lm_backbone_overrides=dict(TINY), lm_epochs=1, lm_max_length=256,
                        lm_features=2, n_trees=2, val_fraction=0.0, lm_weight=0.5, proxies=("nwot", "synflow"),
                        feature_norm="rank", cache_dir=str(tmp_path / "cache"))
    p.fit(df, df["accuracy"].to_numpy(), df["space"].tolist())
    assert {"zc_nwot", "zc_synflow"} <= set(p.feature_names_)
    p.save(tmp_path / "hybrid")
    again = load_predictor(tmp_path / "hybrid")
    np.testing.assert_allclose(again.predict(df), p.predict(df), rtol=1e-6)
    # Rank-normalised features are placed among the training networks: one row scores as it does in the batch.
    np.testing.assert_allclose(again.predict(df.iloc[[3]]), p.predict(df)[[3]], rtol=1e-6)
    (tmp_path / "hybrid" / "trees_1.txt").write_text("garbage")
    with pytest.raises(SurrogateError, match="not a readable saved predictor.*tree member"):
        load_predictor(tmp_path / "hybrid")


def test_cli_train_then_predict(nets, tmp_path, capsys):
    from onnxnet.bench.store import BenchStore
    from onnxnet.cli.main import main

    df, _ = nets
    store = BenchStore.create(tmp_path / "store")
    for space, part in df.drop(columns=["path"]).groupby("space"):
        store.write_part(f"{space}-0", part)  # part files are named after their space
    out = tmp_path / "surrogate"
    rc = main(["train", "--store", str(store.path), "--spaces", "toy0,toy1", "--out", str(out), "--epochs", "1",
               "--batch-size", "4", "--vocab-size", "400", "--max-length", "256"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "val" in text and "test" in text and (out / "surrogate.json").is_file()
    card = (out / "README.md").read_text()
    assert "toy0" in card and "Best epoch" in card
    rc = main(["predict", df["path"].iloc[0], df["path"].iloc[7], "--predictor", str(out), "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    preds = res["predictions"]
    assert [p["rank"] for p in preds] == [1, 2] and preds[0]["score"] >= preds[1]["score"]
    assert {p["model"] for p in preds} == {df["path"].iloc[0], df["path"].iloc[7]}
    # ONNX-Bench files carry their accuracy in the metadata: shown beside the score, with the rank correlation
    import onnx

    files = []
    for i in (0, 3, 7):
        m = onnx.load(df["path"].iloc[i])
        m.metadata_props.add(key="accuracy", value=repr(float(df["accuracy"].iloc[i])))
        files.append(str(tmp_path / f"bench{i}.onnx"))
        onnx.save(m, files[-1])
    assert main(["predict", *files, "--predictor", str(out), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["rank_correlation"]["n"] == 3
    assert sorted(p["known_accuracy"] for p in res["predictions"]) == sorted(df["accuracy"].iloc[[0, 3, 7]])
    # unknown space and bad folder: one-line errors, exit code 2
    assert main(["train", "--store", str(store.path), "--spaces", "nb999", "--out", str(tmp_path / "x")]) == 2
    assert main(["predict", df["path"].iloc[0], "--predictor", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "nb999" in err and "onnxnet train" in err
    # the folder `onnxnet train` wrote is a predictor like any other: rows from the input adapter score as files do
    from onnxnet.inputs import as_rows
    from onnxnet.predictors.surrogate import SurrogatePredictor
    from onnxnet.surrogate.surrogate import Surrogate

    loaded = load_predictor(out, device="cpu")
    assert isinstance(loaded, SurrogatePredictor) and loaded.fit_spaces_ == ["toy0", "toy1"]
    paths = [df["path"].iloc[i] for i in (0, 3, 7)]
    np.testing.assert_allclose(loaded.predict(as_rows(paths)), Surrogate.from_pretrained(out).predict(paths),
                               rtol=1e-5)


def test_weight_free_store_row_reads_like_its_file(tmp_path):
    """Stores keep weight-free graphs; their text must equal the text of the same network's ONNX file (what
    ``onnxnet bench export`` writes and ``onnxnet predict`` reads), or training and prediction inputs differ."""
    import onnx

    from onnxnet.bench.build import canonical_onnx
    from onnxnet.graph.weights import is_weight_free, materialize
    from onnxnet.spaces import get_space
    from onnxnet.surrogate.inputs import encode_items

    space = get_space("nb201")
    arch = space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|")
    stored = canonical_onnx(space, arch)  # exactly what a store row holds
    assert is_weight_free(stored)
    path = tmp_path / "net.onnx"
    onnx.save(materialize(stored), str(path))
    assert encode_items([{"onnx": stored.SerializeToString()}], "compact") == encode_items([path], "compact")


def test_cli_fit_hybrid_then_predict_files(nets, tmp_path, capsys):
    from onnxnet.bench.store import BenchStore
    from onnxnet.cli.main import main

    df, _ = nets
    store = BenchStore.create(tmp_path / "store")
    for space, part in df.drop(columns=["path"]).groupby("space"):
        store.write_part(f"{space}-0", part)
    out = tmp_path / "hybrid"
    rc = main(["fit", "--store", str(store.path), "--spaces", "toy0,toy1", "--out", str(out),
               "--predictor", "onnxnet-hybrid", "--param", "lm=None",
               "--param", "n_trees=2", "--param", "val_fraction=0.0", "--param", f"cache_dir='{tmp_path}'"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "test split toy" in text and (out / "predictor.json").is_file()
    rc = main(["predict", df["path"].iloc[0], df["path"].iloc[3], "--predictor", str(out), "--json"])
    assert rc == 0
    preds = json.loads(capsys.readouterr().out)["predictions"]
    assert {p["model"] for p in preds} == {df["path"].iloc[0], df["path"].iloc[3]}
    assert main(["fit", "--store", str(store.path), "--spaces", "toy0", "--out", str(out), "--predictor",
                 "gbm"]) == 2
    assert "cannot be saved" in capsys.readouterr().err


def test_hybrid_module_imports_first_in_a_fresh_process():
    import subprocess
    import sys

    code = "from onnxnet.predictors.hybrid import HybridPredictor; from onnxnet.predictors import get_predictor; " \
           "assert type(get_predictor('onnxnet-hybrid')) is HybridPredictor"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).returncode == 0


def test_hybrid_auto_proxies_decides_on_validation_and_persists(nets, tmp_path):
    from onnxnet.predictors.hybrid import HybridPredictor

    df, _ = nets
    p = HybridPredictor(lm=None, n_trees=2, val_fraction=0.5, proxies="auto", cache_dir=str(tmp_path / "c"))
    p.fit(df, df["accuracy"].to_numpy(), df["space"].tolist())
    assert {"trees_proxies_False", "trees_proxies_True"} <= set(p.val_scores_)
    assert (any(c.startswith("zc_") for c in p.feature_names_)) == bool(p.proxies_)
    p.save(tmp_path / "h")
    again = load_predictor(tmp_path / "h")
    assert again.proxies_ == p.proxies_
    np.testing.assert_allclose(again.predict(df), p.predict(df), rtol=1e-6)
