import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from onnxnet.predictors import get_predictor
from onnxnet.features.proxies import compute_proxies, proxy_names

NAMES = ["synflow", "nwot", "jacov", "grad_norm", "snip"]


def mlp_cnn(width: int) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                         nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(width, 10))


@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(16, 3, 8, 8, generator=g), torch.randint(0, 10, (16,), generator=g)


def test_all_proxies_registered_finite_and_leave_the_net_untouched(batch):
    assert set(NAMES) <= set(proxy_names())
    net = mlp_cnn(8)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    vals = compute_proxies(NAMES, net, *batch)
    assert all(math.isfinite(v) for v in vals.values()), vals
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert all(p.grad is None for p in net.parameters())


def test_wider_net_scores_higher_on_nwot_and_synflow(batch):
    small, wide = compute_proxies(NAMES, mlp_cnn(2), *batch), compute_proxies(NAMES, mlp_cnn(32), *batch)
    assert wide["nwot"] > small["nwot"]
    assert wide["synflow"] > small["synflow"]


def test_synflow_matches_closed_form_on_a_linear_net():
    # For y = W2 W1 x with |W|, x = 1: sum |w * dR/dw| = 2 * sum(|W2| |W1| 1) (each layer contributes R).
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 3, bias=False), nn.Linear(3, 2, bias=False))
    w1, w2 = net[0].weight.detach().abs().double(), net[1].weight.detach().abs().double()
    r = float((w2 @ w1 @ torch.ones(4, dtype=torch.float64)).sum())
    val = compute_proxies(["synflow"], net, torch.zeros(1, 4), torch.zeros(1, dtype=torch.long))["synflow"]
    assert val == pytest.approx(math.log(2 * r))


def test_proxy_predictor_on_real_nb201_rows_records_failures():
    import pandas as pd

    rows = pd.DataFrame({
        "id": ["a", "b", "c"], "space": ["nb201", "nb201", "nb201"],
        "arch": ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
                 "|none~0|+|none~0|none~1|+|none~0|none~1|avg_pool_3x3~2|", "not an arch"],
    })
    torch.set_num_threads(1)
    p = get_predictor("synflow", batch_size=8)
    s = p.fit(rows, [0, 0, 0]).predict(rows)
    assert s[0] > s[1] and np.isfinite(s[:2]).all() and np.isnan(s[2])
    assert [f["id"] for f in p.failures_] == ["c"] and "ArchitectureError" in p.failures_[0]["reason"]
