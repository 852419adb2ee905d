"""Copy contracts to a directory with their project numbers moved into Molecule's range.

The default scenario converges the example contracts, but the lab's DC is shared with the
integration tests, which delete and re-apply projects 9001-9003 while they run. Molecule
therefore applies the same contracts as projects 9191-9199 (``--map 9001=9191``): same
people, subjects, storage, software and OSSC use, but objects only this scenario touches.
Only the top-level ``project:`` line changes; every other byte is the example's.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

PROJECT_LINE = re.compile(r"^project:[ \t]*(\d+)[ \t]*(#.*)?$", re.MULTILINE)
RESERVED = range(9100, 9200)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("source", type=Path)
    ap.add_argument("dest", type=Path)
    ap.add_argument("--map", action="append", default=[], metavar="FROM=TO")
    args = ap.parse_args()
    mapping = dict(m.split("=", 1) for m in args.map)
    for target in mapping.values():
        if int(target) not in RESERVED:
            ap.error(f"{target} is not a Molecule project number (9100-9199)")
    args.dest.mkdir(parents=True, exist_ok=True)
    for old in args.dest.glob("*.yaml"):
        old.unlink()
    seen = set()
    for src in sorted(args.source.glob("*.yaml")):
        text = src.read_text()
        found = PROJECT_LINE.findall(text)
        if len(found) != 1 or found[0][0] not in mapping:
            ap.error(f"{src}: expected one top-level 'project:' line with a mapped number")
        number = found[0][0]
        seen.add(number)
        text = PROJECT_LINE.sub(lambda m: f"project: {mapping[m.group(1)]}", text)
        (args.dest / src.name).write_text(text)
    missing = set(mapping) - seen
    if missing:
        ap.error(f"no contract for project(s) {sorted(missing)} in {args.source}")
    print(" ".join(f"{k}={v}" for k, v in sorted(mapping.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
