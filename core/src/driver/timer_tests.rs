//! Timers in the driver, on one thread with a [`ManualClock`] (plus other threads where the
//! point is a set or a clear from a [`Handle`]). The pool alone is tested in `timer::tests`;
//! interleavings in `models/tests/timers.rs`; JS order in `tests/conformance/`.

use super::*;
use crate::clock::{Clock, ManualClock};
use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

#[derive(Clone, Default)]
struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    fn push(&self, event: impl AsRef<str>) {
        self.0.borrow_mut().push(event.as_ref().to_string());
    }
    fn take(&self) -> Vec<String> {
        core::mem::take(&mut *self.0.borrow_mut())
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn manual_loop(config: Config) -> (EventLoop, ManualClock) {
    let clock = ManualClock::new();
    let el = EventLoop::builder()
        .clock(clock.clone())
        .config(Config {
            spin_before_sleep: Duration::ZERO,
            ..config
        })
        .panic_hook(|_| {})
        .build();
    (el, clock)
}

/// Virtual time: run what is ready, then jump the clock to the next deadline, until no timer is
/// left (callbacks take no time unless they advance the clock themselves).
fn run_virtual(el: &mut EventLoop, clock: &ManualClock) {
    loop {
        el.run_until_idle().unwrap();
        match el.next_timer_deadline() {
            Some(deadline) => clock.advance_to(deadline),
            None => return,
        }
    }
}

/// Counts drops of the value it is captured in.
#[derive(Clone)]
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Relaxed);
    }
}

fn drop_counter() -> (DropCounter, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    (DropCounter(Arc::clone(&count)), count)
}

#[test]
fn equal_deadlines_fire_in_scheduling_order_each_followed_by_a_checkpoint() {
    let (mut el, clock) = manual_loop(Config::default());
    let log = Log::default();
    for (name, delay) in [("a", 5), ("b", 3), ("c", 5), ("d", 3)] {
        let log = log.clone();
        el.set_timeout(ms(delay), move |cx| {
            log.push(name);
            let log = log.clone();
            cx.queue_microtask(move |_| log.push(format!("{name}.micro")))
                .unwrap();
        })
        .unwrap();
    }
    run_virtual(&mut el, &clock);
    assert_eq!(
        log.take(),
        [
            "b", "b.micro", "d", "d.micro", "a", "a.micro", "c", "c.micro"
        ]
    );
    assert_eq!(el.stats().timers_fired, 4);
}

#[test]
fn a_zero_delay_timer_set_by_a_timer_runs_in_a_later_pass_after_the_ticks_tasks() {
    let (mut el, clock) = manual_loop(Config::default());
    let log = Log::default();
    let l = log.clone();
    el.set_timeout(ms(1), move |cx| {
        l.push("timer 1");
        let inner = l.clone();
        cx.set_timeout(Duration::ZERO, move |_| inner.push("timer 0ms"))
            .unwrap();
        let inner = l.clone();
        cx.submit(move |_| inner.push("task")).unwrap();
    })
    .unwrap();
    let l = log.clone();
    el.set_timeout(ms(1), move |_| l.push("timer 2")).unwrap();
    run_virtual(&mut el, &clock);
    // The 0 ms timer is due at once, but the pass that set it does not take it: timer 2 (armed
    // before the pass) goes first, then the tick's task, then a new pass.
    assert_eq!(log.take(), ["timer 1", "timer 2", "task", "timer 0ms"]);
}

#[test]
fn timers_go_before_the_ticks_tasks() {
    let (mut el, clock) = manual_loop(Config::default());
    let log = Log::default();
    let l = log.clone();
    el.submit(move |_| l.push("task")).unwrap();
    let l = log.clone();
    el.set_timeout(Duration::ZERO, move |_| l.push("timer"))
        .unwrap();
    run_virtual(&mut el, &clock);
    assert_eq!(log.take(), ["timer", "task"]);
}

#[test]
fn no_timer_fires_before_its_deadline_also_after_a_long_callback() {
    // The tick time is read when the tick starts; a callback that takes 100 ms and then sets a
    // 10 ms timer must not get a deadline computed from that stale time.
    let (mut el, clock) = manual_loop(Config::default());
    let fired_at = Rc::new(Cell::new(None));
    let c = clock.clone();
    let f = Rc::clone(&fired_at);
    el.submit(move |cx| {
        c.advance(ms(100)); // a long callback
        let c = c.clone();
        cx.set_timeout(ms(10), move |_| f.set(Some(c.now())))
            .unwrap();
    })
    .unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(fired_at.get(), None, "fired early");
    assert_eq!(el.next_timer_deadline(), Some(ms(110)));
    clock.advance_to(ms(109));
    el.run_until_idle().unwrap();
    assert_eq!(fired_at.get(), None, "fired early");
    clock.advance_to(ms(110));
    el.run_until_idle().unwrap();
    assert_eq!(fired_at.get(), Some(ms(110)));
}

#[test]
fn an_interval_rearms_from_when_its_callback_started_and_can_clear_itself() {
    let (mut el, clock) = manual_loop(Config::default());
    let runs = Rc::new(RefCell::new(Vec::new()));
    let r = Rc::clone(&runs);
    let c = clock.clone();
    let id = Rc::new(Cell::new(None));
    let my_id = Rc::clone(&id);
    let interval = el
        .set_interval(ms(10), move |cx| {
            r.borrow_mut().push(c.now());
            c.advance(ms(3)); // the callback takes 3 ms
            if r.borrow().len() == 3 {
                assert_eq!(
                    cx.clear_timer(my_id.get().unwrap()),
                    ClearOutcome::Cancelled
                );
            }
        })
        .unwrap();
    id.set(Some(interval));
    run_virtual(&mut el, &clock);
    assert_eq!(*runs.borrow(), [ms(10), ms(20), ms(30)]);
    assert_eq!(el.clear_timer(interval), ClearOutcome::NotPending);
    let stats = el.stats();
    assert_eq!((stats.timers_fired, stats.timers_cancelled), (3, 1));
}

#[test]
fn an_interval_keeps_running_after_a_panic_and_the_nesting_level_is_restored() {
    let (mut el, clock) = manual_loop(Config::default());
    let runs = Rc::new(Cell::new(0));
    let r = Rc::clone(&runs);
    let id = Rc::new(Cell::new(None));
    let my_id = Rc::clone(&id);
    let interval = el
        .set_interval(ms(1), move |cx| {
            r.set(r.get() + 1);
            if r.get() == 5 {
                cx.clear_timer(my_id.get().unwrap());
            }
            if r.get() % 2 == 1 {
                panic!("interval run {}", r.get());
            }
        })
        .unwrap();
    id.set(Some(interval));
    run_virtual(&mut el, &clock);
    assert_eq!(runs.get(), 5);
    assert_eq!(el.stats().panics, 3);
    assert_eq!(el.local.nesting.get(), 0, "nesting level restored");
    assert!(!el.local.firing_interval.get());
}

/// The times at which a chain of zero-delay timers fires, each set from the previous callback.
fn chain_firing_times(clamp: bool, links: usize) -> Vec<Duration> {
    let (mut el, clock) = manual_loop(Config {
        timer_nesting: crate::timer::NestingPolicy { clamp },
        ..Config::default()
    });
    let times = Rc::new(RefCell::new(Vec::new()));
    fn link(cx: &Cx<'_>, times: Rc<RefCell<Vec<Duration>>>, left: usize) {
        if left == 0 {
            return;
        }
        cx.set_timeout(Duration::ZERO, move |cx| {
            times.borrow_mut().push(cx.now());
            link(cx, times, left - 1);
        })
        .unwrap();
    }
    let t = Rc::clone(&times);
    el.submit(move |cx| link(cx, t, links)).unwrap();
    run_virtual(&mut el, &clock);
    times.take()
}

#[test]
fn the_nesting_clamp_applies_from_the_sixth_nested_timer_and_can_be_switched_off() {
    // HTML: a timer set at nesting level > 5 waits at least 4 ms. The chain's k-th timer (from 1)
    // is set at level k - 1, so the 7th and later are clamped.
    let clamped = chain_firing_times(true, 9);
    let zero = Duration::ZERO;
    assert_eq!(
        clamped,
        [zero, zero, zero, zero, zero, zero, ms(4), ms(8), ms(12)]
    );
    assert_eq!(chain_firing_times(false, 9), [zero; 9]);
}

#[test]
fn clearing_a_pending_timer_drops_its_callback_at_once() {
    let (mut el, clock) = manual_loop(Config::default());
    let (counter, drops) = drop_counter();
    let ran = Rc::new(Cell::new(false));
    let r = Rc::clone(&ran);
    let id = el
        .set_timeout(ms(5), move |_| {
            let _keep = &counter;
            r.set(true);
        })
        .unwrap();
    assert_eq!(el.clear_timer(id), ClearOutcome::Cancelled);
    assert_eq!(
        drops.load(Relaxed),
        1,
        "the callback is dropped by the clear"
    );
    assert_eq!(el.clear_timer(id), ClearOutcome::NotPending);
    run_virtual(&mut el, &clock);
    assert!(!ran.get());
    assert_eq!(el.stats().timers_cancelled, 1);
}

/// A timer callback's destructor is user code: dropping an unrun callback (a clear, an
/// interval that cleared itself, termination) contains a panic there and reports it as a
/// `Destructor` panic, like a discarded task's, and the loop goes on.
#[test]
fn a_panicking_destructor_of_a_dropped_timer_callback_is_contained() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("timer callback destructor");
        }
    }
    let kinds = Rc::new(RefCell::new(Vec::new()));
    let k = Rc::clone(&kinds);
    let clock = ManualClock::new();
    let mut el = EventLoop::builder()
        .clock(clock.clone())
        .panic_hook(move |report| k.borrow_mut().push(report.kind))
        .build();
    // A clear on the loop thread drops the callback at once.
    let guard = PanicOnDrop;
    let cleared = el.set_timeout(ms(5), move |_| drop(guard)).unwrap();
    assert_eq!(el.clear_timer(cleared), ClearOutcome::Cancelled);
    assert_eq!(*kinds.borrow(), [CallbackKind::Destructor]);
    // An interval that clears itself: its callback is dropped after the call returns.
    let guard = PanicOnDrop;
    let own_id = Rc::new(Cell::new(None));
    let id = Rc::clone(&own_id);
    let interval = el
        .set_interval(ms(1), move |cx| {
            let _keep = &guard;
            assert_eq!(cx.clear_timer(id.get().unwrap()), ClearOutcome::Cancelled);
        })
        .unwrap();
    own_id.set(Some(interval));
    // Termination drops a pending timer's callback.
    let guard = PanicOnDrop;
    el.set_timeout(ms(50), move |_| drop(guard)).unwrap();
    clock.advance(ms(1));
    el.run_until_idle().unwrap();
    assert_eq!(el.stats().timers_fired, 1);
    el.handle().shutdown();
    el.run().unwrap();
    assert_eq!(el.state(), LoopState::Terminated);
    assert_eq!(*kinds.borrow(), [CallbackKind::Destructor; 3]);
    assert_eq!(el.stats().panics, 3);
}

/// `tick` counts every callback it ran: each due timer's callback and the microtasks of its
/// checkpoint (what `run_until_idle` and the sleep decision rely on to tell progress from none).
#[test]
fn a_tick_counts_each_fired_timer_and_its_microtasks() {
    let (el, clock) = manual_loop(Config::default());
    for _ in 0..2 {
        el.set_timeout(ms(1), |cx| {
            cx.queue_microtask(|_| {}).unwrap();
        })
        .unwrap();
    }
    clock.advance(ms(1));
    assert_eq!(el.tick(), 4, "two timers, one microtask each");
    assert_eq!(el.tick(), 0);
}

#[test]
fn a_timeout_clearing_itself_has_already_fired() {
    let (mut el, clock) = manual_loop(Config::default());
    let outcome = Rc::new(Cell::new(None));
    let o = Rc::clone(&outcome);
    let id = Rc::new(Cell::new(None));
    let my_id = Rc::clone(&id);
    id.set(Some(
        el.set_timeout(ms(1), move |cx| {
            o.set(Some(cx.clear_timer(my_id.get().unwrap())))
        })
        .unwrap(),
    ));
    run_virtual(&mut el, &clock);
    assert_eq!(outcome.get(), Some(ClearOutcome::NotPending));
}

#[test]
fn timer_ids_run_out_with_an_error_before_any_side_effect() {
    let (el, _clock) = manual_loop(Config {
        timer_id_limit: 2,
        ..Config::default()
    });
    let first = el.set_timeout(ms(1), |_| {}).unwrap();
    let second = el.handle().set_interval(ms(1), |_| {}).unwrap();
    assert_eq!(
        (first.get(), second.get()),
        (1, 2),
        "one namespace for both kinds"
    );
    let ran = Rc::new(Cell::new(false));
    let r = Rc::clone(&ran);
    let err = el.set_timeout(ms(1), move |_| r.set(true)).unwrap_err();
    assert!(matches!(err, TimerError::IdsExhausted(_)));
    // The callback comes back intact and nothing was scheduled.
    let callback = err.into_callback();
    callback(&el.cx());
    assert!(ran.get());
    assert!(matches!(
        el.handle().set_timeout(ms(1), |_| {}),
        Err(TimerError::IdsExhausted(_))
    ));
    assert_eq!(
        el.local.timers.borrow().len(),
        1,
        "only the local timer is armed yet"
    );
}

#[test]
fn a_set_from_another_thread_returns_its_id_at_once_and_a_clear_reports_before_firing() {
    let (mut el, clock) = manual_loop(Config::default());
    let handle = el.handle();
    let fired = Arc::new(AtomicUsize::new(0));
    let f = Arc::clone(&fired);
    let (late, late_fired) = std::thread::spawn(move || {
        let cancelled = handle
            .set_timeout(ms(5), |_| panic!("a cleared timer ran"))
            .unwrap();
        let ticket = handle.clear_timer(cancelled);
        let late = handle
            .set_timeout(ms(5), move |_| {
                f.fetch_add(1, Relaxed);
            })
            .unwrap();
        assert!(late.get() > cancelled.get());
        assert_eq!(
            ticket.try_outcome(),
            None,
            "the loop has not applied it yet"
        );
        (late, ticket)
    })
    .join()
    .unwrap();
    // The loop applies the requests at its next pass: the clear comes before the timer fired.
    el.run_until_idle().unwrap();
    assert_eq!(late_fired.try_outcome(), Some(ClearOutcome::Cancelled));
    assert_eq!(late_fired.wait(), Ok(ClearOutcome::Cancelled));
    run_virtual(&mut el, &clock);
    assert_eq!(fired.load(Relaxed), 1);
    assert_eq!(clock.now(), ms(5));
    // After it fired, a clear cannot cancel it; the loop answers at its next pass.
    let ticket = el.handle().clear_timer(late);
    el.run_until_idle().unwrap();
    assert_eq!(ticket.wait(), Ok(ClearOutcome::NotPending));
}

/// Runs `body` on a loop built on a thread of its own; fails (instead of hanging) if the loop
/// has not terminated within 10 s. `body` sets things up and must end in a shutdown.
fn on_loop_thread_within_10s(body: impl FnOnce(&mut EventLoop) + Send + 'static) {
    let (handle_tx, handle_rx) = std::sync::mpsc::channel();
    let panics = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let hook_panics = Arc::clone(&panics);
    let loop_thread = std::thread::spawn(move || {
        let mut el = EventLoop::builder()
            .config(Config {
                spin_before_sleep: Duration::ZERO,
                ..Config::default()
            })
            .panic_hook(move |report| {
                let message = report.message().unwrap_or("?").to_string();
                hook_panics.lock().unwrap().push(message);
            })
            .build();
        handle_tx.send(el.handle()).unwrap();
        body(&mut el);
        el.run().unwrap();
    });
    let handle = handle_rx.recv().unwrap();
    let terminated = handle.wait_terminated(Some(Duration::from_secs(10)));
    let panics = panics.lock().unwrap().clone();
    assert!(panics.is_empty(), "callbacks panicked: {panics:?}");
    assert!(
        terminated,
        "the loop did not terminate within 10 s (it is stuck: {:?})",
        handle.state()
    );
    loop_thread.join().unwrap();
}

#[test]
fn waiting_for_a_clear_on_the_loop_thread_is_an_error_not_a_deadlock() {
    on_loop_thread_within_10s(|el| {
        let id = el.set_timeout(ms(50), |_| {}).unwrap();
        el.submit(move |cx| {
            // The Go original blocked here forever, waiting for its own loop.
            assert_eq!(cx.handle().clear_timer(id).wait(), Err(WaitOnLoopThread));
            // The request still went through: the next timer pass applies it before it fires
            // anything.
            cx.set_timeout(Duration::ZERO, |cx| {
                assert_eq!(cx.next_timer_deadline(), None);
                assert_eq!(cx.handle().stats().timers_cancelled, 1);
                cx.shutdown();
            })
            .unwrap();
        })
        .unwrap();
    });
}

#[test]
fn shutdown_cancels_pending_timers_and_drops_their_callbacks() {
    let (mut el, _clock) = manual_loop(Config::default());
    let (counter, drops) = drop_counter();
    for delay in [1, 2, 3] {
        let counter = counter.clone();
        el.set_timeout(ms(delay), move |_| drop(counter)).unwrap();
    }
    let c = counter.clone();
    el.set_interval(ms(1), move |_| {
        let _keep = &c;
    })
    .unwrap();
    drop(counter);
    let handle = el.handle();
    let from_thread = std::thread::spawn({
        let handle = handle.clone();
        move || handle.set_timeout(ms(1), |_| {}).unwrap()
    })
    .join()
    .unwrap();
    handle.shutdown();
    el.run().unwrap();
    assert_eq!(drops.load(Relaxed), 5, "every callback dropped unrun");
    let stats = el.stats();
    assert_eq!((stats.timers_fired, stats.timers_dropped), (0, 5));
    // After termination: sets are refused with their callback, clears answer Terminated.
    assert!(matches!(
        handle.set_timeout(ms(1), |_| {}),
        Err(TimerError::Terminated(_))
    ));
    assert!(matches!(
        el.set_timeout(ms(1), |_| {}),
        Err(TimerError::Terminated(_))
    ));
    assert!(matches!(
        el.set_interval(ms(1), |_| {}),
        Err(TimerError::Terminated(_))
    ));
    assert_eq!(
        handle.clear_timer(from_thread).wait(),
        Ok(ClearOutcome::Terminated)
    );
}

#[test]
fn close_drops_timer_requests_still_in_flight() {
    let (mut el, _clock) = manual_loop(Config::default());
    let handle = el.handle();
    let (counter, drops) = drop_counter();
    let id = handle
        .set_timeout(ms(1), move |_| {
            let _keep = &counter;
        })
        .unwrap();
    let ticket = handle.clear_timer(id);
    handle.close();
    el.run().unwrap();
    assert_eq!(drops.load(Relaxed), 1);
    assert_eq!(ticket.wait(), Ok(ClearOutcome::Terminated));
    assert_eq!(el.stats().timers_dropped, 1);
}

#[test]
fn a_sleeping_loop_wakes_for_its_earliest_timer_on_the_system_clock() {
    // Real time: the loop parks with the deadline as its timeout (never forever with a timer
    // pending) and never fires early.
    on_loop_thread_within_10s(|el| {
        let start = std::time::Instant::now();
        el.set_timeout(ms(30), move |cx| {
            let fired = start.elapsed();
            assert!(fired >= ms(30), "fired early: {fired:?}");
            // (Not under Miri, whose clock and timed parks are virtual.)
            assert!(
                cfg!(miri) || cx.handle().stats().parks >= 2,
                "the loop slept between the timers"
            );
            cx.shutdown();
        })
        .unwrap();
        el.set_timeout(ms(5), |_| {}).unwrap();
    });
}

#[test]
fn a_foreign_set_wakes_a_loop_parked_without_timers() {
    let mut el = EventLoop::builder()
        .config(Config {
            spin_before_sleep: Duration::ZERO,
            ..Config::default()
        })
        .build();
    let handle = el.handle();
    let setter = std::thread::spawn(move || {
        // Wait until the loop has parked with no timer, so only the set can wake it.
        while handle.stats().parks == 0 {
            std::thread::yield_now();
        }
        handle.set_timeout(ms(2), |cx| {
            cx.shutdown();
        })
    });
    el.run().unwrap();
    setter.join().unwrap().unwrap();
    assert_eq!(el.stats().timers_fired, 1);
}

#[test]
fn a_clear_finds_a_timer_set_from_a_handle_before_the_loop_armed_it() {
    let (mut el, clock) = manual_loop(Config::default());
    let ran = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&ran);
    el.submit(move |cx| {
        let id = cx
            .handle()
            .set_timeout(ms(1), move |_| {
                r.fetch_add(1, Relaxed);
            })
            .unwrap();
        assert_eq!(cx.clear_timer(id), ClearOutcome::Cancelled);
    })
    .unwrap();
    run_virtual(&mut el, &clock);
    assert_eq!(ran.load(Relaxed), 0);
    assert_eq!(el.stats().timers_cancelled, 1);
}

#[test]
fn a_microtask_queued_before_a_due_timer_can_still_cancel_it() {
    let (mut el, clock) = manual_loop(Config::default());
    let log = Log::default();
    let l = log.clone();
    let timeout = el
        .set_timeout(ms(1), move |_| l.push("timeout ran"))
        .unwrap();
    let l = log.clone();
    let interval = el
        .set_interval(ms(1), move |_| l.push("interval ran"))
        .unwrap();
    clock.advance_to(ms(1));
    // Queued outside any callback, before the pass that finds both timers due.
    let l = log.clone();
    el.queue_microtask(move |cx| {
        l.push(format!("{:?}", cx.clear_timer(timeout)));
        l.push(format!("{:?}", cx.clear_timer(interval)));
    })
    .unwrap();
    run_virtual(&mut el, &clock);
    assert_eq!(log.take(), ["Cancelled", "Cancelled"]);
    assert_eq!(el.stats().timers_cancelled, 2);
}

#[test]
fn microtasks_of_a_timer_run_at_its_nesting_level_and_see_it_firing() {
    let (mut el, clock) = manual_loop(Config::default());
    let log = Log::default();
    let l = log.clone();
    let id = Rc::new(Cell::new(None));
    let my_id = Rc::clone(&id);
    id.set(Some(
        el.set_interval(ms(1), move |cx| {
            let l = l.clone();
            let my_id = Rc::clone(&my_id);
            cx.queue_microtask(move |cx| {
                // The checkpoint belongs to the interval's task: a clear of it stops it.
                l.push(format!("level {}", cx.local.nesting.get()));
                l.push(format!("{:?}", cx.clear_timer(my_id.get().unwrap())));
            })
            .unwrap();
        })
        .unwrap(),
    ));
    run_virtual(&mut el, &clock);
    assert_eq!(log.take(), ["level 1", "Cancelled"]);
    let stats = el.stats();
    assert_eq!((stats.timers_fired, stats.timers_cancelled), (1, 1));
}

#[test]
fn clears_after_termination_answer_terminated_on_every_thread() {
    let (mut el, _clock) = manual_loop(Config::default());
    let id = el.set_timeout(ms(1), |_| {}).unwrap();
    el.handle().shutdown();
    el.run().unwrap();
    assert_eq!(el.clear_timer(id), ClearOutcome::Terminated);
    assert_eq!(
        el.handle().clear_timer(id).wait(),
        Ok(ClearOutcome::Terminated)
    );
}

#[test]
fn waiting_on_the_owning_thread_before_run_does_not_block() {
    let (el, _clock) = manual_loop(Config::default());
    let id = el.set_timeout(ms(1), |_| {}).unwrap();
    assert_eq!(el.handle().clear_timer(id).wait(), Err(WaitOnLoopThread));
    assert!(
        !el.handle().wait_terminated(None),
        "returns at once before run"
    );
}

#[test]
fn queued_clears_from_other_threads_keep_their_order_and_do_not_nest() {
    let (mut el, clock) = manual_loop(Config::default());
    let x = el.set_timeout(ms(5), |_| panic!("cleared")).unwrap();
    let first = Arc::new(std::sync::Mutex::new(None));
    let tickets = Rc::new(RefCell::new(None));
    let (f, t) = (Arc::clone(&first), Rc::clone(&tickets));
    el.submit(move |cx| {
        // While this task runs, another thread queues a microtask that clears X, then a clear
        // of X, then many clears of IDs that are not live.
        let h = cx.handle();
        let sent = std::thread::spawn(move || {
            h.queue_microtask(move |cx| *f.lock().unwrap() = Some(cx.clear_timer(x)))
                .unwrap();
            let ticket = h.clear_timer(x);
            // Enough to overflow the stack if they nested (they did at about 5,000); fewer
            // under Miri, which interprets every step.
            let many = if cfg!(miri) { 50 } else { 20_000 };
            let dead: Vec<_> = (0..many)
                .map(|_| h.clear_timer(TimerId::new(1 << 40).unwrap()))
                .collect();
            (ticket, dead)
        })
        .join()
        .unwrap();
        *t.borrow_mut() = Some(sent);
        // A clear that misses absorbs all of that: the clears keep their place behind the
        // microtask (and none of them recurses into another).
        assert_eq!(
            cx.clear_timer(TimerId::new(1 << 41).unwrap()),
            ClearOutcome::NotPending
        );
    })
    .unwrap();
    run_virtual(&mut el, &clock);
    assert_eq!(*first.lock().unwrap(), Some(ClearOutcome::Cancelled));
    let (ticket, dead) = tickets.take().unwrap();
    assert_eq!(ticket.wait(), Ok(ClearOutcome::NotPending));
    assert!(
        dead.into_iter()
            .all(|t| t.wait() == Ok(ClearOutcome::NotPending))
    );
}

/// Finding 19 (proofs/timer.md, found with SPIN): termination closes the rings before its state
/// CAS, and a clear refused by the closed ring answers `Terminated` at once. A timer due in that
/// window must not fire afterwards: the pass stops once the ring is closed. The test holds the
/// window open (the rings closed, the CAS 50 ms later) while the loop runs.
#[test]
fn a_clear_refused_by_a_terminating_loop_is_never_followed_by_the_callback() {
    let mut el = EventLoop::new();
    let fired = Rc::new(Cell::new(false));
    let f = Rc::clone(&fired);
    let id = el
        .set_timeout(Duration::ZERO, move |_| f.set(true))
        .unwrap();
    // TR2 of `Shared::terminate`, without TR3 yet.
    el.shared.tasks.close();
    el.shared.microtasks.close();
    let answer = el.handle().clear_timer(id);
    assert_eq!(answer.try_outcome(), Some(ClearOutcome::Terminated));
    let handle = el.handle();
    let terminator = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        handle.shutdown() // TR3 (the rings are already closed)
    });
    el.run().unwrap();
    assert!(
        terminator.join().unwrap(),
        "the delayed CAS won termination"
    );
    assert!(
        !fired.get(),
        "the callback ran after its clear answered Terminated"
    );
    assert_eq!(el.stats().timers_dropped, 1);
}
