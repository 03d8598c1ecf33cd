#!/usr/bin/env bash
# Training throughput of xnas vs. the same network in PyTorch with a per-sample DataLoader.
# Arguments go to benches/train_vs_pytorch.py (e.g. --images 4096 --epochs 2 --device cuda).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
eval "$("$root/scripts/setup.sh" --env)"
"$root/scripts/build.sh"
exec python benches/train_vs_pytorch.py --xnas "$root/target/release/xnas" "$@"
