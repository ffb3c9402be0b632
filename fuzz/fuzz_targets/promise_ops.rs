//! Fuzz target: `eventloop_tests::promise_fuzz::promise_ops` (the body is shared with `cargo test`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| eventloop_tests::promise_fuzz::promise_ops(data));
