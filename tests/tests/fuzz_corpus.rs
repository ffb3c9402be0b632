//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the fuzz bodies in
//! `eventloop_tests::ring_fuzz` and `eventloop_tests::state_fuzz`, so every `cargo test`
//! re-checks the inputs the fuzzer kept, on stable and without libFuzzer. An empty or missing
//! corpus directory fails the test.
#![cfg(not(loom))]

use eventloop_tests::corpus::replay;
use eventloop_tests::{ring_fuzz, state_fuzz};

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
        state_fuzz::state_transitions(data);
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

#[test]
fn corpus_state_transitions() {
    replay("state_transitions", state_fuzz::state_transitions);
}

/// The lifecycle body on fixed scenarios: nested spawns through every route, shutdown and close
/// from callbacks and from the driver, panics, runs after termination, each ending.
#[test]
fn state_transitions_sample_scenarios() {
    for scenario in state_fuzz::sample_scenarios() {
        state_fuzz::check_loop(&scenario);
    }
}

/// The deviations of the driver that the `state_transitions` target found while it was written,
/// one minimal scenario each, checked strictly. All three were fixed in the driver; these are
/// their regression tests.
mod regressions {
    use std::sync::Arc;

    use eventloop_tests::state_fuzz::{
        Action, Ending, KNOWN_DEVIATIONS, Kind, LoopOp, LoopScenario, Route, Tolerate,
        check_loop_with,
    };

    fn submit(kind: Kind, route: Route, body: Vec<Action>) -> LoopOp {
        LoopOp::Submit {
            kind,
            route,
            body: Arc::from(body),
        }
    }

    /// A task queues a microtask, then closes the loop: the microtask still runs in the
    /// checkpoint after the task, although `close` drops everything accepted and not yet run.
    #[test]
    fn microtask_runs_after_close_from_its_task() {
        let leaf = Arc::from(Vec::new());
        let scenario = LoopScenario {
            ops: vec![
                submit(
                    Kind::Task,
                    Route::Local,
                    vec![
                        Action::Spawn {
                            kind: Kind::Microtask,
                            route: Route::Local,
                            body: leaf,
                        },
                        Action::Close,
                    ],
                ),
                LoopOp::RunUntilIdle,
            ],
            ending: Ending::Drop,
        };
        check_loop_with(
            &scenario,
            Tolerate {
                microtasks_after_close: false,
                ..KNOWN_DEVIATIONS
            },
        );
    }

    /// A macrotask T is queued, then a microtask M that closes the loop: the loop takes T from
    /// its queue, runs the checkpoint before it (M closes), then runs T anyway.
    #[test]
    fn popped_task_runs_after_close_from_the_checkpoint_before_it() {
        let scenario = LoopScenario {
            ops: vec![
                submit(Kind::Task, Route::Local, Vec::new()),
                submit(Kind::Microtask, Route::Local, vec![Action::Close]),
                LoopOp::RunUntilIdle,
            ],
            ending: Ending::Drop,
        };
        check_loop_with(
            &scenario,
            Tolerate {
                popped_task_after_close: false,
                ..KNOWN_DEVIATIONS
            },
        );
    }

    /// The clock moves, then a task is queued and the loop shut down before it runs: the drain
    /// runs the task with the tick time of the loop's construction.
    #[test]
    fn drained_task_sees_a_stale_tick_time() {
        let scenario = LoopScenario {
            ops: vec![
                LoopOp::Advance(5),
                submit(Kind::Task, Route::Local, Vec::new()),
                LoopOp::Shutdown,
                LoopOp::Run,
            ],
            ending: Ending::Drop,
        };
        check_loop_with(
            &scenario,
            Tolerate {
                stale_drain_tick_time: false,
                ..KNOWN_DEVIATIONS
            },
        );
    }
}
