//! Fuzz target: `eventloop_tests::ring_fuzz::ring_push_pop` (the body is shared with `cargo test`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| eventloop_tests::ring_fuzz::ring_push_pop(data));
