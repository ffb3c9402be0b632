#!/usr/bin/env bash
# Records what Node.js prints for every tick-order scenario (tests/conformance/scenarios/*.js)
# into scenarios/NN_name.node.txt. The Rust side (tests/tests/conformance.rs) asserts against
# these files, or against scenarios/NN_name.expected.txt where we follow HTML instead of Node.
#
#   tests/conformance/record.sh          re-record every .node.txt
#   tests/conformance/record.sh --check  re-run node and diff against the committed .node.txt
#                                        files; exit 1 on any difference, orphan or node failure
#
# NODE=/path/to/node picks the interpreter (default: node on PATH). Recorded with Node v20;
# any Node >= 11 runs a microtask checkpoint after each setImmediate callback.
set -euo pipefail

usage() {
    echo "usage: $0 [--check]" >&2
}

mode=record
case "${1:-}" in
    "") ;;
    --check) mode=check ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        usage
        exit 2
        ;;
esac
if [[ $# -gt 1 ]]; then
    usage
    exit 2
fi

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/scenarios"
node="${NODE:-node}"
if ! command -v "$node" >/dev/null 2>&1; then
    echo "record.sh: '$node' not found (install Node.js >= 11 or set NODE=...)" >&2
    exit 2
fi
echo "record.sh: $mode with node $("$node" --version)"

shopt -s nullglob
scripts=("$dir"/*.js)
if [[ ${#scripts[@]} -eq 0 ]]; then
    echo "record.sh: no scenarios in $dir" >&2
    exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

status=0
for js in "${scripts[@]}"; do
    stem="$(basename "$js" .js)"
    out="$tmp/$stem.node.txt"
    err="$tmp/$stem.stderr"
    # A scenario must exit 0 and print nothing on stderr: exceptions go through its
    # uncaughtException handler, which logs them to stdout.
    if ! (cd "$dir" && "$node" "$js") >"$out" 2>"$err" || [[ -s $err ]]; then
        echo "FAIL $stem: node failed or wrote to stderr:" >&2
        cat "$err" >&2
        status=1
        continue
    fi
    if [[ $mode == check ]]; then
        if [[ ! -e $dir/$stem.node.txt ]]; then
            echo "FAIL $stem: no recorded $stem.node.txt" >&2
            status=1
        elif ! diff -u --label "$stem.node.txt (committed)" --label "$stem.node.txt (node now)" \
            "$dir/$stem.node.txt" "$out"; then
            echo "FAIL $stem: node's output differs from the committed recording" >&2
            status=1
        else
            echo "ok   $stem"
        fi
    else
        cp "$out" "$dir/$stem.node.txt"
        if [[ -e $dir/$stem.expected.txt ]]; then
            echo "rec  $stem (HTML override kept: $stem.expected.txt)"
        else
            echo "rec  $stem"
        fi
    fi
done

# Recordings and overrides whose scenario is gone.
for file in "$dir"/*.node.txt "$dir"/*.expected.txt; do
    name="$(basename "$file")"
    stem="${name%.node.txt}"
    stem="${stem%.expected.txt}"
    if [[ ! -e $dir/$stem.js ]]; then
        echo "FAIL orphan $name: no $stem.js" >&2
        status=1
    fi
done

if [[ $status -ne 0 ]]; then
    echo "record.sh: $mode FAILED" >&2
fi
exit "$status"
