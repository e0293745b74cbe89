"""A straightforward Python scan of a run's trial manifests, NDJSON like rk scan-trials.

It reads on as many worker processes as rk uses threads (RK_THREADS, else the
number of cores, at most 8), in slug order, so the comparison is core for core;
RK_THREADS=1 reads in this process."""
import glob
import json
import multiprocessing
import os
import sys
from collections import Counter


def row_of(args):
    run, path = args
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
    return json.dumps(row) + "\n"


def main():
    run = sys.argv[1]
    workers = int(os.environ.get("RK_THREADS") or min(os.cpu_count() or 1, 8))
    jobs = [(run, p) for p in sorted(glob.glob(os.path.join(run, "*/results/trial_manifest.json")))]
    out = sys.stdout
    if workers < 2 or len(jobs) < 64:
        for j in jobs:
            out.write(row_of(j))
        return
    with multiprocessing.Pool(workers) as pool:
        for line in pool.imap(row_of, jobs, chunksize=256):
            out.write(line)


if __name__ == "__main__":
    main()
