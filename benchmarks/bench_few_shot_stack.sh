#!/usr/bin/env bash
# Few-shot NB101 (+ k NB201 networks) -> the rest of NB201, and in-space NB201 with the same k alone, for the
# stack and its members (docs/results.md "Session 3"). Needs runs/bench-v3 and the proxies in results/cache.
set -u
B=.venv/bin/onnxnet
F="evaluate few-shot --store runs/bench-v3 --train nb101 --test nb201 --shots 16,100 --seeds 3 --no-plots"
I="evaluate in-space --store runs/bench-v3 --space nb201 --sizes 16,100 --seeds 3 --no-plots"
$B $F --predictor stack,rank-linear --param rank-linear.graph_features=True --out results/v5-fs-stack
$B $F --predictor onnxnet-hybrid --param lm=None --param proxies=True --tag "trees g+p" --out results/v5-fs-trees
$B $I --predictor stack,rank-linear --param rank-linear.graph_features=True --out results/v5-is-small-stack
$B $I --predictor onnxnet-hybrid --param lm=None --param proxies=True --tag "trees g+p" --out results/v5-is-small-trees
