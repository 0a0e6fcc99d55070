#!/usr/bin/env bash
# Run study/generate.py on a GPU machine for a fixed wall-clock window, many workers sharing the one GPU,
# then gather the runs into one compressed file.
#
#   KERAS_BACKEND=jax [MIX=1] bash study/gpu_batch.sh WORKERS START_SECONDS KILL_SECONDS OUTDIR [COUNT [ARGS...]]
#
# ARGS go to every generate.py worker, e.g. a protocol-v3 batch of the runs the CPU workers leave:
#   KERAS_BACKEND=jax bash study/gpu_batch.sh 12 330 430 OUT 11000 --min-steps 600 --start 9187 --large-only --max-cost 2e14
#
# Workers start no new run after START_SECONDS and are killed at KILL_SECONDS (a run cut there is lost, not
# half-written: each run is one line appended when it ends). The pools that need packages (mnist1d, scikit-image)
# are read from $CNNLINT_STUDY_DATA, made beforehand on the project machine by study/sources.py.
set -uo pipefail
workers=${1:-16}; start_s=${2:-380}; kill_s=${3:-450}; out=${4:-/tmp/out}; count=${5:-3000}
shift $(( $# < 5 ? $# : 5 ))
cd "$(dirname "$0")/.."
# XLA's convolution autotuning stays on: the fourth session's two --large-only batches ran with
# --xla_gpu_autotune_level=0, kept the GPU at 100 % and finished no run in 3 and 7 minutes, while the same runs
# alone without the flag took 10-15 s (study/README.md, "GPU batches").
export XLA_PYTHON_CLIENT_PREALLOCATE=false TF_CPP_MIN_LOG_LEVEL=3 PYTHONUNBUFFERED=1
work=/tmp/corpus-gpu; mkdir -p "$work" "$out"
deadline=$(( $(date +%s) + start_s ))
for ((w = 0; w < workers; w++)); do
  backend=$KERAS_BACKEND
  [[ -n "${MIX:-}" && $((w % 2)) == 1 ]] && backend=torch  # MIX=1: odd workers use torch (no compile step)
  KERAS_BACKEND=$backend timeout "$kill_s" python3 study/generate.py --mode gpu --count "$count" --workers "$workers" --worker "$w" \
    --deadline "$deadline" --out "$work" --host gpu "$@" >"$work/log-$w.txt" 2>&1 &
done
wait
cat "$work"/runs-*.jsonl 2>/dev/null | gzip -9 >"$out/runs-gpu.jsonl.gz"
tail -n 3 "$work"/log-*.txt >"$out/logs-tail.txt"
grep -h -E "failed|Error" "$work"/log-*.txt | head -50 >"$out/errors.txt"
echo "runs: $(cat "$work"/runs-*.jsonl 2>/dev/null | wc -l)"; nvidia-smi --query-gpu=name,memory.used --format=csv
