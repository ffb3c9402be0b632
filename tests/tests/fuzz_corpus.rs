//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the fuzz bodies in
//! `eventloop_tests::ring_fuzz`, so every `cargo test` re-checks the inputs the fuzzer kept,
//! on stable and without libFuzzer. An empty or missing corpus directory fails the test.
#![cfg(not(loom))]

use std::fs;
use std::path::PathBuf;

use eventloop_tests::ring_fuzz;

/// Runs `body` on every file of `fuzz/corpus/<target>/`; returns how many there were.
fn replay(target: &str, body: fn(&[u8])) -> usize {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
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
        eprintln!("{target}: {} ({} bytes)", path.display(), data.len());
        body(&data);
    }
    assert!(!files.is_empty(), "no corpus files in {}", dir.display());
    files.len()
}

#[test]
fn corpus_ring_push_pop() {
    replay("ring_push_pop", ring_fuzz::ring_push_pop);
}

#[test]
fn corpus_ring_push_pop_threads() {
    replay("ring_push_pop_threads", ring_fuzz::ring_push_pop_threads);
}

/// Degenerate inputs decode to trivial cases rather than panicking in the decoder.
#[test]
fn short_inputs_are_valid_cases() {
    for data in [&[][..], &[0], &[0xff; 3], &[0x80; 17]] {
        ring_fuzz::ring_push_pop(data);
        ring_fuzz::ring_push_pop_threads(data);
    }
}

/// The threaded body on fixed plans (spilling, early and late close, every capacity), a few
/// times each since the interleavings differ from run to run.
#[test]
fn threaded_sample_plans() {
    for plan in ring_fuzz::sample_thread_plans() {
        for _ in 0..5 {
            ring_fuzz::run_threads(&plan);
        }
    }
}
