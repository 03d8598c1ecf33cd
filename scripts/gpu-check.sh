#!/usr/bin/env bash
# The device check, for a session lent a GPU machine (see the device tool): run it THERE, in the
# repository root, with target/release/xnas built here and carried along. It links the binary
# against the device's own torch (python3 -c 'import torch'), checks that xnas sees CUDA, runs
# `xnas eval` on cuda at the paper's size, and measures training throughput against PyTorch on
# the same GPU, then evaluations per hour of a tiny search with K = 1, 2, 4 jobs on the GPU (each
# child pinned with CUDA_VISIBLE_DEVICES). Output: stdout, and $OUT/gpu-check.txt when $OUT is set.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
torch_lib=$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
log=${OUT:-/tmp}/gpu-check.txt
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())'
  ldd target/release/xnas | grep -E 'torch_cuda|c10_cuda'
  echo "== xnas eval on cuda, paper size (C=16, N=5), 10k Fashion-MNIST images, 2 epochs"
  data=/usr/share/datasets/fashion-mnist
  [ -e "$data" ] || data=shared/fashion-mnist
  time target/release/xnas eval 002404 --dataset fashion-mnist --data-dir "$data" --device cuda \
    --epochs 2 --train-subset 10000 --val-subset 2000 --test-subset 2000 --json --out "${OUT:-/tmp}/record-cuda.json" | head -c 0
  python3 -c "import json; r=json.load(open('${OUT:-/tmp}/record-cuda.json')); print(r['status'], r['device'], 'acc', r['val_accuracy'], 'img/s', round(r['train_images_per_second']), 'intro', r['introspectability'])"
  echo "== throughput vs PyTorch on the same GPU"
  python3 benches/train_vs_pytorch.py --xnas target/release/xnas --device cuda --images 10000 --epochs 2 --data-dir "$data"
  python3 benches/train_vs_pytorch.py --xnas target/release/xnas --device cuda --images 10000 --epochs 2 --data-dir "$data" --workers 4
  echo "== evaluations per hour, K jobs at once on the GPU (devices: every visible GPU)"
  for k in 1 2 4; do
    start=$(date +%s.%N)
    target/release/xnas run experiments/quickstart.rhai --dir "/tmp/gpu-k$k" --device cuda --jobs-per-device "$k" \
      --set dataset.data_dir="$data" --set dataset.train_subset=1000 --set dataset.val_subset=300 --set dataset.test_subset=300 \
      --set training.epochs=1 --set search.generations=2 2>"/tmp/gpu-k$k.err" | tail -1
    end=$(date +%s.%N)
    awk "BEGIN { printf \"K=%d: %.1f s, %.0f evaluations/hour\\n\", $k, $end - $start, 16 * 3600 / ($end - $start) }"
    sqlite3 "/tmp/gpu-k$k/xnas.db" "SELECT DISTINCT device FROM evaluations" 2>/dev/null | tr '\n' ' '; echo
  done
} 2>&1 | tee "$log"
