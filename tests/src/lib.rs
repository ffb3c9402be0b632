//! Test bodies shared by `cargo test` and the cargo-fuzz targets in `fuzz/`.
//!
//! Each fuzz target in `fuzz/fuzz_targets/` is a thin call into a function here, so the same
//! differential check also runs from `cargo test` over the committed corpus (`fuzz/corpus/`),
//! on stable and without libFuzzer.
#![cfg(not(loom))]

pub mod corpus;
pub mod promise_fuzz;
pub mod promise_model;
pub mod ring_fuzz;
pub mod ring_model;
pub mod state_fuzz;
pub mod timer_fuzz;
