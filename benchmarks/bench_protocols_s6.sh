#!/usr/bin/env bash
# The NB201 protocol runs behind docs/results.md "Session 6": the language model in the harness with seeds, next
# to #params, the comparator, the stack and the hybrid trained on the same networks and tested on the same fixed
# 2,000 NB201 graphs (--test-sample, minus each seed's training graphs). No selected predictor changed this
# session, so none of these is a target figure. Needs runs/bench-v3 and the proxies in results/cache.
# ~80 min on 2 cores. A --tag names every predictor of its command.
set -u
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
B=.venv/bin/onnxnet
S="--store runs/bench-v3 --space nb201 --test-sample 2000 --no-plots"
$B evaluate in-space $S --sizes 2000 --seeds 3 --predictor params,pairwise,stack,surrogate \
  --param surrogate.epochs=5 --out results/s6-is-lm-2000
$B evaluate in-space $S --sizes 2000 --seeds 3 --predictor surrogate --param surrogate.epochs=15 \
  --tag "15 epochs, patience 3" --out results/s6-is-lm-2000-e15
$B evaluate in-space $S --sizes 2000 --seeds 2 --predictor onnxnet-hybrid --param lm_epochs=10 --param proxies=True \
  --tag "LM (10 epochs) + trees g+p" --out results/s6-is-hybrid-2000
$B evaluate in-space $S --sizes 2000 --seeds 2 --predictor onnxnet-hybrid --param lm=None --param proxies=True \
  --tag "trees g+p, no LM" --out results/s6-is-trees-2000
$B evaluate in-space $S --sizes 128 --seeds 3 --predictor params,pairwise,surrogate --param surrogate.epochs=100 \
  --param surrogate.patience=10 --tag "100 epochs, patience 10" --out results/s6-is-lm-128-e100
$B evaluate in-space $S --sizes 8000 --seeds 1 --predictor params,pairwise,stack,surrogate \
  --param surrogate.epochs=15 --tag "15 epochs, patience 3" --out results/s6-is-lm-8000-e15
# Masked-LM pretraining on the encodings of all NB201 networks (no labels; transductive: the test networks'
# graphs are among them), then the LM fine-tuned from it, with the learning rate of the scratch runs (1e-3).
$B pretrain --bench runs/bench-v3 --spaces nb201 --epochs 2 --out runs/pt-nb201
$B evaluate in-space $S --sizes 128 --seeds 3 --predictor surrogate --param backbone=runs/pt-nb201 --param lr=0.001 \
  --param epochs=100 --param patience=10 --tag "MLM-pretrained, 100 epochs, patience 10" --out results/s6-is-lm-128-pt
$B evaluate in-space $S --sizes 2000 --seeds 3 --predictor surrogate --param backbone=runs/pt-nb201 --param lr=0.001 \
  --param epochs=15 --tag "MLM-pretrained, 15 epochs, patience 3" --out results/s6-is-lm-2000-pt
