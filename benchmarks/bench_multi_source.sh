#!/usr/bin/env bash
# Zero-shot from several spaces: train on NB101 (108-epoch), NB301 and TransNAS micro (object classification),
# never on NB201, and rank all of NB201 (docs/results.md "Session 3"). An evaluation of every variant, not a
# selection. Needs runs/bench-v3 (NB101, NB201, TransNAS), runs/bench (NB301) and the proxies in results/cache.
set -u
B=.venv/bin/onnxnet
Z="evaluate zero-shot --store runs/bench-v3 --store runs/bench --train nb101,nb301,transnas_micro --test nb201 --seeds 3 --no-plots"
$B $Z --predictor params,proxy-vote,gbm --out results/v5-ms-static
$B $Z --predictor onnxnet-hybrid --param lm=None --tag "trees: graph features" --out results/v5-ms-trees-graph
$B $Z --predictor onnxnet-hybrid --param lm=None --param proxies=True --param feature_norm=rank --tag "trees: graph + proxies, rank-normalised" --out results/v5-ms-trees-gp-rank
$B $Z --predictor rank-linear --param graph_features=True --tag "+ graph features" --out results/v5-ms-ranklinear-graph
$B $Z --predictor stack --tag "trees g+p, rank-linear" --out results/v5-ms-stack
# Session 4: the pairwise comparator (at most max_pairs = 50,000 pairs per space, so no space dominates)
$B $Z --predictor pairwise --out results/v6-ms-pairwise
