"""Cold ``onnxnet predict``: the whole process (interpreter start, imports, loading, scoring), several runs.

    python benchmarks/bench_cold_predict.py --predictor runs/pw-nb201 --file runs/nb201-files/x.onnx --runs 5

Each run is a fresh ``python -m onnxnet.cli.main predict FILE --predictor DIR --json`` process with an empty
feature cache of its own (``--cache`` in a new temporary folder), so nothing computed before is reused. Printed
per run and as medians: wall time, and CPU time (user + sys of the child), which is what the wall time is on a
quiet machine for this single-threaded work (on a shared, loaded machine the wall time also counts waiting for a
core), with the load average before and after. ``--src DIR`` runs another checkout's ``src`` (e.g. ``main``'s,
extracted with ``git archive main src | tar -x -C /tmp/base``) for a before/after comparison.
``--importtime`` adds the slowest top-level imports of one extra run (``python -X importtime``).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory(prefix="onnxnet-cold-") as cache:
        t = time.perf_counter()
        p = subprocess.run([*cmd, "--cache", cache], env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"predict failed ({p.returncode}): {p.stderr.strip()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, p.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--predictor", type=Path, required=True, help="a folder from `onnxnet fit` or `onnxnet train`")
    ap.add_argument("--file", type=Path, required=True, help="the .onnx file to score")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--src", type=Path, default=ROOT / "src", help="the onnxnet source folder to run")
    ap.add_argument("--importtime", action="store_true", help="also list the slowest imports of one run")
    a = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": f"{a.src.resolve()}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "onnxnet.cli.main", "predict", str(a.file), "--predictor", str(a.predictor), "--json"]
    walls, cpus = [], []
    load_before = os.getloadavg()[0]
    print(f"{'run':>4} {'wall s':>8} {'cpu s':>8}")
    for k in range(a.runs):
        wall, cpu, out = one_run(cmd, env)
        walls.append(wall)
        cpus.append(cpu)
        print(f"{k + 1:>4} {wall:8.2f} {cpu:8.2f}", flush=True)
    print(f"median wall {statistics.median(walls):.2f} s (min {min(walls):.2f}, max {max(walls):.2f}); "
          f"median cpu {statistics.median(cpus):.2f} s (min {min(cpus):.2f}, max {max(cpus):.2f}); "
          f"{a.runs} runs; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, "
          f"on {os.cpu_count()} cores")
    if a.importtime:
        with tempfile.TemporaryDirectory(prefix="onnxnet-cold-") as cache:
            p = subprocess.run([sys.executable, "-X", "importtime", *cmd[1:], "--cache", cache], env=env,
                               capture_output=True, text=True)
        rows = []
        for line in p.stderr.splitlines():
            if line.startswith("import time:") and "|" in line:
                _, cum, name = line.split("|")
                indent = len(name) - len(name.lstrip())
                if indent <= 2 and cum.strip().isdigit():
                    rows.append((int(cum) / 1e6, name.strip()))
        print("slowest top-level imports (s, cumulative): " +
              ", ".join(f"{n} {s:.2f}" for s, n in sorted(rows, reverse=True)[:8]))


if __name__ == "__main__":
    main()
