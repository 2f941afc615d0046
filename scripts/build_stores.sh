#!/usr/bin/env bash
# Build the real ONNX-Bench stores the team uses, from the published labels in the data folder.
#   runs/bench-small : 300 labelled NB201 + 200 labelled NB101 (quick, for development)
#   runs/bench       : every labelled NB301, NB101, NB201 and TransNAS-Bench-101 micro network
# Resumable: rerun after an interruption and finished chunks are kept. Usage:
#   bash scripts/build_stores.sh [small|full|all]     (default: all)   JOBS=2 NICE=5 OUT=runs/bench
# Builds of different spaces may also share a store concurrently (one build per space at a time, locked
# metadata updates), e.g. two shells each running one space.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 OMP_NUM_THREADS=1
BIN=${BIN:-.venv/bin/onnxnet}
JOBS=${JOBS:-2}
NICE=${NICE:-5}
OUT=${OUT:-runs/bench}
SMALL=${SMALL:-runs/bench-small}
what=${1:-all}

run() { echo "== $(date -u +%FT%TZ) $*"; nice -n "$NICE" "$BIN" bench build "$@" --jobs "$JOBS" --quiet; }

if [[ $what == small || $what == all ]]; then
  run --space nb201 --labelled-only --limit 300 --out "$SMALL"
  run --space nb101 --labelled-only --limit 200 --out "$SMALL"
fi
if [[ $what == full || $what == all ]]; then
  # Small, high-value sets first so cross-space work can start early: NB301 (500), the NB101 cells with
  # 108-epoch labels (301 unique), then NB201 (15,625, in official index order, a uniform subset at any point),
  # then the NB101 cells with only 4-epoch labels, then TransNAS-Bench-101 micro.
  run --space nb301 --labelled-only --out "$OUT"
  run --space nb101 --require-label cifar10_val_108ep --out "$OUT"
  run --space nb201 --labelled-only --out "$OUT"
  run --space nb101 --labelled-only --out "$OUT"
  run --space transnas_micro --labelled-only --out "$OUT"
  echo "== $(date -u +%FT%TZ) done"; "$BIN" bench info "$OUT" --no-lengths
fi
