"""The HTTP service, tested for real: ``onnxnet serve`` in a subprocess, called with httpx over loopback."""

from __future__ import annotations

import concurrent.futures as cf
from pathlib import Path

import httpx
import numpy as np
import pytest


def _post(server, paths, **data) -> httpx.Response:
    files = [("files", (Path(p).name, Path(p).read_bytes(), "application/octet-stream")) for p in paths]
    return httpx.post(server.url + "/predict?text=true", files=files, data=data, timeout=240)


def test_health_predictor_page_and_schema(server):
    h = httpx.get(server.url + "/health").json()
    assert h["status"] == "ok"
    info = httpx.get(server.url + "/predictor").json()
    assert info["kind"] == "pairwise" and info["spaces"] == ["toy"] and info["training_size"] == {"toy": 12}
    assert len(info["reference_scores"]["toy"]) == 12 and info["quality"]["test"]["toy"]["kendall"] == 1.0
    assert info["limits"]["max_upload_mb"] == 2
    page = httpx.get(server.url + "/")
    assert page.status_code == 200 and "Drop .onnx files" in page.text
    assert "http://" not in page.text.replace("http://www.w3.org/2000/svg", "")  # no CDN: works offline
    schema = httpx.get(server.url + "/openapi.json").json()
    assert {"/predict", "/encode", "/health", "/predictor"} <= set(schema["paths"])


def test_predict_scores_ranks_and_caches(server, nets, predictor_dir):
    from onnxnet.predictors import load_predictor
    from onnxnet.inputs import as_rows

    paths = list(nets["path"].iloc[[1, 12]])
    r = _post(server, paths)
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert [x["file"] for x in res] == ["net1.onnx", "net12.onnx"]
    # the same scores as the predictor gives in-process (CLI path: files -> rows)
    expected = load_predictor(predictor_dir).predict(as_rows(paths, space="toy"))
    np.testing.assert_allclose([x["score"] for x in res], expected, rtol=1e-9)
    for x in res:
        assert x["space"] == "toy" and x["of"] == 12 and 1 <= x["rank"] <= 13
        assert x["facts"]["n_params"] > 0 and x["encoding_chars"] == len(x["text"]) > 0
        assert len(x["graph_hash"]) == 64
    ref = sorted(httpx.get(server.url + "/predictor").json()["reference_scores"]["toy"])
    assert res[0]["rank"] == 1 + sum(v > res[0]["score"] for v in ref)
    # the same file again: served from the cache (bytes), with the same answer
    again = _post(server, paths[:1]).json()["results"][0]
    assert again["cache"] in ("file", "graph") and again["score"] == res[0]["score"]


def test_same_graph_other_bytes_hits_the_graph_cache(server, nets, tmp_path):
    import onnx

    m = onnx.load(nets["path"].iloc[5])
    m.producer_name = "someone-else"  # other bytes, same graph
    p = tmp_path / "renamed.onnx"
    onnx.save(m, str(p))
    first = _post(server, [nets["path"].iloc[5]]).json()["results"][0]
    second = _post(server, [p]).json()["results"][0]
    assert second["graph_hash"] == first["graph_hash"] and second["cache"] in ("graph", "file")
    assert second["score"] == first["score"]


def test_encode_with_a_choice_of_encoding(server, nets):
    from onnxnet.encode import encode
    from onnxnet.graph import load_model

    p = Path(nets["path"].iloc[3])
    for enc in ("compact", "chain"):
        r = httpx.post(server.url + "/encode", files={"file": (p.name, p.read_bytes())}, data={"encoding": enc})
        assert r.status_code == 200, r.text
        assert r.json()["text"] == encode(load_model(p), encoding=enc)
    bad = httpx.post(server.url + "/encode", files={"file": (p.name, p.read_bytes())}, data={"encoding": "nope"})
    assert bad.status_code == 400 and "unknown encoding 'nope'" in bad.json()["detail"]


@pytest.mark.parametrize("case", ["empty", "not-onnx", "truncated", "no-file", "unknown-space"])
def test_bad_input_is_a_clear_4xx_and_the_server_lives(server, nets, tmp_path, case):
    good = Path(nets["path"].iloc[0]).read_bytes()
    body = {"empty": b"", "not-onnx": b"PK\x03\x04 this is a zip, not onnx" * 10, "truncated": good[: len(good) // 2],
            "no-file": None, "unknown-space": good}[case]
    if body is None:
        r = httpx.post(server.url + "/predict", data={"space": "toy"})
    else:
        r = httpx.post(server.url + "/predict", files={"files": ("bad.onnx", body)},
                       data={"space": "nowhere"} if case == "unknown-space" else {})
    if case == "unknown-space":  # an unseen space is allowed: one file is ranked among itself, no rank
        assert r.status_code == 200 and r.json()["results"][0]["rank"] is None
    else:
        detail = str(r.json()["detail"])
        assert 400 <= r.status_code < 500, r.text
        want = {"empty": "bad.onnx: the file is empty", "not-onnx": "bad.onnx: not", "truncated": "bad.onnx",
                "no-file": "files"}[case]
        assert want in detail
        assert "Traceback" not in detail
    assert httpx.get(server.url + "/health").status_code == 200


def test_oversized_upload_is_413(server, nets):
    big = b"\0" * (3 * 2**20)  # over the 2 MB limit
    try:
        r = httpx.post(server.url + "/predict", files={"files": ("big.onnx", big)}, timeout=30)
        assert r.status_code == 413 and "--max-upload-mb" in r.json()["detail"]
    except httpx.WriteError:  # the server may close the connection before the client finished sending
        pass
    assert httpx.get(server.url + "/health").status_code == 200


def test_concurrent_requests_are_all_answered(server, nets):
    paths = list(nets["path"])

    def one(i: int) -> tuple[int, float]:
        r = _post(server, [paths[i % len(paths)]])
        return r.status_code, r.json()["results"][0]["score"] if r.status_code == 200 else float("nan")

    with cf.ThreadPoolExecutor(8) as ex:
        out = list(ex.map(one, range(24)))
    assert all(code == 200 for code, _ in out), [code for code, _ in out]
    by_file: dict[int, set[float]] = {}
    for i, (_, score) in enumerate(out):
        by_file.setdefault(i % len(paths), set()).add(round(score, 6))
    assert all(len(v) == 1 for v in by_file.values())  # the same file gets the same score from every worker
    pids = {httpx.get(server.url + "/health").json()["pid"] for _ in range(20)}
    assert len(pids) >= 1
