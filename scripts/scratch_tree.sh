#!/usr/bin/env bash
# Copies the working tree to DEST (replacing DEST): tracked files as they are on disk
# (uncommitted changes included) and untracked files that git does not ignore. The scripts that
# break a copy of the code on purpose (defects.sh, orderings.py, mutant_models.sh) start from
# this copy, so their evidence runs on exactly what is checked out.
#
# Put DEST outside the repository when `git apply` will patch it: run inside a subdirectory of a
# work tree, `git apply` silently skips the paths outside that subdirectory.
#
# Usage: scripts/scratch_tree.sh DEST
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DEST" >&2; exit 2; }
dest=$(realpath -m "$1")
cd "$(dirname "$0")/.."
rm -rf "$dest"
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    [ -e "$f" ] && printf '%s\0' "$f" # a tracked file deleted on disk is left out
done | tar --null -T - -cf - | tar -xf - -C "$dest"
