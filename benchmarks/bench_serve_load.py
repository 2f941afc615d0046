"""Load test of ``onnxnet serve``: N concurrent ``POST /predict`` calls against a real server on loopback.

    python benchmarks/bench_serve_load.py --predictor runs/pw-nb201 --files runs/nb201-files --n 200 --workers 2

Starts ``onnxnet serve`` (``--workers``, a fresh cache folder) on a free 127.0.0.1 port, then sends ``--n``
requests at once (asyncio + httpx, one file each, ``--n`` distinct files when there are that many): the *cold*
round scores every file; the *warm* round sends the same files again (cache hits). Prints, per round: requests,
errors (non-200 or transport), latency p50 / p99 / max, throughput, wall time. Bounded: every request has a
client timeout (``--client-timeout``), the whole run stops at ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


async def _round(url: str, files: list[Path], client_timeout: float) -> tuple[list[float], list[str], float]:
    import httpx

    limits = httpx.Limits(max_connections=len(files), max_keepalive_connections=len(files))
    async with httpx.AsyncClient(timeout=client_timeout, limits=limits) as client:
        async def one(p: Path) -> tuple[float, str | None]:
            body = p.read_bytes()
            t = time.perf_counter()
            try:
                r = await client.post(url + "/predict", files={"files": (p.name, body)})
                err = None if r.status_code == 200 else f"{r.status_code}: {r.text[:200]}"
            except httpx.HTTPError as e:
                err = f"{type(e).__name__}: {e}"
            return time.perf_counter() - t, err

        t0 = time.perf_counter()
        out = await asyncio.gather(*(one(p) for p in files))
        wall = time.perf_counter() - t0
    return [t for t, _ in out], [e for _, e in out if e], wall


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(round(q * (len(s) - 1)))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--predictor", type=Path, required=True)
    ap.add_argument("--files", type=Path, required=True, help="folder of .onnx files (NB201-size networks)")
    ap.add_argument("--n", type=int, default=200, help="concurrent requests per round")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout-s", type=float, default=600.0, help="the server's request time limit")
    ap.add_argument("--client-timeout", type=float, default=900.0)
    ap.add_argument("--max-seconds", type=float, default=1800.0, help="stop the whole run after this long")
    ap.add_argument("--start-timeout", type=float, default=300.0, help="wait this long for the server to start")
    a = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from onnxnet.serve.launch import ServerProcess

    pool = sorted(a.files.glob("*.onnx"))
    if not pool:
        sys.exit(f"{a.files}: no .onnx files")
    files = [pool[i % len(pool)] for i in range(a.n)]
    tmp = Path(tempfile.mkdtemp(prefix="onnxnet-load-"))
    print(f"{a.n} concurrent requests, {len(set(files))} distinct files, {a.workers} workers, "
          f"{os.cpu_count()} cores, load average before {os.getloadavg()[0]:.1f}", flush=True)
    t_start = time.perf_counter()
    server = ServerProcess(a.predictor, tmp, "--workers", str(a.workers), "--timeout-s", str(a.timeout_s),
                           "--cache-dir", str(tmp / "cache"))
    with server.wait(a.start_timeout):
        print(f"server up in {time.perf_counter() - t_start:.1f} s at {server.url}", flush=True)
        rows = []
        for name in ("cold", "warm"):
            left = a.max_seconds - (time.perf_counter() - t_start)
            if left <= 0:
                print(f"stopped before the {name} round: --max-seconds {a.max_seconds:g} reached")
                break
            lat, errors, wall = asyncio.run(asyncio.wait_for(_round(server.url, files, a.client_timeout), left))
            rows.append((name, len(lat), len(errors), statistics.median(lat), _pct(lat, 0.99), max(lat),
                         len(lat) / wall, wall))
            for e in errors[:3]:
                print(f"  {name} error: {e}")
    print(f"\n| round | requests | errors | p50 s | p99 s | max s | throughput req/s | wall s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, n, err, p50, p99, mx, thr, wall in rows:
        print(f"| {name} | {n} | {err} | {p50:.2f} | {p99:.2f} | {mx:.2f} | {thr:.1f} | {wall:.1f} |")
    print(f"load average after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
