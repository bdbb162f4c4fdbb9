#!/usr/bin/env bash
# The scale scenario's GPU measurements in one command (docs/BENCHMARKS.md, "Scale").
# Run from the repository root on a GPU node (the device tool: about 5 minutes on an H200,
# within a 540 s cap); results go under $OUT (default ./bench_out):
#   gpu.txt           the GPU, its memory and driver
#   tests.log         tests/test_checkpoints.py (codes on the configured device, CUDA here)
#   bench_scale.json  every number of benchmarks/bench_scale.py
#   bench_scale.md    its Markdown tables, for docs/BENCHMARKS.md
#   bench_scale.log   its log
# It writes the 60,000-image collection to /tmp/nrdh_scale first (make-scale-data's
# generator), then measures with presets/scale.yaml's features and hasher settings.
set -euo pipefail
OUT=${OUT:-$PWD/bench_out}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 TQDM_DISABLE=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >"$OUT/gpu.txt"
nproc >>"$OUT/gpu.txt"
$PY -m pytest -q -p no:cacheprovider tests/test_checkpoints.py 2>&1 | tee "$OUT/tests.log" || true
timeout 540 $PY benchmarks/bench_scale.py --data /tmp/nrdh_scale \
    --json "$OUT/bench_scale.json" --md "$OUT/bench_scale.md" 2>&1 | tee "$OUT/bench_scale.log"
