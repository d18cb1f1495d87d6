#!/usr/bin/env bash
# Quick start on a fresh machine: installs the Fashion-MNIST package if missing (Debian/Ubuntu), then runs
# `recam quickstart` on generated scenes: CAM, ReCAM, refinement to pseudo masks and DeepLab, printing each stage's mIoU.
# Extra arguments go to `recam quickstart` (see `recam quickstart --help`).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && [ -z "${RECAM_FASHION_MNIST:-}" ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq dataset-fashion-mnist
fi

dotnet run --project samples/ReCam.Cli -c Release -- quickstart "$@"
