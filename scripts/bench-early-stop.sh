#!/usr/bin/env bash
# Early stopping at an equal wall-clock budget: the quickstart's search (experiments/quickstart.rhai)
# against the same search with the stdlib rule early::dominated_by_front(0.05, 1)
# (experiments/early_stopping.rhai: the same settings plus per-epoch measurement and the rule), each
# given SECONDS of wall clock (search.max_seconds; the generation in flight then finishes) for
# seeds 1, 2 and 3. Prints, per run and as means: wall seconds, evaluations finished, candidates
# stopped, epochs trained, and the archive's hypervolume in the report axes (validation accuracy,
# introspectability; reference point (0.1, 0)) over every finished record, and over the
# candidates trained to the end only (stopped ones hold their partial values), and "hv at T": over
# the records that finished within SECONDS of the run's start (store timestamps), which is equal
# time to the second even where a run's last evaluations overshoot the budget.
#
#   scripts/bench-early-stop.sh [SECONDS] [extra xnas run arguments]   # default 120 s per run
#   RULE="0.05, 2" scripts/bench-early-stop.sh                          # other (margin, min_epoch)
#   SCHEDULING=steady-state scripts/bench-early-stop.sh                 # no generation barrier
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/scripts/build.sh"
eval "$("$root/scripts/setup.sh" --env)"
seconds=${1:-120}
shift || true
out="$(mktemp -d /tmp/xnas-bench-early.XXXXXX)"
trap 'rm -rf "$out"' EXIT
rule=${RULE:-0.05, 1}
scheduling=${SCHEDULING:-generational}
# The early-stopping script with the rule's arguments (its imports are built-in modules).
early_script="$out/early_stopping.rhai"
sed "s/early::dominated_by_front([^)]*)/early::dominated_by_front($rule)/" experiments/early_stopping.rhai >"$early_script"
echo "machine: $(nproc) core(s); $seconds s of wall clock per run; rule dominated_by_front($rule); $scheduling scheduling; $(date -u +%Y-%m-%dT%H:%MZ)"
printf '%-6s %-5s %8s %6s %8s %7s %10s %14s %10s\n' rule seed seconds evals stopped epochs hv "hv (complete)" "hv at T"
for seed in 1 2 3; do
  for variant in quickstart early_stopping; do
    dir="$out/$variant-$seed"
    start=$(date +%s.%N)
    script="experiments/$variant.rhai"
    [ "$variant" = early_stopping ] && script="$early_script"
    target/release/xnas run "$script" --dir "$dir" --jobs-per-device 2 --scheduling "$scheduling" \
      --set search.seed="$seed" --set search.generations=1000 --set search.max_seconds="$seconds" "$@" \
      >"$dir.out" 2>"$dir.err" || { cat "$dir.err" >&2; exit 1; }
    end=$(date +%s.%N)
    python3 - "$dir" "$variant" "$seed" "$(awk "BEGIN { print $end - $start }")" "$seconds" <<'PY' | tee -a "$out/rows"
import json, sqlite3, sys
run, variant, seed, seconds, budget = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
db = sqlite3.connect(f"{run}/xnas.db")
(created,) = db.execute("SELECT created FROM run").fetchone()
rows = db.execute("SELECT record, finished_at FROM evaluations WHERE status = 'done' AND record IS NOT NULL").fetchall()
records = [json.loads(r) for (r, _) in rows]
in_time = [json.loads(r) for (r, finished) in rows if finished is not None and finished - created <= budget]

def hypervolume(points, ref=(0.1, 0.0)):
    # Both maximised: sweep by accuracy, descending; each point adds its strip above the last one.
    points = sorted({p for p in points if p[0] > ref[0] and p[1] > ref[1]}, reverse=True)
    area, best = 0.0, ref[1]
    for x, y in points:
        if y > best:
            area += (x - ref[0]) * (y - best)
            best = y
    return area

def point(r):
    return (r["val_accuracy"], r["introspectability"]) if r.get("introspectability") is not None else None

done = [r for r in records if r["status"] in ("done", "stopped")]
complete = [r for r in done if r["status"] == "done"]
stopped = len(done) - len(complete)
epochs = sum(len(r["train_loss_per_epoch"]) for r in done)
hv_all = hypervolume([p for p in map(point, done) if p])
hv_complete = hypervolume([p for p in map(point, complete) if p])
hv_in_time = hypervolume([p for p in map(point, in_time) if p])
rule = "yes" if variant == "early_stopping" else "no"
print(f"{rule:<6} {seed:<5} {seconds:8.0f} {len(done):6d} {stopped:8d} {epochs:7d} {hv_all:10.4f} {hv_complete:14.4f} {hv_in_time:10.4f}")
PY
  done
done
echo
echo "means over the seeds:"
awk '{ n[$1]++; s[$1]+=$3; e[$1]+=$4; st[$1]+=$5; ep[$1]+=$6; hv[$1]+=$7; hc[$1]+=$8; ht[$1]+=$9 }
  END { for (r in n) printf "%-6s %5s %8.0f %6.1f %8.1f %7.1f %10.4f %14.4f %10.4f\n", r, "mean", s[r]/n[r], e[r]/n[r], st[r]/n[r], ep[r]/n[r], hv[r]/n[r], hc[r]/n[r], ht[r]/n[r] }' "$out/rows"
