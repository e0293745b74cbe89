"""The straightforward Python peer of `rk diff-config A B`: load both configs
with PyYAML, dump them sorted, and print a unified diff."""
import difflib
import sys

import yaml

a, b = sys.argv[1], sys.argv[2]
with open(a) as f:
    left = yaml.safe_dump(yaml.safe_load(f), sort_keys=True).splitlines(keepends=True)
with open(b) as f:
    right = yaml.safe_dump(yaml.safe_load(f), sort_keys=True).splitlines(keepends=True)
sys.stdout.writelines(difflib.unified_diff(left, right, "a/" + a, "b/" + b))
sys.exit(1 if left != right else 0)
