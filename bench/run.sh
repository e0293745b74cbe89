#!/bin/sh
# Benchmark `rk scan-trials` against `cat` over the same manifests and the
# straightforward Python scan (bench/scan_trials.py). Needs hyperfine.
# usage: bench/run.sh [N=10000]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
n=${1:-10000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 "$here/gen_trials.py" "$dir" "$n" >/dev/null
cargo build --release --manifest-path "$here/../Cargo.toml" -q
rk="$here/../target/release/rk"
cd "$dir"
hyperfine -N --warmup 3 -r 30 \
  "$rk scan-trials bench" \
  "sh -c 'cat experiments/run_bench/*/results/trial_manifest.json'" \
  "python3 $here/scan_trials.py experiments/run_bench"
