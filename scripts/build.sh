#!/usr/bin/env bash
# Builds the two release binaries (after installing what is missing): `xnas-worker`, which links
# libtorch and trains, and the `xnas` head without libtorch (every other command and the head of a
# search, which then start in milliseconds). `scripts/run.sh` and the benchmarks call it; fast
# when nothing changed. A plain `cargo build --release` also works: its `xnas` then links libtorch
# (the same commands, a slower start).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
eval "$("$root/scripts/setup.sh" --env)"
cargo build --release --quiet --bin xnas-worker
cargo build --release --quiet --no-default-features --bin xnas
