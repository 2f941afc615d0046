#!/usr/bin/env bash
# The protocol runs behind docs/results.md "Session 3" (in-space NB201 at n=128 and zero-shot NB101 -> NB201,
# 5 seeds) for the stack and the rank-linear ridge, whose scores are now placed among the fitted networks of a
# seen space. Needs runs/bench-v3 and the ONNX proxies in results/cache (benchmarks/bench_onnx_proxies.py).
set -u
B=.venv/bin/onnxnet
S="--store runs/bench-v3"
Z="evaluate zero-shot $S --train nb101 --test nb201 --seeds 5 --no-plots"
I="evaluate in-space $S --space nb201 --sizes 128 --seeds 5 --no-plots"
$B $I --predictor stack --tag "trees g+p, rank-linear (dev-selected)" --out results/v5-is-stack
$B $I --predictor rank-linear --param graph_features=True --tag "+ graph features" --out results/v5-is-ranklinear-graph
$B $Z --predictor stack --tag "trees g+p, rank-linear (not selected)" --out results/v5-zs-stack
$B $Z --predictor rank-linear --param graph_features=True --tag "+ graph features" --out results/v5-zs-ranklinear-graph
