#!/usr/bin/env bash
# The NB201 protocol runs behind docs/results.md "Session 5". The zero-shot pick (pairwise, 3 bags) was chosen by
# benchmarks/bench_zero_shot_select.py (two-space rule) before it ran here; the two meco_batch runs are for the
# record only (not selected by either rule). Also auto on all spaces. Needs runs/bench-v3, runs/bench (NB301) and
# the proxies + meco_batch in results/cache (benchmarks/bench_onnx_proxies.py --extra meco_batch). ~20 min on 2 cores.
set -u
B=.venv/bin/onnxnet
S="--store runs/bench-v3 --no-plots"
MECOB='proxies=("nwot","meco","swap","synflow","meco_batch")'
$B evaluate zero-shot $S --train nb101 --test nb201 --seeds 5 --predictor pairwise --param bags=3 \
  --tag "3 bags (session-5 pick, two-space rule)" --out results/v7-zs-pairwise-bags3
$B evaluate zero-shot $S --train nb101 --test nb201 --seeds 5 --predictor pairwise --param bags=3 --param "$MECOB" \
  --tag "3 bags + meco_batch (not selected; for the record)" --out results/v7-zs-pairwise-bags3-mecob
$B evaluate in-space $S --space nb201 --sizes 128 --seeds 5 --predictor pairwise --param "$MECOB" \
  --tag "graph + proxies + meco_batch (not selected; for the record)" --out results/v7-is-pairwise-mecob
$B evaluate all-spaces $S --store runs/bench --spaces nb101,nb201,nb301,transnas_micro \
  --label accuracy,label:cifar10_test_4ep --predictor auto --param jobs=2 --seeds 2 --out results/v7-all-spaces-auto
