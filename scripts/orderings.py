#!/usr/bin/env python3
"""`make orderings`: is every atomic ordering in core/src needed?

For each ordering argument of an atomic operation in `core/src` (outside the `sync` facade and
test files), make a scratch copy of the tree with that one argument weakened one step (per
operation kind; table below), build the loom models of its component and run them. A mutant is
*caught* when a model fails (assertion, loom causality or data-race report, deadlock, timeout);
otherwise it *survived*. Every survivor must be justified in the component's proof, or the
ordering weakened in the code.

| operation | weakenings tried |
|---|---|
| load | SeqCst -> Acquire; Acquire -> Relaxed |
| store | SeqCst -> Release; Release -> Relaxed |
| read-modify-write (swap, fetch_*, CAS success) | SeqCst -> AcqRel; AcqRel -> Acquire; AcqRel -> Release; Acquire -> Relaxed; Release -> Relaxed |
| CAS failure | SeqCst -> Acquire; Acquire -> Relaxed |
| fence | SeqCst -> AcqRel; AcqRel -> Acquire; AcqRel -> Release |

Limits, stated in the report: loom models SeqCst loads and stores as AcqRel-like accesses in
some cases (so SeqCst -> Acquire/Release on a load or store can survive without being
unnecessary; DESIGN.md "What verified means"), and a bounded model that passes is not a proof
that the weaker ordering is correct.

Usage: scripts/orderings.py [--filter REGEX] [--list] [--timeout SECONDS] [--out FILE]
"""
import argparse
import os
import pathlib
import re
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
ORDERINGS = ("Relaxed", "Acquire", "Release", "AcqRel", "SeqCst")
WEAKER = {
    "load": {"SeqCst": ["Acquire"], "Acquire": ["Relaxed"]},
    "store": {"SeqCst": ["Release"], "Release": ["Relaxed"]},
    "rmw": {
        "SeqCst": ["AcqRel"],
        "AcqRel": ["Acquire", "Release"],
        "Acquire": ["Relaxed"],
        "Release": ["Relaxed"],
    },
    "cas-failure": {"SeqCst": ["Acquire"], "Acquire": ["Relaxed"]},
    "fence": {"SeqCst": ["AcqRel"], "AcqRel": ["Acquire", "Release"]},
}
# Which loom model tests exercise each source file (test target, name filter).
MODELS = {
    "core/src/ring.rs": [("ring", "ring_"), ("driver", "driver_")],
    "core/src/state.rs": [("driver", "driver_")],
    "core/src/driver/handle.rs": [("driver", "driver_"), ("timers", "timers_")],
    "core/src/driver/mod.rs": [("driver", "driver_"), ("timers", "timers_")],
    "core/src/driver/timers.rs": [("timers", "timers_")],
    "core/src/driver/promises.rs": [("promise", "promise_")],
    "core/src/promise/cell.rs": [
        ("settle_cell", "cell_"),
        ("promise", "promise_a"),
        ("promise", "promise_b"),
    ],
    "core/src/promise/handle.rs": [("promise", "promise_")],
    "core/src/registry.rs": [("registry", "registry_")],
}
CALL = re.compile(
    r"\.(load|store|swap|fetch_[a-z_]+|compare_exchange(?:_weak)?|fetch_update)\s*\(|\bfence\s*\("
)


def strip_comment(line):
    at = line.find("//")
    return line if at < 0 else line[:at] + " " * (len(line) - at)


def sites():
    """Every ordering argument: (file, line, column, operation kind, ordering)."""
    found = []
    for rel in sorted(MODELS):
        path = ROOT / rel
        if not path.exists():
            continue
        lines = path.read_text(encoding="utf-8").split("\n")
        code = "\n".join(strip_comment(l) for l in lines)
        offsets = [0]
        for l in lines:
            offsets.append(offsets[-1] + len(l) + 1)
        for m in re.finditer(r"\b(%s)\b" % "|".join(ORDERINGS), code):
            start = m.start()
            line_no = next(i for i in range(len(offsets) - 1) if offsets[i + 1] > start)
            if lines[line_no].lstrip().startswith("use ") or "Ordering::{" in lines[line_no]:
                continue
            # The innermost call still open at the token.
            window = code[max(0, start - 600):start]
            kind = None
            for call in reversed(list(CALL.finditer(window))):
                inside = window[call.end():]
                depth = 1
                args = 0
                for ch in inside:
                    if ch in "([{":
                        depth += 1
                    elif ch in ")]}":
                        depth -= 1
                        if depth == 0:
                            break
                    elif ch == "," and depth == 1:
                        args += 1
                if depth == 0:
                    continue  # that call closed before the token
                name = call.group(1) or "fence"
                if name == "load":
                    kind = "load"
                elif name == "store":
                    kind = "store"
                elif name.startswith("compare_exchange"):
                    kind = "rmw" if args == 2 else "cas-failure"
                elif name == "fence":
                    kind = "fence"
                else:
                    kind = "rmw"
                break
            if kind is None:
                continue  # an ordering passed through a variable or helper: not a call site
            col = start - offsets[line_no]
            found.append((rel, line_no + 1, col, kind, m.group(1)))
    return found


def mutants(all_sites):
    for rel, line, col, kind, ordering in all_sites:
        for weaker in WEAKER[kind].get(ordering, []):
            yield rel, line, col, kind, ordering, weaker


def copy_tree(scratch):
    subprocess.run([str(ROOT / "scripts/scratch_tree.sh"), str(scratch)], check=True)


def apply(scratch, rel, line, col, ordering, weaker):
    path = scratch / rel
    lines = path.read_text(encoding="utf-8").split("\n")
    text = lines[line - 1]
    assert text[col:col + len(ordering)] == ordering, (rel, line, text)
    full = f"crate::sync::atomic::Ordering::{weaker}"
    # Replace the bare name, or the tail of a qualified path `Ordering::X`.
    head = text[:col]
    if head.endswith("Ordering::"):
        head = head[: -len("Ordering::")]
        full = f"Ordering::{weaker}" if not head.endswith("::") else f"Ordering::{weaker}"
    lines[line - 1] = head + full + text[col + len(ordering):]
    path.write_text("\n".join(lines), encoding="utf-8")


def run(cmd, cwd, env, timeout):
    try:
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout)
        return done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired:
        return 124, "timed out"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--filter", default="", help="regular expression matched against FILE:LINE")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--timeout", type=int, default=900)
    parser.add_argument("--out", default=str(ROOT / "target/verify/orderings.md"))
    args = parser.parse_args()
    todo = [m for m in mutants(sites()) if re.search(args.filter, f"{m[0]}:{m[1]}")]
    if args.list:
        for rel, line, _, kind, ordering, weaker in todo:
            print(f"{rel}:{line} {kind} {ordering} -> {weaker}")
        print(f"{len(todo)} mutants")
        return 0
    scratch = pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / "eventloop-orderings-tree"
    env = dict(os.environ)
    env["RUSTFLAGS"] = "--cfg loom"
    env["CARGO_TARGET_DIR"] = str(ROOT / "target/orderings")
    env.setdefault("SHUTTLE_SILENCE_WARNINGS", "1")
    rows = []
    survived = 0
    for rel, line, col, kind, ordering, weaker in todo:
        copy_tree(scratch)
        apply(scratch, rel, line, col, ordering, weaker)
        t0 = time.time()
        verdict = "survived"
        for target, name in MODELS[rel]:
            code, out = run(
                ["cargo", "test", "-q", "--profile", "models", "-p", "eventloop-models",
                 "--test", target, name, "--", "--test-threads", "1"],
                scratch, env, args.timeout,
            )
            if "error[E" in out or "could not compile" in out:
                verdict = "does not build"
                break
            if code != 0:
                # `-q` prints no per-test lines: the names are in the closing `failures:` list.
                failed = re.findall(r"^test (\S+) \.\.\. FAILED", out, re.M)
                listed = re.search(r"^failures:\n((?:    \S+\n)+)", out, re.M)
                if listed:
                    failed += listed.group(1).split()
                why = "timed out" if code == 124 else (failed[0] if failed else f"{target} failed")
                verdict = f"caught by `{why}`"
                break
        seconds = int(time.time() - t0)
        if verdict == "survived":
            survived += 1
        row = f"| `{rel}:{line}` | {kind} | {ordering} -> {weaker} | {verdict} | {seconds} |"
        print(row, flush=True)
        rows.append(row)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        "| site | operation | weakened | loom verdict | seconds |\n|---|---|---|---|---|\n"
        + "\n".join(rows) + "\n", encoding="utf-8")
    print(f"orderings: {len(rows)} mutants, {len(rows) - survived} caught, {survived} survived"
          f" (table in {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
