//! A differential check of the loop's promises against the reference interpreter of
//! [`crate::promise_model`], shared by the proptest `tests/tests/promise_proptest.rs`, the fuzz
//! target `promise_ops` (through [`promise_ops`]) and the corpus replay in
//! `tests/tests/promise_fuzz_corpus.rs`.
//!
//! [`check`] runs a [`Scenario`] on a fresh [`EventLoop`] (no spin; unhandled rejections go to
//! a hook that logs them) and on the [`Model`] side by side. After every `Run` step (and a final
//! one) it compares the two logs — which callback ran, in which order, with which argument, and
//! which promises the rejection hook reported unhandled or handled later — and at the end the
//! state of every promise of the table (pending, or its outcome). It panics, naming the step,
//! at the first difference.
//!
//! The real side: promises of `u32` rejected with a [`Why`]; a thrown callback panics with
//! `std::panic::resume_unwind` and the payload `throw:n` (which skips the panic hook: libFuzzer's
//! aborts on any panic, caught or not), so the promise layer's `Failure::Panicked` carries it
//! back. Callbacks reach the table through a shared context (`Arc<Mutex<..>>`), never holding
//! its lock while they call the promise API (a reaction that ran inside `then` or `resolve`
//! would then deadlock instead of failing, so the lock is never held across such a call
//! anyway). `Thread` steps run their operations on a new thread, joined before the next step.
//!
//! At the end the table is cleared (dropping unused resolvers, which abandon their promises) and
//! the loop is dropped: nothing may be left alive (the fuzz target runs under LeakSanitizer).

use std::collections::HashMap;
use std::panic::resume_unwind;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use eventloop_core::EventLoop;
use eventloop_core::driver::{Config, RejectionKind};
use eventloop_core::promise::{Failure, Promise, Resolution, Resolver, Scheduler};

pub use crate::promise_model::{
    Callback, Effect, Event, Input, MAX_PROMISES, Model, Op, Returns, Scenario, Step, Why,
};

/// Longest step list the fuzz decoder builds.
pub const MAX_STEPS: usize = 64;

/// Most operations in one `Task` or `Thread` step.
pub const MAX_BATCH: usize = 6;

impl From<Failure> for Why {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Panicked(Some(message)) => {
                match message.strip_prefix("throw:").and_then(|n| n.parse().ok()) {
                    Some(n) => Why::Thrown(n),
                    None => Why::Other(message),
                }
            }
            Failure::Cycle => Why::Cycle,
            Failure::Abandoned => Why::Abandoned,
            other => Why::Other(other.to_string()),
        }
    }
}

type P = Promise<u32, Why>;

/// The real side's promises, by table index, and what the callbacks share.
#[derive(Default)]
struct Table {
    promises: Vec<P>,
    resolvers: Vec<Option<Resolver<u32, Why>>>,
    /// `Promise::id` → table index, for the rejection hook.
    ids: HashMap<usize, usize>,
    next_callback: u32,
    log: Vec<Event>,
}

struct Context {
    /// Shared with the loop's rejection hook.
    table: Arc<Mutex<Table>>,
    scheduler: Arc<dyn Scheduler>,
}

impl Context {
    fn table(&self) -> MutexGuard<'_, Table> {
        // A failed check inside a callback poisons nothing we cannot read on.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, promise: P, resolver: Option<Resolver<u32, Why>>) -> usize {
        let mut table = self.table();
        let index = table.promises.len();
        table.ids.insert(promise.id(), index);
        table.promises.push(promise);
        table.resolvers.push(resolver);
        index
    }

    fn len(&self) -> usize {
        self.table().promises.len()
    }

    fn full(&self) -> bool {
        self.len() >= MAX_PROMISES
    }

    fn pick(&self, p: u8) -> Option<(usize, P)> {
        let table = self.table();
        let len = table.promises.len();
        (len > 0).then(|| {
            let index = usize::from(p) % len;
            (index, table.promises[index].clone())
        })
    }

    fn take_resolver(&self, p: u8) -> Option<(usize, Resolver<u32, Why>)> {
        let mut table = self.table();
        let len = table.promises.len();
        if len == 0 {
            return None;
        }
        let index = usize::from(p) % len;
        table.resolvers[index].take().map(|r| (index, r))
    }

    fn callback_id(&self) -> u32 {
        let mut table = self.table();
        table.next_callback += 1;
        table.next_callback - 1
    }

    fn log(&self, event: Event) {
        self.table().log.push(event);
    }

    /// Applies one operation (on whatever thread calls it).
    fn op(self: &Arc<Self>, op: Op) {
        match op {
            Op::Pending if !self.full() => {
                let (promise, resolver) = Promise::new(Arc::clone(&self.scheduler));
                self.push(promise, Some(resolver));
            }
            Op::Fulfilled(v) if !self.full() => {
                let promise = Promise::fulfilled(Arc::clone(&self.scheduler), u32::from(v));
                self.push(promise, None);
            }
            Op::Rejected(r) if !self.full() => {
                let promise = Promise::rejected(Arc::clone(&self.scheduler), Why::User(r));
                self.push(promise, None);
            }
            Op::Pending | Op::Fulfilled(_) | Op::Rejected(_) => {}
            Op::Resolve { p, value } => {
                if let Some((_, resolver)) = self.take_resolver(p) {
                    resolver
                        .resolve(u32::from(value))
                        .expect("the first settlement");
                }
            }
            Op::Reject { p, reason } => {
                if let Some((_, resolver)) = self.take_resolver(p) {
                    resolver
                        .reject(Why::User(reason))
                        .expect("the first settlement");
                }
            }
            Op::Adopt { p, other } => {
                if let Some((index, resolver)) = self.take_resolver(p) {
                    let source = self.table().promises[usize::from(other) % (index + 1)].clone();
                    resolver.adopt(source);
                }
            }
            Op::DropResolver { p } => drop(self.take_resolver(p)),
            Op::Then { p, on_fulfilled } => {
                let f = self.callback_id();
                self.register(p, Some((f, on_fulfilled)), None);
            }
            Op::Catch { p, on_rejected } => {
                let g = self.callback_id();
                self.register(p, None, Some((g, on_rejected)));
            }
            Op::ThenOrElse {
                p,
                on_fulfilled,
                on_rejected,
            } => {
                let f = self.callback_id();
                let g = self.callback_id();
                self.register(p, Some((f, on_fulfilled)), Some((g, on_rejected)));
            }
            Op::Finally { p, on_finally } => {
                let f = self.callback_id();
                let Some((_, source)) = self.pick(p).filter(|_| !self.full()) else {
                    return;
                };
                let derived_index = self.len();
                let cx = Arc::clone(self);
                let derived = source.finally(move || {
                    let returns = on_finally.finally_returns();
                    cx.call(f, Input::Finally, on_finally, returns, derived_index)
                });
                assert_eq!(self.push(derived, None), derived_index);
            }
        }
    }

    /// `then`, `catch` or `then_or_else` on the promise at `p`, the derived promise appended.
    fn register(
        self: &Arc<Self>,
        p: u8,
        on_fulfilled: Option<(u32, Callback)>,
        on_rejected: Option<(u32, Callback)>,
    ) {
        let Some((_, source)) = self.pick(p).filter(|_| !self.full()) else {
            return;
        };
        let derived_index = self.len();
        // The API's own `then`, `catch` and `then_or_else` (their pass-through is under test).
        let on_value = |cx: Arc<Self>, (f, callback): (u32, Callback)| {
            move |v: &u32| {
                cx.call(
                    f,
                    Input::Value(*v),
                    callback,
                    callback.returns,
                    derived_index,
                )
            }
        };
        let on_reason = |cx: Arc<Self>, (g, callback): (u32, Callback)| {
            move |r: &Why| {
                let input = Input::Reason(r.clone());
                cx.call(g, input, callback, callback.returns, derived_index)
            }
        };
        let cx = Arc::clone(self);
        let derived = match (on_fulfilled, on_rejected) {
            (Some(f), None) => source.then(on_value(cx, f)),
            (None, Some(g)) => source.catch(on_reason(cx, g)),
            (Some(f), Some(g)) => {
                source.then_or_else(on_value(Arc::clone(&cx), f), on_reason(cx, g))
            }
            (None, None) => unreachable!("every registration has a callback"),
        };
        assert_eq!(self.push(derived, None), derived_index);
    }

    /// A callback's body: log, effect, result (a panic for a throw).
    fn call(
        self: &Arc<Self>,
        number: u32,
        input: Input,
        callback: Callback,
        returns: Returns,
        derived_index: usize,
    ) -> Resolution<u32, Why> {
        self.log(Event::Ran {
            callback: number,
            input,
        });
        match callback.effect {
            Effect::None => {}
            Effect::Resolve { p, value } => {
                if let Some((_, resolver)) = self.take_resolver(p) {
                    let _ = resolver.resolve(u32::from(value));
                }
            }
            Effect::Reject { p, reason } => {
                if let Some((_, resolver)) = self.take_resolver(p) {
                    let _ = resolver.reject(Why::User(reason));
                }
            }
            Effect::Then { p } => {
                let f = self.callback_id();
                self.register(p, Some((f, Callback::PLAIN)), None);
            }
        }
        match returns {
            Returns::Value(v) => Resolution::Settle(Ok(u32::from(v))),
            Returns::Throw(n) => resume_unwind(Box::new(format!("throw:{n}"))),
            Returns::Reject(r) => Resolution::Settle(Err(Why::User(r))),
            Returns::Promise(i) => {
                Resolution::Adopt(self.table().promises[usize::from(i) % derived_index].clone())
            }
            Returns::OwnDerived => Resolution::Adopt(self.table().promises[derived_index].clone()),
            Returns::Fresh { fulfilled, value } if !self.full() => {
                let scheduler = Arc::clone(&self.scheduler);
                let promise = if fulfilled {
                    Promise::fulfilled(scheduler, u32::from(value))
                } else {
                    Promise::rejected(scheduler, Why::User(value))
                };
                self.push(promise.clone(), None);
                Resolution::Adopt(promise)
            }
            Returns::Fresh { .. } => Resolution::Settle(Ok(0)),
        }
    }
}

fn describe(step: usize, scenario: &Scenario) -> String {
    format!("after step {step} of {scenario:?}")
}

/// Runs `scenario` on a loop and on the model, panicking at the first difference.
///
/// # Panics
/// When the loop disagrees with the model.
pub fn check(scenario: &Scenario) {
    let table: Arc<Mutex<Table>> = Arc::default();
    let hook_table = Arc::clone(&table);
    let mut el = EventLoop::builder()
        .config(Config {
            spin_before_sleep: Duration::ZERO,
            ..Config::default()
        })
        .rejection_hook(move |event| {
            let mut table = hook_table.lock().unwrap_or_else(PoisonError::into_inner);
            let index = table.ids.get(&event.id).copied().unwrap_or(usize::MAX);
            table.log.push(match event.kind {
                RejectionKind::Unhandled => Event::Unhandled(index),
                RejectionKind::HandledLater => Event::HandledLater(index),
            });
        })
        .build();
    let cx = Arc::new(Context {
        table,
        scheduler: el.handle().scheduler(),
    });
    let mut model = Model::new();
    let steps = scenario.steps.iter().chain(std::iter::once(&Step::Run));
    for (n, step) in steps.enumerate() {
        model.step(step);
        match step {
            Step::Outside(op) => cx.op(*op),
            Step::Thread(ops) => {
                let (cx, ops) = (Arc::clone(&cx), ops.clone());
                let joined =
                    std::thread::spawn(move || ops.into_iter().for_each(|op| cx.op(op))).join();
                if let Err(panic) = joined {
                    eprintln!("promise scenario: thread of step {n} failed");
                    resume_unwind(panic);
                }
            }
            Step::Task(ops) => {
                let (cx, ops) = (Arc::clone(&cx), ops.clone());
                el.submit(move |_| ops.into_iter().for_each(|op| cx.op(op)))
                    .expect("a running loop accepts tasks");
            }
            Step::Run => {
                el.run_until_idle().expect("the loop has not terminated");
                let log = cx.table().log.clone();
                assert_eq!(
                    log,
                    model.log,
                    "the log differs (left: the loop, right: the model) {}",
                    describe(n, scenario)
                );
            }
        }
        assert_eq!(
            cx.len(),
            model.len(),
            "the table's size {}",
            describe(n, scenario)
        );
    }
    {
        let table = cx.table();
        for (index, promise) in table.promises.iter().enumerate() {
            assert_eq!(
                promise.outcome(),
                model.outcome(index),
                "promise {index} (left: the loop, right: the model) {}",
                describe(scenario.steps.len(), scenario)
            );
        }
        assert_eq!(
            el.stats().panics,
            0,
            "a callback's throw is a rejection, not a loop panic"
        );
    }
    // Nothing left alive: unused resolvers abandon their promises (their jobs are dropped with
    // the loop), and the callbacks' context goes with the last reaction.
    let table = std::mem::take(&mut *cx.table());
    drop(table);
    drop(el);
    assert_eq!(
        Arc::strong_count(&cx),
        1,
        "a reaction or job outlived the loop"
    );
}

/// Fuzz body: a scenario decoded from `data`, checked by [`check`].
///
/// # Panics
/// When the loop disagrees with the model.
pub fn promise_ops(data: &[u8]) {
    let mut u = Unstructured::new(data);
    if let Ok(scenario) = Scenario::arbitrary(&mut u) {
        check(&scenario);
    }
}

impl<'a> Arbitrary<'a> for Scenario {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut steps = Vec::new();
        while !u.is_empty() && steps.len() < MAX_STEPS {
            steps.push(decode_step(u)?);
        }
        Ok(Self { steps })
    }
}

/// One step, mostly operations outside the loop; macrotasks, threads and runs less often.
fn decode_step(u: &mut Unstructured<'_>) -> arbitrary::Result<Step> {
    Ok(match u.int_in_range(0u8..=15)? {
        0..=8 => Step::Outside(decode_op(u)?),
        9..=10 => Step::Task(decode_batch(u)?),
        11 => Step::Thread(decode_batch(u)?),
        _ => Step::Run,
    })
}

fn decode_batch(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<Op>> {
    let n = u.int_in_range(1..=MAX_BATCH)?;
    (0..n).map(|_| decode_op(u)).collect()
}

/// Small values (0..8), so that equal values and reasons are common.
fn small(u: &mut Unstructured<'_>) -> arbitrary::Result<u8> {
    u.int_in_range(0..=7)
}

fn decode_op(u: &mut Unstructured<'_>) -> arbitrary::Result<Op> {
    Ok(match u.int_in_range(0u8..=31)? {
        0..=4 | 31 => Op::Pending,
        5 => Op::Fulfilled(small(u)?),
        6 => Op::Rejected(small(u)?),
        7..=9 => Op::Resolve {
            p: u8::arbitrary(u)?,
            value: small(u)?,
        },
        10..=11 => Op::Reject {
            p: u8::arbitrary(u)?,
            reason: small(u)?,
        },
        12..=13 => Op::Adopt {
            p: u8::arbitrary(u)?,
            other: u8::arbitrary(u)?,
        },
        14 => Op::DropResolver {
            p: u8::arbitrary(u)?,
        },
        15..=20 => Op::Then {
            p: u8::arbitrary(u)?,
            on_fulfilled: decode_callback(u)?,
        },
        21..=23 => Op::Catch {
            p: u8::arbitrary(u)?,
            on_rejected: decode_callback(u)?,
        },
        24..=26 => Op::ThenOrElse {
            p: u8::arbitrary(u)?,
            on_fulfilled: decode_callback(u)?,
            on_rejected: decode_callback(u)?,
        },
        _ => Op::Finally {
            p: u8::arbitrary(u)?,
            on_finally: decode_callback(u)?,
        },
    })
}

fn decode_callback(u: &mut Unstructured<'_>) -> arbitrary::Result<Callback> {
    let effect = match u.int_in_range(0u8..=7)? {
        0..=4 => Effect::None,
        5 => Effect::Resolve {
            p: u8::arbitrary(u)?,
            value: small(u)?,
        },
        6 => Effect::Reject {
            p: u8::arbitrary(u)?,
            reason: small(u)?,
        },
        _ => Effect::Then {
            p: u8::arbitrary(u)?,
        },
    };
    let returns = match u.int_in_range(0u8..=11)? {
        0..=4 => Returns::Value(small(u)?),
        5..=6 => Returns::Throw(small(u)?),
        7 => Returns::Reject(small(u)?),
        8..=9 => Returns::Promise(u8::arbitrary(u)?),
        10 => Returns::OwnDerived,
        _ => Returns::Fresh {
            fulfilled: bool::arbitrary(u)?,
            value: small(u)?,
        },
    };
    Ok(Callback { effect, returns })
}

/// Fixed scenarios through every operation, effect, return and step kind (used by the tests
/// that replay the corpus, so a plain `cargo test` exercises the interpreter even if the corpus
/// is small).
pub fn sample_scenarios() -> Vec<Scenario> {
    let value = |v| Callback {
        effect: Effect::None,
        returns: Returns::Value(v),
    };
    let returns = |returns| Callback {
        effect: Effect::None,
        returns,
    };
    let with = |effect, returns| Callback { effect, returns };
    let then = |p, on_fulfilled| Op::Then { p, on_fulfilled };
    let catch = |p, on_rejected| Op::Catch { p, on_rejected };
    vec![
        // Reaction order on one promise, settled in a macrotask; late then; pass-through.
        Scenario {
            steps: vec![
                Step::Outside(Op::Pending),
                Step::Outside(then(0, value(1))),
                Step::Outside(catch(0, value(2))),
                Step::Outside(then(0, returns(Returns::Throw(3)))),
                Step::Task(vec![Op::Resolve { p: 0, value: 5 }, then(0, value(4))]),
                Step::Run,
                Step::Outside(then(3, value(6))),
                Step::Outside(catch(3, returns(Returns::Reject(1)))),
            ],
        },
        // Adoption: of an older pending promise, of a settled one, of itself (cycle); returned
        // promises (older, own derived, fresh fulfilled and rejected); rejection reports.
        Scenario {
            steps: vec![
                Step::Outside(Op::Pending),
                Step::Outside(Op::Pending),
                Step::Outside(Op::Rejected(2)),
                Step::Outside(Op::Adopt { p: 1, other: 0 }),
                Step::Outside(Op::Pending),
                Step::Outside(Op::Adopt { p: 3, other: 3 }),
                Step::Task(vec![
                    Op::Fulfilled(7),
                    then(5, returns(Returns::Promise(0))),
                    then(5, returns(Returns::OwnDerived)),
                    then(
                        5,
                        returns(Returns::Fresh {
                            fulfilled: true,
                            value: 1,
                        }),
                    ),
                    then(
                        5,
                        returns(Returns::Fresh {
                            fulfilled: false,
                            value: 2,
                        }),
                    ),
                ]),
                Step::Run,
                Step::Outside(catch(2, value(0))),
                Step::Thread(vec![Op::Resolve { p: 0, value: 9 }, then(1, value(3))]),
                Step::Run,
            ],
        },
        // finally in every form; effects that settle and register from inside callbacks;
        // a dropped resolver.
        Scenario {
            steps: vec![
                Step::Outside(Op::Pending),
                Step::Outside(Op::Fulfilled(1)),
                Step::Outside(Op::Rejected(2)),
                Step::Outside(Op::Finally {
                    p: 1,
                    on_finally: value(0),
                }),
                Step::Outside(Op::Finally {
                    p: 2,
                    on_finally: returns(Returns::Throw(4)),
                }),
                Step::Outside(Op::Finally {
                    p: 1,
                    on_finally: returns(Returns::Promise(0)),
                }),
                Step::Outside(Op::Finally {
                    p: 2,
                    on_finally: returns(Returns::OwnDerived),
                }),
                Step::Outside(Op::Finally {
                    p: 1,
                    on_finally: returns(Returns::Fresh {
                        fulfilled: false,
                        value: 5,
                    }),
                }),
                Step::Outside(then(
                    1,
                    with(Effect::Resolve { p: 0, value: 8 }, Returns::Value(1)),
                )),
                Step::Outside(Op::ThenOrElse {
                    p: 2,
                    on_fulfilled: value(0),
                    on_rejected: with(Effect::Then { p: 0 }, Returns::Reject(6)),
                }),
                Step::Run,
                Step::Outside(Op::Pending),
                Step::Outside(then(
                    12,
                    with(Effect::Reject { p: 12, reason: 1 }, Returns::Value(0)),
                )),
                Step::Outside(Op::DropResolver { p: 12 }),
            ],
        },
    ]
}
