#!/usr/bin/env bash
# OpenMP wait policies and bounded spins for make-cam: seconds per image alone, and for each of two processes started at
# once on the same cores; several rounds, the order of the variants rotated each round so a slow spell of the machine does
# not always hit the same one. ReCam sets OMP_WAIT_POLICY=PASSIVE unless the process chose a policy; GOMP_SPINCOUNT bounds
# the spin of libtorch's libgomp on top of it.
# Usage: bench/omp-spin-sweep.sh [--rounds N] [--dir DIR] [--backbone NAME]
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3 dir=/tmp/recam-spin-sweep backbone=resnet18-imagenet
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --backbone) backbone="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

dotnet build samples/ReCam.Cli -c Release -v q -nologo >/dev/null
recam="$(ls -d samples/ReCam.Cli/bin/Release/net*/linux-x64 | head -n 1)/recam"
scenes="$dir/scenes"
[ -f "$scenes/ImageSets/Segmentation/train.txt" ] || "$recam" make-scenes --voc "$scenes" --count 80 --val-count 1 --size 160 >/dev/null

# Prints the median seconds per image of one make-cam step bench under the given environment.
seconds() { env $1 "$recam" bench --voc "$scenes" --work make-cam --backbone "$backbone" --threads 2 --images "$2" 2>/dev/null | awk '/^RESULT/ {print $4}'; }

variants=("OMP_WAIT_POLICY=PASSIVE" "GOMP_SPINCOUNT=1000" "GOMP_SPINCOUNT=10000" "GOMP_SPINCOUNT=100000" "OMP_WAIT_POLICY=ACTIVE")
first=$(mktemp); second=$(mktemp)
trap 'rm -f "$first" "$second"' EXIT
for round in $(seq 1 "$rounds"); do
  for i in "${!variants[@]}"; do
    v=${variants[$(( (i + round) % ${#variants[@]} ))]}
    alone=$(seconds "$v" 15)
    seconds "$v" 10 > "$first" & pid=$!
    seconds "$v" 10 > "$second"
    wait "$pid"
    echo "round $round $v: alone $alone s/image; two processes at once $(cat "$first") and $(cat "$second") s/image"
  done
done
