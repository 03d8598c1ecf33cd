#!/usr/bin/env bash
# What the two-binary split and long-lived workers buy, before and after side by side in one run:
#
#  1. start-up of a command that does not train: `--version` and `hv` of a small file, with `xnas`
#     as it was before the split (built with the torch feature: it links libtorch) against the
#     head built without libtorch; mean wall time and peak resident memory;
#  2. the peak resident memory of the head of a search;
#  3. the quickstart's search (3,000 images, 3 epochs; population 8, 2 generations = 16 trainings)
#     with a fresh process per evaluation against long-lived workers, K = 1 and 2 jobs at once:
#     wall seconds, evaluations per hour, and the per-evaluation overhead — an attempt's wall time
#     in the store minus the training, validation and trust seconds its record measured — as a
#     share of the attempt.
#
#   scripts/bench-workers.sh                 # CPU
#   scripts/bench-workers.sh --device cuda   # extra arguments go to every `xnas run`
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
eval "$("$root/scripts/setup.sh" --env)"
out="$(mktemp -d /tmp/xnas-bench-workers.XXXXXX)"
trap 'rm -rf "$out"' EXIT
cargo build --release --quiet --bin xnas
linked_bin="$out/xnas-with-libtorch"
cp "$root/target/release/xnas" "$linked_bin"
"$root/scripts/build.sh"
head_bin="$root/target/release/xnas"
echo "machine: $(nproc) core(s); $(date -u +%Y-%m-%dT%H:%MZ)"
if readelf -d "$head_bin" | grep -q torch; then
  echo "warning: $head_bin links libtorch (built with the torch feature?)" >&2
fi

# Mean wall milliseconds over N runs and the peak resident memory (MiB) of one, from /proc.
measure() {
  local n=20 start end
  start=$(date +%s%N)
  for _ in $(seq $n); do "$@" >/dev/null; done
  end=$(date +%s%N)
  local ms rss
  ms=$(awk "BEGIN { printf \"%.1f\", ($end - $start) / $n / 1e6 }")
  rss=$(python3 - "$@" <<'PY'
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
print(f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.1f}")
PY
)
  echo "$ms $rss"
}

printf '1 2\n2 1\n1.5 1.5\n' >"$out/points.txt"
echo
echo "== 1. start-up (mean of 20 runs)"
printf '%-28s %14s %10s %14s %10s %8s\n' command "before ms" "MiB" "after ms" "MiB" speed-up
for cmd in "--version" "hv --ref 3,3 $out/points.txt"; do
  # shellcheck disable=SC2086
  read -r b_ms b_rss <<<"$(measure "$linked_bin" $cmd)"
  # shellcheck disable=SC2086
  read -r a_ms a_rss <<<"$(measure "$head_bin" $cmd)"
  printf '%-28s %14s %10s %14s %10s %7.0fx\n' "xnas ${cmd%% *}" "$b_ms" "$b_rss" "$a_ms" "$a_rss" \
    "$(awk "BEGIN { print $b_ms / ($a_ms > 0 ? $a_ms : 0.001) }")"
done
# Before the split every xnas process also loaded libtorch_cuda and the CUDA libraries of the
# wheel, as xnas-worker does now (the linked head above loads only libtorch's CPU half).
read -r w_ms w_rss <<<"$(measure "$root/target/release/xnas-worker" --version)"
printf '%-28s %14s %10s\n' "xnas-worker --version" "$w_ms" "$w_rss"

settings=(--set dataset.train_subset=3000 --set dataset.val_subset=500 --set dataset.test_subset=1000
  --set training.epochs=3 --set search.generations=2)

# Runs the search; prints "seconds evaluations overhead-share head-peak-MiB".
search() {
  local dir=$1 k=$2 workers=$3
  shift 3
  local start end pid peak=0
  start=$(date +%s.%N)
  "$head_bin" run experiments/quickstart.rhai --dir "$dir" --jobs-per-device "$k" --workers "$workers" \
    "${settings[@]}" "$@" >"$dir.out" 2>"$dir.err" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    hwm=$(awk '/VmHWM/ { print int($2 / 1024) }' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ "${hwm:-0}" -gt "$peak" ] && peak=$hwm
    sleep 0.2
  done
  wait "$pid" || { cat "$dir.err" >&2; exit 1; }
  end=$(date +%s.%N)
  python3 - "$dir" "$(awk "BEGIN { print $end - $start }")" "$peak" <<'PY'
import json, sqlite3, sys
run, seconds, peak = sys.argv[1], float(sys.argv[2]), sys.argv[3]
db = sqlite3.connect(f"{run}/xnas.db")
rows = db.execute(
    "SELECT a.started_at, a.finished_at, e.record FROM attempts a JOIN evaluations e ON e.id = a.evaluation"
    " WHERE a.outcome = 'done' AND e.record IS NOT NULL").fetchall()
wall = measured = 0.0
for started, finished, record in rows:
    r = json.loads(record)
    wall += finished - started
    measured += r["train_seconds"] + r["eval_seconds"] + r.get("trust_seconds", 0.0)
print(f"{seconds:.1f} {len(rows)} {100 * (wall - measured) / wall:.1f} {peak}")
PY
}

echo
echo "== 2./3. the quickstart's search, 16 trainings: a process per evaluation (before) vs long-lived workers (after)"
printf '%-3s %-15s %9s %6s %11s %10s %14s\n' K workers seconds evals evals/hour overhead "head peak MiB"
for k in 1 2; do
  base=""
  for workers in per-evaluation persistent; do
    read -r seconds evals overhead peak <<<"$(search "$out/k$k-$workers" "$k" "$workers" "$@")"
    per_hour=$(awk "BEGIN { print $evals * 3600 / $seconds }")
    [ -z "$base" ] && base=$per_hour
    printf '%-3s %-15s %9s %6s %11.0f %9s%% %14s   %.2fx\n' "$k" "$workers" "$seconds" "$evals" "$per_hour" \
      "$overhead" "$peak" "$(awk "BEGIN { print $per_hour / $base }")"
  done
done
