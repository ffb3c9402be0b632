//! The JS promise combinators: [`all`], [`race`], [`all_settled`] and [`any`], with the
//! results, the empty-input cases and the microtask timing of `Promise.all`, `Promise.race`,
//! `Promise.allSettled` and `Promise.any`.
//!
//! ```
//! # if eventloop_core::__loom_build() { return; } // loom primitives work only inside a model
//! use eventloop_core::EventLoop;
//! use eventloop_core::promise::{self, AggregateError, Failure};
//!
//! let mut event_loop = EventLoop::new();
//! let handle = event_loop.handle();
//! let (slow, settle_slow) = handle.promise::<u32, Failure>();
//! let fast = promise::Promise::fulfilled(handle.scheduler(), 2);
//! let all = handle.all([slow.clone(), fast.clone()]);
//! let any = handle.any([slow, fast]);
//! settle_slow.resolve(1).unwrap();
//! event_loop.run_until_idle().unwrap();
//! assert_eq!(all.outcome(), Some(&Ok(vec![1, 2]))); // input order, not settlement order
//! assert_eq!(any.outcome(), Some(&Ok(2))); // the first to fulfil
//! let none = promise::any::<u32, Failure>(handle.scheduler(), []);
//! let _ = none.catch(|_| Ok(0)); // handled: not reported as an unhandled rejection
//! assert_eq!(none.outcome(), Some(&Err(AggregateError::Rejected(vec![]))));
//! ```
//!
//! # Ground rules
//!
//! - **One algorithm.** Every combinator is a *gather* over its inputs, collected first (their
//!   number is known before any reaction can run). Each input gets one internal reaction (the
//!   crate's `subscribe` path, which JS's `input.then(onFulfilled, onRejected)` is); a rule per
//!   combinator says what an outcome does: **store** something in the input's slot (the result
//!   settles, through the combinator's `finish`, when the last slot is filled), or **decide**
//!   the result at once. `all`: a value is stored, a rejection decides. `all_settled`: every
//!   outcome is stored. `any`: a value decides, a rejection is stored. `race`: everything
//!   decides. Slots are indexed by input position, so results are in input order whatever the
//!   settlement order.
//! - **JS timing.** An input already settled has its reaction job queued at once, in input
//!   order; a pending one when it settles. The result is settled inside the reaction job of the
//!   input that completes or decides it, so the result's own reactions run one job later, as in
//!   JS. With no inputs, `all`/`all_settled` return a fulfilled promise and `any` a rejected one
//!   before returning (JS resolves them synchronously too); `race` returns a promise that never
//!   settles (JS `Promise.race([])` stays pending forever), and holds nothing that could settle it
//!   (see [`race`] for what happens to its reactions when its last handle is dropped).
//! - **Handled inputs; a reported result.** Subscribing marks each input handled, so an input
//!   rejecting, also after the result is decided, is never reported as an unhandled rejection
//!   (JS: `Promise.all` calls `then` on every input). The result promise is an ordinary promise:
//!   if it rejects with no reaction registered, it is reported like any other.
//! - **Shared state.** The slots, the count of empty slots and the result's [`Resolver`] sit
//!   behind the facade's `Mutex`: reactions normally run on one loop thread, but inputs may use
//!   other schedulers, so the counting is sound from any thread. No user code runs under the
//!   lock: values are cloned before it is taken, and whatever is dropped (a value stored too
//!   late, the slots of a decided result, the resolver) is dropped after it is released. The
//!   resolver is taken out under the lock exactly once (by the decider or by the last store),
//!   so the result is settled once.
//! - **Nothing waits forever on a reaction that will not run.** If the inputs' reactions are
//!   dropped unrun (their loop terminated), the last one dropped drops the shared state, whose
//!   resolver rejects the result with [`Failure::Abandoned`].
//! - Inputs keep their own schedulers; the result uses the one passed to the combinator (also
//!   for empty inputs). A value is cloned once per input into its slot (`Value: Clone`).

use alloc::vec::Vec;
use core::fmt;

use super::cell::Reaction;
use super::handle::{Inner, Promise, Reason, Resolver, Value};
use super::outcome::Failure;
use super::scheduler::Scheduler;
use crate::sync::{Arc, DynArc, Mutex};

/// The rejection reason of [`any`]: every input rejected (JS `AggregateError`), or the promise
/// layer itself failed the `any` promise.
///
/// `any` needs an error type of its own because its rejection is a list; and like every
/// [`Reason`] it must convert from [`Failure`]. Rather than pretend a [`Failure`] is an input's
/// rejection, it has its own variant: [`AggregateError::Rejected`] is JS's `AggregateError`
/// (its `errors`, in input order; empty for `any([])`), [`AggregateError::Failure`] is a
/// failure of the `any` promise itself (its inputs' reactions were dropped unrun when their loop
/// terminated: [`Failure::Abandoned`]; or any other [`Failure`] the promise layer rejects a
/// pending promise with).
#[derive(Clone, PartialEq, Eq)]
pub enum AggregateError<E> {
    /// Every input rejected: their reasons, in input order (not settlement order). Empty when
    /// `any` had no input (JS: `Promise.any([])` rejects with an `AggregateError` of no errors).
    Rejected(Vec<E>),
    /// The `any` promise could not be settled by its inputs (see the type's docs).
    Failure(Failure),
}

impl<E> AggregateError<E> {
    /// The inputs' rejection reasons, in input order (JS `AggregateError.errors`); empty for a
    /// [`AggregateError::Failure`].
    pub fn errors(&self) -> &[E] {
        match self {
            Self::Rejected(errors) => errors,
            Self::Failure(_) => &[],
        }
    }
}

impl<E> From<Failure> for AggregateError<E> {
    fn from(failure: Failure) -> Self {
        Self::Failure(failure)
    }
}

impl<E: fmt::Debug> fmt::Debug for AggregateError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected(errors) => f.debug_tuple("AggregateError").field(errors).finish(),
            Self::Failure(failure) => f
                .debug_tuple("AggregateError::Failure")
                .field(failure)
                .finish(),
        }
    }
}

impl<E> fmt::Display for AggregateError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected(errors) if errors.is_empty() => f.write_str("no promise to fulfil"),
            Self::Rejected(errors) => write!(f, "all {} promises were rejected", errors.len()),
            Self::Failure(failure) => fmt::Display::fmt(failure, f),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for AggregateError<E> {}

/// JS `Promise.all`: fulfils with every input's value, in input order, once all have fulfilled;
/// rejects with the first rejection (in settlement order) as soon as it happens. No inputs:
/// fulfilled with an empty `Vec` at once.
pub fn all<T: Value, E: Reason>(
    scheduler: DynArc<dyn Scheduler>,
    inputs: impl IntoIterator<Item = Promise<T, E>>,
) -> Promise<Vec<T>, E> {
    gather(
        scheduler,
        inputs,
        Rule {
            step: |outcome| match outcome {
                Ok(value) => Step::Store(value.clone()),
                Err(reason) => Step::Decide(Err(reason.clone())),
            },
            finish: |values| Some(Ok(values)),
        },
    )
}

/// JS `Promise.race`: settles like the first input to settle (fulfilled or rejected). Among
/// inputs settled already, the first in input order wins (their reactions run in input order).
///
/// No inputs: the promise **never settles** (JS `Promise.race([])` stays pending forever); no
/// resolver exists for it, so it is not rejected as abandoned either. Its reactions never run:
/// they are dropped with the promise's last handle, and then, by the rule of this crate that
/// nothing waits forever on a reaction that will not run, the promises derived from them reject
/// with [`Failure::Abandoned`] (JS would keep them pending until collected). Keep a handle to
/// the `race` result as long as its derived promises must stay pending.
pub fn race<T: Value, E: Reason>(
    scheduler: DynArc<dyn Scheduler>,
    inputs: impl IntoIterator<Item = Promise<T, E>>,
) -> Promise<T, E> {
    gather(
        scheduler,
        inputs,
        Rule::<(), _, _, _, _> {
            step: |outcome| Step::Decide(outcome.clone()),
            finish: |_| None,
        },
    )
}

/// JS `Promise.allSettled`: fulfils, once every input has settled, with each input's outcome
/// in input order (`Ok(value)` for `{status: "fulfilled"}`, `Err(reason)` for
/// `{status: "rejected"}`). It never rejects because of an input: only with a [`Failure`] of
/// its own (its inputs' reactions dropped unrun: [`Failure::Abandoned`]), which is why its error
/// type is still `E`. No inputs: fulfilled with an empty `Vec` at once.
pub fn all_settled<T: Value, E: Reason>(
    scheduler: DynArc<dyn Scheduler>,
    inputs: impl IntoIterator<Item = Promise<T, E>>,
) -> Promise<Vec<Result<T, E>>, E> {
    gather(
        scheduler,
        inputs,
        Rule {
            step: |outcome| Step::Store(outcome.clone()),
            finish: |outcomes| Some(Ok(outcomes)),
        },
    )
}

/// JS `Promise.any`: fulfils with the first input to fulfil (in settlement order); rejects with
/// [`AggregateError::Rejected`] of every reason, in input order, once all have rejected. No
/// inputs: rejected at once with an empty [`AggregateError::Rejected`] (reported as unhandled if
/// no reaction is registered in this checkpoint, like any rejection).
pub fn any<T: Value, E: Reason>(
    scheduler: DynArc<dyn Scheduler>,
    inputs: impl IntoIterator<Item = Promise<T, E>>,
) -> Promise<T, AggregateError<E>> {
    gather(
        scheduler,
        inputs,
        Rule {
            step: |outcome| match outcome {
                Ok(value) => Step::Decide(Ok(value.clone())),
                Err(reason) => Step::Store(reason.clone()),
            },
            finish: |reasons| Some(Err(AggregateError::Rejected(reasons))),
        },
    )
}

/// What one input's outcome does (module docs).
enum Step<S, T, E> {
    /// Fill the input's slot with this.
    Store(S),
    /// Settle the result with this, unless it is settled already.
    Decide(Result<T, E>),
}

/// A combinator: how an input's outcome (`Result<I, IE>`) steps it, and the result once every
/// slot is filled (`None`: never settle, `race`'s choice, which arises only with no inputs).
struct Rule<S, I, IE, T, E> {
    step: fn(&Result<I, IE>) -> Step<S, T, E>,
    finish: fn(Vec<S>) -> Option<Result<T, E>>,
}

/// The state shared by one combinator's reactions.
struct Gather<S, T: Value, E: Reason> {
    progress: Mutex<Progress<S, T, E>>,
    finish: fn(Vec<S>) -> Option<Result<T, E>>,
}

struct Progress<S, T: Value, E: Reason> {
    /// One per input; emptied (freed) once the result is decided.
    slots: Vec<Option<S>>,
    /// Slots still empty.
    remaining: usize,
    /// `None` once the result was settled (or is being settled) by some reaction.
    resolver: Option<Resolver<T, E>>,
}

/// The one algorithm (module docs).
fn gather<S, I, IE, T, E>(
    scheduler: DynArc<dyn Scheduler>,
    inputs: impl IntoIterator<Item = Promise<I, IE>>,
    rule: Rule<S, I, IE, T, E>,
) -> Promise<T, E>
where
    S: Send + 'static,
    I: Value,
    IE: Reason,
    T: Value,
    E: Reason,
{
    let inputs: Vec<Promise<I, IE>> = inputs.into_iter().collect();
    if inputs.is_empty() {
        return match (rule.finish)(Vec::new()) {
            Some(Ok(value)) => Promise::fulfilled(scheduler, value),
            Some(Err(reason)) => Promise::rejected(scheduler, reason),
            None => Promise::never(scheduler),
        };
    }
    let (result, resolver) = Promise::new(scheduler);
    let mut slots = Vec::with_capacity(inputs.len());
    slots.resize_with(inputs.len(), || None);
    // Complete before the first subscription: a reaction may run (on another thread) as soon as
    // its input is subscribed.
    let shared = Arc::new(Gather {
        progress: Mutex::new(Progress {
            slots,
            remaining: inputs.len(),
            resolver: Some(resolver),
        }),
        finish: rule.finish,
    });
    let step = rule.step;
    for (index, input) in inputs.into_iter().enumerate() {
        let shared = Arc::clone(&shared);
        Inner::subscribe(
            &input.inner,
            Reaction::new(move |outcome: &Result<I, IE>| match step(outcome) {
                Step::Store(item) => shared.store(index, item),
                Step::Decide(outcome) => shared.decide(outcome),
            }),
        );
    }
    result
}

impl<S, T: Value, E: Reason> Gather<S, T, E> {
    /// Fills slot `index`; the last store settles the result with `finish`.
    fn store(&self, index: usize, item: S) {
        let mut late = None;
        let mut complete = None;
        {
            let mut progress = self.progress.lock();
            if progress.resolver.is_some() {
                debug_assert!(progress.slots[index].is_none(), "one reaction per input");
                progress.slots[index] = Some(item);
                progress.remaining -= 1;
                if progress.remaining == 0 {
                    let resolver = progress.resolver.take().expect("checked above");
                    complete = Some((resolver, core::mem::take(&mut progress.slots)));
                }
            } else {
                late = Some(item); // the result is decided: dropped below, outside the lock
            }
        }
        drop(late);
        if let Some((resolver, slots)) = complete {
            let items = slots
                .into_iter()
                .map(|slot| slot.expect("every slot is filled"))
                .collect();
            match (self.finish)(items) {
                Some(outcome) => {
                    let _ = resolver.settle(outcome);
                }
                None => unreachable!("a rule that never finishes only decides"),
            }
        }
    }

    /// Settles the result with `outcome`, unless a reaction did already.
    fn decide(&self, outcome: Result<T, E>) {
        let (resolver, slots) = {
            let mut progress = self.progress.lock();
            (
                progress.resolver.take(),
                core::mem::take(&mut progress.slots),
            )
        };
        drop(slots);
        if let Some(resolver) = resolver {
            let _ = resolver.settle(outcome);
        }
    }
}
