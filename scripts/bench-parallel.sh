#!/usr/bin/env bash
# Evaluations per hour of one fixed tiny search (the quickstart on 1,000 Fashion-MNIST images, one
# epoch, population 8 for 2 generations = 16 trainings) with K = 1, 2, 4 jobs at once on each device,
# printed side by side with the ratio to K = 1. Generational scheduling by default; extra arguments go
# to every `xnas run` (e.g. `--scheduling steady-state`, or `--device cuda` on a GPU machine).
#
#   scripts/bench-parallel.sh
#   scripts/bench-parallel.sh --device cuda
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/scripts/build.sh"
eval "$("$root/scripts/setup.sh" --env)"
xnas="${XNAS_BIN:-$root/target/release/xnas}"
out="$(mktemp -d /tmp/xnas-bench-parallel.XXXXXX)"
trap 'rm -rf "$out"' EXIT
cores="$(nproc)"
echo "fixed search: quickstart, 1,000 train / 300 validation images, 1 epoch, population 8 x 2 generations"
echo "machine: $cores core(s); libtorch threads split over the K jobs; $(date -u +%Y-%m-%dT%H:%MZ)"
printf '%-4s %10s %14s %12s %10s\n' K seconds evaluations evals/hour "vs K=1"
base=""
for k in 1 2 4; do
  start=$(date +%s.%N)
  "$xnas" run experiments/quickstart.rhai --dir "$out/k$k" --jobs-per-device "$k" --threads "$cores" \
    --set dataset.train_subset=1000 --set dataset.val_subset=300 --set dataset.test_subset=300 --set training.epochs=1 \
    --set search.generations=2 "$@" >"$out/k$k.out" 2>"$out/k$k.err" || { cat "$out/k$k.err" >&2; exit 1; }
  end=$(date +%s.%N)
  # "… N candidate(s) evaluated (T trained, …" from the run's summary line.
  trained=$(sed -n 's/.*evaluated[^(]*(\([0-9]*\) trained.*/\1/p' "$out/k$k.out")
  seconds=$(awk "BEGIN { print $end - $start }")
  per_hour=$(awk "BEGIN { print $trained * 3600 / $seconds }")
  [ -z "$base" ] && base=$per_hour
  printf '%-4s %10.1f %14s %12.0f %9.2fx\n' "$k" "$seconds" "$trained" "$per_hour" "$(awk "BEGIN { print $per_hour / $base }")"
done
