#!/usr/bin/env bash
# GPU check, prepared to run in one go: per-model training speed in bf16 (scripts/bench_gpu.py), then a short
# `accelerate launch` of the default accelerate_config.yaml with every GPU present (vit-pretrained on ViT-B/16).
#
# On the lent GPU machine (torch, transformers, accelerate, timm there; datasets and evaluate carried as wheels):
#   here, once:  mkdir -p .git/info && echo /.whl/ >> .git/info/exclude && .venv/bin/python -m pip download \
#                  --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#                  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#                  -d .whl datasets==5.2.0 evaluate==0.4.6 dill==0.4.1 multiprocess==0.70.19 pyarrow==26.0.1
#   device:      run(command="bash scripts/bench_gpu.sh", carry=[".whl"], timeout_s=540)
#                (this script installs .whl/*.whl into /tmp/site when the folder is there; about 7 minutes)
# Anywhere, on the CPU, as the tests do (tiny presets, seconds of work; nothing it prints is a GPU figure):
#   bash scripts/bench_gpu.sh --smoke
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$(test -x .venv/bin/python && echo .venv/bin/python || echo python3)}
export PYTHONPATH="src:.${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ "${1:-}" = "--smoke" ]; then
    "$PYTHON" scripts/bench_gpu.py --smoke
    "$PYTHON" -m accelerate.commands.launch --num_processes 1 --num_machines 1 --mixed_precision no \
        --dynamo_backend no scripts/train.py --model cnn --preset tiny --num_synthetic_houses 30 \
        --synthetic_image_size 32 --dataset_cache_dir "$work/cache" --output_dir "$work/run" --max_steps 1 \
        --eval_strategy no --save_strategy no --load_best_model_at_end false --max_eval_samples 3 \
        --per_device_train_batch_size 4 --dataloader_num_workers 1 --report_to none
    exit
fi

if [ -d .whl ]; then  # wheels carried to the GPU machine (see the top of this file)
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH="/tmp/site:$PYTHONPATH"
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
"$PYTHON" -c "import torch, transformers, accelerate, datasets; print('torch', torch.__version__, '| transformers', \
transformers.__version__, '| accelerate', accelerate.__version__, '| datasets', datasets.__version__)"
"$PYTHON" scripts/bench_gpu.py

gpus=$(nvidia-smi -L | wc -l)
cpus=$(nproc)
"$PYTHON" -c "from zillow_vit.benchmarking import save_random_vit; save_random_vit('$work/vit-b16', 'base')"
"$PYTHON" -m accelerate.commands.launch --config_file accelerate_config.yaml --num_processes "$gpus" \
    scripts/train.py --model vit-pretrained --pretrained_model_name_or_path "$work/vit-b16" \
    --dataset_cache_dir "$work/cache" --output_dir "$work/run" --max_steps 60 --logging_steps 20 \
    --eval_strategy no --save_strategy no --load_best_model_at_end false --max_eval_samples 64 \
    --per_device_train_batch_size 64 --dataloader_num_workers $(( (cpus - 1) / gpus )) \
    --dataloader_persistent_workers true --report_to none
