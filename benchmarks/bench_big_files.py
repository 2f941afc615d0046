"""Big ONNX files: load + facts + encoding (+ a score) time and peak memory, structure path vs full path.

    python benchmarks/make_big_models.py --out runs/big          # GPT-2 (652 MB file) and ViT-B/16 (343 MB)
    python benchmarks/bench_big_files.py runs/big/gpt2.onnx runs/big/vit_b16.onnx --predictor runs/pw-nb201 [--full]

Each measurement runs in a fresh process with its libraries imported first (import time is not the file's cost):
``structure`` is ``load_model(path)`` (files over 64 MB are read without their large weights), ``full`` reads
every weight first (``load_model(onnx.load(path))``: the path such files took before). Printed: seconds (wall
and CPU) of loading, of facts + compact encoding, of scoring with ``--predictor`` (as a network of its first
space), peak RSS of the process, and whether the two paths give the same text.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
import onnx, onnxsim, numpy, pandas, torch  # imported before timing: not the file's cost
from onnxnet.encode import encode
from onnxnet.graph import graph_facts, load_model
path, mode, predictor = sys.argv[1], sys.argv[2], sys.argv[3]
w, c = time.perf_counter, time.process_time
t0, c0 = w(), c()
model = load_model(onnx.load(path) if mode == "full" else path, name=path)
t1, c1 = w(), c()
facts = graph_facts(model)
text = encode(model)
t2, c2 = w(), c()
score = None
if predictor:
    from onnxnet.predictors import load_predictor
    from onnxnet.graph import graph_hash
    from onnxnet.inputs import model_row
    p = load_predictor(predictor)
    t2, c2 = w(), c()
    space = (getattr(p, "fit_spaces_", None) or ["user"])[0]
    score = float(p.predict(pandas.DataFrame([model_row(model, path, space, facts, graph_hash(model))]))[0])
t3, c3 = w(), c()
print(json.dumps({"load": [t1 - t0, c1 - c0], "describe": [t2 - t1, c2 - c1], "score": [t3 - t2, c3 - c2],
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "chars": len(text),
                  "text": text, "n_params": facts.n_params, "value": score}))
"""


def run(path: Path, mode: str, predictor: str) -> dict:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "HF_HUB_OFFLINE": "1"}
    p = subprocess.run([sys.executable, "-c", CHILD, str(path), mode, predictor], env=env, capture_output=True,
                       text=True)
    if p.returncode != 0:
        sys.exit(f"{path} ({mode}) failed: {p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", type=Path, nargs="+")
    ap.add_argument("--predictor", default="", help="also score with this saved predictor")
    ap.add_argument("--full", action="store_true", help="also measure the full path (slow: minutes, GBs)")
    a = ap.parse_args()
    print("| file | MB | path | load s (cpu) | facts+encode s (cpu) | score s (cpu) | peak RSS MB | text chars | "
          "same text |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---|")
    for f in a.files:
        modes = ["structure"] + (["full"] if a.full else [])
        res = {m: run(f, m, a.predictor) for m in modes}
        digest = {m: hashlib.sha256(r["text"].encode()).hexdigest() for m, r in res.items()}
        for m, r in res.items():
            same = "-" if len(res) == 1 else ("yes" if len(set(digest.values())) == 1 else "no")
            print(f"| {f.name} | {f.stat().st_size / 1e6:.0f} | {m} | {r['load'][0]:.1f} ({r['load'][1]:.1f}) | "
                  f"{r['describe'][0]:.1f} ({r['describe'][1]:.1f}) | {r['score'][0]:.1f} ({r['score'][1]:.1f}) | "
                  f"{r['rss_mb']:.0f} | {r['chars']} | {same} |", flush=True)


if __name__ == "__main__":
    main()
