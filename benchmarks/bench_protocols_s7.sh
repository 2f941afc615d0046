#!/usr/bin/env bash
# The NB201 protocol runs behind docs/results.md "Session 7": the language model with its learning rate chosen on
# the validation split of its training networks (--lr-grid / surrogate lr_grid; never on the test networks), at
# 8,000 and 2,000 training networks, tested on the same fixed 2,000 NB201 graphs as session 6 (--test-sample
# 2000, minus each seed's training graphs), so the rows compare with benchmarks/bench_protocols_s6.sh's.
# Needs runs/bench-v3. ~2 h 40 min on 2 cores (one training at a time: two side by side slow each other 3-5x).
# progress=True prints every epoch's validation Kendall and the search's table into the log.
set -eu
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
B=.venv/bin/onnxnet
S="--store runs/bench-v3 --space nb201 --test-sample 2000 --no-plots"
G=(--predictor surrogate --param surrogate.epochs=15 --param "surrogate.lr_grid=(0.001,0.0003,0.0001)"
   --param surrogate.progress=True --tag "lr chosen on validation from 1e-3, 3e-4, 1e-4; 15 epochs, patience 3")
mkdir -p results/s7
$B evaluate in-space $S --sizes 8000 --seeds 1 "${G[@]}" --out results/s7-is-lm-8000-lrgrid > results/s7/lm-8000-lrgrid.log 2>&1
$B evaluate in-space $S --sizes 2000 --seeds 3 "${G[@]}" --out results/s7-is-lm-2000-lrgrid > results/s7/lm-2000-lrgrid.log 2>&1
# Validation was still rising at epoch 15 with the chosen 3e-4 at 8,000 networks: the same rate, 25 epochs.
$B evaluate in-space $S --sizes 8000 --seeds 1 --predictor surrogate --param surrogate.epochs=25 --param surrogate.lr=0.0003 \
  --param surrogate.progress=True --tag "lr 3e-4 (chosen on validation at 15 epochs), 25 epochs, patience 3" \
  --out results/s7-is-lm-8000-lr3e-4-e25 > results/s7/lm-8000-lr3e-4-e25.log 2>&1
