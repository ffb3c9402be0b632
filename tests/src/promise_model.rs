//! A reference interpreter of JS promise semantics on this loop, and the operations the
//! differential check of [`crate::promise_fuzz`] runs on it and on the real loop.
//!
//! The model is small and single-threaded, written from the ECMAScript algorithms rather than
//! from the implementation:
//!
//! - one **job queue** per origin, FIFO: `local` (jobs queued on the loop thread while it runs)
//!   and `remote` (jobs and rejection notices sent from outside the loop: from the test thread
//!   between runs, or from another thread). A checkpoint runs the local queue; when it is empty,
//!   it moves the whole remote queue behind it and goes on; when both are empty, it reports the
//!   rejection notices (see below) and ends once a round reports nothing;
//! - a promise is pending, fulfilled or rejected, with a list of reactions. **Settling** a
//!   pending promise takes its reactions and queues one job that runs them in order (a batch:
//!   consecutive jobs in JS); settling a settled promise does nothing. A **reaction registered**
//!   on a settled promise is queued as a job of its own at once (PerformPromiseThen);
//! - a reaction is a user reaction (`then`/`catch`/`then(f, g)`: a missing callback passes the
//!   outcome through), a `finally` (its callback, then `PromiseResolve(result).then(() =>
//!   outcome)` adopted by the derived promise), the inner step of a `finally`, or an adoption
//!   step (settle the adopting promise with the outcome);
//! - **resolving** a promise with a promise: with itself rejects it with a cycle error at once;
//!   otherwise one job (NewPromiseResolveThenableJob) registers an adoption reaction on the other
//!   promise, whose run settles it: the two extra jobs of ECMAScript;
//! - callbacks run inside jobs only, never inside an operation; they log their run (which
//!   callback, with what argument), may perform one side effect (settle a pending promise,
//!   register a `then` on one), and return a value, throw, return `Err`, or return a promise
//!   (an existing one, their own derived promise, or a fresh `Promise.resolve/reject`);
//! - **unhandled rejections**: a promise rejected while no reaction was ever registered on it
//!   sends an "unhandled" notice; the first reaction registered on a promise reported unhandled
//!   sends "handled later". Notices are collected (directly on the loop, through the remote queue
//!   from outside) and decided at the end of a checkpoint: "handled later" first, then each
//!   "unhandled" whose promise still has no reaction (reported once, marked reported).
//!
//! A `run` step is `run_until_idle`: a checkpoint, then every queued macrotask (a `Task` step),
//! each between two checkpoints.
//!
//! Promises are numbered in the order the scenario creates them (the *table*): every promise an
//! operation or a callback creates, derived promises included; `finally`'s inner promises are not
//! in it. Operations name promises by table index modulo the table's length. A promise only ever
//! waits (adopts, or is derived from) promises with a smaller table index: that keeps the graph
//! of waiting promises acyclic, so nothing stays alive when a scenario ends (in Rust a cycle of
//! pending promises would be a reference cycle; JS would leave it to the garbage collector).

use std::collections::VecDeque;

/// Largest table: operations that would create more promises are skipped (on both sides).
pub const MAX_PROMISES: usize = 96;

/// A rejection reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// A user's reason (`Promise.reject(r)`, `reject(r)`, a callback's `Err(r)`).
    User(u8),
    /// A callback threw `n` (a panic with the message `throw:n`).
    Thrown(u8),
    /// Resolved with itself (JS `TypeError`).
    Cycle,
    /// Its resolver was dropped unused.
    Abandoned,
    /// Any other failure of the promise layer (never expected here).
    Other(String),
}

/// A settled state.
pub type Outcome = Result<u32, Why>;

/// What a callback returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returns {
    /// `Ok(v)`.
    Value(u8),
    /// Panics with `throw:n`.
    Throw(u8),
    /// `Err(Why::User(r))`.
    Reject(u8),
    /// An existing promise: table index modulo the derived promise's own index (so an older one).
    Promise(u8),
    /// The callback's own derived promise (a cycle error; for `finally`, read as `Value(0)`).
    OwnDerived,
    /// A fresh `Promise.resolve(v)` (`fulfilled`) or `Promise.reject(User(v))`.
    Fresh {
        /// Fulfilled or rejected.
        fulfilled: bool,
        /// The value or reason.
        value: u8,
    },
}

/// A callback's side effect, before it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Nothing.
    None,
    /// Resolve the promise at this table index with `value`, if its resolver is unused.
    Resolve {
        /// Table index (modulo).
        p: u8,
        /// The value.
        value: u8,
    },
    /// Reject the promise at this table index with `User(reason)`, if its resolver is unused.
    Reject {
        /// Table index (modulo).
        p: u8,
        /// The reason.
        reason: u8,
    },
    /// `then` on the promise at this table index, with [`Callback::PLAIN`].
    Then {
        /// Table index (modulo).
        p: u8,
    },
}

/// A callback: its side effect and what it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Callback {
    /// Done first.
    pub effect: Effect,
    /// Then this.
    pub returns: Returns,
}

impl Callback {
    /// The callback an [`Effect::Then`] registers: returns `Ok(0)`, no effect.
    pub const PLAIN: Self = Self {
        effect: Effect::None,
        returns: Returns::Value(0),
    };

    /// What a `finally` callback returns: its own derived promise would make the derived
    /// promise wait for itself through `finally`'s inner promise (pending forever in JS, a
    /// reference cycle here), so it reads as `Value(0)`.
    pub fn finally_returns(self) -> Returns {
        match self.returns {
            Returns::OwnDerived => Returns::Value(0),
            other => other,
        }
    }
}

/// One operation on promises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// A new pending promise and its resolver.
    Pending,
    /// `Promise.resolve(v)`.
    Fulfilled(u8),
    /// `Promise.reject(User(r))`.
    Rejected(u8),
    /// `resolver.resolve(value)` of the promise at `p`, if unused.
    Resolve {
        /// Table index (modulo).
        p: u8,
        /// The value.
        value: u8,
    },
    /// `resolver.reject(User(reason))`, if unused.
    Reject {
        /// Table index (modulo).
        p: u8,
        /// The reason.
        reason: u8,
    },
    /// `resolver.adopt(promise at other % (p + 1))`, if unused: an older promise, or itself
    /// (a cycle error).
    Adopt {
        /// Table index (modulo).
        p: u8,
        /// The adopted promise's index, modulo `p + 1`.
        other: u8,
    },
    /// Drop the resolver unused: rejects with [`Why::Abandoned`].
    DropResolver {
        /// Table index (modulo).
        p: u8,
    },
    /// `then(on_fulfilled)`.
    Then {
        /// Table index (modulo).
        p: u8,
        /// The callback.
        on_fulfilled: Callback,
    },
    /// `catch(on_rejected)`.
    Catch {
        /// Table index (modulo).
        p: u8,
        /// The callback.
        on_rejected: Callback,
    },
    /// `then_or_else(on_fulfilled, on_rejected)`.
    ThenOrElse {
        /// Table index (modulo).
        p: u8,
        /// For a fulfilment.
        on_fulfilled: Callback,
        /// For a rejection.
        on_rejected: Callback,
    },
    /// `finally(on_finally)`.
    Finally {
        /// Table index (modulo).
        p: u8,
        /// The callback.
        on_finally: Callback,
    },
}

/// One step of a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// An operation on the test thread, outside the loop (between runs).
    Outside(Op),
    /// Operations on another thread (joined before the next step).
    Thread(Vec<Op>),
    /// A macrotask doing these operations on the loop (run by the next `Run`).
    Task(Vec<Op>),
    /// `run_until_idle`.
    Run,
}

/// A whole scenario; a final `Run` is implied.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scenario {
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// What a callback was called with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// `onFulfilled(value)`.
    Value(u32),
    /// `onRejected(reason)`.
    Reason(Why),
    /// `onFinally()`.
    Finally,
}

/// One observable event, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Callback number `callback` (numbered in registration order from 0) ran.
    Ran {
        /// Which callback.
        callback: u32,
        /// Its argument.
        input: Input,
    },
    /// The rejection hook reported the promise at this table index unhandled.
    Unhandled(usize),
    /// … and then handled later.
    HandledLater(usize),
}

/// A promise index in the model (table promises and `finally`'s inner ones).
type Id = usize;

#[derive(Debug, Clone)]
enum Reaction {
    /// `then`/`catch`/`then_or_else`: a missing callback passes the outcome through.
    User {
        derived: Id,
        derived_index: usize,
        on_fulfilled: Option<(u32, Callback)>,
        on_rejected: Option<(u32, Callback)>,
    },
    /// `finally`.
    Finally {
        derived: Id,
        derived_index: usize,
        callback: (u32, Callback),
    },
    /// `finally`'s `.then(() => original)` on the callback's result.
    FinallyInner { target: Id, original: Outcome },
    /// NewPromiseResolveThenableJob's reaction: settle `target` with the outcome.
    Adopt { target: Id },
}

#[derive(Debug)]
enum Job {
    /// Reactions of `source`, in order.
    Batch {
        source: Id,
        reactions: Vec<Reaction>,
    },
    /// NewPromiseResolveThenableJob: `source.then(resolve target)`.
    Thenable { target: Id, source: Id },
    /// A rejection notice sent from outside the loop, on its way to the loop.
    Notice(Notice),
}

#[derive(Debug, Clone, Copy)]
enum Notice {
    Unhandled(Id),
    HandledLater(Id),
}

#[derive(Debug)]
struct ModelPromise {
    state: Option<Outcome>,
    reactions: Vec<Reaction>,
    handled: bool,
    reported: bool,
    /// Whether it has an unused resolver (promises from [`Op::Pending`] only).
    resolver: bool,
    /// Its table index (`None` for `finally`'s inner promises).
    index: Option<usize>,
}

/// How a callback settles its derived promise.
enum Resolution {
    Settle(Outcome),
    Adopt(Id),
}

/// The reference interpreter.
#[derive(Debug, Default)]
pub struct Model {
    promises: Vec<ModelPromise>,
    /// Table index → model id.
    table: Vec<Id>,
    local: VecDeque<Job>,
    remote: VecDeque<Job>,
    notices: Vec<Notice>,
    tasks: VecDeque<Vec<Op>>,
    /// Whether the loop is running (jobs go to `local`, notices straight to `notices`).
    driving: bool,
    next_callback: u32,
    /// Everything observable, in order.
    pub log: Vec<Event>,
}

impl Model {
    /// An empty model.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one step (a `Run` runs the loop).
    pub fn step(&mut self, step: &Step) {
        match step {
            Step::Outside(op) => self.op(*op),
            Step::Thread(ops) => ops.iter().for_each(|op| self.op(*op)),
            Step::Task(ops) => self.tasks.push_back(ops.clone()),
            Step::Run => self.run(),
        }
    }

    /// `run_until_idle`.
    pub fn run(&mut self) {
        self.driving = true;
        self.checkpoint();
        while let Some(ops) = self.tasks.pop_front() {
            self.checkpoint();
            ops.into_iter().for_each(|op| self.op(op));
            self.checkpoint();
        }
        self.checkpoint();
        self.driving = false;
    }

    /// The table's size.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The state of the promise at table index `index` (`None`: pending).
    pub fn outcome(&self, index: usize) -> Option<&Outcome> {
        self.promises[self.table[index]].state.as_ref()
    }

    fn pick(&self, p: u8) -> Option<Id> {
        (!self.table.is_empty()).then(|| self.table[usize::from(p) % self.table.len()])
    }

    fn full(&self) -> bool {
        self.table.len() >= MAX_PROMISES
    }

    fn create(&mut self, state: Option<Outcome>, resolver: bool, public: bool) -> Id {
        let id = self.promises.len();
        let index = public.then(|| {
            self.table.push(id);
            self.table.len() - 1
        });
        self.promises.push(ModelPromise {
            state,
            reactions: Vec::new(),
            handled: false,
            reported: false,
            resolver,
            index,
        });
        id
    }

    /// `Promise.reject(reason)`: rejected and tracked.
    fn create_rejected(&mut self, reason: Why) -> Id {
        let id = self.create(Some(Err(reason)), false, true);
        self.notify(Notice::Unhandled(id));
        id
    }

    fn schedule(&mut self, job: Job) {
        if self.driving {
            self.local.push_back(job);
        } else {
            self.remote.push_back(job);
        }
    }

    fn notify(&mut self, notice: Notice) {
        if self.driving {
            self.notices.push(notice);
        } else {
            self.remote.push_back(Job::Notice(notice));
        }
    }

    /// Settles `id` if pending; returns whether it did.
    fn settle(&mut self, id: Id, outcome: Outcome) -> bool {
        let promise = &mut self.promises[id];
        if promise.state.is_some() {
            return false;
        }
        let rejected = outcome.is_err();
        promise.state = Some(outcome);
        let reactions = std::mem::take(&mut promise.reactions);
        let untracked = rejected && !promise.handled;
        if !reactions.is_empty() {
            self.schedule(Job::Batch {
                source: id,
                reactions,
            });
        }
        if untracked {
            self.notify(Notice::Unhandled(id));
        }
        true
    }

    /// Registers `reaction` on `id` (PerformPromiseThen).
    fn subscribe(&mut self, id: Id, reaction: Reaction) {
        let promise = &mut self.promises[id];
        if !promise.handled {
            promise.handled = true;
            if promise.reported {
                self.notify(Notice::HandledLater(id));
            }
        }
        let promise = &mut self.promises[id];
        if promise.state.is_some() {
            self.schedule(Job::Batch {
                source: id,
                reactions: vec![reaction],
            });
        } else {
            promise.reactions.push(reaction);
        }
    }

    /// [[Resolve]](target, resolution).
    fn resolve(&mut self, target: Id, resolution: Resolution) {
        match resolution {
            Resolution::Settle(outcome) => {
                self.settle(target, outcome);
            }
            Resolution::Adopt(source) if source == target => {
                self.settle(target, Err(Why::Cycle));
            }
            Resolution::Adopt(source) => self.schedule(Job::Thenable { target, source }),
        }
    }

    /// Takes the unused resolver of the promise at `p`.
    fn take_resolver(&mut self, p: u8) -> Option<Id> {
        let id = self.pick(p)?;
        std::mem::replace(&mut self.promises[id].resolver, false).then_some(id)
    }

    fn callback_id(&mut self) -> u32 {
        self.next_callback += 1;
        self.next_callback - 1
    }

    /// Applies one operation.
    pub fn op(&mut self, op: Op) {
        match op {
            Op::Pending if !self.full() => {
                self.create(None, true, true);
            }
            Op::Fulfilled(v) if !self.full() => {
                self.create(Some(Ok(u32::from(v))), false, true);
            }
            Op::Rejected(r) if !self.full() => {
                self.create_rejected(Why::User(r));
            }
            Op::Pending | Op::Fulfilled(_) | Op::Rejected(_) => {}
            Op::Resolve { p, value } => {
                if let Some(id) = self.take_resolver(p) {
                    assert!(self.settle(id, Ok(u32::from(value))));
                }
            }
            Op::Reject { p, reason } => {
                if let Some(id) = self.take_resolver(p) {
                    assert!(self.settle(id, Err(Why::User(reason))));
                }
            }
            Op::Adopt { p, other } => {
                if let Some(id) = self.take_resolver(p) {
                    let index = self.promises[id].index.expect("a table promise");
                    let source = self.table[usize::from(other) % (index + 1)];
                    self.resolve(id, Resolution::Adopt(source));
                }
            }
            Op::DropResolver { p } => {
                if let Some(id) = self.take_resolver(p) {
                    self.settle(id, Err(Why::Abandoned));
                }
            }
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
                if let Some(source) = self.pick(p).filter(|_| !self.full()) {
                    let derived = self.create(None, false, true);
                    let derived_index = self.table.len() - 1;
                    let reaction = Reaction::Finally {
                        derived,
                        derived_index,
                        callback: (f, on_finally),
                    };
                    self.subscribe(source, reaction);
                }
            }
        }
    }

    fn register(
        &mut self,
        p: u8,
        on_fulfilled: Option<(u32, Callback)>,
        on_rejected: Option<(u32, Callback)>,
    ) {
        if let Some(source) = self.pick(p).filter(|_| !self.full()) {
            let derived = self.create(None, false, true);
            let derived_index = self.table.len() - 1;
            let reaction = Reaction::User {
                derived,
                derived_index,
                on_fulfilled,
                on_rejected,
            };
            self.subscribe(source, reaction);
        }
    }

    /// A microtask checkpoint, with the unhandled-rejection rounds at its end.
    fn checkpoint(&mut self) {
        loop {
            if let Some(job) = self.local.pop_front() {
                self.run_job(job);
                continue;
            }
            if !self.remote.is_empty() {
                let remote = std::mem::take(&mut self.remote);
                self.local.extend(remote);
                continue;
            }
            let mut notices = std::mem::take(&mut self.notices);
            if notices.is_empty() {
                return;
            }
            notices.sort_by_key(|notice| !matches!(notice, Notice::HandledLater(_)));
            for notice in notices {
                match notice {
                    Notice::HandledLater(id) => {
                        let index = self.promises[id].index.unwrap_or(usize::MAX);
                        self.log.push(Event::HandledLater(index));
                    }
                    Notice::Unhandled(id) => {
                        let promise = &mut self.promises[id];
                        if !promise.handled && !promise.reported {
                            promise.reported = true;
                            let index = promise.index.unwrap_or(usize::MAX);
                            self.log.push(Event::Unhandled(index));
                        }
                    }
                }
            }
        }
    }

    fn run_job(&mut self, job: Job) {
        match job {
            Job::Batch { source, reactions } => {
                let outcome = self.promises[source].state.clone().expect("settled");
                for reaction in reactions {
                    self.react(reaction, &outcome);
                }
            }
            Job::Thenable { target, source } => self.subscribe(source, Reaction::Adopt { target }),
            Job::Notice(notice) => self.notices.push(notice),
        }
    }

    fn react(&mut self, reaction: Reaction, outcome: &Outcome) {
        match reaction {
            Reaction::User {
                derived,
                derived_index,
                on_fulfilled,
                on_rejected,
            } => {
                let resolution = match (outcome, on_fulfilled, on_rejected) {
                    (Ok(v), Some((f, callback)), _) => self.call(
                        f,
                        Input::Value(*v),
                        callback,
                        callback.returns,
                        derived_index,
                    ),
                    (Err(r), _, Some((g, callback))) => self.call(
                        g,
                        Input::Reason(r.clone()),
                        callback,
                        callback.returns,
                        derived_index,
                    ),
                    (outcome, _, _) => Resolution::Settle(outcome.clone()),
                };
                self.resolve(derived, resolution);
            }
            Reaction::Finally {
                derived,
                derived_index,
                callback: (f, callback),
            } => {
                let returns = callback.finally_returns();
                let resolution =
                    match self.call(f, Input::Finally, callback, returns, derived_index) {
                        Resolution::Settle(Err(reason)) => Resolution::Settle(Err(reason)),
                        Resolution::Settle(Ok(value)) => {
                            let after = self.create(Some(Ok(value)), false, false);
                            self.finally_inner(after, outcome)
                        }
                        Resolution::Adopt(after) => self.finally_inner(after, outcome),
                    };
                self.resolve(derived, resolution);
            }
            Reaction::FinallyInner { target, original } => {
                let settled = match outcome {
                    Ok(_) => original,
                    Err(reason) => Err(reason.clone()),
                };
                self.settle(target, settled);
            }
            Reaction::Adopt { target } => {
                self.settle(target, outcome.clone());
            }
        }
    }

    /// `PromiseResolve(result).then(() => original)`, to be adopted by the derived promise.
    fn finally_inner(&mut self, after: Id, original: &Outcome) -> Resolution {
        let inner = self.create(None, false, false);
        self.subscribe(
            after,
            Reaction::FinallyInner {
                target: inner,
                original: original.clone(),
            },
        );
        Resolution::Adopt(inner)
    }

    /// Runs a callback: logs it, performs its effect, returns its resolution.
    fn call(
        &mut self,
        number: u32,
        input: Input,
        callback: Callback,
        returns: Returns,
        derived_index: usize,
    ) -> Resolution {
        self.log.push(Event::Ran {
            callback: number,
            input,
        });
        match callback.effect {
            Effect::None => {}
            Effect::Resolve { p, value } => {
                if let Some(id) = self.take_resolver(p) {
                    self.settle(id, Ok(u32::from(value)));
                }
            }
            Effect::Reject { p, reason } => {
                if let Some(id) = self.take_resolver(p) {
                    self.settle(id, Err(Why::User(reason)));
                }
            }
            Effect::Then { p } => {
                let f = self.callback_id();
                self.register(p, Some((f, Callback::PLAIN)), None);
            }
        }
        match returns {
            Returns::Value(v) => Resolution::Settle(Ok(u32::from(v))),
            Returns::Throw(n) => Resolution::Settle(Err(Why::Thrown(n))),
            Returns::Reject(r) => Resolution::Settle(Err(Why::User(r))),
            Returns::Promise(i) => Resolution::Adopt(self.table[usize::from(i) % derived_index]),
            Returns::OwnDerived => Resolution::Adopt(self.table[derived_index]),
            Returns::Fresh { fulfilled, value } if !self.full() => {
                let id = if fulfilled {
                    self.create(Some(Ok(u32::from(value))), false, true)
                } else {
                    self.create_rejected(Why::User(value))
                };
                Resolution::Adopt(id)
            }
            Returns::Fresh { .. } => Resolution::Settle(Ok(0)),
        }
    }
}
