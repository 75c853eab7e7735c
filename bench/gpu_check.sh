#!/usr/bin/env bash
# The prepared GPU check (issue: GPU path): a BERT-base-shaped encoder at batch 128, length 32, bf16
# autocast, InfoNCE, eager and torch.compile'd; steps/s, sentences/s, MFU, and the projected hours of
# one paper-scale run (1M sentences, one epoch) and of config.yaml's whole grid. Writes JSON and a
# Markdown log under ${OUT:-bench-out}. About 3-5 minutes on one H200 (compilation included).
#   bash bench/gpu_check.sh            # on the GPU machine, from the repository root
set -euo pipefail
out="${OUT:-bench-out}"
mkdir -p "$out"
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"
python=${PYTHON:-python}
nvidia-smi -L > "$out/gpu.txt" 2>&1 || true
for mode in eager compile; do
    flag=""; [ "$mode" = compile ] && flag="--compile"
    $python bench/train_step.py --random-shape bert-base --batch 128 --length 32 --device cuda --steps 50 \
        --warmup 10 $flag --project-sentences 1000000 --grid-config config.yaml \
        --json "$out/train_step_bert-base_$mode.json" 2>&1 | tee "$out/train_step_bert-base_$mode.md"
done
