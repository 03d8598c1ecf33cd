#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing (scripts/setup.sh), then `cargo test` over the
# workspace with libtorch. Extra arguments go to cargo test (e.g. `scripts/test.sh -p xnas-hv`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
eval "$("$root/scripts/setup.sh" --env)"
exec cargo test --workspace "$@"
