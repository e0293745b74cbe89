"""The straightforward Python peer of `rk list`: read every state file, print a row."""
import json, os, sys

PHASES = ["prepare", "build", "submit", "poll", "parse", "score", "stats", "costs", "report"]
runs = os.path.join(sys.argv[1] if len(sys.argv) > 1 else ".", "experiments")
for name in sorted(os.listdir(runs)):
    d = os.path.join(runs, name)
    try:
        with open(os.path.join(d, "run_state.json")) as f:
            s = json.load(f)
    except FileNotFoundError:
        print(name, "no_state"); continue
    except Exception:
        print(name, "corrupt"); continue
    ph = s.get("phases", {})
    cur = next((f"{p} {i+1}/{len(PHASES)}" for i, p in enumerate(PHASES)
                if ph.get(p, {}).get("status") != "completed"), "-")
    upd = max((p.get("updated_at") or "" for p in ph.values()), default="")
    st = "completed" if cur == "-" else "interrupted"
    h = (s.get("config_hash") or "-")[:12] + ("" if "config_hash_scheme" in s else "~")
    print(name, st, cur, "yes" if s.get("migrated") else "no", h, len(s.get("config_drift", [])), upd)
