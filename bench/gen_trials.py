#!/usr/bin/env python3
"""Generate a run dir with N trials and ~4 KB v2 manifests, for benchmarking
`rk scan-trials` against `cat` and a straightforward Python scan.

usage: gen_trials.py PROJECT_DIR [N=10000]
Creates PROJECT_DIR/experiments/run_bench/ (an effective_config.yaml makes it
look like a run) with N trial dirs t00000 … holding results/trial_manifest.json.
"""
import json
import os
import random
import sys

root = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
run = os.path.join(root, "experiments", "run_bench")
os.makedirs(run, exist_ok=True)
with open(os.path.join(run, "effective_config.yaml"), "w") as f:
    f.write("model: bench\n")
rng = random.Random(42)
statuses = ["pending", "submitted", "running", "completed", "failed", "downloaded"]
for i in range(n):
    slug = f"t{i:05d}"
    datasets = {
        f"t0.{k}_control": [f"ds-{i}-{k}-{j}" for j in range(rng.randint(2, 6))]
        for k in range(3)
    }
    parts = [f"{k}_p{j + 1:02d}" for k, ids in datasets.items() for j in range(len(ids))]
    manifest = {
        "schema_version": 2,
        "run_id": "r20250902214642",
        "datasets": datasets,
        "jobs": {p: {"job_id": f"batch_{rng.getrandbits(64):016x}", "submitted_at": "2025-09-02T21:50:00.000000Z",
                     "input_file": f"inputs/{p}.jsonl"} for p in parts},
        "job_status": {p: rng.choice(statuses) for p in parts},
        "stage_status": {
            s: {"status": rng.choice(["completed", "in_progress", "pending"]),
                "updated_at": "2025-09-03T01:02:03.000000Z",
                "artifacts": {"path": f"results/{s}.json", "rows": rng.randint(0, 10000)}}
            for s in ["downloaded", "parsed", "scored", "stats", "costs", "report"]
        },
        "timestamps": {"created_at": "2025-09-02T21:46:43.120001Z", "updated_at": "2025-09-03T01:02:03.000000Z"},
    }
    text = json.dumps(manifest, indent=2)
    # Pad to ~4 KB with a notes field, as real manifests carry free text.
    if len(text) < 4000:
        manifest["notes"] = "x" * (4000 - len(text))
        text = json.dumps(manifest, indent=2)
    d = os.path.join(run, slug, "results")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "trial_manifest.json"), "w") as f:
        f.write(text)
print(run)
