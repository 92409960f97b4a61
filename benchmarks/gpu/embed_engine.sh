#!/bin/sh
# Run THERE (the device machine, one GPU), from the repo root, with .whl/ from prepare.sh carried:
# issue 14's GPU figures. Each section is its own invocation appending to $OUT/embed_engine.md, most
# important first, so that a call stopped by its time limit still returns what finished.
#
#   sh benchmarks/gpu/embed_engine.sh core      # ~5 min: 224p model-only fp32/bf16 eager vs the
#                                               # nn.TransformerEncoderLayer stack, frozen-ViT fine-tune
#                                               # samples/s and MFU, memory per clip, end to end from mp4
#   sh benchmarks/gpu/embed_engine.sh compiled  # ~4 min: inductor variants, then pytest -m gpu
#
# Targets (issue 14): 224p bf16 model-only >= 90 clips/s (three times NVIDIA NIM's 28.57 videos/s,
# perf_anchors.md), fine-tune MFU >= 40 %, end to end >= 0.9 x the slower of model-only and decode-only.
# PRESET=tiny runs the same plumbing on a CPU in seconds (a smoke test of this script).
set -u
OUT=${OUT:-/tmp/out}
PRESET=${PRESET:-224p}
BATCH=${BATCH:-32}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || exit 1
export PYTHONPATH=/tmp/site HF_HUB_OFFLINE=1 WANDB_MODE=disabled
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv > "$OUT/nvidia-smi.csv" 2>&1
engine="python3 benchmarks/embed_engine.py --preset $PRESET --record $OUT/embed_engine.md"
step() { echo "== $*" | tee -a "$OUT/log.txt"; timeout "$@" >> "$OUT/log.txt" 2>&1; echo "   rc $?"; }
case "${1:-core}" in
core)
    step 100 $engine --sections model --batch-size "$BATCH" --rounds 5 --no-compile
    step 60 $engine --sections finetune --batch-size "$BATCH" --rounds 5
    step 40 $engine --sections memory --batch-size 16
    step 110 $engine --sections e2e --batch-size "$BATCH" --clips 96 --workers 8 --e2e-rounds 3
    ;;
compiled)
    step 150 $engine --sections model --batch-size "$BATCH" --rounds 5
    step 90 python3 -m pytest -q -m gpu --continue-on-collection-errors -p no:cacheprovider \
        packages/embed/tests packages/core/tests
    ;;
*) echo "usage: $0 core|compiled" >&2; exit 2 ;;
esac
tail -60 "$OUT/embed_engine.md" 2>/dev/null
