#!/usr/bin/env bash
# The device check: xnas on one GPU against PyTorch, K jobs on one GPU, and fp32 against bf16.
# For a session lent a GPU machine (see the device tool): run it THERE, in the repository root, with
# target/release/xnas and target/release/xnas-worker built here (scripts/build.sh) and carried
# along; the worker links against the machine's own torch (python3 -c 'import torch'). It fits in about 8 minutes on an H200 and prints a summary:
#
#   (a) training images/s of xnas (`xnas eval`, 002404 at C=16 N=5, CIFAR-shaped input) against
#       scripts/bench/pytorch_reference.py (the same network and recipe, a torch DataLoader with
#       per-sample augmentation) on the same images, and the ratio (goal: >= 2x);
#   (b) evaluations per hour of a tiny search (quickstart on the CIFAR-shaped set, 16 trainings)
#       with K = 1, 2, 4, 8 jobs at once on the GPU, and K4/K1 (goal: >= 3x);
#   (c) validation accuracy of the same genome and seeds trained with precision fp32 and bf16
#       (on real Fashion-MNIST when the machine has it, else on the learnable synthetic set).
#
# Data: scripts/bench/synthetic_cifar.py writes a learnable CIFAR-10-shaped set in the real binary
# format. Without a GPU the same steps run at small sizes on the CPU to show the script works, and
# the summary says the GPU figures are unchecked. Output: stdout, and $OUT/gpu-check.txt when $OUT
# is set. XNAS_BIN (the head; xnas-worker beside it) and PYTHON override the binary and the Python with torch.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
xnas=${XNAS_BIN:-target/release/xnas}
py=${PYTHON:-python3}
work=$(mktemp -d /tmp/xnas-gpu-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "${OUT:-/tmp}"
log=${OUT:-/tmp}/gpu-check.txt
torch_lib=$("$py" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

if "$py" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  device=cuda
  # (a) 10,000 images x 3 epochs; (b) 1,000 images, 1 epoch, population 8 x 2 generations;
  # (c) 20,000 images x 4 epochs, two seeds per precision.
  tput_images=10000 tput_epochs=3 workers=4 ks="1 2 4 8" k_population=8 k_generations=2
  prec_images=20000 prec_epochs=4 prec_seeds="0 1" prec_channels=16 prec_cells=5
else
  device=cpu
  tput_images=1024 tput_epochs=1 workers=0 ks="1 2 4 8" k_population=4 k_generations=1
  prec_images=1000 prec_epochs=1 prec_seeds="0" prec_channels=8 prec_cells=1
fi
summary=()
say() { summary+=("$1"); }
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
# The number of trainings a run made, from its summary line ("… evaluated (N trained, …").
trained() { sed -n 's/.*evaluated[^(]*(\([0-9]*\) trained.*/\1/p' "$1"; }

{
  echo "== machine"
  [ $device = cuda ] && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  "$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())'
  ldd "$(dirname "$xnas")/xnas-worker" | grep -E 'torch_cuda|c10_cuda' || echo "(xnas-worker links no CUDA libtorch)"
  readelf -d "$xnas" | grep -q torch && echo "(the xnas head links libtorch: build it with scripts/build.sh)"
  data="$work/cifar"
  "$py" scripts/bench/synthetic_cifar.py "$data" --train $((tput_images > prec_images ? tput_images : prec_images)) --test 2000

  echo "== (a) training images/s: 002404 C=16 N=5, $tput_images CIFAR-shaped images x $tput_epochs epochs, batch 512, $device"
  "$xnas" eval 002404 --dataset cifar10 --data-dir "$data" --device $device --channels 16 --cells 5 \
    --epochs $tput_epochs --train-subset $tput_images --validation 500 --val-subset 500 --test-subset 500 --no-trust \
    --json --out "$work/tput.json" >/dev/null 2>"$work/tput.err" || cat "$work/tput.err"
  ours=$("$py" -c "import json; print(json.load(open('$work/tput.json'))['train_images_per_second'])")
  "$py" -c "import json; r=json.load(open('$work/tput.json')); print('xnas', r['device'], r['compute'], round(r['train_images_per_second'], 1), 'images/s')"
  theirs=$("$py" scripts/bench/pytorch_reference.py --data-dir "$data" --images $tput_images --epochs $tput_epochs \
    --device $device --workers $workers --json | "$py" -c 'import json, sys; print(json.load(sys.stdin)["images_per_second"])')
  printf '%-34s %12s\n' "" images/s
  printf '%-34s %12.1f\n' "PyTorch + DataLoader ($workers workers)" "$theirs" xnas "$ours"
  say "$(printf '(a) images/s: xnas %.0f, PyTorch %.0f: %sx (goal >= 2x)' "$ours" "$theirs" "$(ratio "$ours" "$theirs")")"

  echo "== (b) evaluations/hour, K jobs at once on one $device: quickstart, 1,000 images, 1 epoch, population $k_population x $k_generations generation(s)"
  printf '%-4s %10s %10s %12s %8s\n' K seconds trainings evals/hour "vs K=1"
  base="" k4=""
  for k in $ks; do
    start=$(date +%s.%N)
    "$xnas" run experiments/quickstart.rhai --dir "$work/k$k" --device $device --jobs-per-device "$k" \
      --set dataset.name=cifar10 --set dataset.data_dir="$data" --set dataset.train_subset=1000 \
      --set dataset.validation=300 --set dataset.val_subset=300 --set dataset.test_subset=300 \
      --set training.epochs=1 --set search.population=$k_population --set search.generations=$k_generations \
      >"$work/k$k.out" 2>"$work/k$k.err" || { tail -3 "$work/k$k.err"; continue; }
    end=$(date +%s.%N)
    n=$(trained "$work/k$k.out")
    [ -n "$n" ] || { echo "K=$k: no summary line"; tail -3 "$work/k$k.out"; continue; }
    per_hour=$(awk "BEGIN { print $n * 3600 / ($end - $start) }")
    [ -z "$base" ] && base=$per_hour
    [ "$k" = 4 ] && k4=$per_hour
    printf '%-4s %10.1f %10s %12.0f %7sx\n' "$k" "$(awk "BEGIN { print $end - $start }")" "$n" "$per_hour" "$(ratio "$per_hour" "$base")"
  done
  [ -n "$k4" ] && say "(b) evaluations/hour: K=1 $(printf %.0f "$base"), K=4 $(printf %.0f "$k4"): K4/K1 $(ratio "$k4" "$base")x (goal >= 3x)"

  fmnist=/usr/share/datasets/fashion-mnist
  [ -e "$fmnist" ] || fmnist=shared/fashion-mnist
  if [ -e "$fmnist/train-images-idx3-ubyte.gz" ]; then set_data=(--set dataset.name=fashion-mnist --set dataset.data_dir="$fmnist"); what="Fashion-MNIST"
  else set_data=(--set dataset.name=cifar10 --set dataset.data_dir="$data"); what="the synthetic CIFAR-shaped set"; fi
  echo "== (c) precision: 002404 C=$prec_channels N=$prec_cells on $what, $prec_images images x $prec_epochs epochs, seeds $prec_seeds"
  printf '%-6s %-5s %-10s %-60s\n' precision seed accuracy "what training used"
  for precision in fp32 bf16; do
    for seed in $prec_seeds; do
      dir="$work/prec-$precision-$seed"
      if "$xnas" run experiments/quickstart.rhai --dir "$dir" --device $device "${set_data[@]}" \
        --set dataset.train_subset=$prec_images --set dataset.validation=2000 --set dataset.val_subset=2000 \
        --set dataset.test_subset=1000 --set space.channels=$prec_channels --set space.cells=$prec_cells \
        --set training.epochs=$prec_epochs --set training.seed=$seed --set training.precision=$precision \
        --set training.trust=false --set search.algorithm=fixed --set 'search.genomes=["002404"]' \
        >"$dir.out" 2>"$dir.err"; then
        "$py" - "$dir/xnas.db" "$precision" "$seed" <<'PY'
import json, sqlite3, sys
r = json.loads(sqlite3.connect(sys.argv[1]).execute("SELECT record FROM evaluations WHERE status = 'done'").fetchone()[0])
print(f"{sys.argv[2]:<9} {sys.argv[3]:<5} {r['val_accuracy']:<10.4f} {json.dumps(r['compute'])}")
with open(sys.argv[1] + ".acc", "w") as f:
    f.write(str(r["val_accuracy"]))
PY
      else
        echo "$precision seed $seed: $(grep -v '^\s*$' "$dir.err" | tail -1)"
      fi
    done
  done
  mean_acc() { cat "$work"/prec-"$1"-*/xnas.db.acc 2>/dev/null | awk '{ s += $1; n++ } END { if (n) printf "%.4f", s / n }'; }
  fp32=$(mean_acc fp32) bf16=$(mean_acc bf16)
  say "(c) accuracy, mean over seeds $prec_seeds: fp32 ${fp32:-n/a}, bf16 ${bf16:-n/a}"

  echo "== summary ($device)"
  printf '%s\n' "${summary[@]}"
  if [ $device = cpu ]; then
    echo "No GPU here: these are small CPU runs that show the script works; the GPU figures are unchecked"
    echo "(a CPU trains in fp32 whatever is asked, so bf16 is refused with --device cpu)."
  fi
} 2>&1 | tee "$log"
