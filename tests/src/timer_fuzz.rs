//! A differential check of the timer pool against a simple reference, shared by the proptest
//! `tests/tests/timer_proptest.rs`, the fuzz target `timer_ops` (through [`timer_ops`]) and the
//! corpus replay in `tests/tests/timer_fuzz_corpus.rs`.
//!
//! The reference is a `BTreeMap<(deadline, seq), id>` of armed timers plus a map of live IDs
//! with their state (armed, or firing and whether cancelled). [`check`] runs a [`Scenario`] on a
//! fresh [`TimerPool`] (with the scenario's ID limit) and on the reference side by side, and
//! panics, naming the step and the operation, at the first difference. Compared after every
//! step:
//!
//! - every returned ID (the next counter value), the exhaustion error (exactly when the counter
//!   is at the limit; the callback comes back; nothing else changes);
//! - which timer `take_due` hands out (earliest `(deadline, seq)` due at `now`, so ties go in
//!   scheduling order), with its deadline, kind and nesting level;
//! - every `cancel` result (`Cancelled` with that timer's own callback, `Firing`, `NotFound`),
//!   and what `finish` does (re-arm an interval not cancelled, or hand the callback back);
//! - `len`, `is_empty`, `armed`, `next_deadline`, `ids_remaining`, and `contains` / `deadline`
//!   of every ID issued so far;
//! - the number of callbacks alive equals the armed timers plus the ones the harness holds
//!   while they fire: a cancelled or finished callback is handed back (and dropped) at once,
//!   none is kept or dropped twice.
//!
//! At the end the scenario either cancels everything and finishes the firing timers, or drops
//! the pool with timers inside; either way every callback must have been dropped exactly once.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use eventloop_core::timer::{
    Cancel, FiringToken, MAX_TIMER_ID, Rearm, TimerError, TimerId, TimerKind, TimerPool,
};

/// The ID limits the checks use: tiny ones, so that exhaustion happens within a scenario.
pub const ID_LIMITS: [u64; 4] = [2, 5, 16, MAX_TIMER_ID];

/// Longest operation list the fuzz decoder builds (keeps one input fast).
pub const MAX_OPS: usize = 512;

/// Most firings one [`Op::FireAll`] runs (a 0 ms interval would otherwise never stop).
pub const FIRE_ALL_LIMIT: usize = 64;

/// One step of a scenario. Times are in milliseconds; small values make ties common.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Schedule a timer due at `now + delay`; an interval when `period` is given.
    Schedule {
        /// Delay from the current time, ms.
        delay: u8,
        /// Interval period, ms (`None`: a timeout).
        period: Option<u8>,
        /// Nesting level to store.
        nesting: u8,
    },
    /// Cancel the ID `back` below the last one issued (0: the last); reaching 0 or below names
    /// an ID never issued.
    Cancel {
        /// Distance below the last issued ID.
        back: u8,
    },
    /// Cancel one of the timers the harness is firing (by index, modulo their number): the
    /// "clear from its own callback" case.
    CancelFiring(u8),
    /// Move the clock forward by this many ms.
    Advance(u8),
    /// One `take_due(now)`: a due timer starts firing (the harness holds its callback).
    Take,
    /// Finish one of the firing timers (by index, modulo their number); an interval asks to be
    /// re-armed at `now + period` when `rearm`.
    Finish {
        /// Which firing timer.
        which: u8,
        /// Ask for a re-arm (intervals only).
        rearm: bool,
    },
    /// `take_due` and `finish` (re-arming intervals) until nothing is due at `now`, at most
    /// [`FIRE_ALL_LIMIT`] times.
    FireAll,
    /// `cancel_all`.
    CancelAll,
}

/// How a scenario ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// `cancel_all`, then finish the firing timers: the pool ends empty.
    CancelAll,
    /// Drop the pool with its timers inside, then the callbacks the harness holds.
    Drop,
}

/// A whole scenario: the pool's ID limit, the operations, how it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// The pool's ID limit, one of [`ID_LIMITS`].
    pub id_limit: u64,
    /// The operations, in order.
    pub ops: Vec<Op>,
    /// What happens after the operations.
    pub ending: Ending,
}

/// A callback that knows which timer it belongs to and counts itself alive until dropped.
struct Callback {
    id: u64,
    live: Rc<Cell<usize>>,
}

impl Callback {
    fn new(id: u64, live: &Rc<Cell<usize>>) -> Self {
        live.set(live.get() + 1);
        Self {
            id,
            live: Rc::clone(live),
        }
    }
}

impl Drop for Callback {
    fn drop(&mut self) {
        let before = self.live.get();
        assert!(before > 0, "callback of timer {} dropped twice", self.id);
        self.live.set(before - 1);
    }
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "callback of {}", self.id)
    }
}

/// The reference's view of one live timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// In the queue under this key.
    Armed((Duration, u64)),
    /// Firing; in `live` only while not cancelled.
    Firing,
}

#[derive(Debug, Clone, Copy)]
struct ModelTimer {
    period: Option<Duration>,
    nesting: u32,
    state: State,
}

/// The reference: a queue ordered by `(deadline, seq)` and the live IDs.
#[derive(Debug, Default)]
struct Model {
    queue: BTreeMap<(Duration, u64), u64>,
    /// Live IDs: armed, or firing and not cancelled.
    live: BTreeMap<u64, ModelTimer>,
    issued: u64,
    seq: u64,
}

impl Model {
    fn arm(&mut self, id: u64, deadline: Duration) -> State {
        let key = (deadline, self.seq);
        // A deliberate break of the reference goes here (see `timer_proptest.rs`): e.g. keying
        // by `(deadline, u64::MAX - seq)` makes ties fire newest first, and the checks fail.
        self.seq += 1;
        self.queue.insert(key, id);
        State::Armed(key)
    }
}

/// A timer the harness is "running": taken out by `take_due`, not yet finished.
struct Firing {
    token: FiringToken,
    callback: Callback,
    id: u64,
    cancelled: bool,
}

struct Harness {
    pool: TimerPool<Callback>,
    model: Model,
    id_limit: u64,
    now: Duration,
    firing: Vec<Firing>,
    live_callbacks: Rc<Cell<usize>>,
}

fn ms(n: u8) -> Duration {
    Duration::from_millis(u64::from(n))
}

fn id(value: u64) -> TimerId {
    TimerId::new(value).expect("IDs are positive")
}

impl Harness {
    fn new(id_limit: u64) -> Self {
        Self {
            pool: TimerPool::with_id_limit(id_limit),
            model: Model::default(),
            id_limit,
            now: Duration::ZERO,
            firing: Vec::new(),
            live_callbacks: Rc::new(Cell::new(0)),
        }
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Schedule {
                delay,
                period,
                nesting,
            } => self.schedule(self.now + ms(delay), period.map(ms), u32::from(nesting)),
            Op::Cancel { back } => {
                let value = self.model.issued.checked_sub(u64::from(back));
                let value = match value {
                    Some(value) if value > 0 => value,
                    _ => self.model.issued + 1 + u64::from(back), // never issued
                };
                self.cancel(value);
            }
            Op::CancelFiring(which) => {
                if !self.firing.is_empty() {
                    let value = self.firing[usize::from(which) % self.firing.len()].id;
                    self.cancel(value);
                }
            }
            Op::Advance(by) => self.now += ms(by),
            Op::Take => self.take(),
            Op::Finish { which, rearm } => {
                if !self.firing.is_empty() {
                    let index = usize::from(which) % self.firing.len();
                    self.finish(index, rearm);
                }
            }
            Op::FireAll => {
                // Bounded: an interval with a 0 ms period stays due at `now` forever.
                for _ in 0..FIRE_ALL_LIMIT {
                    let before = self.firing.len();
                    self.take();
                    if self.firing.len() == before {
                        break;
                    }
                    self.finish(before, true);
                }
            }
            Op::CancelAll => self.cancel_all(),
        }
    }

    fn schedule(&mut self, deadline: Duration, period: Option<Duration>, nesting: u32) {
        let kind = match period {
            None => TimerKind::Timeout,
            Some(period) => TimerKind::Interval { period },
        };
        let expected = self.model.issued + 1;
        let before = (
            self.pool.len(),
            self.pool.armed(),
            self.pool.next_deadline(),
        );
        let callback = Callback::new(expected, &self.live_callbacks);
        match self.pool.schedule(deadline, callback, kind, nesting) {
            Ok(got) => {
                assert!(
                    self.model.issued < self.id_limit,
                    "scheduled past the ID limit"
                );
                assert_eq!(got.get(), expected, "IDs come from the counter");
                self.model.issued = expected;
                let state = self.model.arm(expected, deadline);
                self.model.live.insert(
                    expected,
                    ModelTimer {
                        period,
                        nesting,
                        state,
                    },
                );
            }
            Err(err) => {
                assert!(
                    self.model.issued >= self.id_limit,
                    "schedule failed below the ID limit: {err:?}"
                );
                assert!(matches!(err, TimerError::IdsExhausted(_)), "{err:?}");
                let callback = err.into_callback();
                assert_eq!(callback.id, expected, "the error hands back the callback");
                drop(callback);
                let after = (
                    self.pool.len(),
                    self.pool.armed(),
                    self.pool.next_deadline(),
                );
                assert_eq!(after, before, "a failed schedule changed the pool");
            }
        }
    }

    fn cancel(&mut self, value: u64) {
        let expected = self.model.live.remove(&value);
        let got = self.pool.cancel(id(value));
        match (expected, got) {
            (
                Some(ModelTimer {
                    state: State::Armed(key),
                    ..
                }),
                Cancel::Cancelled(callback),
            ) => {
                assert_eq!(callback.id, value, "cancel handed back another callback");
                assert_eq!(self.model.queue.remove(&key), Some(value));
            }
            (
                Some(ModelTimer {
                    state: State::Firing,
                    ..
                }),
                Cancel::Firing,
            ) => {
                let firing = self
                    .firing
                    .iter_mut()
                    .find(|f| f.id == value)
                    .expect("a firing timer is held by the harness");
                firing.cancelled = true;
            }
            (None, Cancel::NotFound) => {}
            (expected, got) => panic!("cancel({value}): expected {expected:?}, got {got:?}"),
        }
    }

    fn take(&mut self) {
        let expected = match self.model.queue.first_key_value() {
            Some((&key, &value)) if key.0 <= self.now => Some((key, value)),
            _ => None,
        };
        let got = self.pool.take_due(self.now);
        match (expected, got) {
            (None, None) => {}
            (Some((key, value)), Some(due)) => {
                assert_eq!(due.id.get(), value, "take_due: wrong timer");
                assert_eq!(due.token.id(), due.id);
                assert_eq!(due.callback.id, value, "take_due: wrong callback");
                assert_eq!(due.deadline, key.0, "take_due: wrong deadline");
                self.model.queue.remove(&key);
                let timer = self.model.live.get_mut(&value).expect("armed is live");
                assert_eq!(due.nesting, timer.nesting, "take_due: wrong nesting");
                let kind = match timer.period {
                    None => TimerKind::Timeout,
                    Some(period) => TimerKind::Interval { period },
                };
                assert_eq!(due.kind, kind, "take_due: wrong kind");
                timer.state = State::Firing;
                self.firing.push(Firing {
                    token: due.token,
                    callback: due.callback,
                    id: value,
                    cancelled: false,
                });
            }
            (expected, got) => panic!(
                "take_due at {:?}: expected {expected:?}, got {got:?}",
                self.now
            ),
        }
    }

    fn finish(&mut self, index: usize, rearm: bool) {
        let Firing {
            token,
            callback,
            id: value,
            cancelled,
        } = self.firing.remove(index);
        let timer = if cancelled {
            assert!(!self.model.live.contains_key(&value));
            None
        } else {
            Some(*self.model.live.get(&value).expect("firing, not cancelled"))
        };
        let period = timer.and_then(|t| t.period);
        let request = period.filter(|_| rearm).map(|period| Rearm {
            deadline: self.now + period,
            nesting: timer.map_or(0, |t| t.nesting).saturating_add(1),
        });
        // Ask for a re-arm of timeouts and cancelled timers too: the pool must ignore it.
        let asked = if rearm && request.is_none() {
            Some(Rearm {
                deadline: self.now,
                nesting: 0,
            })
        } else {
            request
        };
        let back = self.pool.finish(token, callback, asked);
        match request {
            Some(Rearm { deadline, nesting }) => {
                assert!(
                    back.is_none(),
                    "finish({value}): an interval was not re-armed"
                );
                let state = self.model.arm(value, deadline);
                let timer = self.model.live.get_mut(&value).expect("live");
                timer.state = state;
                timer.nesting = nesting;
            }
            None => {
                let callback = back.unwrap_or_else(|| {
                    panic!("finish({value}): re-armed, expected the callback back")
                });
                assert_eq!(callback.id, value);
                if !cancelled {
                    self.model.live.remove(&value);
                }
            }
        }
    }

    fn cancel_all(&mut self) {
        let mut got: Vec<u64> = self.pool.cancel_all().iter().map(|c| c.id).collect();
        got.sort_unstable();
        let mut expected: Vec<u64> = self.model.queue.values().copied().collect();
        expected.sort_unstable();
        assert_eq!(got, expected, "cancel_all handed back other callbacks");
        self.model.queue.clear();
        self.model.live.clear();
        for firing in &mut self.firing {
            firing.cancelled = true;
        }
    }

    /// Everything observable agrees with the reference.
    fn compare(&self) {
        let pool = &self.pool;
        let model = &self.model;
        assert_eq!(pool.len(), model.live.len(), "len");
        assert_eq!(pool.is_empty(), model.live.is_empty(), "is_empty");
        assert_eq!(pool.armed(), model.queue.len(), "armed");
        assert_eq!(
            pool.next_deadline(),
            model.queue.first_key_value().map(|(key, _)| key.0),
            "next_deadline"
        );
        assert_eq!(
            pool.ids_remaining(),
            self.id_limit - model.issued,
            "ids_remaining"
        );
        // Every issued ID, plus one never issued.
        for value in 1..=model.issued + 1 {
            let timer = model.live.get(&value);
            assert_eq!(
                pool.contains(id(value)),
                timer.is_some(),
                "contains({value})"
            );
            let deadline = match timer.map(|t| t.state) {
                Some(State::Armed(key)) => Some(key.0),
                _ => None,
            };
            assert_eq!(pool.deadline(id(value)), deadline, "deadline({value})");
        }
        assert_eq!(
            self.live_callbacks.get(),
            model.queue.len() + self.firing.len(),
            "callbacks alive: armed + firing"
        );
    }
}

/// Runs `scenario` on a pool and on the reference, panicking at the first difference.
///
/// # Panics
/// When the pool disagrees with the reference (the message names the step and operation).
pub fn check(scenario: &Scenario) {
    let mut harness = Harness::new(scenario.id_limit);
    for (step, &op) in scenario.ops.iter().enumerate() {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            harness.apply(op);
            harness.compare();
        }));
        if let Err(panic) = result {
            eprintln!("timer scenario failed at step {step}: {op:?}");
            std::panic::resume_unwind(panic);
        }
    }
    let live = Rc::clone(&harness.live_callbacks);
    match scenario.ending {
        Ending::CancelAll => {
            harness.cancel_all();
            while !harness.firing.is_empty() {
                harness.finish(0, true);
            }
            harness.compare();
            assert!(harness.pool.is_empty());
            assert_eq!(harness.pool.next_deadline(), None);
        }
        Ending::Drop => {
            let Harness { pool, firing, .. } = harness;
            drop(pool);
            assert_eq!(
                live.get(),
                firing.len(),
                "dropping the pool drops its callbacks"
            );
            drop(firing);
        }
    }
    assert_eq!(live.get(), 0, "every callback dropped exactly once");
}

/// Fuzz body: an operation sequence decoded from `data`, checked by [`check`].
///
/// # Panics
/// When the pool disagrees with the reference.
pub fn timer_ops(data: &[u8]) {
    let mut u = Unstructured::new(data);
    if let Ok(scenario) = Scenario::arbitrary(&mut u) {
        check(&scenario);
    }
}

impl<'a> Arbitrary<'a> for Scenario {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let id_limit = *u.choose(&ID_LIMITS)?;
        let ending = *u.choose(&[Ending::CancelAll, Ending::Drop])?;
        let mut ops = Vec::new();
        while !u.is_empty() && ops.len() < MAX_OPS {
            ops.push(decode_op(u)?);
        }
        Ok(Self {
            id_limit,
            ops,
            ending,
        })
    }
}

/// One operation, weighted towards schedules, takes and finishes; delays mostly 0..8 ms so that
/// deadlines tie; `cancel_all` is rare.
fn decode_op(u: &mut Unstructured<'_>) -> arbitrary::Result<Op> {
    Ok(match u.int_in_range(0u8..=31)? {
        0..=8 => Op::Schedule {
            delay: u.int_in_range(0..=7)?,
            period: if bool::arbitrary(u)? {
                Some(u.int_in_range(0..=7)?)
            } else {
                None
            },
            nesting: u.int_in_range(0..=7)?,
        },
        9 => Op::Schedule {
            delay: u8::arbitrary(u)?,
            period: Option::<u8>::arbitrary(u)?,
            nesting: u8::arbitrary(u)?,
        },
        10..=13 => Op::Cancel {
            back: u.int_in_range(0..=7)?,
        },
        14 => Op::Cancel {
            back: u8::arbitrary(u)?,
        },
        15..=16 => Op::CancelFiring(u8::arbitrary(u)?),
        17..=19 => Op::Advance(u.int_in_range(0..=5)?),
        20..=23 => Op::Take,
        24..=27 => Op::Finish {
            which: u8::arbitrary(u)?,
            rearm: bool::arbitrary(u)?,
        },
        28..=30 => Op::FireAll,
        _ => Op::CancelAll,
    })
}

/// Fixed scenarios through every operation and ending (used by the corpus replay test, so a
/// plain `cargo test` exercises the interpreter even if the corpus is small).
pub fn sample_scenarios() -> Vec<Scenario> {
    let schedule = |delay, period, nesting| Op::Schedule {
        delay,
        period,
        nesting,
    };
    let ops = vec![
        schedule(5, None, 0),
        schedule(5, Some(3), 1),
        schedule(5, None, 2),
        schedule(0, None, 0),
        Op::Cancel { back: 0 },
        Op::Advance(5),
        Op::Take,
        schedule(0, None, 6), // while firing: lands at the root
        Op::CancelFiring(0),  // the stale-index case of the Go original
        Op::Finish {
            which: 0,
            rearm: true,
        },
        Op::Take,
        Op::Take,
        Op::Finish {
            which: 1,
            rearm: true,
        },
        Op::Finish {
            which: 0,
            rearm: true,
        },
        Op::Advance(7),
        Op::FireAll,
        Op::Cancel { back: 9 },
        schedule(1, Some(1), 0),
        Op::Take,
        Op::CancelAll,
        schedule(2, None, 0),
        Op::Advance(2),
        Op::FireAll,
    ];
    let mut scenarios = Vec::new();
    for id_limit in ID_LIMITS {
        for ending in [Ending::CancelAll, Ending::Drop] {
            scenarios.push(Scenario {
                id_limit,
                ops: ops.clone(),
                ending,
            });
        }
    }
    scenarios
}
