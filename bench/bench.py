#!/usr/bin/env python3
"""rk's benchmark harness: times whole processes, prints medians and ratios.

Usage:
    python3 bench/bench.py            # everything, full sizes
    python3 bench/bench.py --quick    # small sizes, few repetitions (minutes)
    python3 bench/bench.py --only hash-config,scan-trials

It builds rk in release mode, generates workloads under bench/work/ (ignored
by git), and for every case runs rk and each peer (Python equivalents of the
tool set rk replaces, and floors such as sha256sum, cat, b3sum) the same
number of times after a warm-up. It prints min/median/max per command and the
ratio of each peer's median to rk's, and writes bench/work/results.md.

Ratios, not absolute times, are what to quote: the machine is shared and noisy.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work"
PEERS = ROOT / "bench" / "peers"
RK = ROOT / "target" / "release" / "rk"


def run_quiet(argv, cwd=None, stdin=None):
    with open(os.devnull, "wb") as null:
        src = open(stdin, "rb") if stdin else subprocess.DEVNULL
        try:
            r = subprocess.run(argv, cwd=cwd, stdin=src, stdout=null, stderr=subprocess.PIPE)
        finally:
            if stdin:
                src.close()
    return r


def time_command(argv, reps, cwd=None, shell=False):
    """Median, min, max wall time in seconds of `argv` as a whole process."""
    samples = []
    for i in range(reps + 1):
        t0 = time.perf_counter()
        if shell:
            r = subprocess.run(argv, cwd=cwd, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        else:
            r = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        dt = time.perf_counter() - t0
        if r.returncode not in (0, 1):
            raise SystemExit(f"command failed ({r.returncode}): {argv}\n{r.stderr.decode(errors='replace')}")
        if i > 0:  # the first run warms caches
            samples.append(dt)
    return statistics.median(samples), min(samples), max(samples)


def peak_rss_kb(argv, cwd=None):
    """Peak resident memory of a whole process, via wait4's rusage."""
    p = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(p.pid, 0)
    return usage.ru_maxrss


# ---------------------------------------------------------------- workloads

WORDS = ["alpha", "beta", "gamma", "delta", "control", "treatment", "baseline", "gpt", "llama",
         "eval", "train", "holdout", "prompt", "judge", "retrieval", "rerank", "temperature"]


def realistic_config(rng, target_bytes=10_000):
    """A nested experiment config of roughly `target_bytes` of YAML."""
    cfg = {
        "experiment": {"name": "ablation-" + rng.choice(WORDS), "seed": 1234, "owner": "ml-team",
                       "output_dir": "/data/runs/out", "tags": ["nightly", "v2", "gpu"]},
        "model": {"name": "llama-3-8b-instruct", "temperature": 0.7, "top_p": 0.95, "max_tokens": 1024,
                  "lr": 3.0e-05, "warmup_ratio": 0.03, "stop": ["\n\n", "###"]},
        "datasets": {},
        "trials": [],
        "prompts": {"system": "You are a careful assistant.\nAnswer briefly.",
                    "judge": "Rate the answer from 1 to 10: {answer}"},
    }
    i = 0
    import yaml
    while len(yaml.safe_dump(cfg)) < target_bytes:
        cfg["datasets"][f"ds_{i:03d}"] = {"path": f"s3://bucket/data/{rng.choice(WORDS)}/{i}.jsonl",
                                          "split": rng.choice(["train", "dev", "test"]),
                                          "n": rng.randint(100, 100000), "weight": round(rng.random(), 4),
                                          "enabled": rng.random() > 0.3}
        cfg["trials"].append({"name": f"t{rng.choice([0.3, 0.7, 1.0])}_{rng.choice(WORDS)}_{i}",
                              "temperature": rng.choice([0.3, 0.7, 1.0]), "repeats": rng.randint(1, 5)})
        i += 1
    return cfg


def gen_config(path, rng):
    import yaml
    cfg = realistic_config(rng)
    path.write_text("# experiment config\n" + yaml.safe_dump(cfg, sort_keys=False))
    return path


def manifest(rng, slug, run_id, version):
    datasets = {f"{slug}": [f"ds-{j}" for j in range(rng.randint(2, 6))]}
    parts = [f"{k}_p{j + 1:02d}" for k, ids in datasets.items() for j in range(len(ids))]
    m = {
        "run_id": run_id,
        "datasets": datasets,
        "jobs": {p: {"job_id": f"job-{rng.getrandbits(48):012x}", "submitted_at": "2025-09-02T21:47:10Z",
                     "endpoint": "https://batch.example.com/v1/jobs", "cost_usd": round(rng.random(), 4)}
                 for p in parts},
        "job_status": {p: rng.choice(["completed", "downloaded", "running", "failed"]) for p in parts},
        "stage_status": {s: {"status": rng.choice(["completed", "in_progress", "pending"]),
                             "updated_at": "2025-09-02T22:00:00Z",
                             "artifacts": {"file": f"results/{s}.json", "rows": rng.randint(1, 5000)}}
                         for s in ["downloaded", "parsed", "scored", "stats", "costs", "report"]},
        "timestamps": {"created": "2025-09-02T21:46:43Z", "updated": "2025-09-02T23:10:00Z"},
        "notes": "x" * rng.randint(200, 600),
    }
    if version == 2:
        m["schema_version"] = 2
    return m


def gen_run(run_dir, trials, rng, state=True, run_id="r0"):
    """A run dir with `trials` trial manifests (mostly v2, some v1, a few corrupt)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "effective_config.yaml").write_text("model: {name: demo, lr: 0.001}\nseed: 1\n")
    for t in range(trials):
        slug = f"t{t:06d}"
        res = run_dir / slug / "results"
        res.mkdir(parents=True, exist_ok=True)
        r = rng.random()
        if r < 0.01:
            (res / "trial_manifest.json").write_text('{"run_id": "' + run_id + '", "datasets": {')
        else:
            m = manifest(rng, slug, run_id, 1 if r < 0.2 else 2)
            (res / "trial_manifest.json").write_text(json.dumps(m, indent=2))
        if rng.random() < 0.7:
            (res / "predictions.csv").write_text("id,pred\n1,a\n")
    if state:
        phases = ["prepare", "build", "submit", "poll", "parse", "score", "stats", "costs", "report"]
        st = {"schema_version": 1, "run_id": run_id, "config_hash": "0" * 64,
              "config_hash_scheme": "rk-c14n-v1", "config_path": "effective_config.yaml",
              "phases": {p: {"status": "completed" if i < 4 else "not_started",
                             "started_at": "2025-09-02T21:46:43.120001Z",
                             "updated_at": "2025-09-02T21:47:10.500000Z", "last_error": None}
                         for i, p in enumerate(phases)},
              "last_checkpoint": None, "stop_requested": False, "migrated": False,
              "notes": [], "config_drift": [], "sessions": []}
        (run_dir / "run_state.json").write_text(json.dumps(st, indent=2) + "\n")


# ---------------------------------------------------------------- cases

def case_hash_config(reps, quick):
    rng = random.Random(7)
    WORK.mkdir(parents=True, exist_ok=True)
    cfg = gen_config(WORK / "config.yaml", rng)
    size = cfg.stat().st_size
    rk = [str(RK), "hash-config", str(cfg)]
    py = [sys.executable, str(PEERS / "hash_config.py"), str(cfg)]
    floor = ["sha256sum", str(cfg)]
    check_same_hash(rk, py)
    return f"hash-config on a {size / 1000:.1f} KB YAML config", [
        ("rk hash-config", rk), ("python yaml+hashlib", py), ("sha256sum (floor)", floor)]


def check_same_hash(rk, py):
    a = subprocess.run(rk, capture_output=True, text=True)
    b = subprocess.run(py, capture_output=True, text=True)
    if a.returncode != 0:
        raise SystemExit(f"rk failed: {a.stderr}")
    # The Python peer hashes PyYAML bytes, rk the canonical bytes: the work
    # is comparable, the digests differ by design. Check pyyaml-sorted agrees.
    legacy = subprocess.run(rk[:2] + ["--scheme", "pyyaml-sorted"] + rk[2:], capture_output=True, text=True)
    if legacy.returncode == 0 and legacy.stdout.split()[0] != b.stdout.split()[0]:
        raise SystemExit(f"pyyaml-sorted disagrees with PyYAML: {legacy.stdout} vs {b.stdout}")


def case_scan_trials(reps, quick):
    n = 2_000 if quick else 10_000
    rng = random.Random(11)
    run = WORK / f"scan{n}" / "experiments" / "run_scan"
    if not run.exists():
        gen_run(run, n, rng)
    manifests = sorted(str(p) for p in run.glob("*/results/trial_manifest.json"))
    listfile = WORK / f"scan{n}.list"
    listfile.write_text("\0".join(manifests))
    rk = [str(RK), "-C", str(run.parent.parent), "scan-trials", "scan"]
    py = [sys.executable, str(PEERS / "scan_trials.py"), str(run)]
    cat = f"xargs -0 cat < {listfile} > /dev/null"
    return f"scan-trials over {n} trials (~4 KB v2 manifests)", [
        ("rk scan-trials", rk), ("python scan", py), ("cat manifests (floor)", cat)]


CASES = {
    "hash-config": case_hash_config,
    "scan-trials": case_scan_trials,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes and few repetitions")
    ap.add_argument("--only", help="comma-separated case names: " + ",".join(CASES))
    ap.add_argument("--reps", type=int, help="repetitions per command (default 30, quick 10)")
    args = ap.parse_args()
    reps = args.reps or (10 if args.quick else 30)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    names = args.only.split(",") if args.only else list(CASES)
    lines = [f"# rk benchmark results\n", f"machine: {os.cpu_count()} cores, {os.uname().sysname} {os.uname().release}; "
             f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; reps: {reps}; quick: {args.quick}\n"]
    for name in names:
        title, cmds = CASES[name](reps, args.quick)
        print(f"\n== {title}")
        lines.append(f"\n## {title}\n\n| command | median ms | min | max | ratio vs rk |\n|---|---:|---:|---:|---:|\n")
        results = []
        for label, argv in cmds:
            shell = isinstance(argv, str)
            med, lo, hi = time_command(argv, reps, shell=shell)
            results.append((label, med, lo, hi))
        rk_med = results[0][1]
        for label, med, lo, hi in results:
            ratio = med / rk_med
            print(f"  {label:28s} median {med * 1000:9.2f} ms  min {lo * 1000:9.2f}  max {hi * 1000:9.2f}  "
                  f"{'(rk)' if label == results[0][0] else f'{ratio:6.2f}x rk'}")
            lines.append(f"| {label} | {med * 1000:.2f} | {lo * 1000:.2f} | {hi * 1000:.2f} | {ratio:.2f} |\n")
    (WORK / "results.md").write_text("".join(lines))
    print(f"\nwrote {WORK / 'results.md'}")


if __name__ == "__main__":
    main()
