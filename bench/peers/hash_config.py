"""The Python tool set's config hash: safe_load, safe_dump(sort_keys=True), sha256."""
import hashlib
import sys

import yaml

for path in sys.argv[1:]:
    with open(path) as f:
        cfg = yaml.safe_load(f)
    digest = hashlib.sha256(yaml.safe_dump(cfg, sort_keys=True).encode()).hexdigest()
    print(f"{digest}  {path}")
