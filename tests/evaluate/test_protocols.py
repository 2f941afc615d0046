"""Protocol splitting rules and small end-to-end runs on real (tiny) ONNX networks."""

import json

import numpy as np
import pandas as pd
import pytest

from onnxnet.errors import ProtocolError
from onnxnet.evaluate import protocols as P
from onnxnet.evaluate.report import write_report
from onnxnet.predictors.base import Predictor


class Spy(Predictor):
    """Records what it was trained on; scores by #params; fails (NaN) on ids listed in ``fail_ids``."""

    seen: list[pd.DataFrame] = []

    def __init__(self, fail_ids: tuple[str, ...] = (), seed: int = 0) -> None:
        self.fail_ids = fail_ids
        self.seed = seed

    def _fit(self, rows, y, spaces):
        Spy.seen.append(rows.copy())

    def predict(self, rows):
        out = rows["n_params"].to_numpy(dtype=float)
        bad = rows["id"].isin(self.fail_ids).to_numpy()
        out[bad] = np.nan
        self.failures_ = [{"id": i, "reason": "boom"} for i in rows["id"][bad]]
        return out


def test_in_space_never_straddles_and_tests_each_graph_once(tiny_rows):
    Spy.seen.clear()
    res = P.in_space(tiny_rows, Spy(), "toy_a", train_sizes=(4, 8), seeds=2)
    assert len(Spy.seen) == 4
    preds = res.predictions
    for (seed, setting), g in preds.groupby(["seed", "setting"]):
        train = Spy.seen[[(s, n) for s in (0, 1) for n in (4, 8)].index((seed, int(setting[2:])))]
        assert not set(train["graph_hash"]) & set(tiny_rows.set_index("id").loc[g["id"], "graph_hash"])
        assert g["id"].is_unique and len(train) == int(setting[2:])
        assert set(train["space"]) == {"toy_a"} and set(g["space"]) == {"toy_a"}
    # the duplicate graph (toy_a/0 and toy_a/dup) is tested at most once per split
    assert not ((preds["id"] == "toy_a/dup").any() and (preds["id"] == "toy_a/0").any())
    s = res.summary()
    assert list(s["setting"]) == ["n=4", "n=8"] and (s["seeds"] == 2).all()
    assert (s["n_scored"] == s["n_test"]).all() and (s["kendall_mean"] > 0.3).all()


def test_in_space_test_sample_is_one_fixed_subset_for_every_seed(tiny_rows):
    full = P.in_space(tiny_rows, Spy(), "toy_a", train_sizes=(4,), seeds=2).predictions
    res = P.in_space(tiny_rows, Spy(), "toy_a", train_sizes=(4,), seeds=2, test_sample=6)
    preds = res.predictions
    subset = set(tiny_rows.set_index("id").loc[preds["id"], "graph_hash"])
    assert len(subset) <= 6 and len(preds) < len(full)
    for seed, g in preds.groupby("seed"):  # a seed's test = the subset minus that seed's training graphs
        trained = set(Spy.seen[-2 + int(seed)]["graph_hash"])
        assert not set(tiny_rows.set_index("id").loc[g["id"], "graph_hash"]) & trained
    assert all("[test: random 6 of" in s for s in preds["setting"].unique())


def test_in_space_test_sample_is_not_the_first_seeds_training_draw(tiny_rows):
    # The subset used to come from the same random stream as seed 0's training graphs: a train size equal to the
    # sample size then left seed 0 nothing to test.
    n_unique = tiny_rows[tiny_rows.space == "toy_a"]["graph_hash"].nunique()
    k = n_unique // 2
    res = P.in_space(tiny_rows, Spy(), "toy_a", train_sizes=(k,), seeds=[0], test_sample=k)
    assert len(res.predictions) > 0


def test_bad_requests_raise_protocol_errors(tiny_rows):
    n_unique = tiny_rows[tiny_rows.space == "toy_a"]["graph_hash"].nunique()
    with pytest.raises(ProtocolError, match="leave nothing to test"):
        P.in_space(tiny_rows, "params", "toy_a", train_sizes=(n_unique,), seeds=1)
    with pytest.raises(ProtocolError, match="has no labelled networks"):
        P.in_space(tiny_rows, "params", "nb201", train_sizes=(4,), seeds=1)
    unlabelled = tiny_rows.assign(accuracy=np.where(tiny_rows.space == "toy_b", np.nan, tiny_rows.accuracy))
    with pytest.raises(ProtocolError, match="test space 'toy_b' has no labelled networks"):
        P.zero_shot(unlabelled, "params", "toy_a", "toy_b", seeds=1)
    with pytest.raises(ProtocolError, match="too large"):
        P.few_shot(tiny_rows, "params", "toy_a", "toy_b", shots=(1000,), seeds=1)


def test_training_and_validation_see_training_spaces_only(tiny_rows):
    Spy.seen.clear()
    P.zero_shot(tiny_rows, Spy(), "toy_a", "toy_b", seeds=2)
    P.leave_one_space_out(tiny_rows, Spy(), seeds=1)
    assert [set(r["space"]) for r in Spy.seen] == [{"toy_a"}, {"toy_a"}, {"toy_b"}, {"toy_a"}]
    Spy.seen.clear()
    res = P.few_shot(tiny_rows, Spy(), "toy_a", "toy_b", shots=(0, 4), seeds=1)
    k4 = Spy.seen[1]
    assert (k4["space"] == "toy_b").sum() == 4
    tested = res.predictions[res.predictions.setting == "k=4"]["id"]
    assert not set(k4["id"]) & set(tested)


def test_failed_rows_stop_the_run_or_are_counted_and_labelled_partial(tiny_rows, tmp_path):
    from onnxnet.errors import FeaturesMissingError

    bad = tuple(tiny_rows[tiny_rows.space == "toy_b"]["id"][:2])
    with pytest.raises(FeaturesMissingError, match=r"features missing for 2 of \d+ test .*first reason: boom"):
        P.zero_shot(tiny_rows, Spy(fail_ids=bad), "toy_a", "toy_b", seeds=1)
    res = P.zero_shot(tiny_rows, Spy(fail_ids=bad), "toy_a", "toy_b", seeds=1, allow_partial=True)
    row = res.scores.iloc[0]
    assert row["n_test"] - row["n_scored"] == 2 and row["n_missing"] == 2
    assert sorted(res.failures["id"]) == sorted(bad)
    assert res.summary()["predictor"].iloc[0] == f"Spy [partial: features missing 2/{row['n_test']} test, 0/{int(row['n_train'])} train]"
    out = write_report(res, tmp_path / "r", command="test")
    assert "n scored / test" in (out / "summary.md").read_text()
    assert len(pd.read_csv(out / "failures.csv")) == 2
    assert json.loads((out / "config.json").read_text())["command"] == "test"


def test_gbm_end_to_end_with_plots(tiny_rows, tmp_path):
    res = P.in_space(tiny_rows, "gbm", "toy_a", train_sizes=(12, 24), seeds=2,
                     params={"n_estimators": 60, "val_fraction": 0.25})
    assert res.scores["kendall"].notna().all() and (res.scores["n_scored"] == res.scores["n_test"]).all()
    assert res.summary()["kendall_mean"].iloc[-1] > 0.3
    all_res = P.all_spaces(tiny_rows, "params", seeds=1)
    assert set(all_res.scores["test_space"]) == {"toy_a", "toy_b"}
    out = write_report([res, all_res], tmp_path / "r")
    assert (out / "plots" / "sample_efficiency.png").stat().st_size > 1000
    assert any(p.name.startswith("scatter_gbm") for p in (out / "plots").iterdir())


def test_cross_task_pairs_use_disjoint_networks(tiny_rows):
    rows = tiny_rows.assign(**{"label:t1": tiny_rows.accuracy, "label:t2": -tiny_rows.accuracy})
    res = P.cross_task(rows, "params", "toy_a", ["label:t1", "label:t2"], n=6, seeds=1)
    s = res.scores.set_index("setting")["kendall"]
    assert s["label:t1 -> label:t1"] > 0.3 and s["label:t1 -> label:t2"] < -0.3


def test_fallback_labels_form_separate_groups(tiny_rows):
    rows = tiny_rows.copy()
    low = rows.index[rows.space == "toy_a"][::2]
    rows["label:low_fi"] = np.where(rows.index.isin(low), rows.accuracy / 100, np.nan)
    rows.loc[low, "accuracy"] = np.nan
    Spy.seen.clear()
    P.zero_shot(rows, Spy(), "toy_a", "toy_b", seeds=1, label=["accuracy", "label:low_fi"])
    fit_rows = Spy.seen[0]
    assert len(fit_rows) == (rows.space == "toy_a").sum()
    assert set(fit_rows["_group"]) == {"toy_a:toy", "toy_a:low_fi"}
    with pytest.raises(ProtocolError, match="lack column"):
        P.zero_shot(rows, "params", "toy_a", "toy_b", label="label:nope")


def test_gbm_uses_extra_store_columns_and_names_missing_ones(tiny_rows):
    from onnxnet.predictors import get_predictor

    rows = tiny_rows[tiny_rows.space == "toy_a"].assign(**{"label:hint": lambda r: -r.accuracy})
    gbm = get_predictor("gbm", n_estimators=30, val_fraction=0, extra_columns=["label:hint"])
    gbm.fit(rows, rows.accuracy)
    imp = dict(zip(gbm.model_.feature_name_, gbm.model_.feature_importances_))
    assert imp["col_label_hint"] > 0  # the published-value column is a feature the trees split on
    assert np.isfinite(gbm.predict(rows)).all()
    with pytest.raises(ProtocolError, match="label:nope"):
        P.in_space(rows, "gbm", "toy_a", train_sizes=(16,), seeds=1, params={"extra_columns": ["label:nope"]})


def test_gbm_rank_feature_norm_and_bad_value(tiny_rows):
    res = P.zero_shot(tiny_rows, "gbm", "toy_a", "toy_b", seeds=1, params={"feature_norm": "rank", "n_estimators": 30})
    assert res.scores["n_scored"].iloc[0] == res.scores["n_test"].iloc[0]
    with pytest.raises(ProtocolError, match="feature_norm"):
        P.zero_shot(tiny_rows, "gbm", "toy_a", "toy_b", seeds=1, params={"feature_norm": "zscore"})


def test_mixed_fidelity_test_space_is_scored_per_label_source(tiny_rows):
    rows = tiny_rows.copy()
    low = rows.index[rows.space == "toy_b"][::2]
    rows["label:low_fi"] = np.where(rows.index.isin(low), rows.accuracy / 100, np.nan)
    rows.loc[low, "accuracy"] = np.nan
    res = P.zero_shot(rows, "params", "toy_a", "toy_b", seeds=1, label=["accuracy", "label:low_fi"])
    assert sorted(res.scores["test_space"]) == ["toy_b:low_fi", "toy_b:toy"]
    assert res.scores["n_test"].sum() == rows[rows.space == "toy_b"]["graph_hash"].nunique()


def test_instances_are_cloned_per_seed_and_named_by_registry(tiny_rows):
    from onnxnet.predictors import get_predictor

    res = P.in_space(tiny_rows, get_predictor("gbm", n_estimators=20), "toy_a", train_sizes=(12,), seeds=2)
    assert res.predictor == "gbm" and res.scores["seed"].tolist() == [0, 1]

    class Crash(Spy):
        def predict(self, rows):
            raise RuntimeError("out of memory")

    with pytest.raises(ProtocolError, match="predict failed on .* RuntimeError: out of memory"):
        P.zero_shot(tiny_rows, Crash(), "toy_a", "toy_b", seeds=1)


def test_report_handles_missing_scores_and_few_shot_curves(tiny_rows, tmp_path):
    from onnxnet.evaluate.report import markdown_table

    res = P.few_shot(tiny_rows, "params", "toy_a", "toy_b", shots=(0, 2), seeds=1)
    out = write_report(res, tmp_path / "fs")
    assert (out / "plots" / "sample_efficiency.png").stat().st_size > 1000  # k = 0 on a symlog axis
    s = res.summary().assign(kendall_mean=np.nan)
    assert "| n/a |" in markdown_table(s)
    capped = P.all_spaces(tiny_rows, "params", seeds=1, max_train_per_space=3)
    assert (capped.scores["n_train"] == 6).all()


def test_predictor_score_leaves_failed_rows_out_and_never_ranks_across_spaces(tiny_rows):
    from onnxnet.evaluate.metrics import kendall_tau

    rows = tiny_rows[tiny_rows["space"] == "toy_a"].reset_index(drop=True)
    y = rows["n_params"].to_numpy(dtype=float) + np.arange(len(rows)) % 3
    spy = Spy(fail_ids=(rows["id"][0],))
    ok = np.arange(len(rows)) > 0
    assert spy.score(rows, y) == pytest.approx(kendall_tau(y[ok], rows["n_params"].to_numpy(dtype=float)[ok]))
    both = pd.concat([rows, rows.assign(space="toy_b", n_params=-rows["n_params"])], ignore_index=True)
    # toy_b is scored upside down: the mean of the two spaces, not one ranking across both
    per_space = spy.score(both, np.concatenate([y, y]), both["space"])
    assert per_space == pytest.approx((spy.score(rows, y) - spy.score(rows, y)) / 2, abs=1e-9)
    assert np.isnan(Spy(fail_ids=tuple(rows["id"])).score(rows, y))
