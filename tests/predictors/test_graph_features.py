import numpy as np
import pandas as pd
import pytest

from onnxnet.predictors import get_predictor
from onnxnet.features import features_frame, topology_features
from predictor_nets import block_model


def test_path_features_see_skip_connections():
    plain, res = topology_features(block_model(False)), topology_features(block_model(True))
    assert plain["path_all_log10_count"] == pytest.approx(0.0)
    assert res["path_all_log10_count"] == pytest.approx(np.log10(2))
    assert plain["path_conv_min"] == 2 and res["path_conv_min"] == 0 and res["path_conv_max"] == 2
    assert res["path_conv_frac_none"] == pytest.approx(0.5) and res["path_conv_mean"] == pytest.approx(1.0)
    assert res["count_conv3x3"] == 1 and res["count_conv1x1"] == 1 and res["n_merge_nodes"] == 1


def test_multiplication_by_zero_is_not_a_path():
    f = topology_features(block_model(True, zero_branch=True))
    assert f["count_zero"] == 1 and f["path_all_log10_count"] == pytest.approx(np.log10(2))


def test_features_frame_records_bad_rows_and_caches(tmp_path):
    rows = pd.DataFrame({"id": ["ok", "bad"], "graph_hash": ["h1", "h2"],
                         "onnx": [block_model(True).SerializeToString(), b"not onnx"]})
    frame, failures = features_frame(rows, kind="topology", cache_dir=tmp_path)
    assert frame.loc[0].notna().all() and frame.loc[1].isna().all()
    assert [f["id"] for f in failures] == ["bad"]
    assert list(tmp_path.glob("graph_features_topology-v*.parquet"))
    again, _ = features_frame(rows.iloc[:1], kind="topology", cache_dir=tmp_path)
    assert again.loc[0].equals(frame.loc[0])


def test_static_predictors_use_graph_facts():
    import torch.nn as nn

    from onnxnet.graph import graph_facts, load_model

    small = load_model(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten()), (1, 3, 8, 8))
    big = load_model(nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Conv2d(16, 16, 3), nn.Flatten()), (1, 3, 8, 8))
    rows = pd.DataFrame({"id": ["s", "b"], "space": ["x", "x"],
                         "onnx": [small.SerializeToString(), big.SerializeToString()]})
    for name, attr in (("params", "n_params"), ("flops", "flops"), ("depth", "depth"), ("width", "width")):
        got = get_predictor(name).fit(rows, [1, 2]).predict(rows)
        assert list(got) == [getattr(graph_facts(small), attr), getattr(graph_facts(big), attr)]
    assert get_predictor("params").predict(rows.assign(n_params=[7, 5])).tolist() == [7, 5]  # store column wins


def test_parallel_features_equal_serial_ones_and_small_jobs_stay_in_process(monkeypatch):
    import onnxnet.features.engine as gf

    models = [block_model(i % 2 == 0, zero_branch=i % 3 == 0) for i in range(gf._MIN_PARALLEL)]
    rows = pd.DataFrame({"id": [f"n{i}" for i in range(len(models))], "graph_hash": [f"p{i}" for i in range(len(models))],
                         "onnx": [m.SerializeToString() for m in models]})
    parallel, _ = features_frame(rows, kind="topology", jobs=2)
    gf.clear_memory_cache()
    serial, _ = features_frame(rows, kind="topology")
    pd.testing.assert_frame_equal(parallel, serial)

    gf.clear_memory_cache()
    import concurrent.futures

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor",
                        lambda *a, **k: pytest.fail("a pool was spawned for a few graphs"))
    few, _ = features_frame(rows.iloc[:3], kind="topology", jobs=2)
    pd.testing.assert_frame_equal(few, serial.iloc[:3])
