//! Replays the committed corpus of the fuzz target `timer_ops` (`fuzz/corpus/timer_ops/`)
//! through `eventloop_tests::timer_fuzz::timer_ops`, so every `cargo test` re-checks the inputs
//! the fuzzer kept, on stable and without libFuzzer. An empty or missing corpus fails the test.
#![cfg(not(loom))]

use std::fs;
use std::path::PathBuf;

use eventloop_tests::timer_fuzz;

#[test]
fn corpus_timer_ops() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/timer_ops");
    let entries =
        fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot read corpus {}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
                .path()
        })
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    for path in &files {
        let data = fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        eprintln!("timer_ops: {} ({} bytes)", path.display(), data.len());
        timer_fuzz::timer_ops(&data);
    }
    assert!(!files.is_empty(), "no corpus files in {}", dir.display());
}

/// Degenerate inputs decode to trivial cases rather than panicking in the decoder.
#[test]
fn short_inputs_are_valid_cases() {
    for data in [&[][..], &[0], &[0xff; 3], &[0x80; 17], &[0x1f; 64]] {
        timer_fuzz::timer_ops(data);
    }
}

/// The fixed scenarios: every operation, both endings, every ID limit (exhaustion included).
#[test]
fn sample_scenarios() {
    for scenario in timer_fuzz::sample_scenarios() {
        timer_fuzz::check(&scenario);
    }
}
