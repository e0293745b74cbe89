#!/usr/bin/env python3
"""Start-up of rk against its floors, by best of many runs.

Usage:
    python3 bench/startup.py                       # the release build, 200 rounds
    python3 bench/startup.py --rounds 400 OLD/rk target/release/rk

bench.py's hash-config case takes the median of 9 runs, which on a loaded
machine moves by more than the 1.4× being judged. This runs `true`,
`sha256sum CONFIG` and, for each rk given (default target/release/rk),
`rk --version` and `rk hash-config CONFIG`, interleaved for --rounds rounds
after one warm-up round, each spawned with posix_spawn and reaped with wait4
(output to /dev/null), and prints the minimum and the median of each with
the ratios rk --version / true and rk hash-config / sha256sum. CONFIG is
bench/work/config.yaml, the 10 KB config bench.py makes (made here if
missing). Every command must exit 0.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no bench/__pycache__ from importing bench.py
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402


def spawn_time(argv, actions):
    t0 = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions)
    _, status, _ = os.wait4(pid, 0)
    dt = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"exit {os.waitstatus_to_exitcode(status)}: {' '.join(argv)}")
    return dt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("rk", nargs="*", default=[str(bench.RK)], help="rk binaries to compare")
    args = ap.parse_args()
    cfg, _ = bench.config_pair()
    cmds = [("true", ["true"]), ("sha256sum", ["sha256sum", str(cfg)])]
    for i, rk in enumerate(args.rk):
        tag = f" [{i + 1}]" if len(args.rk) > 1 else ""
        cmds += [(f"rk --version{tag}", [rk, "--version"]), (f"rk hash-config{tag}", [rk, "hash-config", str(cfg)])]
    null = os.open(os.devnull, os.O_RDWR)
    actions = [(os.POSIX_SPAWN_DUP2, null, fd) for fd in (0, 1, 2)]
    samples = {label: [] for label, _ in cmds}
    for _, argv in cmds:
        spawn_time(argv, actions)
    for _ in range(args.rounds):
        for label, argv in cmds:
            samples[label].append(spawn_time(argv, actions))
    for i, rk in enumerate(args.rk):
        if len(args.rk) > 1:
            print(f"[{i + 1}] {rk}")
    for label, _ in cmds:
        s = samples[label]
        print(f"  {label:22s} min {min(s) * 1e3:6.3f} ms  median {statistics.median(s) * 1e3:6.3f} ms")
    for label, _ in cmds:
        floor = "true" if "--version" in label else "sha256sum" if "hash-config" in label else None
        if floor:
            a, b = samples[label], samples[floor]
            print(f"  {label} / {floor}: {min(a) / min(b):.2f}× (min), "
                  f"{statistics.median(a) / statistics.median(b):.2f}× (median)")


if __name__ == "__main__":
    main()
