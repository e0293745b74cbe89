#!/bin/sh
# Benchmark `rk list` over 1,000 runs (vs cat and bench/list_runs.py) and
# `rk archive` of 256 MB (vs b3sum over the same files). Needs hyperfine and
# b3sum (`cargo install b3sum`). usage: bench/run_list_archive.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cargo build --release --manifest-path "$here/../Cargo.toml" -q
rk="$here/../target/release/rk"
mkdir "$dir/list" "$dir/arch"
python3 "$here/gen_runs.py" "$dir/list" 1000
cd "$dir/list"
hyperfine -N --warmup 3 -r 40 --export-json "$dir/list.json" \
  "$rk list" \
  "sh -c 'cat experiments/*/run_state.json'" \
  "python3 $here/list_runs.py"
python3 "$here/gen_archive.py" "$dir/arch"
cd "$dir/arch/experiments/run_big"
# Each archive run needs an unarchived run: the prepare step removes the record.
hyperfine -N --warmup 2 -r 10 \
  --prepare "sh -c 'rm -f archive_manifest.json; python3 -c \"import json;p=\\\"run_state.json\\\";s=json.load(open(p));s.pop(\\\"archive\\\",None);json.dump(s,open(p,\\\"w\\\"))\"'" \
  "$rk archive big" \
  "sh -c 'b3sum effective_config.yaml t*/results/*'"
