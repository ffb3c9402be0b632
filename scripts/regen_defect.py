#!/usr/bin/env python3
"""Regenerates a seeded-defect patch after the code it breaks has moved.

usage: scripts/regen_defect.py NAME FILE OLD_SNIPPET_FILE NEW_SNIPPET_FILE
Replaces the one occurrence of OLD in FILE by NEW, writes `git diff` (keeping the patch's
header lines) to proofs/defects/NAME.patch, and restores FILE. Used by maintainers only.
"""
import pathlib
import subprocess
import sys

name, path, old_file, new_file = sys.argv[1:5]
root = pathlib.Path(__file__).resolve().parent.parent
target = root / path
patch = root / "proofs" / "defects" / f"{name}.patch"
old, new = pathlib.Path(old_file).read_text(), pathlib.Path(new_file).read_text()
text = target.read_text()
if text.count(old) != 1:
    sys.exit(f"{name}: the snippet occurs {text.count(old)} times in {path}")
header = patch.read_text().split("diff --git", 1)[0] if patch.exists() else ""
try:
    target.write_text(text.replace(old, new))
    diff = subprocess.run(["git", "diff", "--", path], cwd=root, capture_output=True, text=True, check=True).stdout
finally:
    target.write_text(text)
patch.write_text(header + diff)
print(f"{name}: {len(diff.splitlines())} diff lines")
