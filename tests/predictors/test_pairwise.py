"""The ``pairwise`` comparator: within-space pairs, batch-independent scores, saving, and clear errors."""

import json

import numpy as np
import pytest

from onnxnet.errors import ProtocolError, SurrogateError
from onnxnet.predictors import get_predictor, load_predictor
from predictor_nets import predict_in_fresh_process, write_store

SMALL = {"proxies": ("nwot",), "n_estimators": 60, "min_child_samples": 2, "num_leaves": 4}


def test_learns_from_pairs_within_each_space_and_ranks_real_onnx_nets(onnx_nets, tmp_path):
    y = onnx_nets["accuracy"].to_numpy()
    pw = get_predictor("pairwise", **SMALL, cache_dir=str(tmp_path)).fit(onnx_nets, y)
    # 6 networks per space, one tie in each (71 and 74 twice): 14 pairs per space, none across the two.
    assert pw.n_pairs_ == 28 and set(pw.references_) == {"s0", "s1"}
    scores = pw.predict(onnx_nets)
    assert np.isfinite(scores).all() and ((0 <= scores) & (scores <= 1)).all()
    assert pw.score(onnx_nets, y, onnx_nets["space"]) > 0.6
    # A network of a fitted space is compared with that space's training networks, whatever it is scored with.
    for i in (0, 7, 11):
        assert pw.predict(onnx_nets.iloc[[i]])[0] == pytest.approx(scores[i])
    # Networks of an unseen space play each other.
    unseen = onnx_nets.assign(space="new")
    assert pw.score(unseen, y) > 0.5


def test_margin_drops_near_ties_and_max_pairs_caps_them(onnx_nets, tmp_path):
    y = onnx_nets["accuracy"].to_numpy()
    few = get_predictor("pairwise", **SMALL, max_pairs=10, bags=2, cache_dir=str(tmp_path)).fit(onnx_nets, y)
    assert few.n_pairs_ == 20 and len(few.boosters_) == 2
    wide = get_predictor("pairwise", **SMALL, margin=0.6, cache_dir=str(tmp_path)).fit(onnx_nets, y)
    assert wide.n_pairs_ == 22  # differences of 2 (< 0.6 x the spread of ~3.9) are dropped too


def test_saved_comparator_reloads_in_a_fresh_process(onnx_nets, tmp_path):
    pw = get_predictor("pairwise", **SMALL, cache_dir=str(tmp_path / "cache"))
    before = pw.fit(onnx_nets, onnx_nets["accuracy"].to_numpy()).predict(onnx_nets)
    folder = pw.save(tmp_path / "pw")
    np.testing.assert_allclose(load_predictor(folder).predict(onnx_nets), before, rtol=1e-9)
    np.testing.assert_allclose(predict_in_fresh_process(folder, onnx_nets, tmp_path), before, rtol=1e-9)
    (folder / "pairwise_trees_0.txt").write_text("garbage")
    with pytest.raises(SurrogateError, match="not a readable saved predictor.*LightGBM"):
        load_predictor(folder)


def test_nothing_to_compare_is_a_clear_error(onnx_nets, tmp_path):
    one_per_space = onnx_nets.iloc[[0, 1]]
    with pytest.raises(ProtocolError, match="no training pair"):
        get_predictor("pairwise", **SMALL, cache_dir=str(tmp_path)).fit(one_per_space, [70.0, 71.0])
    same = onnx_nets.iloc[[0, 2]]
    with pytest.raises(ProtocolError, match="different accuracies"):
        get_predictor("pairwise", **SMALL, cache_dir=str(tmp_path)).fit(same, [70.0, 70.0])
    with pytest.raises(ProtocolError, match="fit"):
        get_predictor("pairwise").predict(onnx_nets)


def test_rank_normalised_comparator_keeps_its_references(onnx_nets, tmp_path):
    pw = get_predictor("pairwise", **SMALL, feature_norm="rank", cache_dir=str(tmp_path))
    before = pw.fit(onnx_nets, onnx_nets["accuracy"].to_numpy()).predict(onnx_nets)
    assert pw.predict(onnx_nets.iloc[[4]])[0] == pytest.approx(before[4])
    np.testing.assert_allclose(load_predictor(pw.save(tmp_path / "pw")).predict(onnx_nets), before, rtol=1e-9)
    with pytest.raises(ProtocolError, match="feature_norm must be 'none' or 'rank'"):
        get_predictor("pairwise", feature_norm="zscore", cache_dir=str(tmp_path)).fit(onnx_nets, [1.0] * 12)


def test_cli_fits_the_comparator_and_scores_files(onnx_nets, tmp_path, capsys):
    from onnxnet.cli.main import main

    store = write_store(onnx_nets, tmp_path / "store")
    rc = main(["fit", "--store", str(store.path), "--spaces", "s0,s1", "--out", str(tmp_path / "pw"),
               "--predictor", "pairwise", "--param", "proxies=('nwot',)", "--param", "min_child_samples=2",
               "--param", f"cache_dir='{tmp_path}'"])
    out = capsys.readouterr().out
    assert rc == 0 and "comparator: 28 within-space pairs" in out and "saved pairwise" in out
    files = onnx_nets["path"].iloc[[0, 11]].tolist()
    assert main(["predict", *files, "--predictor", str(tmp_path / "pw"), "--space", "s1", "--json"]) == 0
    preds = json.loads(capsys.readouterr().out)["predictions"]
    assert preds[0]["model"] == files[1]  # the widest, deepest net ranks first


def test_label_groups_split_pairs_but_references_follow_the_space(onnx_nets, tmp_path):
    # One space, two label kinds that must not be compared (e.g. NB101's 108- and 4-epoch labels).
    rows = onnx_nets.assign(space="s")
    groups = ["s:long" if i % 2 else "s:short" for i in range(len(rows))]
    pw = get_predictor("pairwise", **SMALL, cache_dir=str(tmp_path))
    pw.fit(rows, rows["accuracy"].to_numpy(), groups)
    assert pw.n_pairs_ == 28 and list(pw.references_) == ["s"] and len(pw.references_["s"]) == 12
    scores = pw.predict(rows)
    assert pw.predict(rows.iloc[[5]])[0] == pytest.approx(scores[5])  # compared with the space's references


def test_pair_positions_map_to_the_upper_triangle_without_listing_it():
    from onnxnet.predictors.pairwise import triu_pair

    for n in (2, 3, 17, 300):
        i, j = np.triu_indices(n, 1)
        got_i, got_j = triu_pair(np.arange(len(i)), n)
        assert (got_i == i).all() and (got_j == j).all()
    n = 200_000
    k = np.array([0, n * (n - 1) // 2 - 1, 12_345_678_901])
    i, j = triu_pair(k, n)
    assert (i < j).all() and (j < n).all() and (i * n - i * (i + 1) // 2 + j - i - 1 == k).all()


def test_a_large_space_is_sampled_not_enumerated():
    import pandas as pd

    from onnxnet.predictors.pairwise import PairwisePredictor

    class ColumnComparator(PairwisePredictor):  # features given as columns, not computed from ONNX
        def _features(self, rows, fit=False):
            self.feature_names_ = ["a", "b"]
            return rows[self.feature_names_].to_numpy(dtype=float), []

    rng = np.random.default_rng(0)
    n = 3_000  # 4.5 M pairs: positions are drawn, the triangle is never listed
    rows = pd.DataFrame({"id": range(n), "space": "s", "a": rng.normal(size=n), "b": rng.normal(size=n)})
    y = rows["a"].to_numpy() + 0.1 * rng.normal(size=n)
    pw = ColumnComparator(proxies=False, max_pairs=2_000, n_estimators=30).fit(rows, y)
    assert pw.n_pairs_ == 2_000 and len(pw.references_["s"]) == 128
    assert pw.score(rows, y) > 0.6


def test_size_only_features_compare_size_ratios(onnx_nets, tmp_path):
    y = onnx_nets["accuracy"].to_numpy()
    pw = get_predictor("pairwise", **SMALL, graph_features=False, log_size=True, cache_dir=str(tmp_path))
    pw.fit(onnx_nets, y)
    assert pw.feature_names_ == ["n_params", "flops", "zc_nwot"]
    raw = get_predictor("pairwise", **SMALL, cache_dir=str(tmp_path)).fit(onnx_nets, y)
    X, _ = pw._features(onnx_nets)
    R, _ = raw._features(onnx_nets)
    params = raw.feature_names_.index("n_params")
    np.testing.assert_allclose(X[:, 0], np.log1p(R[:, params]))  # a difference of logs is a ratio
    assert np.isfinite(pw.predict(onnx_nets)).all()


def test_soft_labels_follow_the_accuracy_gap_and_reload(onnx_nets, tmp_path):
    from onnxnet.predictors.pairwise import _soft_label

    np.testing.assert_allclose(_soft_label(np.array([0.0, 1.0, -1.0, 10.0]), 1.0),
                               [0.5, 0.8413, 0.1587, 1.0], atol=1e-4)
    assert (_soft_label(np.array([3.0]), 0.0) == 0.5).all()  # no spread: nothing to prefer
    y = onnx_nets["accuracy"].to_numpy()
    pw = get_predictor("pairwise", **SMALL, soft=0.3, cache_dir=str(tmp_path / "cache")).fit(onnx_nets, y)
    scores = pw.predict(onnx_nets)
    assert ((0 < scores) & (scores < 1)).all() and pw.score(onnx_nets, y, onnx_nets["space"]) > 0.6
    folder = pw.save(tmp_path / "soft")
    np.testing.assert_allclose(predict_in_fresh_process(folder, onnx_nets, tmp_path), scores, rtol=1e-9)
    with pytest.raises(ProtocolError, match="soft must be >= 0"):
        get_predictor("pairwise", **SMALL, soft=-1, cache_dir=str(tmp_path / "cache")).fit(onnx_nets, y)
