"""Build throughput (networks/s) and store size per 1,000 networks, per search space.

Builds ``--n`` labelled networks of each space into a fresh temporary store with ``--jobs`` workers, and times
the stages of the pipeline for a few networks in this process (one torch thread). Prints two tables.

    .venv/bin/python benchmarks/bench_build.py --spaces nb201 nb101 nb301 --n 64 --jobs 2
    .venv/bin/python benchmarks/bench_build.py --store runs/bench      # sizes and build rates of a built store
"""

from __future__ import annotations

import argparse
import calendar
import json
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def stage_times(space_name: str, n: int) -> dict[str, float]:
    """Mean seconds per network for each pipeline stage (build, export, load+simplify, strip, facts+hash)."""
    import torch

    from onnxnet.graph.weights import strip
    from onnxnet.graph import export_torch, graph_facts, graph_hash, load_model
    from onnxnet.spaces import get_space

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    sp = get_space(space_name)
    archs = sp.sample_many(n + 1, seed=1)
    strip(load_model(export_torch(sp.build(archs.pop()), sp.input_shape)))  # warm-up: imports, first-call costs
    t = {"build": 0.0, "export": 0.0, "load": 0.0, "strip": 0.0, "facts": 0.0}
    for a in archs:
        t0 = time.perf_counter(); m = sp.build(a); t1 = time.perf_counter()
        p = export_torch(m, sp.input_shape); t2 = time.perf_counter()
        q = load_model(p); t3 = time.perf_counter()
        q = strip(q); t4 = time.perf_counter()
        graph_facts(q); graph_hash(q); t5 = time.perf_counter()
        for k, d in zip(t, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            t[k] += d
    return {k: v / n for k, v in t.items()}


def build_rate(space: str, n: int, jobs: int) -> dict[str, float]:
    from onnxnet.bench.build import BuildOptions, build_store

    import resource

    def cpu() -> float:
        r = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        return sum(x.ru_utime + x.ru_stime for x in r)

    tmp = Path(tempfile.mkdtemp(prefix="bench_build_"))
    try:
        c0 = cpu()
        rep = build_store(BuildOptions(space=space, out=tmp / "store", limit=n, labelled_only=True, jobs=jobs,
                                       reuse_isomorphic="off", progress=False))
        cpu_per_net = (cpu() - c0) / max(rep.built, 1)  # includes label loading and worker start-up
        size = du(tmp / "store" / "networks")
        return {"nets": rep.built, "failed": rep.failed, "seconds": rep.seconds, "cpu_per_net": cpu_per_net,
                "rate": rep.built / rep.seconds, "kb_per_1000": size / 1024 / max(rep.built, 1) * 1000}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def store_rates(store: Path) -> None:
    """Per-build rates from a built store's meta.json and part-file timestamps, and its size per 1,000 nets."""
    import pyarrow.parquet as pq

    from onnxnet.bench.store import BenchStore

    st = BenchStore(store)
    print(f"| space | networks | store MB (networks/) | KB per 1,000 nets | build wall time | nets/s |")
    print("|---|---|---|---|---|---|")
    for key, b in st.meta.get("builds", {}).items():
        parts = [p for p in st.part_files() if p.name.startswith(f"{b['space']}-{key}-")]
        if not parts:
            continue
        n = sum(pq.ParquetFile(p).metadata.num_rows for p in parts)
        size = sum(p.stat().st_size for p in parts)
        start = calendar.timegm(time.strptime(b["started"], "%Y-%m-%dT%H:%M:%SZ"))
        wall = max(p.stat().st_mtime for p in parts) - start
        print(f"| {b['space']} | {n} | {size / 2**20:.1f} | {size / 1024 / n * 1000:.0f} | {wall / 60:.1f} min "
              f"| {n / wall:.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spaces", nargs="+", default=["nb201", "nb101", "nb301"])
    ap.add_argument("--n", type=int, default=64, help="networks per space for the throughput run")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--stage-n", type=int, default=5, help="networks per space for the stage timings")
    ap.add_argument("--store", type=Path, help="report on an already built store instead")
    a = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if a.store:
        store_rates(a.store)
        return
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    print("| space | stage s/net: build | export | load+simplify+canonical | strip | facts+hash | total |")
    print("|---|---|---|---|---|---|---|")
    for s in a.spaces:
        t = stage_times(s, a.stage_n)
        print(f"| {s} | {t['build']:.3f} | {t['export']:.3f} | {t['load']:.3f} | {t['strip']:.4f} | "
              f"{t['facts']:.3f} | {sum(t.values()):.3f} |")
    print(f"\n| space | nets | jobs | wall s | nets/s (wall) | CPU s/net | idle-machine estimate, {a.jobs} cores | "
          "store KB per 1,000 nets |")
    print("|---|---|---|---|---|---|---|---|")
    for s in a.spaces:
        r = build_rate(s, a.n, a.jobs)
        est = a.jobs / r["cpu_per_net"]
        print(f"| {s} | {r['nets']} ({r['failed']} failed) | {a.jobs} | {r['seconds']:.1f} | {r['rate']:.2f} | "
              f"{r['cpu_per_net']:.2f} | {est:.2f} nets/s | {r['kb_per_1000']:.0f} |")
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")
    print(json.dumps({"note": "timings depend on machine load; rerun on an idle machine for capacity numbers"}))


if __name__ == "__main__":
    main()
