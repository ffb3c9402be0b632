//! The combinators on a real loop: results and their order, empty inputs, the JS job timing,
//! inputs settled from other threads (and reacting on other loops' threads), no unhandled
//! report from the internal reactions, abandonment. JS-recorded orders are in `tests/`
//! (conformance scenarios 40–46).

use super::{AggregateError, Failure, Promise, Resolver};
use crate::driver::{EventLoop, RejectionKind};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use alloc::{format, vec};
use std::sync::{Barrier, Mutex, mpsc};

/// A rejection reason that says which input rejected (or which promise-layer failure).
#[derive(Clone, Debug, PartialEq)]
enum Why {
    Input(u32),
    Layer(Failure),
}

impl From<Failure> for Why {
    fn from(failure: Failure) -> Self {
        Self::Layer(failure)
    }
}

type P<T> = Promise<T, Why>;
type R<T> = Resolver<T, Why>;

type Log = Arc<Mutex<Vec<String>>>;

fn log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

fn entries(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// A reaction callback that logs `what` and fulfils its derived promise.
fn note<V, E>(log: &Log, what: &'static str) -> impl FnOnce(&V) -> Result<(), E> + Send + 'static {
    let log = Arc::clone(log);
    move |_| {
        log.lock().unwrap().push(what.into());
        Ok(())
    }
}

/// The rejection reports a loop's hook received: kind and `{:?}` of the reason.
type Reports = Arc<Mutex<Vec<(RejectionKind, String)>>>;

/// A loop whose rejection hook records every report.
fn reporting_loop() -> (EventLoop, Reports) {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let r = Arc::clone(&reports);
    let el = EventLoop::builder()
        .rejection_hook(move |event| {
            r.lock()
                .unwrap()
                .push((event.kind, format!("{:?}", event.reason)));
        })
        .build();
    (el, reports)
}

fn pending<T: super::Value>(el: &EventLoop, n: usize) -> (Vec<P<T>>, Vec<R<T>>) {
    (0..n).map(|_| el.promise::<T, Why>()).unzip()
}

#[test]
fn all_fulfils_with_values_in_input_order_after_the_last() {
    let mut el = EventLoop::new();
    let (inputs, resolvers) = pending::<u32>(&el, 3);
    let all = el.handle().all(inputs);
    let mut resolvers: Vec<Option<R<u32>>> = resolvers.into_iter().map(Some).collect();
    // Settled in the order 2, 0, 1: the result keeps the input order.
    for (step, k) in [2_usize, 0, 1].into_iter().enumerate() {
        assert!(
            all.is_pending(),
            "pending before the last input (step {step})"
        );
        resolvers[k].take().unwrap().resolve(10 + k as u32).unwrap();
        el.run_until_idle().unwrap();
    }
    assert_eq!(all.outcome(), Some(&Ok(vec![10, 11, 12])));
}

#[test]
fn all_rejects_with_the_first_rejection_in_settlement_order() {
    let mut el = EventLoop::new();
    let (inputs, mut resolvers) = pending::<u32>(&el, 3);
    let all = el.handle().all(inputs);
    let third = resolvers.pop().unwrap();
    let second = resolvers.pop().unwrap();
    let first = resolvers.pop().unwrap();
    second.reject(Why::Input(2)).unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(all.outcome(), Some(&Err(Why::Input(2))), "decided at once");
    first.reject(Why::Input(1)).unwrap();
    third.resolve(3).unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(
        all.outcome(),
        Some(&Err(Why::Input(2))),
        "later outcomes change nothing"
    );
}

#[test]
fn race_takes_the_first_settled_outcome_of_either_kind() {
    let mut el = EventLoop::new();
    let (inputs, mut resolvers) = pending::<u32>(&el, 2);
    let race = el.handle().race(inputs.clone());
    let second = resolvers.pop().unwrap();
    let first = resolvers.pop().unwrap();
    second.reject(Why::Input(2)).unwrap();
    first.resolve(1).unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(race.outcome(), Some(&Err(Why::Input(2))));

    // Already settled inputs: the first in input order wins, whatever its kind.
    let s = el.handle().scheduler();
    let rejected_first = el.handle().race([
        inputs[0].clone(),
        P::rejected(s.clone(), Why::Input(9)),
        P::fulfilled(s.clone(), 7),
    ]);
    let fulfilled_first = el.handle().race([
        P::fulfilled(s.clone(), 7),
        P::rejected(s.clone(), Why::Input(9)),
    ]);
    let _ = rejected_first.catch(|_| Ok(0));
    el.run_until_idle().unwrap();
    // inputs[0] was fulfilled with 1 before this race: its reaction is queued first.
    assert_eq!(rejected_first.outcome(), Some(&Ok(1)));
    assert_eq!(fulfilled_first.outcome(), Some(&Ok(7)));
}

#[test]
fn all_settled_records_every_outcome_in_input_order_and_never_rejects() {
    let mut el = EventLoop::new();
    let (mut inputs, mut resolvers) = pending::<u32>(&el, 2);
    let s = el.handle().scheduler();
    inputs.insert(1, P::rejected(s.clone(), Why::Input(5)));
    inputs.push(P::fulfilled(s, 6));
    let settled = el.handle().all_settled(inputs);
    resolvers.pop().unwrap().resolve(2).unwrap();
    el.run_until_idle().unwrap();
    assert!(settled.is_pending(), "input 0 is still pending");
    resolvers.pop().unwrap().reject(Why::Input(1)).unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(
        settled.outcome(),
        Some(&Ok(vec![
            Err(Why::Input(1)),
            Err(Why::Input(5)),
            Ok(2),
            Ok(6)
        ]))
    );
}

#[test]
fn any_takes_the_first_fulfilment_or_aggregates_in_input_order() {
    let mut el = EventLoop::new();
    let (inputs, mut resolvers) = pending::<u32>(&el, 3);
    let any = el.handle().any(inputs.clone());
    let any_of_two = el.handle().any(inputs[..2].iter().cloned());
    let third = resolvers.pop().unwrap();
    let second = resolvers.pop().unwrap();
    let first = resolvers.pop().unwrap();
    second.reject(Why::Input(2)).unwrap();
    third.resolve(3).unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(any.outcome(), Some(&Ok(3)), "a rejection does not decide");
    assert!(any_of_two.is_pending());
    first.reject(Why::Input(1)).unwrap();
    el.run_until_idle().unwrap();
    let expected = AggregateError::Rejected(vec![Why::Input(1), Why::Input(2)]);
    assert_eq!(any_of_two.outcome(), Some(&Err(expected)), "input order");
    assert_eq!(
        any_of_two.outcome().unwrap().as_ref().unwrap_err().errors(),
        [Why::Input(1), Why::Input(2)]
    );
    assert_eq!(any.outcome(), Some(&Ok(3)));
}

#[test]
fn empty_inputs_settle_at_once_except_race() {
    let (mut el, reports) = reporting_loop();
    let h = el.handle();
    let all = h.all(Vec::<P<u32>>::new());
    let all_settled = h.all_settled(Vec::<P<u32>>::new());
    let any = h.any(Vec::<P<u32>>::new());
    let race = h.race(Vec::<P<u32>>::new());
    // Settled before any job ran, like JS's synchronous resolution.
    assert_eq!(all.outcome(), Some(&Ok(vec![])));
    assert_eq!(all_settled.outcome(), Some(&Ok(vec![])));
    assert_eq!(any.outcome(), Some(&Err(AggregateError::Rejected(vec![]))));
    let ran = log();
    let r = Arc::clone(&ran);
    let _ = race.then_or_else(
        move |_| {
            r.lock().unwrap().push("race fulfilled".into());
            Ok(())
        },
        |_| Ok(()),
    );
    el.run_until_idle().unwrap();
    assert!(race.is_pending(), "race([]) never settles");
    assert_eq!(entries(&ran), Vec::<String>::new());
    // any([]) is an ordinary rejected promise: unhandled, it is reported (JS too).
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].0, RejectionKind::Unhandled);
    assert_eq!(reports[0].1, "AggregateError([])");
}

/// JS: `Promise.all` settles its result inside the deciding input's reaction job, so the
/// result's reaction runs one job later: between the first and second step of a chain started
/// beside it (`t1, all, t2`; node prints the same for each combinator).
#[test]
fn each_result_settles_one_job_after_the_deciding_reaction() {
    let mut el = EventLoop::new();
    let order = log();
    let o = Arc::clone(&order);
    el.submit(move |cx| {
        let value = P::<u32>::fulfilled(cx.handle().scheduler(), 1);
        let _ = cx.all([value.clone()]).then(note(&o, "all"));
        let _ = cx.race([value.clone()]).then(note(&o, "race"));
        let _ = cx
            .all_settled([value.clone()])
            .then(note(&o, "all_settled"));
        let _ = cx.any([value.clone()]).then(note(&o, "any"));
        let _ = value.then(note(&o, "t1")).then(note(&o, "t2"));
    })
    .unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(
        entries(&order),
        ["t1", "all", "race", "all_settled", "any", "t2"]
    );
}

#[test]
fn the_same_input_twice_fills_both_slots() {
    let mut el = EventLoop::new();
    let (p, resolver) = el.promise::<u32, Why>();
    let all = el.handle().all([p.clone(), p]);
    resolver.resolve(4).unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(all.outcome(), Some(&Ok(vec![4, 4])));
}

/// Settled from other threads while the loop runs: the reactions arrive through the remote
/// ring; the result is in input order whatever order the threads won. (A watcher shuts the loop
/// down once every settler is done; the graceful drain runs what they sent, so a broken
/// combinator fails the assertions instead of hanging the test.)
#[test]
fn inputs_settled_from_other_threads() {
    let n = if cfg!(miri) { 2 } else { 8 };
    let mut el = EventLoop::new();
    let handle = el.handle();
    let (inputs, resolvers) = pending::<u32>(&el, n);
    let all = handle.all(inputs.clone());
    let settled = handle.all_settled(inputs);
    let barrier = Arc::new(Barrier::new(n));
    let settlers: Vec<_> = resolvers
        .into_iter()
        .enumerate()
        .map(|(k, resolver)| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                resolver.resolve(k as u32).unwrap();
            })
        })
        .collect();
    let watcher = std::thread::spawn(move || {
        for settler in settlers {
            settler.join().unwrap();
        }
        handle.shutdown();
    });
    el.run().unwrap();
    watcher.join().unwrap();
    let want: Vec<u32> = (0..n as u32).collect();
    assert_eq!(all.outcome(), Some(&Ok(want.clone())));
    assert_eq!(
        settled.outcome(),
        Some(&Ok(want.into_iter().map(Ok).collect()))
    );
}

/// Inputs whose scheduler is another loop, each run on its own thread: the combinator's
/// reactions run on those threads at the same time, so its counting is shared for real.
#[test]
fn reactions_on_several_threads_count_correctly() {
    let (n, rounds) = if cfg!(miri) { (2, 1) } else { (4, 30) };
    for round in 0..rounds {
        let mut el = EventLoop::new();
        let (tx, rx) = mpsc::channel();
        let go = Arc::new(Barrier::new(n + 1));
        let threads: Vec<_> = (0..n)
            .map(|k| {
                let (tx, go) = (tx.clone(), Arc::clone(&go));
                std::thread::spawn(move || {
                    let mut other = EventLoop::new();
                    let (p, resolver) = other.promise::<u32, Why>();
                    let (q, rejecter) = other.promise::<u32, Why>();
                    tx.send((k, p, q)).unwrap();
                    go.wait();
                    resolver.resolve(k as u32).unwrap();
                    rejecter.reject(Why::Input(k as u32)).unwrap();
                    other.run_until_idle().unwrap();
                })
            })
            .collect();
        let mut received: Vec<_> = rx.iter().take(n).collect();
        received.sort_by_key(|(k, _, _)| *k);
        let (ps, qs): (Vec<_>, Vec<_>) = received.into_iter().map(|(_, p, q)| (p, q)).unzip();
        let h = el.handle();
        let all = h.all(ps.clone());
        let any = h.any(qs.clone());
        let settled = h.all_settled(ps.iter().cloned().chain(qs.iter().cloned()));
        go.wait();
        for t in threads {
            t.join().unwrap();
        }
        el.run_until_idle().unwrap();
        let values: Vec<u32> = (0..n as u32).collect();
        let reasons: Vec<Why> = values.iter().map(|&k| Why::Input(k)).collect();
        assert_eq!(all.outcome(), Some(&Ok(values.clone())), "round {round}");
        assert_eq!(
            any.outcome(),
            Some(&Err(AggregateError::Rejected(reasons.clone()))),
            "round {round}"
        );
        let outcomes: Vec<Result<u32, Why>> = values
            .into_iter()
            .map(Ok)
            .chain(reasons.into_iter().map(Err))
            .collect();
        assert_eq!(settled.outcome(), Some(&Ok(outcomes)), "round {round}");
        let _ = any.catch(|_| Ok(0));
        el.run_until_idle().unwrap();
    }
}

/// The internal reactions handle every input: nothing is reported for inputs rejected before
/// the combinator (tracked, then handled in the same checkpoint), while it runs, or after it
/// was decided. Only a result nobody handles is reported, once.
#[test]
fn internal_reactions_never_report_only_an_unhandled_result_does() {
    let (mut el, reports) = reporting_loop();
    let h = el.handle();
    let s = h.scheduler();
    let (inputs, resolvers) = pending::<u32>(&el, 4);
    let early = P::<u32>::rejected(s.clone(), Why::Input(0));
    let all = h.all([early.clone(), inputs[0].clone()]);
    let race = h.race([inputs[1].clone(), inputs[0].clone()]);
    let settled = h.all_settled([early.clone(), inputs[2].clone()]);
    let any = h.any([inputs[2].clone(), inputs[3].clone(), early]);
    let _ = all.catch(|_| Ok(vec![]));
    let _ = settled.catch(|_| Ok(vec![]));
    let _ = any.catch(|_| Ok(0));
    let unhandled_race = race.clone(); // rejected below, and nobody reacts to it
    el.run_until_idle().unwrap();
    for (k, resolver) in resolvers.into_iter().enumerate() {
        resolver.reject(Why::Input(k as u32 + 1)).unwrap();
        el.run_until_idle().unwrap();
    }
    assert_eq!(all.outcome(), Some(&Err(Why::Input(0))));
    assert_eq!(unhandled_race.outcome(), Some(&Err(Why::Input(1))));
    assert_eq!(
        any.outcome(),
        Some(&Err(AggregateError::Rejected(vec![
            Why::Input(3),
            Why::Input(4),
            Why::Input(0)
        ])))
    );
    let reports = reports.lock().unwrap();
    assert_eq!(
        *reports,
        [(RejectionKind::Unhandled, "Input(1)".into())],
        "only the race result, which nothing handles"
    );
}

/// If the inputs' reactions can never run (their loop terminated), the result does not wait
/// forever: it rejects as abandoned once the last reaction is dropped.
#[test]
fn a_result_whose_reactions_are_dropped_rejects_as_abandoned() {
    let mut gone = EventLoop::new();
    gone.handle().shutdown();
    gone.run().unwrap();
    let mut el = EventLoop::new();
    let (inputs, resolvers) = pending::<u32>(&gone, 2);
    let all = el.handle().all(inputs.clone());
    let any = el.handle().any(inputs);
    let _ = any.catch(|_| Ok(0));
    let _ = all.catch(|_| Ok(vec![]));
    let mut resolvers = resolvers.into_iter();
    resolvers.next().unwrap().resolve(1).unwrap(); // its reactions are refused and dropped
    assert!(
        all.is_pending(),
        "the other input's reactions are still registered"
    );
    resolvers.next().unwrap().resolve(2).unwrap();
    assert_eq!(all.outcome(), Some(&Err(Why::Layer(Failure::Abandoned))));
    assert_eq!(
        any.outcome(),
        Some(&Err(AggregateError::Failure(Failure::Abandoned)))
    );
    el.run_until_idle().unwrap();
}

/// `race([])` never settles. Its reactions can never run: while a handle is held, their derived
/// promises stay pending; once the last handle is dropped the reactions go with it, and their
/// derived promises reject as abandoned (the crate's rule; JS would keep them pending).
#[test]
fn race_of_nothing_stays_pending_while_held() {
    let mut el = EventLoop::new();
    let never = el.handle().race(Vec::<P<u32>>::new());
    let derived = never.then(|v| Ok(*v));
    let _ = derived.catch(|_| Ok(0));
    el.run_until_idle().unwrap();
    assert!(never.is_pending());
    assert!(
        derived.is_pending(),
        "held: its reaction may still run, as far as anyone knows"
    );
    drop(never);
    assert_eq!(
        derived.outcome(),
        Some(&Err(Why::Layer(Failure::Abandoned)))
    );
    el.run_until_idle().unwrap();
}
