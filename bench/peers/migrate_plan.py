"""The straightforward Python peer of `rk migrate --dry-run`: glob the trial
manifests, read each, apply the default evidence rules, print the plan."""
import glob
import json
import os
import sys

RULES = [("prepare", "always"), ("build", "always"), ("submit", "recorded"), ("poll", "downloaded"),
         ("parse", "results/predictions.csv"), ("score", "results/per_item_scores.csv"),
         ("stats", "results/significance.json"), ("costs", "results/costs.json"), ("report", "reports/report.md")]

run = sys.argv[1]
trials = []
for path in sorted(glob.glob(os.path.join(run, "*/results/trial_manifest.json"))):
    tdir = os.path.join(run, os.path.relpath(path, run).split(os.sep)[0])
    try:
        with open(path) as f:
            m = json.load(f)
        if not isinstance(m, dict):
            m = None
    except (ValueError, OSError):
        m = None
    parts = [f"{k}_p{i:02d}" for k, ids in ((m or {}).get("datasets") or {}).items() for i in range(1, len(ids) + 1)]
    trials.append((tdir, m, parts))


def nonempty(p):
    try:
        return os.path.getsize(p) > 0
    except OSError:
        return False


def judge(rule):
    if not trials:
        return "not_started"
    if rule == "always":
        return "completed"
    if rule in ("recorded", "downloaded"):
        listed = [t for t in trials if t[1] is not None and t[2]]
        if not listed:
            return "not_started"
        ok = 0
        for tdir, m, parts in trials:
            if m is None:
                continue
            if not parts:
                ok += 1
                continue
            if rule == "recorded":
                good = all(p in (m.get("job_status") or {}) for p in parts)
            else:
                good = nonempty(os.path.join(tdir, "results", "results_combined.jsonl")) or all(
                    nonempty(os.path.join(tdir, "results", p, "results.jsonl")) for p in parts)
            ok += good
        return "completed" if ok == len(trials) else "in_progress"
    ok = sum(nonempty(os.path.join(t[0], rule)) for t in trials)
    return "completed" if ok == len(trials) else ("in_progress" if ok else "not_started")


corrupt = [t[0] for t in trials if t[1] is None]
for phase, rule in RULES:
    print(f"{phase:8s} {judge(rule)}")
for c in corrupt:
    print(f"would repair {c}/results/trial_manifest.json")
