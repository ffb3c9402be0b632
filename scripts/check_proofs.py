#!/usr/bin/env python3
"""`make proofs`: keeps proofs/ in step with the code.

Checks that (1) every evidence name in the claims table of proofs/README.md is a test function
that exists in models/, tests/, core/ or fuzz/ (or a fuzz target / make target); (2) every model
test in models/tests/ is cited by some claim; (3) every seeded defect in proofs/defects/ names
its catching evidence, and that evidence exists; (4) every component proof file linked from the
index exists. Formal (SPIN) models join this target in a later issue.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from report import parse_claims  # noqa: E402


def test_names():
    names = set()
    for base in ("models", "tests", "core", "fuzz"):
        for path in (ROOT / base).rglob("*.rs"):
            if "target" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            names.update(re.findall(r"\bfn\s+([a-z0-9_]+)\s*\(", text))
            if path.parent.name == "fuzz_targets":
                names.add(path.stem)
    return names


def main():
    errors = []
    claims = parse_claims(ROOT / "proofs" / "README.md")
    if not claims:
        errors.append("proofs/README.md has no `| id | claim | evidence |` table")
    names = test_names()
    cited = set()
    for cid, _, evidence in claims:
        if not evidence:
            errors.append(f"claim {cid} names no evidence")
        for e in evidence:
            key = e.split("::")[-1].split()[0]
            cited.add(key)
            if key not in names and not key.startswith("make "):
                errors.append(f"claim {cid}: evidence `{e}` does not exist in the code")
    for path in sorted((ROOT / "models" / "tests").glob("*.rs")):
        for model in re.findall(r"#\[test\]\s*fn\s+([a-z0-9_]+)", path.read_text(encoding="utf-8")):
            if model not in cited:
                errors.append(f"model {path.name}::{model} is not cited by any claim in proofs/README.md")
    for patch in sorted((ROOT / "proofs" / "defects").glob("*.patch")):
        checks = re.findall(r"^Caught-by:\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", patch.read_text(encoding="utf-8"), re.M)
        if not checks:
            errors.append(f"{patch.name}: no Caught-by line")
        for _, _, _, test in checks:
            if test.split("::")[-1] not in names:
                errors.append(f"{patch.name}: catching test `{test}` does not exist")
    index = (ROOT / "proofs" / "README.md").read_text(encoding="utf-8")
    for link in re.findall(r"\]\(([^)#:]+\.md)\)", index):
        if not (ROOT / "proofs" / link).exists():
            errors.append(f"proofs/README.md links to missing {link}")
    for e in errors:
        print(f"proofs: {e}", file=sys.stderr)
    print(f"proofs: {len(claims)} claims, {len(list((ROOT / 'proofs' / 'defects').glob('*.patch')))} seeded defects, "
          f"{'OK' if not errors else f'{len(errors)} problem(s)'}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
