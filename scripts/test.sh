#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing (scripts/setup.sh), then `cargo test` over the
# workspace with libtorch. Extra arguments go to cargo test (e.g. `scripts/test.sh -p xnas-hv`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
eval "$("$root/scripts/setup.sh" --env)"
# libtorch's OpenMP threads spin while they wait; on a busy machine (parallel tests, other jobs)
# that makes training 10-70x slower. Passive waiting costs little when the machine is idle.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
exec cargo test --workspace "$@"
