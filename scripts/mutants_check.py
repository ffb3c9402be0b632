#!/usr/bin/env python3
"""Checks that every mutant cargo-mutants missed is explained in proofs/mutants.md.

A missed mutant is a line of `missed.txt`: `core/src/ring.rs:68:48: replace > with == in f`.
Its key drops the line and column (`core/src/ring.rs: replace > with == in f`), so that an edit
elsewhere in the file does not invalidate an explanation. proofs/mutants.md explains survivors in
tables whose first cell is such a key in backticks. Mutants that timed out are not survivors:
the test suite did not pass (a mutated loop that spins forever), and cargo-mutants reports them
separately.

Prints a summary (caught, timed out, unviable, missed, explained) and every unexplained survivor;
exits 1 if there is one. Explanations that match no survivor are listed as stale (a warning: the
mutant may be killed by now, or only have moved).
"""
import argparse
import pathlib
import re
import sys

KEY = re.compile(r"^(?P<file>[^:]+):\d+:\d+: (?P<what>.*)$")


def key(line):
    m = KEY.match(line.strip())
    return f"{m['file']}: {m['what']}" if m else line.strip()


def read_lines(path):
    try:
        return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except FileNotFoundError:
        return []


def explained_keys(path):
    keys = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\|\s*`([^`]+: [^`]+)`\s*\|", line)
        if m:
            # A `|` inside a table cell is written `\|` in Markdown.
            keys.add(m.group(1).replace("\\|", "|"))
    return keys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, help="cargo-mutants' mutants.out directory")
    ap.add_argument("--explained", required=True, help="proofs/mutants.md")
    ap.add_argument("--timeouts", help="an earlier pass's timeout.txt (pass 2 does not re-run them)")
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    caught = read_lines(out / "caught.txt") + read_lines(out / "previously_caught.txt")
    missed = read_lines(out / "missed.txt")
    timeouts = read_lines(out / "timeout.txt")
    if args.timeouts:
        timeouts = sorted(set(timeouts) | set(read_lines(pathlib.Path(args.timeouts))))
    unviable = read_lines(out / "unviable.txt")
    explained = explained_keys(pathlib.Path(args.explained))
    unexplained = [m for m in missed if key(m) not in explained]
    stale = sorted(explained - {key(m) for m in missed})
    print(f"mutants: {len(caught)} caught, {len(timeouts)} timed out (the tests hang: not survivors), "
          f"{len(unviable)} unviable, {len(missed)} missed, of which {len(missed) - len(unexplained)} explained "
          f"in {args.explained}")
    for m in unexplained:
        print(f"  UNEXPLAINED: {m}")
    for k in stale:
        print(f"  stale explanation (no such survivor in this run): {k}")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
