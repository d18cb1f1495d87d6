#!/usr/bin/env bash
# CAM and ReCAM seed mIoU over differently composed scene sets and training seeds, with the defaults: the evidence
# behind the ReCAM defaults and the automatic background threshold. Each set is, by default, 300 training scenes of 128 px (A: the
# default composition; B: 2-4 small items; C: 1-2 large items, more confusable pairs); each run trains CAM (5 epochs,
# batch 16, crop = scene size) and ReCAM (its defaults) with one seed, extracts maps of the first 100 training images and scores
# them at the best swept threshold, at the automatic one (chosen without masks) and at the official 0.21.
# Prints one markdown row per run. Finished steps are skipped on a second call (delete the folder to redo them).
# About 5 minutes per run on 2 cores (2 without ReCAM). --cam passes options to train-cam, arguments after -- go to
# train-recam (for ablations); a run whose CAM training diverges prints a row saying so.
# --count and --size change the sets' number of scenes and their size; folders are named after both, so a second call
# with other sizes in the same --dir makes new scenes rather than reusing the first call's.
# Usage: bench/seed-grid.sh [--dir DIR] [--sets "A B C"] [--seeds "0 1 2"] [--count N] [--size PX]
#                           [--cam "train-cam options"] [--no-recam] [-- train-recam options]
set -euo pipefail
cd "$(dirname "$0")/.."

dir=/tmp/recam-seed-grid sets="A B C" seeds="0 1 2" count=300 size=128 cam_args="" with_recam=1 recam_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --sets) sets="$2"; shift 2 ;;
    --seeds) seeds="$2"; shift 2 ;;
    --count) count="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --cam) cam_args="$2"; shift 2 ;;
    --no-recam) with_recam=0; shift ;;
    --) shift; recam_args=("$@"); break ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

declare -A composition=(
  [A]="--seed 11"
  [B]="--seed 12 --objects 2,4 --item-size 0.25,0.5"
  [C]="--seed 13 --objects 1,2 --item-size 0.4,0.8 --confusable 0.6")

dotnet build samples/ReCam.Cli -c Release -v q -nologo >/dev/null
recam="$(ls -d samples/ReCam.Cli/bin/Release/net*/linux-x64 | head -n 1)/recam"
mkdir -p "$dir"

# "best (threshold) | automatic (threshold) | at 0.21" from an eval step's closing log line.
scores() { sed -n 's/.*mIoU \([0-9.]*\) at threshold 0.21, \([0-9.]*\) at the automatic \([0-9.]*\), best \([0-9.]*\) at \([0-9.]*\);.*/\4 \5 \2 \3 \1/p' "$1"; }

echo "| set | seed | CAM best (t) | CAM automatic (t) | CAM at 0.21 | ReCAM best (t) | ReCAM automatic (t) | ReCAM at 0.21 | gain best / automatic / 0.21 |"
echo "|---|---|---|---|---|---|---|---|---|"
for set in $sets; do
  [ -n "${composition[$set]:-}" ] || { echo "unknown set $set (A, B or C)" >&2; exit 2; }
  voc="$dir/scenes-$set-${count}x$size"
  if [ ! -f "$voc/ImageSets/Segmentation/first100.txt" ]; then
    # shellcheck disable=SC2086
    "$recam" make-scenes --voc "$voc" --count "$count" --size "$size" ${composition[$set]} >/dev/null
    head -n 100 "$voc/ImageSets/Segmentation/train.txt" > "$voc/ImageSets/Segmentation/first100.txt"
  fi
  for seed in $seeds; do
    work="$dir/$set-${count}x$size-seed$seed"; log="$work/logs"; mkdir -p "$log"
    common=(--voc "$voc" --work "$work" --seed "$seed" --crop "$size" --batch 16)
    if [ ! -s "$log/eval-cam.log" ]; then
      # shellcheck disable=SC2086
      if ! "$recam" train-cam "${common[@]}" --epochs 5 $cam_args > "$log/train-cam.log" 2>&1; then
        echo "| $set | $seed | $(grep -o 'diverged at step [0-9]*' "$log/train-cam.log" || echo 'train-cam failed, see its log') | | | | | | |"
        continue
      fi
      "$recam" make-cam "${common[@]}" --split first100 > "$log/make-cam.log" 2>&1
      "$recam" eval-cam "${common[@]}" --split first100 > "$log/eval-cam.log.tmp" 2>&1 && mv "$log/eval-cam.log.tmp" "$log/eval-cam.log"
    fi
    read -r cb cbt ca cat c21 <<< "$(scores "$log/eval-cam.log")"
    if [ "$with_recam" = 0 ]; then echo "| $set | $seed | $cb ($cbt) | $ca ($cat) | $c21 | | | | |"; continue; fi
    if [ ! -s "$log/eval-recam.log" ]; then
      "$recam" train-recam "${common[@]}" "${recam_args[@]}" > "$log/train-recam.log" 2>&1
      "$recam" make-recam "${common[@]}" --split first100 > "$log/make-recam.log" 2>&1
      "$recam" eval-recam "${common[@]}" --split first100 > "$log/eval-recam.log.tmp" 2>&1 && mv "$log/eval-recam.log.tmp" "$log/eval-recam.log"
    fi
    read -r rb rbt ra rat r21 <<< "$(scores "$log/eval-recam.log")"
    gain=$(awk -v a="$cb" -v b="$rb" -v c="$ca" -v d="$ra" -v e="$c21" -v f="$r21" \
      'BEGIN { printf "%+.1f / %+.1f / %+.1f", b - a, d - c, f - e }')
    echo "| $set | $seed | $cb ($cbt) | $ca ($cat) | $c21 | $rb ($rbt) | $ra ($rat) | $r21 | $gain |"
  done
done
