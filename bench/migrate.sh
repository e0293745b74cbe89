#!/bin/sh
# Benchmark `rk migrate --dry-run` on a legacy run of N trials (no state):
# gen_trials.py manifests, predictions and combined results on every other
# trial, and one corrupt manifest in a thousand. Target: under 1 s for 10,000.
# Needs hyperfine. usage: bench/migrate.sh [N=10000]
#
# Measured (2 shared cores, release build, 10,000 trials, warm cache):
#   hyperfine -N -w 2 -r 10 'rk migrate bench --dry-run'  → median ≈ 0.23 s
#   (mean 0.25 s ± 0.07, min 0.19 s); the real migrate (10 repairs) ≈ 0.7 s.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
n=${1:-10000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 "$here/gen_trials.py" "$dir" "$n" >/dev/null
python3 - "$dir/experiments/run_bench" "$n" <<'PY'
import os, sys
run, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(run, f"t{i:05d}", "results")
    if i % 2 == 0:
        open(os.path.join(d, "predictions.csv"), "w").write("id,p\n1,0\n")
        open(os.path.join(d, "results_combined.jsonl"), "w").write("{}\n")
    if i % 1000 == 7:
        open(os.path.join(d, "trial_manifest.json"), "w").write("{corrupt")
PY
cargo build --release --manifest-path "$here/../Cargo.toml" -q
rk="$here/../target/release/rk"
cd "$dir"
hyperfine -N --warmup 2 -r 10 "$rk migrate bench --dry-run"
