#!/usr/bin/env bash
# Side-by-side speed and memory of the official ReCAM code's work and ours, on one machine, in one run, alternating sides,
# on the same generated scenes: train-cam and train-recam seconds per step, make-cam seconds per image (medians over the
# timed steps or images of each run, then the median over the repetitions), peak resident memory of each process.
#
# The official side is bench/official/official_side.py on Debian's python3-torch (apt-get install python3-torch
# python3-pil python3-numpy); ours is `recam bench --voc DIR --work W`, which runs the steps' own code. Each work runs in
# a process of its own, one process at a time (two libtorch processes on the same cores slow each other down).
#
# Usage: bench/compare-official.sh [--reps N] [--backbones "resnet18-imagenet resnet50"] [--works "train-cam train-recam make-cam"]
#                                  [--dir DIR] [--threads N] [--steps N] [--images N] [--omp-wait-policy ACTIVE|PASSIVE]
# --omp-wait-policy sets OMP_WAIT_POLICY for our side only (ours defaults to PASSIVE, which keeps idle OpenMP threads from
# spinning beside other busy processes; the official side runs with libgomp's default, which spins for a while).
set -euo pipefail
cd "$(dirname "$0")/.."

reps=3 backbones="resnet18-imagenet resnet50" works="train-cam train-recam make-cam" dir=/tmp/recam-compare threads=2 steps=5 images=20 policy=""
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps="$2"; shift 2 ;;
    --backbones) backbones="$2"; shift 2 ;;
    --works) works="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --images) images="$2"; shift 2 ;;
    --omp-wait-policy) policy="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
python=/usr/bin/python3
"$python" -c "import torch, PIL, numpy" 2>/dev/null || { echo "the official side needs Debian's python3-torch, python3-pil and python3-numpy" >&2; exit 1; }

dotnet build samples/ReCam.Cli -c Release -v q -nologo >/dev/null
recam="$(ls -d samples/ReCam.Cli/bin/Release/net*/linux-x64 | head -n 1)/recam"
scenes="$dir/scenes"
[ -f "$scenes/ImageSets/Segmentation/train.txt" ] || "$recam" make-scenes --voc "$scenes" --count 200 --val-count 1 --size 160 >/dev/null
results="$dir/results.txt"
: > "$results"

official() { "$python" bench/official/official_side.py --voc "$scenes" --work "$1" --backbone "$2" --threads "$threads" --steps "$steps" --images "$images" | grep '^RESULT' | sed 's/^/official /'; }
ours() { env ${policy:+OMP_WAIT_POLICY=$policy} "$recam" bench --voc "$scenes" --work "$1" --backbone "$2" --threads "$threads" --steps "$steps" --images "$images" --size 160 --batch 16 | grep '^RESULT' | sed 's/^/ours /'; }

for rep in $(seq 1 "$reps"); do
  # The yardstick in the same run: each framework's fp32 matmul and 3x3 convolution GFLOP/s.
  { "$python" bench/official/official_side.py --work peak --threads "$threads" | sed 's/^/official /'
    env ${policy:+OMP_WAIT_POLICY=$policy} "$recam" bench --peak --threads "$threads" | grep '^PEAK' | sed 's/^/ours /'; } | tee -a "$results"
  for backbone in $backbones; do
    for work in $works; do
      # Alternate which side goes first, so that a slow spell of the machine does not always hit the same side.
      if [ $((rep % 2)) -eq 1 ]; then official "$work" "$backbone"; ours "$work" "$backbone"; else ours "$work" "$backbone"; official "$work" "$backbone"; fi |
        tee -a "$results"
    done
  done
done

"$python" - "$results" <<'EOF'
import statistics, sys
rows, peaks = {}, {}
for line in open(sys.argv[1]):
    if line.split()[1] == "PEAK":
        side, _, shape, dtype, gflops = line.split()
        peaks.setdefault((side, shape, dtype), []).append(float(gflops))
        continue
    side, _, work, backbone, seconds, peak, _ = line.split()
    rows.setdefault((backbone, work), {}).setdefault(side, []).append((float(seconds), float(peak)))
print("\n| backbone | work | official s | ours s | ratio official/ours | official peak MiB | ours peak MiB |")
print("|---|---|---|---|---|---|---|")
for (backbone, work), sides in rows.items():
    if len(sides) < 2:
        continue
    o = statistics.median(s for s, _ in sides["official"]); u = statistics.median(s for s, _ in sides["ours"])
    op = max(p for _, p in sides["official"]); up = max(p for _, p in sides["ours"])
    print(f"| {backbone} | {work} | {o:.3f} | {u:.3f} | {o / u:.2f} | {op:.0f} | {up:.0f} |")
print("\n| yardstick (fp32) | official GFLOP/s | ours GFLOP/s |\n|---|---|---|")
for shape in sorted({k[1] for k in peaks}):
    cell = lambda side: f"{statistics.median(peaks[(side, shape, 'fp32')]):.1f}" if (side, shape, 'fp32') in peaks else "-"
    print(f"| {shape} | {cell('official')} | {cell('ours')} |")
EOF
