"""A completed run with 256 MB of artifacts (4 x 32 MB + 512 x 256 KB) for
`rk archive` benchmarks. usage: gen_archive.py DIR"""
import json, os, sys

root = sys.argv[1]
run = os.path.join(root, "experiments", "run_big")
PHASES = ["prepare", "build", "submit", "poll", "parse", "score", "stats", "costs", "report"]
os.makedirs(run, exist_ok=True)
state = {"schema_version": 1, "run_id": "big", "config_hash_scheme": "rk-c14n-v1",
         "config_hash": "0" * 64,
         "phases": {p: {"status": "completed", "updated_at": "2025-09-02T21:47:10.500000Z"} for p in PHASES}}
with open(os.path.join(run, "run_state.json"), "w") as f:
    json.dump(state, f, indent=2)
with open(os.path.join(run, "effective_config.yaml"), "w") as f:
    f.write("seed: 7\n")
block = os.urandom(1 << 20)
for t in range(64):
    d = os.path.join(run, f"t{t:03d}", "results")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "trial_manifest.json"), "w") as f:
        json.dump({"schema_version": 2}, f)
    for k in range(8):
        with open(os.path.join(d, f"part{k}.jsonl"), "wb") as f:
            f.write(block[k * 1000:k * 1000 + (256 << 10)])
    if t < 4:
        with open(os.path.join(d, "big.bin"), "wb") as f:
            for i in range(32):
                f.write(block[i:] + block[:i])
