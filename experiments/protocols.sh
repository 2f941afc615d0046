#!/usr/bin/env bash
# The protocol runs behind every table of docs/results.md, one section per protocol, named by what it measures:
#
#   bash experiments/protocols.sh SECTION [SECTION ...]     (no argument: list the sections)
#
#   headline            the class-split reruns of docs/results.md on the sampled store (STORE=runs/bench: the NB201
#                       sample of experiments/nb201-sample-1408.txt + the NB101 108-epoch cells)   (~10 min)
#   in-space-nb201      NB201, 128 training networks, 5 seeds, every predictor family      (~25 min on 2 cores)
#   in-space-curve      NB201 at 32 ... 1,024 training networks, pairwise vs stack, 3 seeds  (~30 min)
#   in-space-lm         the language model at 128 / 2,000 / 8,000 networks on a fixed 2,000-graph test sample,
#                       next to #params, pairwise, stack and the hybrid; MLM pretraining     (~5 h: one at a time)
#   in-space-transnas   TransNAS-Bench-101 micro, 128 training networks, 5 seeds              (~10 min)
#   zero-shot           NB101 -> all of NB201, 5 seeds (the pick of experiments/select_zero_shot.py and the rest)
#   zero-shot-multi     NB101 + NB301 + TransNAS -> NB201, 3 seeds
#   few-shot            NB101 + k NB201 networks vs the k alone, k = 16, 100, 3 seeds
#   all-spaces          every space's train split -> each space's test split, 2 seeds
#   cross-task          TransNAS micro: train on one task's labels, test on another's, 3 seeds
#
# Data: runs/bench-v3 (NB201 all 15,625, NB101 108-epoch cells, TransNAS micro) and runs/bench (NB301, NB101 4-epoch
# cells), built by scripts/build_stores.sh; override with STORE=... EXTRA=... . The ONNX proxies must be in
# results/cache (benchmarks/bench_onnx_proxies.py; with --extra meco_batch for the meco_batch rows), otherwise each
# predictor computes the missing ones itself (hours for NB201). Results go to results/<section>-*/.
set -u
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
B=${BIN:-.venv/bin/onnxnet}
STORE=${STORE:-runs/bench-v3}
EXTRA=${EXTRA:-runs/bench}
R=results
MECOB='proxies=("nwot","meco","swap","synflow","meco_batch")'

headline() {
  # on the sampled store of docs/results.md (STORE=runs/bench); the zero-shot row is the zero-shot section's
  $B evaluate in-space --store $STORE --space nb201 --sizes 128 --seeds 5 --no-plots \
    --predictor pairwise,stack,params,onnx-meco --out $R/headline-in-space
  $B evaluate in-space --store $STORE --space nb201 --sizes 32,64,256 --seeds 3 --no-plots \
    --predictor pairwise,stack --param jobs=2 --out $R/headline-curve
  $B evaluate in-space --store $STORE --space nb201 --sizes 128 --seeds 5 --no-plots \
    --predictor gbm,rank-linear --out $R/headline-in-space-static
  $B evaluate in-space --store $STORE --space nb201 --sizes 128 --seeds 5 --no-plots \
    --predictor pairwise --param proxies=False --tag "graph features only" --out $R/headline-in-space-graph
  $B evaluate all-spaces --store $STORE --no-plots --spaces nb101,nb201 --seeds 2 \
    --predictor auto,stack,pairwise --param auto.unseen=None --param jobs=2 --out $R/headline-all-spaces
}

in_space_nb201() {
  local I="evaluate in-space --store $STORE --space nb201 --sizes 128 --seeds 5 --no-plots"
  $B $I --predictor params,onnx-meco,onnx-nwot,gbm,rank-linear --out $R/in-space-nb201-static
  $B $I --predictor rank-linear --param graph_features=True --tag "+ graph features" \
    --out $R/in-space-nb201-ranklinear-graph
  $B $I --predictor onnxnet-hybrid --param lm=None --tag "trees: graph features" --out $R/in-space-nb201-trees-graph
  $B $I --predictor onnxnet-hybrid --param lm=None --param proxies=True --tag "trees: graph + proxies" \
    --out $R/in-space-nb201-trees-graph-proxies
  $B $I --predictor stack --tag "trees g+p, rank-linear" --out $R/in-space-nb201-stack
  $B $I --predictor pairwise --tag "graph + proxies" --out $R/in-space-nb201-pairwise
  $B $I --predictor pairwise --param proxies=False --tag "graph features only" --out $R/in-space-nb201-pairwise-graph
  $B $I --predictor pairwise --param "$MECOB" --tag "graph + proxies + meco_batch" \
    --out $R/in-space-nb201-pairwise-mecob
}

in_space_curve() {
  # 16 and 100 networks: the few-shot section's "alone" run
  $B evaluate in-space --store $STORE --space nb201 --seeds 3 --no-plots --sizes 32,64,256,1024 \
    --predictor pairwise,stack --out $R/in-space-curve
}

in_space_lm() {
  local S="--store $STORE --space nb201 --test-sample 2000 --no-plots"
  local G=(--predictor surrogate --param surrogate.epochs=15 --param "surrogate.lr_grid=(0.001,0.0003,0.0001)"
           --param surrogate.progress=True --tag "lr chosen on validation from 1e-3, 3e-4, 1e-4; 15 epochs, patience 3")
  mkdir -p $R/in-space-lm-logs
  $B evaluate in-space $S --sizes 128 --seeds 3 --predictor params,pairwise,surrogate --param surrogate.epochs=100 \
    --param surrogate.patience=10 --tag "100 epochs, patience 10" --out $R/in-space-lm-128
  $B evaluate in-space $S --sizes 2000 --seeds 3 --predictor params,pairwise,stack,surrogate \
    --param surrogate.epochs=5 --out $R/in-space-lm-2000-e5
  $B evaluate in-space $S --sizes 2000 --seeds 3 --predictor surrogate --param surrogate.epochs=15 \
    --tag "lr 1e-3, 15 epochs, patience 3" --out $R/in-space-lm-2000-e15
  $B evaluate in-space $S --sizes 2000 --seeds 2 --predictor onnxnet-hybrid --param lm=None --param proxies=True \
    --tag "trees g+p, no LM" --out $R/in-space-lm-2000-trees
  $B evaluate in-space $S --sizes 2000 --seeds 2 --predictor onnxnet-hybrid --param lm_epochs=10 --param proxies=True \
    --tag "LM (10 epochs) + trees g+p" --out $R/in-space-lm-2000-hybrid
  $B evaluate in-space $S --sizes 2000 --seeds 3 "${G[@]}" --out $R/in-space-lm-2000-lrgrid \
    > $R/in-space-lm-logs/2000-lrgrid.log 2>&1
  $B evaluate in-space $S --sizes 8000 --seeds 1 --predictor params,pairwise,stack,surrogate \
    --param surrogate.epochs=15 --tag "lr 1e-3, 15 epochs, patience 3" --out $R/in-space-lm-8000
  $B evaluate in-space $S --sizes 8000 --seeds 1 "${G[@]}" --out $R/in-space-lm-8000-lrgrid \
    > $R/in-space-lm-logs/8000-lrgrid.log 2>&1
  $B evaluate in-space $S --sizes 8000 --seeds 1 --predictor surrogate --param surrogate.epochs=25 \
    --param surrogate.lr=0.0003 --param surrogate.progress=True --tag "lr 3e-4, 25 epochs, patience 3" \
    --out $R/in-space-lm-8000-e25 > $R/in-space-lm-logs/8000-e25.log 2>&1
  # Masked-LM pretraining on the encodings of all NB201 networks (no labels; transductive: the test networks'
  # graphs are among them), then the LM fine-tuned from it with the scratch runs' learning rate (1e-3).
  $B pretrain --store $STORE --spaces nb201 --epochs 2 --out runs/pt-nb201
  $B evaluate in-space $S --sizes 128 --seeds 3 --predictor surrogate --param backbone=runs/pt-nb201 --param lr=0.001 \
    --param epochs=100 --param patience=10 --tag "MLM-pretrained, 100 epochs, patience 10" --out $R/in-space-lm-128-pt
  $B evaluate in-space $S --sizes 2000 --seeds 3 --predictor surrogate --param backbone=runs/pt-nb201 --param lr=0.001 \
    --param epochs=15 --tag "MLM-pretrained, 15 epochs, patience 3" --out $R/in-space-lm-2000-pt
}

in_space_transnas() {
  $B evaluate in-space --store $STORE --no-plots --space transnas_micro --sizes 128 --seeds 5 \
    --predictor pairwise,stack --out $R/in-space-transnas
}

zero_shot() {
  local Z="evaluate zero-shot --store $STORE --train nb101 --test nb201 --seeds 5 --no-plots"
  $B $Z --predictor pairwise --param bags=3 --tag "3 bags (the two-space rule's pick)" --out $R/zero-shot-pairwise-bags3
  $B $Z --predictor pairwise --out $R/zero-shot-pairwise
  $B $Z --predictor pairwise --param bags=3 --param "$MECOB" --tag "3 bags + meco_batch (not picked)" \
    --out $R/zero-shot-pairwise-bags3-mecob
  $B $Z --predictor params,onnx-nwot,onnx-swap,onnx-meco,onnx-synflow,proxy-vote,rank-linear,gbm \
    --out $R/zero-shot-static
  $B $Z --predictor proxy-vote --param "features=('nwot','swap')" --tag "nwot+swap" --out $R/zero-shot-vote-nwot-swap
  $B $Z --predictor rank-linear --param graph_features=True --tag "+ graph features" --out $R/zero-shot-ranklinear-graph
  $B $Z --predictor onnxnet-hybrid --param lm=None --param proxies=True --param feature_norm=rank \
    --tag "trees: graph + proxies, rank-normalised" --out $R/zero-shot-trees-graph-proxies
  $B $Z --predictor stack --tag "trees g+p, rank-linear" --out $R/zero-shot-stack
}

zero_shot_multi() {
  local Z="evaluate zero-shot --store $STORE --store $EXTRA --train nb101,nb301,transnas_micro --test nb201"
  Z="$Z --seeds 3 --no-plots"
  $B $Z --predictor params,proxy-vote,gbm --out $R/zero-shot-multi-static
  $B $Z --predictor onnxnet-hybrid --param lm=None --param proxies=True --param feature_norm=rank \
    --tag "trees: graph + proxies, rank-normalised" --out $R/zero-shot-multi-trees-gp-rank
  $B $Z --predictor rank-linear --param graph_features=True --tag "+ graph features" --out $R/zero-shot-multi-ranklinear
  $B $Z --predictor stack --tag "trees g+p, rank-linear" --out $R/zero-shot-multi-stack
  $B $Z --predictor pairwise --out $R/zero-shot-multi-pairwise
}

few_shot() {
  $B evaluate few-shot --store $STORE --no-plots --train nb101 --test nb201 --shots 16,100 --seeds 3 \
    --predictor pairwise,stack --out $R/few-shot
  $B evaluate in-space --store $STORE --no-plots --space nb201 --sizes 16,100 --seeds 3 \
    --predictor pairwise,stack --out $R/few-shot-alone
}

all_spaces() {
  local A="evaluate all-spaces --store $STORE --store $EXTRA --no-plots --spaces nb101,nb201,nb301,transnas_micro"
  A="$A --label accuracy,label:cifar10_test_4ep --param jobs=2 --seeds 2"
  $B $A --predictor auto --out $R/all-spaces-auto
  $B $A --predictor pairwise,stack,gbm --out $R/all-spaces
}

cross_task() {
  $B evaluate cross-task --store $STORE --space transnas_micro --predictor params,gbm --seeds 3 \
    --out $R/cross-task-transnas
}

sections=(headline in-space-nb201 in-space-curve in-space-lm in-space-transnas zero-shot zero-shot-multi few-shot all-spaces
          cross-task)
if [[ $# -eq 0 ]]; then
  sed -n '2,/^set -u/p' "$0" | grep '^#' | cut -c3-
  exit 0
fi
for s in "$@"; do
  if [[ " ${sections[*]} " != *" $s "* ]]; then
    echo "experiments/protocols.sh: unknown section '$s'; one of: ${sections[*]}" >&2
    exit 2
  fi
done
for s in "$@"; do
  echo "== $(date -u +%FT%TZ) $s"
  "${s//-/_}"
done
