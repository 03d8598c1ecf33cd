#!/usr/bin/env bash
# Builds xnas (release: scripts/build.sh) after installing what is missing, then runs it.
#
#   scripts/run.sh                 # the default job: the quickstart search on Fashion-MNIST, and its report
#   scripts/run.sh eval 002404 --epochs 1 --json   # any xnas command line
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/scripts/build.sh"
eval "$("$root/scripts/setup.sh" --env)"
if [ $# -eq 0 ]; then
  # The quickstart search: NSGA-II over NAS-Bench-201 cells on real Fashion-MNIST (subsets), a few
  # minutes on 2 CPU cores, then its report. Each call is a new run under runs/. Two trainings at
  # once: one fills the time the other spends starting and measuring (1.6x the evaluations/hour).
  name="quickstart-$(date +%Y%m%d-%H%M%S)"
  "$root/target/release/xnas" run experiments/quickstart.rhai --name "$name" --jobs-per-device 2
  exec "$root/target/release/xnas" report "runs/$name"
fi
exec "$root/target/release/xnas" "$@"
