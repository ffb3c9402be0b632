#!/usr/bin/env bash
# core/src/sync is the one switch point for synchronization primitives (std | loom | shuttle).
# This check fails if any other file of core/src names a primitive directly. Test modules
# (tests.rs, *_tests.rs) are exempt: their counters observe the code under test and are not part of a
# protocol that loom or shuttle must see.
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='core::sync::atomic|std::sync::(atomic|Mutex|RwLock|Condvar|Arc|Weak|OnceLock|Barrier)|alloc::sync::|(core|std)::cell::UnsafeCell|std::thread::(park|spawn|yield_now|current)'
hits=$(grep -rnE "$pattern" core/src --include='*.rs' \
    | grep -v '^core/src/sync/' \
    | grep -vE '^core/src/.*/([a-z_]+_)?tests\.rs:' \
    | grep -vE '^[^:]+:[0-9]+:\s*//' || true)
if [ -n "$hits" ]; then
    echo "facade: these lines bypass core/src/sync (use crate::sync::...):"
    echo "$hits"
    exit 1
fi
echo "facade: every primitive in core/src comes from core/src/sync"
