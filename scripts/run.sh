#!/usr/bin/env bash
# Builds xnas (release) after installing what is missing, then runs it.
#
#   scripts/run.sh                 # the default job: a small real evaluation on Fashion-MNIST
#   scripts/run.sh eval 002404 --epochs 1 --json   # any xnas command line
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
eval "$("$root/scripts/setup.sh" --env)"
# libtorch's OpenMP threads spin while they wait; on a busy machine (parallel tests, other jobs)
# that makes training 10-70x slower. Passive waiting costs little when the machine is idle.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
cargo build --release --quiet
if [ $# -eq 0 ]; then
  # A strong NAS-Bench-201 cell, trained for 3 epochs on 10,000 real Fashion-MNIST images at a
  # CPU-friendly size (about half a minute on 2 cores; 72% accuracy): the paper's size is
  # --channels 16 --cells 5, and every image with no --train-subset.
  set -- eval '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|' \
    --dataset fashion-mnist --epochs 3 --train-subset 10000 --val-subset 2000 --channels 8 --cells 2 --batch-size 256
fi
exec "$root/target/release/xnas" "$@"
