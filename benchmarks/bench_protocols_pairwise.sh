#!/usr/bin/env bash
# The protocol runs behind docs/results.md "Session 4": the pairwise comparator (chosen on NB101 + NB301 by the rule
# in benchmarks/bench_inspace_select.py) in-space on NB201 at n = 128 (5 seeds) and along the learning curve next
# to the stack, zero-shot NB101 -> NB201 (not selected by the zero-shot rule; reported), and in-space on
# TransNAS-Bench-101 micro (a third space, for information). Needs runs/bench-v3 and the ONNX proxies in
# results/cache (benchmarks/bench_onnx_proxies.py). About 25 min on 2 cores.
set -u
B=.venv/bin/onnxnet
S="--store runs/bench-v3 --no-plots"
$B evaluate in-space $S --space nb201 --sizes 128 --seeds 5 --predictor pairwise \
  --tag "pairwise (dev-selected, session 4)" --out results/v6-is-pairwise
$B evaluate zero-shot $S --train nb101 --test nb201 --seeds 5 --predictor pairwise \
  --tag "pairwise (not selected by the NB101->NB301 rule)" --out results/v6-zs-pairwise
$B evaluate in-space $S --space nb201 --sizes 32,64,256,1024 --seeds 3 --predictor pairwise,stack \
  --out results/v6-is-curve
$B evaluate in-space $S --space transnas_micro --sizes 128 --seeds 5 --predictor pairwise,stack \
  --out results/v6-is-transnas
# Few-shot: NB101 + k NB201 networks vs k NB201 networks alone (compare with results/v5-fs-stack, v5-is-small-stack)
$B evaluate few-shot --store runs/bench-v3 --no-plots --train nb101 --test nb201 --shots 16,100 --seeds 3 \
  --predictor pairwise --out results/v6-fs-pairwise
$B evaluate in-space $S --space nb201 --sizes 16,100 --seeds 3 --predictor pairwise --out results/v6-is-small-pairwise
# All spaces (each space's train split, capped by the store's split; NB101 4-epoch cells a separate group)
$B evaluate all-spaces --store runs/bench-v3 --store runs/bench --no-plots --spaces nb101,nb201,nb301,transnas_micro \
  --label accuracy,label:cifar10_test_4ep --predictor pairwise,stack,gbm --param jobs=2 --seeds 2 --out results/v6-all-spaces
