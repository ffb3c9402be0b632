//! The promise handle on a scheduler that implements only the required methods of
//! [`Scheduler`], so that its provided ones (`schedule_ordered`, `is_current_thread`) are the
//! ones exercised; the handle's queries; the promise layer's error messages.

use super::{AggregateError, Failure, Job, Promise, Scheduler, TrackedRejection, WaitOnLoopThread};
use crate::sync::DynArc;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

/// A FIFO queue of jobs, run by the test with `run_all`; everything else left to the defaults.
#[derive(Default)]
struct MinimalQueue {
    jobs: Mutex<Vec<Job>>,
}

impl Scheduler for MinimalQueue {
    fn schedule(&self, job: Job) -> Result<(), Job> {
        self.jobs.lock().unwrap().push(job);
        Ok(())
    }
    fn track_rejection(&self, _: TrackedRejection) {}
    fn handled_later(&self, _: TrackedRejection) {}
}

impl MinimalQueue {
    /// Runs queued jobs (and the jobs they queue) until none is left; returns how many ran.
    fn run_all(&self) -> usize {
        let mut ran = 0;
        loop {
            let jobs = core::mem::take(&mut *self.jobs.lock().unwrap());
            if jobs.is_empty() {
                return ran;
            }
            for job in jobs {
                job.run();
                ran += 1;
            }
        }
    }
}

fn on_queue() -> (DynArc<MinimalQueue>, DynArc<dyn Scheduler>) {
    let queue = DynArc::new(MinimalQueue::default());
    let scheduler: DynArc<dyn Scheduler> = queue.clone();
    (queue, scheduler)
}

/// A reaction registered after the settlement goes through `schedule_ordered`, whose default
/// must hand the job to `schedule` (not drop it): both reactions run, in registration order.
#[test]
fn the_default_schedule_ordered_runs_reactions_registered_after_settlement() {
    let (queue, scheduler) = on_queue();
    let (p, resolver) = Promise::<u32, Failure>::new(scheduler);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    let before = p.then(move |v| {
        s.lock().unwrap().push(("before", *v));
        Ok(())
    });
    resolver.resolve(7).unwrap();
    let s = Arc::clone(&seen);
    let after = p.then(move |v| {
        s.lock().unwrap().push(("after", *v));
        Ok(())
    });
    assert!(queue.run_all() >= 2);
    assert_eq!(*seen.lock().unwrap(), [("before", 7), ("after", 7)]);
    assert_eq!(before.outcome(), Some(&Ok(())));
    assert_eq!(after.outcome(), Some(&Ok(())));
}

/// The default `is_current_thread` says no, so a blocking wait on such a scheduler's promise
/// blocks until another thread settles it instead of refusing with `WaitOnLoopThread`.
#[test]
#[cfg_attr(
    miri,
    ignore = "a blocking wait on a condition variable: slow under Miri"
)]
fn the_default_is_current_thread_lets_a_wait_block() {
    let (queue, scheduler) = on_queue();
    assert!(!scheduler.is_current_thread());
    let (p, resolver) = Promise::<u32, Failure>::new(scheduler);
    let done = Arc::new(AtomicBool::new(false));
    // The settler also runs the queue (the waiter is woken by a reaction job) until the wait
    // has returned.
    let settler = std::thread::spawn({
        let done = Arc::clone(&done);
        move || {
            resolver.resolve(3).unwrap();
            while !done.load(SeqCst) {
                queue.run_all();
                std::thread::yield_now();
            }
        }
    });
    assert_eq!(p.wait(), Ok(Ok(3)));
    done.store(true, SeqCst);
    settler.join().unwrap();
}

#[test]
fn is_pending_and_ptr_eq_tell_the_state_and_the_identity() {
    let (_queue, scheduler) = on_queue();
    let (p, resolver) = Promise::<u32, Failure>::new(scheduler.clone());
    let (other, _other_resolver) = Promise::<u32, Failure>::new(scheduler);
    assert!(p.is_pending());
    assert!(p.ptr_eq(&p.clone()));
    assert!(!p.ptr_eq(&other));
    assert_ne!(p.id(), other.id());
    resolver.resolve(1).unwrap();
    assert!(!p.is_pending());
}

/// The messages a host shows its users (through `Display`) say what happened.
#[test]
fn errors_display_what_happened() {
    let cases: Vec<(String, &str)> = vec![
        (
            Failure::Panicked(Some("boom".into())).to_string(),
            "a reaction panicked: boom",
        ),
        (Failure::Panicked(None).to_string(), "a reaction panicked"),
        (
            Failure::Cycle.to_string(),
            "chaining cycle: a promise was resolved with itself",
        ),
        (
            Failure::Abandoned.to_string(),
            "the promise can no longer be settled",
        ),
        (Failure::Terminated.to_string(), "the event loop terminated"),
        (
            AggregateError::<u8>::Rejected(vec![]).to_string(),
            "no promise to fulfil",
        ),
        (
            AggregateError::Rejected(vec![1u8, 2]).to_string(),
            "all 2 promises were rejected",
        ),
        (
            AggregateError::<u8>::Failure(Failure::Terminated).to_string(),
            "the event loop terminated",
        ),
        (
            WaitOnLoopThread.to_string(),
            "a blocking wait on the loop's own thread would wait for itself",
        ),
    ];
    for (shown, expected) in cases {
        assert_eq!(shown, expected);
    }
}
