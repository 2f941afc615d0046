#!/usr/bin/env bash
# The protocol runs behind docs/results.md "Session 2" (zero-shot NB101 -> NB201 and in-space NB201 at n=128,
# 5 seeds). Needs runs/bench-v3 (scripts/build_stores.sh) and is fast once the ONNX proxies are in results/cache
# (benchmarks/bench_onnx_proxies.py); otherwise each predictor computes the missing proxies itself.
set -u
B=.venv/bin/onnxnet
S="--store runs/bench-v3"
Z="evaluate zero-shot $S --train nb101 --test nb201 --seeds 5 --no-plots"
I="evaluate in-space $S --space nb201 --sizes 128 --seeds 5 --no-plots"
$B $Z --predictor params,onnx-nwot,onnx-swap,onnx-meco,onnx-synflow,proxy-vote,rank-linear,gbm --out results/v4-zs-static
$B $Z --predictor proxy-vote --param "features=('nwot','swap')" --tag "nwot+swap, selected" --out results/v4-zs-vote-selected
$B $Z --predictor onnxnet-hybrid --param lm=None --tag "trees: graph features" --out results/v4-zs-trees-graph
$B $Z --predictor onnxnet-hybrid --param lm=None --param proxies=True --param feature_norm=rank --tag "trees: graph + proxies, rank-normalised" --out results/v4-zs-trees-graph-proxies
$B $Z --predictor onnxnet-hybrid --param lm=None --param proxies=True --param graph_features=False --param feature_norm=rank --tag "trees: proxies + params/flops, rank-normalised" --out results/v4-zs-trees-proxies
$B $Z --predictor rank-linear --param graph_features=True --tag "+ graph features" --out results/v4-zs-ranklinear-graph
$B $I --predictor params,onnx-meco,onnx-nwot,gbm,rank-linear --out results/v4-is-static
$B $I --predictor onnxnet-hybrid --param lm=None --tag "trees: graph features" --out results/v4-is-trees-graph
$B $I --predictor onnxnet-hybrid --param lm=None --param proxies=True --tag "trees: graph + proxies" --out results/v4-is-trees-graph-proxies
$B $I --predictor onnxnet-hybrid --param lm=None --param "proxies='auto'" --tag "trees: proxies auto" --out results/v4-is-trees-auto
$B $I --predictor rank-linear --param graph_features=True --tag "+ graph features" --out results/v4-is-ranklinear-graph
