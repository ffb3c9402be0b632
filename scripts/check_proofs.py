#!/usr/bin/env python3
"""`make proofs`: keeps proofs/ in step with the code.

Checks that (1) every evidence name in the claims table of proofs/README.md is a test function
that exists in models/, tests/, core/ or fuzz/ (or a fuzz target / make target), or names a SPIN
model as `spin <model>` with proofs/spin/<model>.pml present; (2) every model test in
models/tests/ and every SPIN model in proofs/spin/ is cited by some claim; (3) every seeded
defect in proofs/defects/ names its catching evidence, and that evidence exists; every seeded
defect of a SPIN model (a `DEFECT_...` switch in its .pml) is run by scripts/spin.sh, and every
run there names an existing model and switch; (4) every component proof file linked from the
index exists. (`make proofs` then runs scripts/spin.sh, which checks the SPIN models themselves.)
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


def spin_models():
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted((ROOT / "proofs" / "spin").glob("*.pml"))}


def spin_runs():
    """(model, claim, kind, defines) of every run in scripts/spin.sh's table."""
    text = (ROOT / "scripts" / "spin.sh").read_text(encoding="utf-8")
    return re.findall(r'^\s*"([a-z0-9_]+)\|([^|"]+)\|(safety|ltl)\|([^|"]*)\|[a-z]+(?:\|[^"]*)?"', text, re.M)


def check_spin(cited, errors):
    models = spin_models()
    runs = spin_runs()
    if models and not runs:
        errors.append("scripts/spin.sh lists no runs")
    ran = {}
    for model, claim, kind, defines in runs:
        if model not in models:
            errors.append(f"scripts/spin.sh runs `{model}`, but proofs/spin/{model}.pml does not exist")
            continue
        switches = set(re.findall(r"-D([A-Z0-9_]+)", defines))
        ran.setdefault(model, set()).update(switches)
        for switch in switches:
            if not re.search(rf"#\s*if(n?def)?\b[^\n]*\b{switch}\b", models[model]):
                errors.append(f"scripts/spin.sh: {model} {claim}: -D{switch} is not a switch of {model}.pml")
        if kind == "ltl":
            named = re.search(r"-N\s+(\S+)", defines)
            name = named.group(1) if named else claim
            if not re.search(rf"\bltl\s+{re.escape(name)}\b", models[model]):
                errors.append(f"scripts/spin.sh: {model} has no ltl claim `{name}`")
    for model, text in models.items():
        if model not in cited:
            errors.append(f"SPIN model proofs/spin/{model}.pml is not cited by any claim in proofs/README.md")
        for switch in sorted(set(re.findall(r"#ifn?def\s+(DEFECT_[A-Z0-9_]+)", text))):
            if switch not in ran.get(model, set()):
                errors.append(f"proofs/spin/{model}.pml: seeded defect {switch} is not run by scripts/spin.sh")
    return models


def main():
    errors = []
    claims = parse_claims(ROOT / "proofs" / "README.md")
    if not claims:
        errors.append("proofs/README.md has no `| id | claim | evidence |` table")
    names = test_names()
    models = spin_models()
    cited = set()
    for cid, _, evidence in claims:
        if not evidence:
            errors.append(f"claim {cid} names no evidence")
        for e in evidence:
            words = e.split()
            if words[0] == "spin":
                model = words[1] if len(words) > 1 else ""
                cited.add(model)
                if model not in models:
                    errors.append(f"claim {cid}: evidence `{e}` names no model in proofs/spin/")
                continue
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
    check_spin(cited, errors)
    index = (ROOT / "proofs" / "README.md").read_text(encoding="utf-8")
    for link in re.findall(r"\]\(([^)#:]+\.md)\)", index):
        if not (ROOT / "proofs" / link).exists():
            errors.append(f"proofs/README.md links to missing {link}")
    for e in errors:
        print(f"proofs: {e}", file=sys.stderr)
    print(f"proofs: {len(claims)} claims, {len(list((ROOT / 'proofs' / 'defects').glob('*.patch')))} seeded defects, "
          f"{len(models)} SPIN models, "
          f"{'OK' if not errors else f'{len(errors)} problem(s)'}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
