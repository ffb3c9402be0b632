#!/usr/bin/env python3
"""Builds the verification table of `make verify` from the claims index and the model log.

Reads the claims table of proofs/README.md (header `| id | claim | evidence |`, evidence as
backticked names) and the `MODEL tool=... name=... bound=... interleavings=... result=ok` lines
that the model runner (models/src/lib.rs) appended to the log during this run. Prints one row
per claim: its evidence, and for each model the loom bound and interleavings explored and the
shuttle schedules run. A claim passes when every model named for it passed under loom and under
shuttle in this run. SPIN runs come from spin.log (scripts/spin.sh) and fuzz runs from fuzz.log
(scripts/fuzz.sh: executions per target), both next to the model log. Evidence that is none of
these (unit tests, proptest, Miri) is listed as checked by the named make target. Writes the
same table to --out (proofs/REPORT.md). Exits 1 if any claim's model, SPIN or fuzz evidence
failed or did not run.
"""
import argparse
import datetime
import pathlib
import re
import subprocess
import sys


def parse_claims(path):
    claims, in_table = [], False
    for line in open(path, encoding="utf-8"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if [c.lower() for c in cells[:3]] == ["id", "claim", "evidence"]:
            in_table = True
            continue
        if in_table:
            if not line.startswith("|"):
                in_table = False
                continue
            if set(line.strip()) <= set("|-: "):
                continue
            claims.append((cells[0], cells[1], re.findall(r"`([^`]+)`", cells[2])))
    return claims


def log_records(path, tag, keys):
    """The lines of a run log that start with `tag`: each as (its `keys` leading words after the
    tag, its `key=value` fields). A log that does not exist (the run did not happen) is empty."""
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except FileNotFoundError:
        lines = []
    for line in lines:
        parts = line.split()
        if len(parts) < 1 + keys or parts[0] != tag:
            continue
        fields = dict(kv.split("=", 1) for kv in parts[1 + keys:] if "=" in kv)
        yield parts[1:1 + keys], fields


def parse_log(path):
    """`MODEL tool=... name=... bound=... interleavings=... result=ok` lines of the model runner."""
    runs = {}
    for _, fields in log_records(path, "MODEL", 0):
        runs.setdefault(fields["name"], {})[fields["tool"]] = fields
    return runs


def parse_spin(path):
    """`spin <model> <claim> states=... errors=... result=...` lines of scripts/spin.sh."""
    runs = {}
    for (model, claim), fields in log_records(path, "spin", 2):
        runs.setdefault(model, {})[claim] = fields
    return runs


def spin_detail(model, runs):
    """The evidence cell for `spin <model>`, and whether it passed in this run."""
    claims = {c: f for c, f in runs.items() if not c.startswith("DEFECT_")}
    defects = {c: f for c, f in runs.items() if c.startswith("DEFECT_")}
    if not claims:
        return f"SPIN `{model}`: **not run**", False
    ok = all(f.get("result") == "ok" for f in claims.values())
    ok &= all(f.get("result") == "caught" for f in defects.values())
    parts = [f"{c} {int(f.get('states', '0')):,} states" + ("" if f.get("result") == "ok" else " **FAILED**")
             for c, f in claims.items()]
    caught = sum(f.get("result") == "caught" for f in defects.values())
    text = f"SPIN `{model}` (all SC interleavings, no preemption bound): " + ", ".join(parts)
    text += f"; seeded defects caught {caught}/{len(defects)}"
    return text, ok


def parse_fuzz(path):
    """`fuzz <target> execs=... seconds=... result=...` lines of scripts/fuzz.sh."""
    return {target: fields for (target,), fields in log_records(path, "fuzz", 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--out")
    ap.add_argument("--spin-log", default=None)
    ap.add_argument("--fuzz-log", default=None)
    args = ap.parse_args()

    claims = parse_claims(args.claims)
    if not claims:
        print(f"no claims table (| id | claim | evidence |) found in {args.claims}", file=sys.stderr)
        return 1
    runs = parse_log(args.log)
    spin_runs = parse_spin(args.spin_log or str(pathlib.Path(args.log).with_name("spin.log")))
    fuzz_runs = parse_fuzz(args.fuzz_log or str(pathlib.Path(args.log).with_name("fuzz.log")))
    # The models are the tests of models/tests/ (each runs under loom and shuttle), whatever
    # their names look like.
    root = pathlib.Path(args.claims).resolve().parent.parent
    declared = set()
    for path in (root / "models" / "tests").glob("*.rs"):
        declared.update(re.findall(r"#\[test\]\s*fn\s+([a-z0-9_]+)", path.read_text(encoding="utf-8")))
    fuzz_targets = {p.stem for p in (root / "fuzz" / "fuzz_targets").glob("*.rs")}
    rows, failed = [], 0
    for cid, text, evidence in claims:
        spins = [e.split(" ", 1)[1] for e in evidence if e.startswith("spin ")]
        models = [e for e in evidence if e in runs or e in declared]
        fuzzed = [e for e in evidence if e in fuzz_targets]
        others = [e for e in evidence if e not in models and e not in fuzzed and not e.startswith("spin ")]
        details, ok = [], True
        for model in spins:
            cell, passed = spin_detail(model, spin_runs.get(model, {}))
            ok &= passed
            details.append(cell)
        for m in models:
            tools = runs.get(m, {})
            loom, shuttle = tools.get("loom"), tools.get("shuttle")
            part = [f"`{m}`:"]
            part.append(f"loom {loom['bound']} → {loom['interleavings']} interleavings" if loom else "loom **not run/failed**")
            part.append(f"shuttle {shuttle['interleavings']} schedules" if shuttle else "shuttle **not run/failed**")
            ok &= bool(loom and shuttle)
            details.append(" ".join(part))
        for target in fuzzed:
            run = fuzz_runs.get(target)
            if run is None:
                details.append(f"fuzz `{target}`: **not run**")
                ok = False
                continue
            passed = run.get("result") == "ok"
            ok &= passed
            details.append(f"fuzz `{target}`: {int(run.get('execs', '0')):,} executions in {run.get('seconds', '?')} s"
                           + ("" if passed else " **FAILED**"))
        if others:
            details.append("also: " + ", ".join(f"`{o}`" for o in others) + " (make test / miri / fuzz / defects)")
        if not models and not spins and not fuzzed:
            details.append("(no model evidence; checked by the targets named)")
        result = "ok" if ok else "FAILED"
        failed += not ok
        rows.append(f"| {cid} | {text} | {'<br>'.join(details)} | {result} |")

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "?"
    head = [
        f"# Verification report",
        "",
        f"Generated by `make verify` ({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, commit {commit or '?'}).",
        "loom bounds are preemption bounds: a bounded search, not an exhaustive one. shuttle schedules are",
        "random and PCT (depth 3) schedules of sequentially consistent executions. SPIN explores every",
        "sequentially consistent interleaving of a small configuration (orderings are loom's job).",
        "Fuzz executions are libFuzzer's count for this run's short `make fuzz` (FUZZ_SECONDS per target),",
        "starting from the committed corpus.",
        "Limits: proofs/README.md.",
        "",
        "| claim | statement | evidence (this run) | result |",
        "|---|---|---|---|",
    ]
    text = "\n".join(head + rows) + "\n\n" + f"verify: {len(claims) - failed} claims passed, {failed} failed\n"
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
