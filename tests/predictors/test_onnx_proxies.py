"""Forward-only proxies (nwot, meco, swap) and proxies computed from ONNX graphs."""

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn

from onnxnet.graph import export_torch, graph_hash, load_model
from onnxnet.predictors import get_predictor
from onnxnet.features import features_frame
from onnxnet.features.onnx_proxies import PROXY_SET, onnx_proxy_features
from onnxnet.features.proxies import compute_proxies
from onnxnet.features.proxies._relu import RELU_STATISTICS, relu_scores
from onnxnet.features.proxies.swap import Swap


def cnn(width: int, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                         nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10))


def test_swap_counts_distinct_unit_patterns():
    s = Swap(3)
    # 4 units over 3 images: patterns (1,0,1), (1,0,1), (0,0,0), (0,1,1) -> 3 distinct.
    s.observe(torch.tensor([[1.0, 1.0, -1.0, 0.0], [-2.0, 0.0, 0.0, 3.0], [5.0, 2.0, -1.0, 1.0]]))
    assert s.score() == 3.0
    s.observe(torch.tensor([[1.0], [0.0], [1.0]]))  # a repeat in another layer adds nothing
    assert s.score() == 3.0


def test_nwot_kernel_matches_the_definition():
    x = torch.randn(6, 5)
    stat = RELU_STATISTICS["nwot"](6)
    stat.observe(torch.relu(x))
    b = (x > 0).double()
    K = b @ b.t() + (1 - b) @ (1 - b).t()
    assert stat.score() == pytest.approx(float(np.linalg.slogdet(K.numpy())[1]))


def test_shared_forward_equals_separate_proxies():
    net, x = cnn(8), torch.randn(16, 3, 8, 8)
    y = torch.randint(0, 10, (16,))
    together = relu_scores(net.train(), x, {n: RELU_STATISTICS[n](16) for n in ("nwot", "meco", "swap")})
    apart = compute_proxies(["nwot", "meco", "swap"], net, x, y)
    assert together == pytest.approx(apart)
    assert all(math.isfinite(v) for v in together.values())


@pytest.fixture(scope="module")
def onnx_rows():
    models = [load_model(export_torch(cnn(w, seed=w).eval(), (1, 3, 32, 32))) for w in (2, 16)]
    return pd.DataFrame({"id": ["small", "wide"], "space": ["toy", "toy"], "graph_hash": [graph_hash(m) for m in models],
                         "onnx": [m.SerializeToString() for m in models], "n_params": [1, 2], "flops": [1, 2]})


def test_onnx_proxies_on_real_cifar_images(onnx_rows):
    small, wide = (onnx_proxy_features(b) for b in onnx_rows["onnx"])
    assert set(small) == {f"zc_{n}" for n in PROXY_SET} | {"proxy_input_px"}
    assert all(math.isfinite(v) for v in (*small.values(), *wide.values()))
    assert wide["zc_nwot"] > small["zc_nwot"] and wide["zc_synflow"] > small["zc_synflow"]


def test_proxy_cache_resumes_and_bad_rows_are_reported(onnx_rows, tmp_path, monkeypatch):
    bad = pd.DataFrame({"id": ["broken"], "space": ["toy"], "graph_hash": ["x"], "onnx": [b"not onnx"],
                        "n_params": [1], "flops": [1]})
    rows = pd.concat([onnx_rows, bad], ignore_index=True)
    frame, failures = features_frame(rows, kind="proxies", cache_dir=tmp_path)
    assert frame.iloc[:2].notna().all().all() and frame.iloc[2].isna().all()
    assert [f["id"] for f in failures] == ["broken"]
    assert list(tmp_path.glob("graph_features_proxies-*.parquet"))

    import onnxnet.features.engine as gf

    gf.clear_memory_cache()
    monkeypatch.setattr(gf, "_compute_chunk", lambda *a: pytest.fail("cached graphs were recomputed"))
    again, _ = features_frame(onnx_rows, kind="proxies", cache_dir=tmp_path)
    pd.testing.assert_frame_equal(again, frame.iloc[:2])


def test_proxy_vote_ranks_within_space(onnx_rows, tmp_path):
    pred = get_predictor("proxy-vote", cache_dir=str(tmp_path)).fit(onnx_rows, [0.0, 1.0], ["toy", "toy"])
    scores = pred.predict(onnx_rows)
    assert scores[1] > scores[0]
    single = get_predictor("onnx-nwot", cache_dir=str(tmp_path)).predict(onnx_rows)
    assert single[1] > single[0]


def test_rank_linear_learns_the_sign_of_a_proxy_and_ignores_space_scale(onnx_rows, tmp_path):
    import onnx

    # Two spaces of the same two networks, one with 10x the parameter counts: per-space quantiles line them up.
    a = onnx_rows.assign(space="a")
    b = onnx_rows.assign(space="b", id=["b-small", "b-wide"], n_params=[10, 20], flops=[10, 20])
    rows = pd.concat([a, b], ignore_index=True)
    pred = get_predictor("rank-linear", cache_dir=str(tmp_path), proxies=("nwot",))
    pred.fit(rows, np.array([1.0, 2.0, 1.0, 2.0]), ["a", "a", "b", "b"])
    scores = pred.predict(rows)
    assert scores[1] > scores[0] and scores[3] > scores[2]
    assert scores[1] == pytest.approx(scores[3]) and set(pred.coef_) == {"zc_nwot", "n_params", "flops"}
    assert pred.predict(rows.iloc[[3]])[0] == pytest.approx(scores[3])  # alone or in a batch: the same score
    assert onnx.load_from_string(rows["onnx"][0]).graph.node  # rows are real ONNX graphs


def test_proxies_follow_the_declared_input_size():
    from onnxnet.graph.torch_exec import UnsupportedOpError
    from onnxnet.features.onnx_proxies import proxy_input_size

    big = load_model(export_torch(cnn(4).eval(), (1, 3, 224, 160)))
    assert proxy_input_size(big) == (64, 46) and proxy_input_size(big, max_side=512) == (224, 160)
    assert all(math.isfinite(v) for v in onnx_proxy_features(big, ("nwot", "meco")).values())
    gray = load_model(export_torch(nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU()).eval(), (1, 1, 16, 16)))
    with pytest.raises(UnsupportedOpError, match=r"3-channel image input.*\[1, 1, 16, 16\]"):
        onnx_proxy_features(gray)


def test_proxy_seeds_average_independent_draws_each_cached(onnx_rows, tmp_path):
    from onnxnet.errors import ProtocolError
    from onnxnet.features.onnx_proxies import proxy_frame

    one, _ = proxy_frame(onnx_rows, cache_dir=tmp_path)
    draw1, _ = features_frame(onnx_rows, kind="proxies-seed1", cache_dir=tmp_path)
    assert not np.allclose(one.to_numpy(), draw1.reindex(columns=one.columns).to_numpy())  # another batch and init
    two, failures = proxy_frame(onnx_rows, cache_dir=tmp_path, seeds=2)
    assert not failures
    np.testing.assert_allclose(two.to_numpy(), (one.to_numpy() + draw1.reindex(columns=one.columns).to_numpy()) / 2)
    assert list(tmp_path.glob("graph_features_proxies-v*-seed1.parquet"))  # each draw has its own cache file
    with pytest.raises(ProtocolError, match="proxy seeds must be"):
        proxy_frame(onnx_rows, cache_dir=tmp_path, seeds=0)
    vote = get_predictor("onnx-nwot", cache_dir=str(tmp_path), proxy_seeds=2).predict(onnx_rows)
    assert vote[1] > vote[0]


def test_meco_batch_counts_layers_with_more_channels_than_positions():
    from onnxnet.features.proxies.meco import Meco
    from onnxnet.features.proxies.meco_batch import MecoBatch

    torch.manual_seed(0)
    narrow = torch.relu(torch.randn(16, 32, 2, 2))  # 32 channels, 4 positions per image
    one, batch = Meco(16), MecoBatch(16)
    one.observe(narrow)
    batch.observe(narrow)
    assert abs(one.score()) < 1e-6  # one image's 4 positions cannot span 32 channels: MeCo's eigenvalue is 0
    assert batch.score() > 0.05  # 16 images x 4 positions can
    redundant = narrow.clone()
    redundant[:, 1] = narrow[:, 0]  # two identical channels: correlation 1, smallest eigenvalue 0
    worse = MecoBatch(16)
    worse.observe(redundant)
    assert worse.score() < 1e-6


def test_extra_proxies_have_their_own_cache_and_predictor(onnx_rows, tmp_path):
    from onnxnet.errors import ProtocolError
    from onnxnet.features.onnx_proxies import proxy_frame

    frame, failures = proxy_frame(onnx_rows, ("nwot", "meco_batch"), cache_dir=tmp_path)
    assert list(frame.columns) == ["zc_nwot", "zc_meco_batch"] and not failures
    assert frame.notna().all().all() and list(tmp_path.glob("graph_features_proxy-meco_batch-*.parquet"))
    with pytest.raises(ProtocolError, match="one draw"):
        proxy_frame(onnx_rows, ("meco_batch",), cache_dir=tmp_path, seeds=2)
    with pytest.raises(ProtocolError, match="choose from"):
        proxy_frame(onnx_rows, ("nope",), cache_dir=tmp_path)
    scores = get_predictor("onnx-meco_batch", cache_dir=str(tmp_path)).predict(onnx_rows)
    assert np.isfinite(scores).all() and scores[0] != scores[1]


class PatchNet(nn.Module):
    """A conv stem, then a Swin-style token reshape fixed at export: [N, C, H, W] -> [N, HW, C] -> [N, H, W, C]."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 4, stride=4)
        self.head = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.stem(x))
        n, c, h, w = y.shape
        y = y.flatten(2).transpose(1, 2).reshape(n, h, w, c)
        return self.head(y.mean(dim=(1, 2)))


def test_proxies_fall_back_to_the_native_size_when_fixed_shapes_break(shared_data, monkeypatch):
    from onnxnet.features.onnx_proxies import describe_signals, onnx_signals

    model = load_model(export_torch(PatchNet().eval(), (1, 3, 96, 96)))
    signals = onnx_signals(model, ("nwot", "synflow"), batch_size=8)
    assert all(math.isfinite(v) for v in signals.values.values())
    assert "at 96x96 px (the model's own size" in signals.note and "64x64" in signals.note
    assert describe_signals(model, signals.values, batch_size=8) == signals.note
    # a row's canonical bytes (as ``predict`` has them) are parsed as they are, not loaded again
    monkeypatch.setattr("onnxnet.features.onnx_proxies.load_model", None)
    assert describe_signals(model.SerializeToString(), signals.values, batch_size=8) == signals.note


def test_token_models_get_image_free_signals_and_say_which():
    from onnxnet.features.onnx_proxies import describe_signals, onnx_signals, token_input

    sys.path.insert(0, str(Path(__file__).parents[1] / "graph"))
    from graph_models import token_model

    _, model = token_model()
    assert token_input(model) == (12, 50)
    signals = onnx_signals(model)
    assert math.isfinite(signals.values["zc_synflow"])
    assert all(math.isnan(signals.values[f"zc_{n}"]) for n in ("nwot", "meco", "swap"))
    assert signals.note.startswith("proxies synflow on token ids (N, 12)")
    assert "nwot, meco, swap not computed" in signals.note
    assert describe_signals(model, signals.values) == signals.note  # the note again from cached values


def test_relu_free_image_graph_names_the_proxies_it_has_no_value_for():
    from onnxnet.features.onnx_proxies import onnx_signals

    model = load_model(export_torch(nn.Sequential(nn.Conv2d(3, 4, 3), nn.GELU(), nn.Flatten(),
                                                  nn.Linear(4 * 14 * 14, 10)).eval(), (1, 3, 16, 16)))
    signals = onnx_signals(model, batch_size=8)
    assert math.isnan(signals.values["zc_nwot"]) and math.isfinite(signals.values["zc_synflow"])
    assert "nwot, meco, swap not computed (the graph has no ReLU)" in signals.note
