//! Graceful shutdown with work in flight: the loop runs on its own thread while three producers
//! keep submitting tasks that take a little time and queue a microtask each. The main thread
//! shuts the loop down mid-stream. From that moment every submit is refused and the task is
//! handed back to its producer; everything accepted before runs to completion, microtasks
//! queued during the final drain included. Nothing is lost and nothing is discarded.
//!
//! Run with `cargo run -p eventloop-core --example graceful_shutdown`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use eventloop_core::{EventLoop, Handle};

const PRODUCERS: usize = 3;
/// Simulated work per task.
const WORK: Duration = Duration::from_micros(100);

fn main() {
    let started = Instant::now();

    // The loop is not `Send`: build it on the thread that runs it and send back a handle.
    let (handle_tx, handle_rx) = mpsc::channel::<Handle>();
    let loop_thread = thread::spawn(move || {
        let mut event_loop = EventLoop::new();
        handle_tx.send(event_loop.handle()).expect("main thread");
        event_loop.run().expect("a fresh loop runs");
        event_loop.stats()
    });
    let handle = handle_rx.recv().expect("the loop thread sends its handle");

    let tasks_ran = Arc::new(AtomicUsize::new(0));
    let microtasks_ran = Arc::new(AtomicUsize::new(0));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let handle = handle.clone();
            let (tasks_ran, microtasks_ran) = (Arc::clone(&tasks_ran), Arc::clone(&microtasks_ran));
            thread::spawn(move || {
                let (mut accepted, mut handed_back) = (0usize, 0usize);
                // Keep submitting until a few submits in a row have been refused.
                while handed_back < 5 {
                    let (tasks_ran, microtasks_ran) =
                        (Arc::clone(&tasks_ran), Arc::clone(&microtasks_ran));
                    let task = move |cx: &eventloop_core::Cx<'_>| {
                        thread::sleep(WORK); // work in flight when the shutdown arrives
                        tasks_ran.fetch_add(1, SeqCst);
                        // Accepted during the drain too: the drain runs it before terminating.
                        cx.queue_microtask(move |_| {
                            microtasks_ran.fetch_add(1, SeqCst);
                        })
                        .expect("microtasks are accepted until the loop has terminated");
                    };
                    match handle.submit(task) {
                        Ok(()) => accepted += 1,
                        Err(rejected) => {
                            // The loop no longer accepts work: the task comes back, unrun. A
                            // real producer could run it elsewhere or report it; we drop it.
                            drop(rejected.into_inner());
                            handed_back += 1;
                        }
                    }
                    thread::sleep(Duration::from_micros(50 * (p as u64 + 1)));
                }
                (accepted, handed_back)
            })
        })
        .collect();

    // Let work pile up, then shut down from this thread (not the loop's).
    thread::sleep(Duration::from_millis(100));
    let backlog = tasks_ran.load(SeqCst);
    assert!(handle.shutdown(), "the first shutdown starts termination");
    let shutdown_at = started.elapsed();
    assert!(!handle.shutdown(), "shutdown is idempotent");
    assert!(
        handle.submit(|_| ()).is_err(),
        "refused once shutdown returned"
    );

    let mut accepted = 0;
    let mut handed_back = 0;
    for producer in producers {
        let (a, h) = producer.join().expect("producer thread");
        accepted += a;
        handed_back += h;
    }
    assert!(handle.wait_terminated(Some(Duration::from_secs(5))));
    let stats = loop_thread.join().expect("loop thread");

    let (ran, micro) = (tasks_ran.load(SeqCst), microtasks_ran.load(SeqCst));
    println!("shutdown after {shutdown_at:.2?}, when {backlog} tasks had run");
    println!("accepted {accepted} tasks; {ran} ran, with {micro} microtasks");
    println!("{handed_back} submits after the shutdown were refused and handed back");
    println!(
        "loop: {} tasks, {} microtasks, {} discarded; finished in {:.2?}",
        stats.tasks_run,
        stats.microtasks_run,
        stats.discarded,
        started.elapsed()
    );
    assert_eq!(ran, accepted, "every accepted task ran");
    assert_eq!(
        micro, accepted,
        "every microtask queued by them ran, in the drain too"
    );
    assert_eq!(stats.discarded, 0, "a graceful shutdown discards nothing");
    assert_eq!(handed_back, PRODUCERS * 5);
}
