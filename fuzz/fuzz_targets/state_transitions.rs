//! Fuzz target: `eventloop_tests::state_fuzz::state_transitions` (the body is shared with `cargo test`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| eventloop_tests::state_fuzz::state_transitions(data));
