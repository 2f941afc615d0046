"""The request time limit, for real: a server with a small ``--timeout-s`` answers a request whose scoring takes
longer with 504 and a JSON detail, stays healthy, finishes the scoring in the background, and answers the retry
from the cache."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import torch.nn as nn

#: Far below what scoring the slow network takes (its proxies: ~150 GFLOP of forward pass on 64 images, seconds
#: on any CPU), far above what a cache hit takes (a file digest and a dict look-up).
TIMEOUT_S = 0.5


def _slow_file(folder: Path) -> Path:
    """A CNN on 64 x 64 inputs (width 128, depth 5), exported as a user would: scoring it takes seconds."""
    import onnx

    from onnxnet.graph import export_torch

    layers: list[nn.Module] = [nn.Conv2d(3, 128, 3, padding=1), nn.ReLU()]
    for _ in range(4):
        layers += [nn.Conv2d(128, 128, 3, padding=1), nn.BatchNorm2d(128), nn.ReLU()]
    net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10)).eval()
    path = folder / "slow.onnx"
    onnx.save(export_torch(net, (1, 3, 64, 64)), str(path))
    return path


def test_a_slow_request_gets_504_and_its_retry_hits_the_cache(predictor_dir, tmp_path):
    from onnxnet.serve.launch import ServerProcess

    slow = _slow_file(tmp_path)
    body = {"files": (slow.name, slow.read_bytes(), "application/octet-stream")}
    with ServerProcess(predictor_dir, tmp_path, "--workers", "1", "--timeout-s", str(TIMEOUT_S),
                       "--cache-dir", str(tmp_path / "cache")) as server:
        r = httpx.post(server.url + "/predict", files=body, timeout=120)
        assert r.status_code == 504, r.text
        detail = r.json()["detail"]
        assert f"limit of {TIMEOUT_S:g} s" in detail and "retry later" in detail and "--timeout-s" in detail
        assert httpx.get(server.url + "/health", timeout=30).status_code == 200
        end = time.time() + 300  # the background scoring holds the worker's one scoring slot until it finishes
        while True:
            again = httpx.post(server.url + "/predict", files=body, timeout=120)
            if again.status_code != 504 or time.time() > end:
                break
            time.sleep(0.5)
        assert again.status_code == 200, again.text
        if again.json()["results"][0]["cache"] is None:  # scored by this request (the first one's never started)
            again = httpx.post(server.url + "/predict", files=body, timeout=120)
        result = again.json()["results"][0]
        assert result["cache"] == "file" and result["file"] == "slow.onnx" and result["score"] is not None
        assert httpx.get(server.url + "/health", timeout=30).json()["status"] == "ok"
