#!/usr/bin/env bash
# The prepared GPU check (the lent H200 of the `device` tool; see docs/benchmarks.md,
# "On a GPU"). Two parts, each inside one 10-minute device command; run them back to back
# so the machine stays warm between them:
#
#   bash benchmarks/device_check.sh checks            # CUDA tests + throughput (~4 min)
#   bash benchmarks/device_check.sh gancls64 [SECS]   # GAN-CLS at 64 px for SECS s (default 300) + eval
#
# Everything it writes goes to $OUT (the device tool's folder; ./device-out elsewhere).
# DEVICE=cpu QUICK=1 checks the script itself on a machine without a GPU (tiny settings).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-device-out}
mkdir -p "$OUT"
DEVICE=${DEVICE:-cuda}
QUICK=${QUICK:-}
PY=${PY:-python3}
export PYTHONPATH=src PYTHONUNBUFFERED=1 MPLBACKEND=Agg
part=${1:-checks}

info() {
    { date -u; nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"; nproc
      $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.version.cuda)"
    } 2>&1 | tee "$OUT/info.txt"
}

case "$part" in
checks)
    info
    # the CUDA path of every registered method (skipped without a GPU)
    $PY -m pytest -q -p no:cacheprovider tests/train/test_cuda.py 2>&1 | tee "$OUT/test_cuda.txt" | tail -n 15
    if [ -n "$QUICK" ]; then
        $PY benchmarks/gpu_throughput.py --device "$DEVICE" --quick --rounds 2 --steps 2 --warmup 1 \
            --out "$OUT/gpu_throughput.jsonl" > /dev/null
    else
        $PY benchmarks/gpu_throughput.py --device "$DEVICE" --rounds 4 --steps 20 --warmup 5 \
            --out "$OUT/gpu_throughput.jsonl" > /dev/null
    fi
    $PY - "$OUT/gpu_throughput.jsonl" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    cells = "  ".join(f"{v}: {x['wall_images_per_s']:.0f} img/s x{x['wall_ratio']:.2f} {x.get('peak_mib', '-')} MiB"
                      for v, x in r["variants"].items())
    print(f"{r['method']:9s} {cells}")
EOF
    ;;
gancls64)
    secs=${2:-300}
    info
    run=${RUN:-/tmp/gancls64-run}  # checkpoints stay on the machine; $OUT gets the figures
    rm -rf "$run"
    if [ -n "$QUICK" ]; then
        size=16; width=8; extra="--set encoder_steps=20 --set residual=true"; data="shapes?task=captions&wrong=swap&n=200"; steps=${QUICK_STEPS:-60}; every=30; n_eval=40
    else
        # the best 32 px recipe of docs/benchmarks.md (wrong=swap, 4,000 encoder steps,
        # real_label 0.9, feature matching 100, reedscot's residual G) at the paper's 64 px
        # and width 64
        size=64; width=64; extra="--set encoder_steps=4000 --set residual=true --set num_workers=8"; data="shapes?task=captions&wrong=swap"; steps=1000000; every=2000; n_eval=1000
    fi
    # SIGTERM at the budget: the Trainer writes a checkpoint and stops (status interrupted)
    timeout -s TERM "$secs" $PY -m ganas train gancls --data "$data" --out "$run" \
        --set image_size=$size --set ngf=$width --set ndf=$width --set embed_dim=128 --set encoder_hidden=128 \
        --set word_dim=64 --set image_encoder_width=16 $extra --set checkpoint_every=$every \
        --set keep_checkpoints=50 --set sample_every=$every --set real_label=0.9 --set feature_matching=100 \
        --steps $steps --device "$DEVICE" --quiet 2>&1 | tail -n 5
    cp "$run/metrics.jsonl" "$OUT/gancls64_metrics.jsonl" 2>/dev/null
    last=$(ls "$run"/samples/*.png 2>/dev/null | tail -n 1)
    [ -n "$last" ] && cp "$last" "$OUT/gancls64_samples.png"
    $PY -m ganas eval "$run" --n $n_eval --json --device "$DEVICE" 2>&1 | tee "$OUT/gancls64_eval.json" | tail -n 3
    ;;
*)
    echo "usage: $0 checks | gancls64 [SECONDS]" >&2; exit 2 ;;
esac
