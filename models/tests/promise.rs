//! Models of promises: the settlement cell (`core/src/promise/cell.rs`; claims P1 and P2 of
//! `proofs/promise.md`, models a and b) and the `Promise` layer on a real event loop
//! (`core/src/promise/handle.rs`, `wait.rs`, `core/src/driver/promises.rs`; claims P3–P6,
//! models c–g).
//!
//! Models a and b: a queue under the checker's lock stands in for the loop's microtask queue:
//! the settler `schedule`s the reactions it hands out into it, and a registrar whose reaction
//! comes back (the cell was settled) pushes it there itself. The main thread then runs the queue
//! in order, as the loop would. Each reaction must run exactly once, with the winning outcome,
//! and the reactions of one registrar in registration order.
//!
//! Models c–g: the main thread runs a real `EventLoop` (`run`, which parks with no timeout
//! when idle) and spawned threads settle promises, register reactions, wait, or stop the loop.
//! The loop is stopped by the last event the model expects (a reaction, a waiter), so a reaction
//! or wake-up that is lost leaves every thread blocked, which loom and shuttle report as a
//! deadlock.

use std::sync::Arc as StdArc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use eventloop_core::driver::{Handle, RejectionKind};
use eventloop_core::promise::{Failure, Promise, Reaction, Resolution, SettleCell};
use eventloop_models::future::block_on;
use eventloop_models::ledger::{Ledger as RunLedger, Witness};
use eventloop_models::sync::Mutex;
use eventloop_models::{Model, check, model_loop_builder, scale, thread};

type Queue = StdArc<Mutex<Vec<Reaction<usize>>>>;

fn enqueue(queue: &Queue, reactions: impl IntoIterator<Item = Reaction<usize>>) {
    queue.lock().unwrap().extend(reactions);
}

/// Registers a reaction; if the cell was already settled, queues it, and checks the outcome is
/// visible (P2).
fn register(cell: &SettleCell<usize>, queue: &Queue, reaction: Reaction<usize>) {
    if let Err(reaction) = cell.register(reaction) {
        assert!(
            cell.outcome().is_some(),
            "a registrar that finds the cell settled sees the outcome"
        );
        enqueue(queue, [reaction]);
    }
}

/// Runs and the last value seen by one reaction; `log` records (registrar, index) in run order.
#[derive(Default)]
struct Ledger {
    runs: AtomicUsize,
    value: AtomicUsize,
}

fn recording(
    ledger: &StdArc<Ledger>,
    log: &StdArc<std::sync::Mutex<Vec<(usize, usize)>>>,
    who: (usize, usize),
) -> Reaction<usize> {
    let (ledger, log) = (StdArc::clone(ledger), StdArc::clone(log));
    Reaction::new(move |value: &usize| {
        ledger.runs.fetch_add(1, SeqCst);
        ledger.value.store(*value, SeqCst);
        log.lock().unwrap().push(who);
    })
}

/// Runs the queue (the loop's checkpoint) after every thread is done.
fn run_queue(cell: &SettleCell<usize>, queue: &Queue) {
    let outcome = cell.outcome().expect("settled");
    for reaction in std::mem::take(&mut *queue.lock().unwrap()) {
        reaction.run(outcome);
    }
}

/// (a) P1 exactly once, in registration order: two threads register reactions while the main
/// thread settles; each reaction runs exactly once with the settled value, and each registrar's
/// reactions run in the order it registered them — also when the settlement splits them between
/// the settler's list and the registrar's own hand-back.
#[test]
fn promise_a_settle_races_register() {
    check(
        Model::new("promise_a_settle_races_register").preemption_bound(3),
        || {
            let per_registrar = scale(2, 3, 10);
            let cell = StdArc::new(SettleCell::<usize>::new());
            let queue: Queue = StdArc::new(Mutex::new(Vec::new()));
            let log = StdArc::new(std::sync::Mutex::new(Vec::new()));
            let registrars: Vec<_> = (0..2)
                .map(|r| {
                    let (cell, queue, log) = (
                        StdArc::clone(&cell),
                        StdArc::clone(&queue),
                        StdArc::clone(&log),
                    );
                    thread::spawn(move || {
                        let ledgers: Vec<_> = (0..per_registrar)
                            .map(|_| StdArc::new(Ledger::default()))
                            .collect();
                        for (k, ledger) in ledgers.iter().enumerate() {
                            register(&cell, &queue, recording(ledger, &log, (r, k)));
                        }
                        ledgers
                    })
                })
                .collect();
            cell.settle(42, |reactions| enqueue(&queue, reactions))
                .expect("the only settler wins");
            let ledgers: Vec<_> = registrars
                .into_iter()
                .flat_map(|t| t.join().unwrap())
                .collect();
            run_queue(&cell, &queue);
            for ledger in &ledgers {
                assert_eq!(ledger.runs.load(SeqCst), 1, "a reaction ran 0 or 2 times");
                assert_eq!(ledger.value.load(SeqCst), 42);
            }
            let log = log.lock().unwrap();
            for r in 0..2 {
                let mine: Vec<usize> = log.iter().filter(|(w, _)| *w == r).map(|w| w.1).collect();
                assert_eq!(
                    mine,
                    (0..per_registrar).collect::<Vec<_>>(),
                    "registrar {r}'s order"
                );
            }
        },
    );
}

/// (b) P2 first settlement wins, published with its value: two settlers race each other and a
/// registrar; exactly one wins, the loser gets its value back, the winner's value is what
/// everyone sees with the settled state, and the reactions registered before and after run once.
#[test]
fn promise_b_settlers_race() {
    check(
        Model::new("promise_b_settlers_race").preemption_bound(3),
        || {
            let cell = StdArc::new(SettleCell::<usize>::new());
            let queue: Queue = StdArc::new(Mutex::new(Vec::new()));
            let log = StdArc::new(std::sync::Mutex::new(Vec::new()));
            let early = StdArc::new(Ledger::default());
            register(&cell, &queue, recording(&early, &log, (0, 0)));
            let settlers: Vec<_> = [1usize, 2]
                .into_iter()
                .map(|value| {
                    let (cell, queue) = (StdArc::clone(&cell), StdArc::clone(&queue));
                    thread::spawn(move || {
                        match cell.settle(value, |reactions| enqueue(&queue, reactions)) {
                            Ok(()) => {
                                assert_eq!(
                                    cell.outcome(),
                                    Some(&value),
                                    "published with its value"
                                );
                                Some(value)
                            }
                            Err(back) => {
                                assert_eq!(back, value, "the loser gets its own value back");
                                None
                            }
                        }
                    })
                })
                .collect();
            let late = StdArc::new(Ledger::default());
            register(&cell, &queue, recording(&late, &log, (0, 1)));
            let winners: Vec<usize> = settlers
                .into_iter()
                .filter_map(|t| t.join().unwrap())
                .collect();
            assert_eq!(winners.len(), 1, "exactly one settler wins: {winners:?}");
            let winner = winners[0];
            assert_eq!(cell.outcome(), Some(&winner));
            run_queue(&cell, &queue);
            for ledger in [&early, &late] {
                assert_eq!(ledger.runs.load(SeqCst), 1);
                assert_eq!(ledger.value.load(SeqCst), winner);
            }
            assert_eq!(*log.lock().unwrap(), [(0, 0), (0, 1)], "registration order");
        },
    );
}

/// A loop for the promise models: [`model_loop_builder`]'s, with a rejection hook that drops
/// the events (an abandoned derived promise nobody handles would otherwise print a line per
/// interleaving).
fn quiet_loop() -> eventloop_core::EventLoop {
    model_loop_builder().rejection_hook(|_| {}).build()
}

/// A pending promise whose reactions run on `el`, but which the loop does not own: not in its
/// registry (proofs/registry.md), so termination does not reject it. The models below that race
/// a resolver against termination are about the promise layer; the registry's reject-all, a
/// second settler in that race, is modelled in `models/tests/registry.rs`.
fn unowned(
    el: &eventloop_core::EventLoop,
) -> (
    Promise<usize, Failure>,
    eventloop_core::promise::Resolver<usize, Failure>,
) {
    Promise::new(el.handle().scheduler())
}

/// What one reaction of model c saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    /// The registering thread (0 = the loop thread) and the reaction's index in its order.
    who: usize,
    k: usize,
    value: usize,
    on_loop_thread: bool,
}

/// The reactions of model c: each logs what it saw; the last one to run shuts the loop down.
#[derive(Clone)]
struct Recorder {
    log: StdArc<std::sync::Mutex<Vec<Seen>>>,
    ran: StdArc<AtomicUsize>,
    total: usize,
    handle: Handle,
    loop_thread: thread::ThreadId,
}

impl Recorder {
    /// `p.then(…)`: the reaction logs, and fulfils its derived promise with `value + tag`.
    fn then(&self, p: &Promise<usize, Failure>, who: usize, k: usize) -> Promise<usize, Failure> {
        let this = self.clone();
        p.then(move |value: &usize| {
            this.log.lock().unwrap().push(Seen {
                who,
                k,
                value: *value,
                on_loop_thread: thread::current().id() == this.loop_thread,
            });
            if this.ran.fetch_add(1, SeqCst) + 1 == this.total {
                this.handle.shutdown();
            }
            Ok(*value + tag(who, k))
        })
    }
}

fn tag(who: usize, k: usize) -> usize {
    100 * who + k + 1
}

/// (c) P3 each reaction of a promise runs exactly once, as a job on the loop thread, with the
/// settled value, in registration order: threads register `then` reactions while another
/// settles the promise (under loom one registrar thread, under shuttle and on real threads
/// two); the loop thread registers one before `run` and one from a task (so it races the
/// settlement too, and its second registration can find the promise settled while the
/// settler's job is still in the remote ring). Every derived promise gets its reaction's value.
#[test]
fn promise_c_reactions_race_settlement_on_a_loop() {
    check(
        Model::new("promise_c_reactions_race_settlement_on_a_loop").preemption_bound(2),
        || {
            // Under loom: the loop thread and one more thread register, a third settles.
            let per_registrar = scale(1, 3, 3);
            let registrars = scale(1, 2, 2);
            let mut el = quiet_loop();
            let (p, resolver) = el.promise::<usize, Failure>();
            let recorder = Recorder {
                log: StdArc::default(),
                ran: StdArc::default(),
                total: 2 + registrars * per_registrar,
                handle: el.handle(),
                loop_thread: thread::current().id(),
            };
            let mut derived = vec![((0, 0), recorder.then(&p, 0, 0))];
            let from_task = StdArc::new(std::sync::Mutex::new(None));
            {
                let (recorder, p, slot) = (recorder.clone(), p.clone(), StdArc::clone(&from_task));
                el.submit(move |_| *slot.lock().unwrap() = Some(recorder.then(&p, 0, 1)))
                    .unwrap();
            }
            let threads: Vec<_> = (1..=registrars)
                .map(|who| {
                    let (recorder, p) = (recorder.clone(), p.clone());
                    thread::spawn(move || {
                        (0..per_registrar)
                            .map(|k| ((who, k), recorder.then(&p, who, k)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let settler = thread::spawn(move || resolver.resolve(7));
            el.run().unwrap();
            assert_eq!(settler.join().unwrap(), Ok(()), "the only settler wins");
            for t in threads {
                derived.extend(t.join().unwrap());
            }
            derived.push((
                (0, 1),
                from_task.lock().unwrap().take().expect("the task ran"),
            ));
            let log = recorder.log.lock().unwrap().clone();
            assert_eq!(log.len(), recorder.total, "reactions ran: {log:?}");
            for seen in &log {
                assert!(
                    seen.on_loop_thread,
                    "a reaction ran off the loop thread: {seen:?}"
                );
                assert_eq!(seen.value, 7, "a reaction saw another value: {seen:?}");
            }
            for who in 0..=registrars {
                let order: Vec<usize> = log.iter().filter(|s| s.who == who).map(|s| s.k).collect();
                let expected = if who == 0 { 2 } else { per_registrar };
                assert_eq!(
                    order,
                    (0..expected).collect::<Vec<_>>(),
                    "thread {who}'s reactions ran out of registration order (or not once): {log:?}"
                );
            }
            for ((who, k), promise) in &derived {
                assert_eq!(
                    promise.outcome(),
                    Some(&Ok(7 + tag(*who, *k))),
                    "derived promise of reaction ({who}, {k})"
                );
            }
        },
    );
}

/// The outcome a watching reaction saw (`None` until it ran).
type SeenOutcome = StdArc<std::sync::Mutex<Option<Result<usize, Failure>>>>;

/// A reaction that records the outcome it saw and counts its run and its drop.
fn watch(p: &Promise<usize, Failure>) -> (StdArc<RunLedger>, SeenOutcome) {
    let ledger = RunLedger::new();
    let seen = StdArc::new(std::sync::Mutex::new(None));
    let (witness, slot) = (Witness::new(&ledger), StdArc::clone(&seen));
    let _ = p.react(move |outcome: &Result<usize, Failure>| {
        witness.ran();
        *slot.lock().unwrap() = Some(outcome.clone());
        Resolution::<(), Failure>::Settle(Ok(()))
    });
    (ledger, seen)
}

/// Outcomes seen over all the iterations of model d (each side of the race must be explored).
static D_RESOLVED: AtomicUsize = AtomicUsize::new(0);
static D_ABANDONED: AtomicUsize = AtomicUsize::new(0);

/// (d) P5/P6 one outcome per promise when its settlement races termination: `q` is resolved
/// on one thread; `p = q.then(…)` settles when its reaction job runs, or is abandoned if the
/// loop refuses that job; `a` adopts `q` (its resolver travels in the adoption job, then in a
/// reaction on `q`) from a second thread, which then shuts the loop down. Every promise ends
/// settled with exactly one outcome (no waiter could hang), the value or `Abandoned`; a reaction
/// on it runs iff that outcome is the value, sees that outcome, and is dropped exactly once.
/// (`a` can be abandoned while `p` is fulfilled: `a`'s reaction on `q` can be registered by the
/// adoption job during the final drain, after `q`'s settler took `p`'s reaction and before it
/// took `a`'s, whose job it then schedules after admission closed.)
#[test]
fn promise_d_adoption_and_abandonment_race_shutdown() {
    D_RESOLVED.store(0, SeqCst);
    D_ABANDONED.store(0, SeqCst);
    check(
        Model::new("promise_d_adoption_and_abandonment_race_shutdown").preemption_bound(2),
        || {
            let mut el = quiet_loop();
            let handle = el.handle();
            let (q, resolve_q) = unowned(&el);
            let (a, resolve_a) = unowned(&el);
            let watched = [(a.clone(), 1, watch(&a))];
            let resolver = thread::spawn(move || resolve_q.resolve(1));
            let adopter = thread::spawn(move || {
                resolve_a.adopt(q);
                handle.shutdown()
            });
            el.run().unwrap();
            assert_eq!(resolver.join().unwrap(), Ok(()), "q's only settler wins");
            assert!(adopter.join().unwrap(), "the only shutdown wins");
            let mut abandoned = Vec::new();
            for (promise, value, (ledger, seen)) in &watched {
                let outcome = promise
                    .outcome()
                    .cloned()
                    .expect("settled: nothing waits forever");
                let ran = ledger.ran.load(SeqCst);
                match &outcome {
                    Ok(v) => assert_eq!(v, value, "the value"),
                    Err(e) => assert_eq!(e, &Failure::Abandoned, "abandoned, nothing else"),
                }
                abandoned.push(outcome.is_err());
                assert_eq!(
                    ran,
                    usize::from(outcome.is_ok()),
                    "ran iff fulfilled: {outcome:?}"
                );
                assert_eq!(
                    ledger.dropped.load(SeqCst),
                    1,
                    "a reaction was not dropped once"
                );
                if ran == 1 {
                    assert_eq!(
                        seen.lock().unwrap().as_ref(),
                        Some(&outcome),
                        "saw the outcome"
                    );
                }
            }
            if abandoned[0] {
                D_ABANDONED.fetch_add(1, SeqCst);
            } else {
                D_RESOLVED.fetch_add(1, SeqCst);
            }
        },
    );
    if cfg!(loom) {
        assert!(
            D_RESOLVED.load(SeqCst) > 0,
            "no interleaving where the job ran"
        );
        assert!(
            D_ABANDONED.load(SeqCst) > 0,
            "no interleaving where the job was refused"
        );
    }
}

/// What the loop thread saw in model e, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Report(RejectionKind, String),
    /// `p`'s handler ran.
    Caught,
    /// The chain's handler ran.
    ChainCaught,
}

/// Outcomes over all the iterations of model e.
static E_REPORTED: AtomicUsize = AtomicUsize::new(0);
static E_NOT_REPORTED: AtomicUsize = AtomicUsize::new(0);

/// (e) P4 unhandled-rejection tracking: one thread rejects `p` while another registers
/// `p.catch(…)`, and the loop reports at the end of its checkpoints. `p` is reported
/// `Unhandled` at most once; if it was, exactly one `HandledLater` follows it (the handler is
/// always registered), and the handler runs only after the report (a handler that ran before
/// the report was registered before the end of that checkpoint: the report was false). The
/// second thread also rejects `c`, whose chain `c.then(f).catch(g)` the loop thread built before
/// `run`: neither `c` nor its derived promise is ever reported.
#[test]
fn promise_e_rejection_races_handler_registration() {
    E_REPORTED.store(0, SeqCst);
    E_NOT_REPORTED.store(0, SeqCst);
    check(
        Model::new("promise_e_rejection_races_handler_registration").preemption_bound(2),
        || {
            let events = StdArc::new(std::sync::Mutex::new(Vec::new()));
            let hook_events = StdArc::clone(&events);
            let mut el = model_loop_builder()
                .rejection_hook(move |event| {
                    let reason = format!("{:?}", event.reason);
                    hook_events
                        .lock()
                        .unwrap()
                        .push(Event::Report(event.kind, reason));
                })
                .build();
            let handle = el.handle();
            let handled = StdArc::new(AtomicUsize::new(0));
            let done = move |handle: &Handle, handled: &AtomicUsize| {
                if handled.fetch_add(1, SeqCst) + 1 == 2 {
                    handle.shutdown();
                }
            };
            let (p, reject_p) = el.promise::<usize, Failure>();
            let (c, reject_c) = el.promise::<usize, Failure>();
            let chain = {
                let (events, handle, handled) = (
                    StdArc::clone(&events),
                    handle.clone(),
                    StdArc::clone(&handled),
                );
                c.then(|v| Ok(*v)).catch(move |_| {
                    events.lock().unwrap().push(Event::ChainCaught);
                    done(&handle, &handled);
                    Ok(0)
                })
            };
            let rejecter = thread::spawn(move || reject_p.reject(Failure::Cycle));
            let catcher = {
                let (events, handle, handled) = (
                    StdArc::clone(&events),
                    handle.clone(),
                    StdArc::clone(&handled),
                );
                thread::spawn(move || {
                    let caught = p.catch(move |_| {
                        events.lock().unwrap().push(Event::Caught);
                        done(&handle, &handled);
                        Ok(0)
                    });
                    reject_c.reject(Failure::Terminated).unwrap();
                    caught
                })
            };
            el.run().unwrap();
            assert_eq!(rejecter.join().unwrap(), Ok(()));
            let caught = catcher.join().unwrap();
            assert_eq!(caught.outcome(), Some(&Ok(0)));
            assert_eq!(chain.outcome(), Some(&Ok(0)));
            let events = events.lock().unwrap().clone();
            let p_reason = format!("{:?}", Failure::Cycle);
            let unhandled = Event::Report(RejectionKind::Unhandled, p_reason.clone());
            let later = Event::Report(RejectionKind::HandledLater, p_reason);
            let position = |e: &Event| events.iter().position(|x| x == e);
            let count = |e: &Event| events.iter().filter(|x| *x == e).count();
            for event in &events {
                if let Event::Report(_, reason) = event {
                    assert_ne!(
                        reason,
                        &format!("{:?}", Failure::Terminated),
                        "p.then(f).catch(g) was reported: {events:?}"
                    );
                }
            }
            assert!(count(&unhandled) <= 1, "reported twice: {events:?}");
            assert_eq!(
                count(&later),
                count(&unhandled),
                "handled-later without its report, or lost: {events:?}"
            );
            assert_eq!(count(&Event::Caught), 1);
            if count(&unhandled) == 1 {
                let report = position(&unhandled).unwrap();
                assert!(
                    report < position(&later).unwrap(),
                    "handled-later before the report: {events:?}"
                );
                assert!(
                    report < position(&Event::Caught).unwrap(),
                    "reported although its handler had already run: {events:?}"
                );
                E_REPORTED.fetch_add(1, SeqCst);
            } else {
                E_NOT_REPORTED.fetch_add(1, SeqCst);
            }
            let stats = el.stats();
            assert_eq!(stats.rejections_unhandled, count(&unhandled));
            assert_eq!(stats.rejections_handled_later, count(&later));
        },
    );
    if cfg!(loom) {
        assert!(
            E_REPORTED.load(SeqCst) > 0,
            "no interleaving where p was reported"
        );
        assert!(
            E_NOT_REPORTED.load(SeqCst) > 0,
            "no interleaving where the handler came first"
        );
    }
}

/// (f) P5 no lost wake-up for a `Future`: a thread awaits `p` (on the checker's `block_on`,
/// whose waker is the checker's) while another resolves it and the loop runs its reaction;
/// the waiter then shuts the loop down, so a lost wake-up is a deadlock. The waiter's reaction
/// is registered before, during or after the settlement, depending on the interleaving.
#[test]
fn promise_f_future_woken_by_a_remote_settlement() {
    check(
        Model::new("promise_f_future_woken_by_a_remote_settlement").preemption_bound(2),
        || {
            let mut el = quiet_loop();
            let handle = el.handle();
            let (p, resolver) = el.promise::<usize, Failure>();
            let waiter = {
                let p = p.clone();
                thread::spawn(move || {
                    let value = block_on(p.into_future());
                    handle.shutdown();
                    value
                })
            };
            let settler = thread::spawn(move || resolver.resolve(1));
            el.run().unwrap();
            assert_eq!(settler.join().unwrap(), Ok(()));
            assert_eq!(waiter.join().unwrap(), Ok(1), "the future's value");
        },
    );
}

/// (g) P5 no waiter hangs on termination: a thread blocks in `d.wait()` for `d = p.then(…)`
/// while another resolves `p` and the loop shuts itself down in its first task. The reaction
/// job of the settlement is run by the final drain, or refused and dropped; either way `d`
/// settles (with the value, or rejected as abandoned when its reaction was dropped unrun) and
/// the waiter is woken (its own reaction's drop signals it, run or not).
#[test]
fn promise_g_wait_woken_when_termination_refuses_the_job() {
    check(
        Model::new("promise_g_wait_woken_when_termination_refuses_the_job").preemption_bound(2),
        || {
            let mut el = quiet_loop();
            let (p, resolver) = unowned(&el);
            let d = p.then(|v| Ok(v + 1));
            el.submit(|cx| {
                cx.shutdown();
            })
            .unwrap();
            let waiter = {
                let d = d.clone();
                thread::spawn(move || d.wait().expect("not the loop thread"))
            };
            let settler = thread::spawn(move || resolver.resolve(1));
            el.run().unwrap();
            assert_eq!(settler.join().unwrap(), Ok(()));
            let waited = waiter.join().unwrap();
            assert_eq!(d.outcome(), Some(&waited), "wait returned d's outcome");
            assert!(
                waited == Ok(2) || waited == Err(Failure::Abandoned),
                "d: {waited:?}"
            );
            if waited.is_ok() {
                G_RAN.fetch_add(1, SeqCst);
            } else {
                G_ABANDONED.fetch_add(1, SeqCst);
            }
        },
    );
    if cfg!(loom) {
        assert!(
            G_RAN.load(SeqCst) > 0,
            "no interleaving where the drain ran the job"
        );
        assert!(
            G_ABANDONED.load(SeqCst) > 0,
            "no interleaving where the job was refused"
        );
    }
}

/// Outcomes over all the iterations of model g.
static G_RAN: AtomicUsize = AtomicUsize::new(0);
static G_ABANDONED: AtomicUsize = AtomicUsize::new(0);
