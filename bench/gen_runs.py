"""Generate N runs with realistic run_state.json files (for `rk list` benchmarks).
usage: gen_runs.py DIR N"""
import json, os, sys

PHASES = ["prepare", "build", "submit", "poll", "parse", "score", "stats", "costs", "report"]
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    rid = f"r2025{i:08d}"
    d = os.path.join(root, "experiments", f"run_{rid}")
    os.makedirs(d, exist_ok=True)
    done = i % 10
    phases = {}
    for j, p in enumerate(PHASES):
        st = "completed" if j < done else ("in_progress" if j == done else "not_started")
        phases[p] = {"status": st, "started_at": "2025-09-02T21:46:43.120001Z" if j <= done else None,
                     "updated_at": f"2025-09-02T21:{j:02d}:10.500000Z" if j <= done else None,
                     "last_error": None}
    state = {"schema_version": 1, "run_id": rid, "config_hash": f"{i:064x}",
             "config_path": "effective_config.yaml", "phases": phases,
             "last_checkpoint": None, "stop_requested": False, "migrated": i % 3 == 0,
             "notes": [{"created_by": "rk migrate", "created_at": "2025-09-02T21:46:43.120001Z",
                        "message": "phase poll inferred from 37 of 50 trials"}] * 3,
             "config_drift": [{"detected_at": "2025-09-02T21:46:43.120001Z", "expected": "a" * 64,
                               "actual": "b" * 64, "forced": True}] * (i % 2),
             "sessions": [{"started_at": "2025-09-02T21:46:43.120001Z", "ended_at": "2025-09-02T22:46:43.120001Z",
                           "command": ["python", "-m", "scripts.run_all", "--config", "effective_config.yaml"],
                           "steps": ["parse", "score"], "exit_code": 0, "host": "node17", "pid": 1234}] * 5}
    if i % 4 == 0:
        state["config_hash_scheme"] = "rk-c14n-v1"
    with open(os.path.join(d, "run_state.json"), "w") as f:
        json.dump(state, f, indent=2)
