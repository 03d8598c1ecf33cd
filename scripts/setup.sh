#!/usr/bin/env bash
# Installs what xnas needs to build and run, idempotently, and prints the environment to use.
#
#   source <(scripts/setup.sh --env)   # or: eval "$(scripts/setup.sh --env)"
#   scripts/setup.sh --ray             # also Ray (for `xnas run --executor ray`)
#   scripts/setup.sh --optuna          # also Optuna and optuna-dashboard (the `--optuna` journal's test)
#
# What it installs (each step is skipped when already done, so a second call takes about a second):
#   1. Debian's dataset-fashion-mnist (Fashion-MNIST IDX files) and wordnet-base (WordNet 3.0),
#      when apt-get is available and we are root (otherwise it says what is missing).
#   2. A project-local virtual environment .venv with PyPI's torch==2.11.0: the libtorch that
#      tch 0.24 binds. Nothing is installed system-wide.
#   3. SciPy and moocore==0.3.2 into the same venv, for the tests that check statistics and attainment
#      functions against them, and xautodl (without its dependencies), for the test that loads an
#      `xnas export` into NAS-Bench-201's TinyNetwork.
#   4. With --ray: ray==2.60.0 from PyPI into the same venv (about 285 MB, ten seconds).
#   5. With --optuna: optuna==5.0.0 and optuna-dashboard==0.21.0 into the same venv (a few seconds),
#      which read the journals `xnas run/export --optuna FILE` write.
# The environment it prints makes cargo build torch-sys against that libtorch (LIBTORCH_USE_PYTORCH=1
# with the venv's python first on PATH); build.rs gives the binary an rpath to it, so the built
# `xnas` runs without LD_LIBRARY_PATH.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${XNAS_VENV:-$root/.venv}"
torch_version="2.11.0"
# The release benches/support/moocore.rs pins; crates/analysis's attainment tests compare against it.
moocore_version="0.3.2"
ray_version="2.60.0"
optuna_version="5.0.0"
optuna_dashboard_version="0.21.0"
want_optuna=0
print_env=0
want_ray=0
for arg in "$@"; do
  case "$arg" in
    --env) print_env=1 ;;
    --ray) want_ray=1 ;;
    --optuna) want_optuna=1 ;;
    *) echo "setup: unknown option $arg (use --env, --ray, --optuna)" >&2; exit 2 ;;
  esac
done

log() { echo "setup: $*" >&2; }

need_apt=()
[ -e /usr/share/datasets/fashion-mnist ] || need_apt+=(dataset-fashion-mnist)
[ -e /usr/share/wordnet/data.noun ] || need_apt+=(wordnet-base)
if [ ${#need_apt[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "installing ${need_apt[*]} with apt-get"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >&2
  else
    log "missing Debian packages: ${need_apt[*]} (run: sudo apt-get install ${need_apt[*]})"
  fi
fi

torch_ok() {
  [ -x "$venv/bin/python" ] &&
    "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('torch').split('+')[0] != '$torch_version')" 2>/dev/null
}
if ! torch_ok; then
  log "creating $venv with torch==$torch_version (about 4.6 GB, a minute or two)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip >&2
  "$venv/bin/pip" install -q "torch==$torch_version" numpy >&2
  torch_ok || { log "torch==$torch_version did not install into $venv"; exit 1; }
fi

# SciPy: the statistics of crates/analysis are tested against it (a few seconds, about 40 MB).
if ! "$venv/bin/python" -c "import scipy" 2>/dev/null; then
  log "installing scipy into $venv (the analysis tests compare against it)"
  "$venv/bin/pip" install -q scipy >&2 || log "scipy did not install; the live SciPy comparison will be skipped"
fi

# moocore: the empirical attainment functions of crates/analysis are tested against its eaf/eafdiff.
if ! "$venv/bin/python" -c "import moocore, sys; sys.exit(moocore.__version__ != '$moocore_version')" 2>/dev/null; then
  log "installing moocore==$moocore_version into $venv (the attainment-function tests compare against it)"
  "$venv/bin/pip" install -q "moocore==$moocore_version" >&2 ||
    log "moocore did not install; the live moocore comparison will be skipped"
fi

# xautodl: NAS-Bench-201's reference implementation, which the `xnas export` test loads a model
# into. Without its dependencies: it pins numpy<=1.19.5 (no wheel for this Python) and needs only
# torch for the network code (its other dependencies serve parts xnas does not use).
if ! "$venv/bin/python" -c "import importlib.metadata as m; m.version('xautodl')" 2>/dev/null; then
  log "installing xautodl into $venv (the export test loads a model into its TinyNetwork)"
  "$venv/bin/pip" install -q --no-deps xautodl >&2 || log "xautodl did not install; the export test will fail"
fi

ray_ok() {
  "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('ray') != '$ray_version')" 2>/dev/null
}
if [ $want_ray = 1 ] && ! ray_ok; then
  log "installing ray==$ray_version into $venv"
  "$venv/bin/pip" install -q "ray==$ray_version" >&2
  ray_ok || { log "ray==$ray_version did not install into $venv"; exit 1; }
fi

optuna_ok() {
  "$venv/bin/python" -c "import importlib.metadata as m, sys; \
sys.exit(m.version('optuna') != '$optuna_version' or m.version('optuna-dashboard') != '$optuna_dashboard_version')" 2>/dev/null
}
if [ $want_optuna = 1 ] && ! optuna_ok; then
  log "installing optuna==$optuna_version and optuna-dashboard==$optuna_dashboard_version into $venv"
  "$venv/bin/pip" install -q "optuna==$optuna_version" "optuna-dashboard==$optuna_dashboard_version" >&2
  optuna_ok || { log "optuna==$optuna_version did not install into $venv"; exit 1; }
fi

if [ $print_env = 1 ]; then
  echo "export PATH=\"$venv/bin:\$PATH\""
  echo "export LIBTORCH_USE_PYTORCH=1"
  echo "export XNAS_VENV=\"$venv\""
  # The Python that runs the Ray driver of `xnas run --executor ray` (when Ray is installed there).
  echo "export XNAS_PYTHON=\"\${XNAS_PYTHON:-$venv/bin/python}\""
  # libtorch's OpenMP threads spin while they wait; on a busy machine (parallel tests, other jobs)
  # that makes training 10-70x slower. Passive waiting costs little when the machine is idle.
  echo "export OMP_WAIT_POLICY=\"\${OMP_WAIT_POLICY:-PASSIVE}\""
fi
