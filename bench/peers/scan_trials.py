"""A straightforward Python scan of a run's trial manifests, NDJSON like rk scan-trials."""
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
    row = {"format_version": 1, "slug": slug, "manifest": rel, "schema_version": None, "state": "ok",
           "reconstructed": False, "stages": {}, "jobs": {}, "expected_parts": [], "warnings": [], "error": None}
    try:
        with open(path) as f:
            m = json.load(f)
        if not isinstance(m, dict):
            raise ValueError("not an object")
        row["schema_version"] = 2 if m.get("schema_version") == 2 else 1
        row["stages"] = {k: v.get("status") for k, v in (m.get("stage_status") or {}).items()}
        row["reconstructed"] = bool(m.get("reconstructed"))
        row["jobs"] = dict(sorted(Counter((m.get("job_status") or {}).values()).items()))
        row["expected_parts"] = [f"{k}_p{i:02d}" for k, ids in (m.get("datasets") or {}).items()
                                 for i in range(1, len(ids) + 1)]
    except Exception as e:  # corrupt
        row["state"] = "corrupt"
        row["error"] = str(e)
    out.write(json.dumps(row) + "\n")
