#!/usr/bin/env bash
# Run one fuzz target for SECONDS on one core and keep its log.
#
#   fuzz/run.sh TARGET [SECONDS]      TARGET: config | state | manifest
#
# Builds with `cargo fuzz build` (stable rustc with RUSTC_BOOTSTRAP=1, no
# sanitizer: the parsers are safe Rust, so AddressSanitizer would only halve
# the speed), then runs libFuzzer with -jobs=1 -workers=1 over the growing
# corpus fuzz/corpus/TARGET and the committed seeds fuzz/seeds/TARGET.
# The job's log is fuzz/logs/TARGET.log; a crash lands in fuzz/artifacts/TARGET/.
set -euo pipefail
target=${1:?usage: fuzz/run.sh config|state|manifest [SECONDS]}
seconds=${2:-600}
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
RUSTC_BOOTSTRAP=1 cargo fuzz build --release --sanitizer none "$target"
bin=$(ls "$here"/target/*/release/"$target")
mkdir -p corpus/"$target" artifacts/"$target" logs
cd logs
rm -f fuzz-0.log
start=$(date +%s)
status=0
"$bin" "$here/corpus/$target" "$here/seeds/$target" \
  -jobs=1 -workers=1 -max_total_time="$seconds" -max_len=4096 -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$here/artifacts/$target/" || status=$?
mv fuzz-0.log "$target.log"
echo "$target: exit $status after $(( $(date +%s) - start )) s; log fuzz/logs/$target.log"
tail -n 15 "$target.log"
exit "$status"
