#!/usr/bin/env bash
# onnxnet's main job, end to end on the bundled real data (CPU, a few minutes on 2 cores):
#   1. build a real ONNX-Bench subset: NB201 networks + NB101 networks with published 108-epoch labels
#   2. show what is in it (counts, label coverage, lengths, op-type divergence between spaces)
#   3. print one network's canonical, lossless text
#   4. baselines on the paper's protocols (#params, FLOPs, GBM on ONNX graph features)
#   5. train a small language-model surrogate on NB201 (model selection on NB201 validation only)
#   6. score held-out NB201 networks it never saw, as .onnx files, next to their real accuracies
#   7. fit onnxnet's default predictor (auto: per space, the pairwise comparator below 1,000 labels, which is
#      LightGBM on pairs of networks of one space reading ONNX graph features + zero-cost proxies computed from
#      the ONNX graphs; the stack from 1,000), save it, and score the same files with it
# Everything goes to runs/demo/ (git-ignored). Rerunning resumes the builds and reuses finished steps.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false OMP_NUM_THREADS=1
BIN=${BIN:-.venv/bin/onnxnet}
PY=${PY:-.venv/bin/python}
OUT=${OUT:-runs/demo}
N201=${N201:-400}
N101=${N101:-200}
JOBS=${JOBS:-2}
EPOCHS=${EPOCHS:-4}
mkdir -p "$OUT"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1/7 build ONNX-Bench subset: $N201 NB201 + $N101 NB101 (108-epoch labels) -> $OUT/bench"
"$BIN" bench build --space nb201 --labelled-only --limit "$N201" --jobs "$JOBS" --store "$OUT/bench"
"$BIN" bench build --space nb101 --require-label cifar10_val_108ep --limit "$N101" --jobs "$JOBS" --store "$OUT/bench"

step "2/7 what the benchmark holds"
"$BIN" bench info --store "$OUT/bench"

step "3/7 one network as canonical, lossless text (compact encoding)"
"$BIN" bench export --store "$OUT/bench" "$OUT/onnx" --labelled-only
files=("$OUT"/onnx/nb201/*.onnx)
first=${files[0]}
echo "$first"
"$BIN" encode "$first" --encoding compact > "$OUT/example.txt"   # no pipe into head: pipefail would see SIGPIPE
sed -n '1,40p' "$OUT/example.txt"
"$BIN" inspect "$first"

step "4/7 baselines: in-space NB201 (train on 32/128 nets) and zero-shot NB101 -> NB201"
"$BIN" evaluate in-space --store "$OUT/bench" --space nb201 --sizes 32,128 --predictor params,flops,gbm \
  --seeds 3 --out "$OUT/results/in-space"
"$BIN" evaluate in-space --store "$OUT/bench" --space nb201 --sizes 32,128 --predictor stack,pairwise \
  --param jobs="$JOBS" --seeds 3 --out "$OUT/results/in-space-learned"
"$BIN" evaluate zero-shot --store "$OUT/bench" --train nb101 --test nb201 --predictor params,flops,gbm \
  --seeds 3 --out "$OUT/results/zero-shot"

step "5/7 train a small language-model surrogate (ModernBERT-tiny from scratch, learned BPE, hinge loss)"
"$BIN" train --store "$OUT/bench" --spaces nb201 --backbone modernbert-tiny --epochs "$EPOCHS" \
  --out "$OUT/surrogate" --zero-shot nb101

step "6/7 score held-out NB201 networks (test split: never trained or selected on) with their real accuracies"
"$PY" - "$OUT" <<'PYEOF'
import sys, pathlib, shutil
from onnxnet.bench.store import BenchStore
out = pathlib.Path(sys.argv[1])
df = BenchStore(out / "bench").read(columns=["id", "space", "split"])
test_ids = df[(df.space == "nb201") & (df.split == "test")].id
dest = out / "unseen"
shutil.rmtree(dest, ignore_errors=True)
dest.mkdir(parents=True)
src = {p.stem: p for p in (out / "onnx" / "nb201").glob("*.onnx")}
n = 0
for i in test_ids:
    name = i.split("/", 1)[1]
    if name in src and n < 12:
        shutil.copy(src[name], dest / src[name].name); n += 1
print(f"{n} held-out NB201 networks copied to {dest}")
PYEOF
"$BIN" predict "$OUT"/unseen/*.onnx --predictor "$OUT/surrogate"

step "7/7 onnxnet fit's default (auto: with a few hundred NB201 labels, the pairwise comparator on graph features + ONNX zero-cost proxies), fitted on NB201's train/val split"
"$BIN" fit --store "$OUT/bench" --spaces nb201 --param jobs="$JOBS" --out "$OUT/pairwise"
"$BIN" predict "$OUT"/unseen/*.onnx --predictor "$OUT/pairwise"
echo "-- NB101 files scored by the same NB201 predictor: it notices they lie outside its training networks' reach"
nb101=("$OUT"/onnx/nb101/*.onnx)
"$BIN" predict "${nb101[@]:0:16}" --predictor "$OUT/pairwise"

step "done: benchmark in $OUT/bench, results in $OUT/results, fitted predictors in $OUT/surrogate and $OUT/pairwise"
echo "serve it (web page and HTTP API on http://127.0.0.1:8000/): $BIN serve --predictor $OUT/pairwise"
