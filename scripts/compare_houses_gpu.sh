#!/usr/bin/env bash
# The cross-validated comparison of the README's real-house table, as run on one GPU: every model, and the
# fine-tuning recipe of vit-pretrained built up one step per row, each row on the same 5 folds (seed 0), runs trained
# PARALLEL_RUNS at a time. Rows are chosen on their validation accuracy (results.md), never on test.
#
#   bash scripts/compare_houses_gpu.sh [LISTING] [OUTPUT_DIR] [BACKBONE]
#     LISTING     default ../shared/data/houses-ahmed2016/houses.json
#     OUTPUT_DIR  default reports/houses-ahmed2016-cv (finished runs there are kept: rerun to resume)
#     BACKBONE    default checkpoints/efficientnet-lite0 (python scripts/convert_efficientnet_lite.py --variant lite0)
#   PARALLEL_RUNS (default 12), EXTRA_RUN_ARGS (appended to every run's train.py arguments) and EXTRA_ARGS (to
#   compare.py's) in the environment; on a CPU-only machine drop the bf16 flag: BF16=false.
#
# The vit-pretrained ladder (each row adds one step to the one before):
#   vit-pretrained               the recipe's defaults: 10 epochs, AdamW 1e-4, backbone at 0.1x, cosine, warmup 10 %
#   /probe-first                 + the backbone frozen for 3 epochs (linear probe first), 15 epochs in all
#   /light-head                  + a smaller, more regularised house stage (1 block of width 128, dropout 0.2/0.3)
#   /smooth                      + label smoothing 0.1
#   /head-lr                     + the new layers at 5e-4, the backbone at 1e-5 (as before)
#   /head-lr-1-photo, -2-photos  the last row reading 1 or 2 photos per house instead of all 4
#   /light-head-facts            /light-head with the listing facts as tokens of the house encoder (issue 12's
#                                ablation: photos only, facts only (the reference rows), both)
#   /frozen-mean, -facts         the backbone frozen throughout, the house vector the mean of the photo vectors
#                                (house_num_layers 0; with -facts, of the fact tokens too): the model's twin of
#                                the frozen probe (cheap enough for a CPU: these two rows of the table ran on one)
# Every other row reads photos only (--use_listing_facts false), though the folds carry the facts for the
# reference rows (listing facts + logistic regression / gradient boosting, and late fusion with the frozen probe).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$(test -x .venv/bin/python && echo .venv/bin/python || echo python3)}
listing=${1:-../shared/data/houses-ahmed2016/houses.json}
output_dir=${2:-reports/houses-ahmed2016-cv}
backbone=${3:-checkpoints/efficientnet-lite0}

probe_first="--freeze_backbone_epochs 3 --num_train_epochs 15"
light_head="$probe_first --config_overrides '{\"hidden_size\": 128, \"house_num_layers\": 1, \"house_num_heads\": 4,
  \"hidden_dropout_prob\": 0.2, \"classifier_dropout_prob\": 0.3}'"
smooth="$light_head --label_smoothing_factor 0.1"
head_lr="$smooth --learning_rate 5e-4 --backbone_learning_rate_scale 0.02"
frozen_mean="--freeze_backbone_epochs 6 --num_train_epochs 6 --learning_rate 1e-3 --config_overrides
  '{\"house_num_layers\": 0, \"hidden_size\": 128, \"classifier_dropout_prob\": 0.3}'"

# shellcheck disable=SC2086
"$PYTHON" scripts/compare.py --dataset "$listing" --output_dir "$output_dir" --folds 5 --seeds 0 \
    --heads classification --parallel_runs "${PARALLEL_RUNS:-12}" \
    --models cnn vit-scratch/conv vit-pretrained vit-pretrained/probe-first vit-pretrained/light-head \
    vit-pretrained/smooth vit-pretrained/head-lr vit-pretrained/head-lr-1-photo vit-pretrained/head-lr-2-photos \
    vit-pretrained/light-head-facts vit-pretrained/frozen-mean vit-pretrained/frozen-mean-facts \
    --listing_fields bedrooms bathrooms area zipcode \
    --run_args "all=--bf16 ${BF16:-true} --use_listing_facts false --report_to none --disable_tqdm true ${EXTRA_RUN_ARGS:-}" \
    "cnn=--save_only_model true" \
    "vit-scratch/conv=--preset conv" \
    "vit-pretrained=--pretrained_model_name_or_path $backbone" \
    "vit-pretrained/probe-first=$probe_first" \
    "vit-pretrained/light-head=$light_head" \
    "vit-pretrained/smooth=$smooth" \
    "vit-pretrained/head-lr=$head_lr" \
    "vit-pretrained/head-lr-1-photo=$head_lr --max_photos 1" \
    "vit-pretrained/head-lr-2-photos=$head_lr --max_photos 2" \
    "vit-pretrained/light-head-facts=$light_head --use_listing_facts true" \
    "vit-pretrained/frozen-mean=$frozen_mean" \
    "vit-pretrained/frozen-mean-facts=$frozen_mean --use_listing_facts true" \
    ${EXTRA_ARGS:-}
