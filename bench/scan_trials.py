#!/usr/bin/env python3
"""A straightforward Python scan of a run's trial manifests, printing the same
fields as `rk scan-trials` (the peer `rk` is measured against).

usage: scan_trials.py RUN_DIR
"""
import glob
import json
import os
import sys
from collections import Counter

run = sys.argv[1]
out = sys.stdout
for path in sorted(glob.glob(os.path.join(run, "*/results/trial_manifest.json"))):
    rel = os.path.relpath(path, run)
    slug = rel.split(os.sep)[0]
    line = {"format_version": 1, "slug": slug, "manifest": rel, "schema_version": None,
            "state": "ok", "stages": {}, "jobs": {}, "expected_parts": [], "error": None}
    try:
        with open(path) as f:
            m = json.load(f)
        if not isinstance(m, dict):
            raise ValueError("not a JSON object")
        line["schema_version"] = 2 if m.get("schema_version") == 2 else 1
        line["stages"] = {k: (v or {}).get("status") for k, v in (m.get("stage_status") or {}).items()}
        line["jobs"] = dict(sorted(Counter((m.get("job_status") or {}).values()).items()))
        line["expected_parts"] = [f"{k}_p{i:02d}" for k, ids in (m.get("datasets") or {}).items()
                                  for i in range(1, len(ids) + 1)]
    except (ValueError, OSError) as e:
        line["state"] = "corrupt"
        line["error"] = str(e)
    out.write(json.dumps(line) + "\n")
