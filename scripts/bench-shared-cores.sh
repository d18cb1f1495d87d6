#!/usr/bin/env bash
# Extraction throughput when the process shares its cores: alone, beside a busy thread of its own, and two processes at
# once; under OpenMP's spinning wait policy (ACTIVE) and under ReCam's default (PASSIVE). Prints images/s per case.
# Usage: bash scripts/bench-shared-cores.sh [extra `recam bench` options]
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build samples/ReCam.Cli -c Release -v quiet -nologo > /dev/null
recam=samples/ReCam.Cli/bin/Release/net10.0/linux-x64/recam
args=(bench --extraction-only --classes 10 --images 8 "$@")
rate() { grep -o '[0-9.]* images/s' | head -n 1; }
for policy in ACTIVE PASSIVE; do
  export OMP_WAIT_POLICY=$policy
  alone=$("$recam" "${args[@]}" 2>/dev/null | rate)
  neighbour=$("$recam" "${args[@]}" --busy-neighbour 2>/dev/null | rate)
  first=$(mktemp); second=$(mktemp)
  "$recam" "${args[@]}" 2>/dev/null > "$first" & pid=$!
  "$recam" "${args[@]}" 2>/dev/null > "$second"
  wait "$pid"
  echo "OMP_WAIT_POLICY=$policy: alone $alone; busy neighbour thread $neighbour; two processes at once $(rate < "$first") and $(rate < "$second")"
  rm -f "$first" "$second"
done
