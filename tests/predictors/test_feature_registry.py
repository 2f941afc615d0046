"""The feature registry: every family is registered once, predictors declare what they read, frames compose."""

from __future__ import annotations

import pandas as pd
import pytest

from onnxnet.errors import ProtocolError
from onnxnet.features import FEATURES, compose, features_frame
from onnxnet.predictors import PREDICTORS, get_predictor

from predictor_nets import block_model


@pytest.fixture()
def rows():
    models = [block_model(True), block_model(False, zero_branch=True)]
    return pd.DataFrame({"id": ["a", "b"], "graph_hash": ["ga", "gb"], "space": ["s", "s"],
                         "onnx": [m.SerializeToString() for m in models]})


def test_families_are_registered_with_distinct_cache_tags():
    assert {"all", "facts", "topology", "wl", "proxies"} <= set(FEATURES.names())
    tags = [FEATURES.get(n).tag for n in FEATURES.names()]
    assert len(set(tags)) == len(tags)
    assert FEATURES.get("all").tag == "all-v2" and FEATURES.get("wl").tag == "wl-v1"  # disk caches still hit


def test_every_predictor_declares_registered_families():
    for name in PREDICTORS.names():
        fams = get_predictor(name).feature_families
        assert all(f in FEATURES for f in fams), (name, fams)
    assert get_predictor("gbm").feature_families == ("all",)
    assert get_predictor("pairwise", proxies=("nwot",), proxy_seeds=2).feature_families == \
        ("all", "proxies", "proxies-seed1")
    assert get_predictor("rank-linear", proxies=("meco_batch",)).feature_families == ("proxy-meco_batch",)


def test_compose_puts_families_side_by_side_without_repeating_a_column(rows, tmp_path):
    facts, _ = features_frame(rows, kind="facts")
    both, failures = compose(rows, ("facts", "all"), cache_dir=tmp_path)
    assert not failures and list(both.columns[:len(facts.columns)]) == list(facts.columns)
    assert both.columns.is_unique and len(both.columns) > len(facts.columns)
    assert list(tmp_path.glob("graph_features_all-v2.parquet"))  # the disk cache keeps its file names


def test_unknown_family_is_a_clear_error(rows):
    with pytest.raises(ProtocolError, match="unknown feature kind 'nope'; choose one of"):
        features_frame(rows, kind="nope")
