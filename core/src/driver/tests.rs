//! Driver unit tests on one thread (plus a producer thread where the point is a remote submit).
//! Interleavings are checked in `models/tests/driver.rs`; JS tick order in `tests/conformance/`.

use super::*;
use crate::clock::ManualClock;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use std::sync::Mutex as StdMutex;

/// A shared log of events, for ordering assertions.
#[derive(Clone, Default)]
struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    fn push(&self, event: &str) {
        self.0.borrow_mut().push(event.to_string());
    }
    fn take(&self) -> Vec<String> {
        core::mem::take(&mut *self.0.borrow_mut())
    }
}

fn quiet_loop() -> EventLoop {
    EventLoop::builder()
        .clock(ManualClock::new())
        .config(Config {
            spin_before_sleep: Duration::ZERO,
            ..Config::default()
        })
        .build()
}

#[test]
fn macrotask_then_full_checkpoint_then_next_macrotask() {
    let mut el = quiet_loop();
    let log = Log::default();
    for name in ["A", "B"] {
        let log = log.clone();
        el.submit(move |cx| {
            log.push(name);
            let inner = log.clone();
            cx.queue_microtask(move |cx| {
                inner.push(&alloc::format!("{name}.m1"));
                let nested = inner.clone();
                cx.queue_microtask(move |_| nested.push(&alloc::format!("{name}.m2")))
                    .unwrap();
            })
            .unwrap();
        })
        .unwrap();
    }
    el.run_until_idle().unwrap();
    assert_eq!(log.take(), ["A", "A.m1", "A.m2", "B", "B.m1", "B.m2"]);
}

/// Like a JS script that queues a microtask and a macrotask: the microtask runs first.
#[test]
fn microtasks_queued_before_run_run_before_the_first_macrotask() {
    let mut el = quiet_loop();
    let log = Log::default();
    let l = log.clone();
    el.queue_microtask(move |_| l.push("micro")).unwrap();
    let l = log.clone();
    el.submit(move |_| l.push("task")).unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(log.take(), ["micro", "task"]);
}

/// A remote producer's microtask, queued before its macrotask, runs before that macrotask
/// (found by the conformance work: the task used to overtake it).
#[test]
fn a_remote_microtask_is_not_overtaken_by_a_later_remote_task() {
    let mut el = quiet_loop();
    let handle = el.handle();
    let seen = std::sync::Arc::new(StdMutex::new(Vec::new()));
    let (s1, s2) = (seen.clone(), seen.clone());
    std::thread::spawn(move || {
        handle
            .queue_microtask(move |_| s1.lock().unwrap().push("micro"))
            .unwrap();
        handle
            .submit(move |_| s2.lock().unwrap().push("task"))
            .unwrap();
    })
    .join()
    .unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(*seen.lock().unwrap(), ["micro", "task"]);
}

#[test]
fn remote_and_local_tasks_keep_per_source_fifo() {
    let mut el = quiet_loop();
    let handle = el.handle();
    let seen = std::sync::Arc::new(StdMutex::new(Vec::new()));
    for i in 0..5 {
        let seen1 = seen.clone();
        handle
            .submit(move |_| seen1.lock().unwrap().push(("remote", i)))
            .unwrap();
        let seen2 = seen.clone();
        el.submit(move |_| seen2.lock().unwrap().push(("local", i)))
            .unwrap();
    }
    el.run_until_idle().unwrap();
    let seen = seen.lock().unwrap().clone();
    for source in ["remote", "local"] {
        let order: Vec<i32> = seen
            .iter()
            .filter(|(s, _)| *s == source)
            .map(|&(_, i)| i)
            .collect();
        assert_eq!(order, [0, 1, 2, 3, 4], "{source}");
    }
    // While both sources have tasks, they take turns: neither starves the other.
    for pair in seen.windows(2) {
        assert_ne!(pair[0].0, pair[1].0, "the sources alternate: {seen:?}");
    }
    assert_eq!(el.stats().tasks_run, 10);
}

#[test]
fn a_panicking_task_is_reported_and_the_loop_goes_on() {
    let reports = Rc::new(RefCell::new(Vec::new()));
    let r = reports.clone();
    let mut el = EventLoop::builder()
        .clock(ManualClock::new())
        .panic_hook(move |report| {
            r.borrow_mut()
                .push((report.kind, report.message().map(String::from)))
        })
        .build();
    let log = Log::default();
    el.submit(|_| panic!("task boom")).unwrap();
    el.submit(|cx| {
        cx.queue_microtask(|_| panic!("micro boom")).unwrap();
    })
    .unwrap();
    let l = log.clone();
    el.submit(move |_| l.push("after")).unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(log.take(), ["after"]);
    assert_eq!(
        *reports.borrow(),
        [
            (CallbackKind::Task, Some("task boom".to_string())),
            (CallbackKind::Microtask, Some("micro boom".to_string()))
        ]
    );
    assert_eq!(el.stats().panics, 2);
}

#[test]
fn shutdown_drains_accepted_work_including_microtasks_queued_during_the_drain() {
    let mut el = quiet_loop();
    let handle = el.handle();
    let log = Log::default();
    let l = log.clone();
    el.submit(move |cx| {
        l.push("first");
        assert!(cx.shutdown(), "first shutdown wins");
        assert!(!cx.shutdown(), "idempotent");
        // Admission is closed at once...
        assert!(cx.submit(|_| unreachable!("refused task ran")).is_err());
        // ...but microtasks queued by drained work still run.
        let l2 = l.clone();
        cx.queue_microtask(move |_| l2.push("micro during drain"))
            .unwrap();
    })
    .unwrap();
    let l = log.clone();
    el.submit(move |_| l.push("second, accepted before shutdown"))
        .unwrap();
    el.run().unwrap();
    assert_eq!(
        log.take(),
        [
            "first",
            "micro during drain",
            "second, accepted before shutdown"
        ]
    );
    assert_eq!(el.state(), LoopState::Terminated);
    assert!(handle.submit(|_| ()).is_err());
    assert_eq!(el.run(), Err(RunError::Terminated));
    assert!(handle.wait_terminated(Some(Duration::ZERO)));
}

#[test]
fn shutdown_before_run_still_runs_work_accepted_before_it() {
    let mut el = quiet_loop();
    let log = Log::default();
    let l = log.clone();
    el.submit(move |_| l.push("accepted before shutdown"))
        .unwrap();
    assert!(el.handle().shutdown());
    assert_eq!(el.state(), LoopState::Terminating);
    el.run().unwrap();
    assert_eq!(log.take(), ["accepted before shutdown"]);
    assert_eq!(el.state(), LoopState::Terminated);
}

#[test]
fn close_discards_and_counts_every_accepted_task() {
    let mut el = quiet_loop();
    let handle = el.handle();
    for _ in 0..3 {
        handle
            .submit(|_| unreachable!("discarded task ran"))
            .unwrap();
        el.submit(|_| unreachable!("discarded task ran")).unwrap();
    }
    handle
        .queue_microtask(|_| unreachable!("discarded microtask ran"))
        .unwrap();
    assert!(handle.close());
    assert!(!handle.shutdown(), "termination already won by close");
    let back = handle.submit(|_| ()).unwrap_err();
    drop(back.into_inner());
    el.run().unwrap();
    assert_eq!(el.stats().discarded, 7);
    assert_eq!(el.stats().tasks_run, 0);
}

#[test]
fn close_during_a_graceful_drain_discards_the_rest() {
    let mut el = quiet_loop();
    el.submit(|cx| {
        cx.shutdown();
        cx.close();
    })
    .unwrap();
    el.submit(|_| unreachable!("discarded by the close during the drain"))
        .unwrap();
    el.run().unwrap();
    assert_eq!((el.stats().tasks_run, el.stats().discarded), (1, 1));
}

#[test]
fn dropping_an_unrun_loop_counts_its_work_as_discarded() {
    let el = quiet_loop();
    let handle = el.handle();
    handle.submit(|_| unreachable!()).unwrap();
    drop(el);
    assert_eq!(handle.state(), LoopState::Terminated);
    assert_eq!(handle.stats().discarded, 1);
    assert!(handle.submit(|_| ()).is_err());
}

#[test]
fn remote_submit_wakes_a_sleeping_loop() {
    let mut el = quiet_loop();
    let handle = el.handle();
    let producer = std::thread::spawn(move || {
        // Wait until the loop sleeps, then submit: the unpark must reach it.
        while handle.state() != LoopState::Sleeping {
            std::thread::yield_now();
        }
        handle
            .submit(|cx| {
                cx.shutdown();
            })
            .unwrap();
        handle
    });
    el.run().unwrap();
    let handle = producer.join().unwrap();
    let stats = handle.stats();
    assert_eq!(stats.tasks_run, 1);
    assert!(stats.unparks <= stats.sleeps, "{stats:?}");
}

#[test]
fn tick_time_is_refreshed_each_tick() {
    let clock = ManualClock::new();
    let mut el = EventLoop::builder().clock(clock.clone()).build();
    let times = Rc::new(RefCell::new(Vec::new()));
    let t = times.clone();
    el.submit(move |cx| t.borrow_mut().push(cx.now())).unwrap();
    el.run_until_idle().unwrap();
    clock.advance(Duration::from_millis(7));
    let t = times.clone();
    el.submit(move |cx| t.borrow_mut().push(cx.now())).unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(*times.borrow(), [Duration::ZERO, Duration::from_millis(7)]);
}

#[test]
fn fairness_bound_limits_tasks_per_tick() {
    let el = EventLoop::builder()
        .clock(ManualClock::new())
        .config(Config {
            max_tasks_per_tick: 2,
            spin_before_sleep: Duration::ZERO,
            ..Config::default()
        })
        .build();
    for _ in 0..5 {
        el.submit(|_| ()).unwrap();
    }
    assert_eq!(el.tick(), 2);
    assert_eq!(el.tick(), 2);
    assert_eq!(el.tick(), 1);
    assert_eq!(el.tick(), 0);
}

#[test]
fn waiting_for_termination_from_a_callback_does_not_deadlock() {
    let mut el = quiet_loop();
    let seen = Rc::new(Cell::new(None));
    let s = seen.clone();
    el.submit(move |cx| {
        cx.shutdown();
        // On the loop thread: returns at once (the loop cannot finish while we wait).
        s.set(Some(cx.handle().wait_terminated(None)));
    })
    .unwrap();
    el.run().unwrap();
    assert_eq!(seen.get(), Some(false));
    assert!(el.handle().wait_terminated(None));
}

#[test]
fn a_panicking_destructor_of_discarded_work_is_contained_and_termination_completes() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("destructor boom");
        }
    }
    let kinds = Rc::new(RefCell::new(Vec::new()));
    let k = kinds.clone();
    let mut el = EventLoop::builder()
        .clock(ManualClock::new())
        .panic_hook(move |report| k.borrow_mut().push(report.kind))
        .build();
    let guard = PanicOnDrop;
    el.submit(move |_| drop(guard)).unwrap();
    el.submit(|_| ()).unwrap();
    assert!(el.handle().close());
    el.run().unwrap();
    assert_eq!(el.state(), LoopState::Terminated);
    assert_eq!(el.stats().discarded, 2);
    assert_eq!(*kinds.borrow(), [CallbackKind::Destructor]);
    assert!(el.handle().wait_terminated(Some(Duration::ZERO)));
}

#[test]
fn each_idle_period_of_run_until_idle_can_be_woken() {
    let mut el = quiet_loop();
    let handle = el.handle();
    for round in 0..3 {
        el.run_until_idle().unwrap();
        assert_eq!(el.state(), LoopState::Sleeping);
        handle.submit(|_| ()).unwrap();
        // Every idle period gets its unpark (the token was cleared when it began).
        assert_eq!(handle.stats().unparks, round + 1);
    }
    el.run_until_idle().unwrap();
    assert_eq!(el.stats().tasks_run, 3);
}

#[test]
fn loop_stats_add_and_subtract_every_counter() {
    let mut el = EventLoop::new();
    let before = el.stats();
    el.submit(|cx| cx.queue_microtask(|_| ()).unwrap()).unwrap();
    el.run_until_idle().unwrap();
    let after = el.stats();
    let delta = after - before;
    assert_eq!((delta.tasks_run, delta.microtasks_run), (1, 1));
    assert_eq!(before + delta, after);
    assert_eq!(
        before - after,
        LoopStats::default(),
        "saturating, never negative"
    );
}

/// The errors' messages say what happened, and a refused task comes back with its error.
#[test]
fn errors_explain_themselves_and_hand_the_task_back() {
    let mut el = quiet_loop();
    let handle = el.handle();
    el.handle().shutdown();
    el.run().unwrap();
    assert_eq!(
        el.run().unwrap_err().to_string(),
        "the event loop has terminated and cannot run again"
    );
    let refused = handle.submit(|_| {}).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "the event loop no longer accepts work; the task is handed back"
    );
    let _task_back = refused.into_inner();
}

/// `wait_terminated` from another thread returns only once the loop has terminated.
#[test]
fn waiting_for_termination_from_another_thread_returns_after_it() {
    let mut el = quiet_loop();
    let handle = el.handle();
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let finished = handle.wait_terminated(None);
        tx.send((finished, handle.state())).unwrap();
    });
    // The waiter cannot have returned yet: the loop has not run.
    assert!(
        rx.recv_timeout(core::time::Duration::from_millis(50))
            .is_err()
    );
    el.handle().shutdown();
    el.run().unwrap();
    let (finished, state) = rx.recv().unwrap();
    assert!(finished);
    assert_eq!(state, crate::state::LoopState::Terminated);
    waiter.join().unwrap();
}

/// The sleep re-check (`has_ready_work`, proofs/wake.md W2.4) sees work in each of the four
/// queues on its own: a queue it overlooked would be a lost wake-up.
#[test]
fn the_sleep_recheck_sees_each_queue_alone() {
    type Fill = fn(&EventLoop);
    let fills: [(&str, Fill); 4] = [
        ("local task", |el| el.submit(|_| {}).unwrap()),
        ("local microtask", |el| el.queue_microtask(|_| {}).unwrap()),
        ("remote task", |el| el.handle().submit(|_| {}).unwrap()),
        ("remote microtask", |el| {
            el.handle().queue_microtask(|_| {}).unwrap()
        }),
    ];
    for (queue, fill) in fills {
        let mut el = quiet_loop();
        assert!(!el.has_ready_work(), "{queue}: nothing queued yet");
        fill(&el);
        assert!(el.has_ready_work(), "{queue}: the re-check must see it");
        el.run_until_idle().unwrap();
        assert!(!el.has_ready_work(), "{queue}: drained");
    }
}

/// The scenario of [`default_reporters_print_to_stderr`], run on its own too: with no panic hook
/// and no rejection hook, a panicking task and an unhandled rejection are still contained and
/// counted, and the loop goes on.
#[test]
fn default_reporters_scenario() {
    let mut el = EventLoop::builder().clock(ManualClock::new()).build();
    let (p, resolver) = el.promise::<u32, crate::promise::Failure>();
    el.submit(|_| panic!("stderr-check boom")).unwrap();
    el.submit(move |_| {
        resolver
            .reject(crate::promise::Failure::Terminated)
            .unwrap();
    })
    .unwrap();
    el.run_until_idle().unwrap();
    // Handled later: counted, and (unlike the unhandled report) not printed. The marker lets
    // the parent test see which phase printed what.
    std::eprintln!("scenario: handled later next");
    let _ = p.catch(|_| Ok(0));
    el.run_until_idle().unwrap();
    let stats = el.stats();
    assert_eq!(stats.panics, 1);
    assert_eq!(stats.rejections_unhandled, 1);
    assert_eq!(stats.rejections_handled_later, 1);
}

/// What a host that installs no hooks sees: one line on stderr per panic and per unhandled
/// rejection (Node prints the latter too), nothing for "handled later". The scenario runs in a
/// child process (this test binary, filtered to `default_reporters_scenario`) whose stderr is
/// read here.
#[test]
#[cfg_attr(miri, ignore = "Miri cannot spawn a process")]
fn default_reporters_print_to_stderr() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "driver::tests::default_reporters_scenario",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the scenario failed:\n{stderr}");
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("eventloop: ") || line.starts_with("scenario: "))
        .collect();
    assert_eq!(
        ours,
        [
            "eventloop: a Task panicked: stderr-check boom",
            "eventloop: unhandled promise rejection: the event loop terminated",
            "scenario: handled later next",
        ],
        "stderr:\n{stderr}"
    );
}
