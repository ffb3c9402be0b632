//! A loop fed from several threads: four producers submit macrotasks (each queueing a
//! microtask) through clones of one `Handle` while the loop runs on the main thread; the last
//! producer to finish shuts the loop down. Each producer's tasks run in the order it submitted
//! them, every one exactly once; a summary of the loop's counters is printed at the end.
//!
//! Run with `cargo run -p eventloop-core --example multi_producer`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::thread;
use std::time::Instant;

use eventloop_core::EventLoop;

const PRODUCERS: usize = 4;
const TASKS_PER_PRODUCER: usize = 25_000;

fn main() {
    let started = Instant::now();
    let mut event_loop = EventLoop::new();
    let handle = event_loop.handle();

    // Per producer: the sequence number its next task must carry (touched only by the loop
    // thread, so Relaxed is enough) and how many of its microtasks ran.
    let next_seq: Arc<Vec<AtomicUsize>> =
        Arc::new((0..PRODUCERS).map(|_| AtomicUsize::new(0)).collect());
    let microtasks: Arc<Vec<AtomicUsize>> =
        Arc::new((0..PRODUCERS).map(|_| AtomicUsize::new(0)).collect());
    let still_producing = Arc::new(AtomicUsize::new(PRODUCERS));

    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let handle = handle.clone();
            let (next_seq, microtasks) = (Arc::clone(&next_seq), Arc::clone(&microtasks));
            let still_producing = Arc::clone(&still_producing);
            thread::spawn(move || {
                for seq in 0..TASKS_PER_PRODUCER {
                    let (next_seq, microtasks) = (Arc::clone(&next_seq), Arc::clone(&microtasks));
                    handle
                        .submit(move |cx| {
                            // Per-producer FIFO: this is the task the producer submitted next.
                            assert_eq!(next_seq[p].swap(seq + 1, Relaxed), seq);
                            cx.queue_microtask(move |_| {
                                microtasks[p].fetch_add(1, Relaxed);
                            })
                            .expect("the loop accepts microtasks while it runs");
                        })
                        .expect("the loop accepts work until the last producer shuts it down");
                }
                // The last producer to finish stops the loop; graceful, so everything already
                // submitted still runs.
                if still_producing.fetch_sub(1, Relaxed) == 1 {
                    handle.shutdown();
                }
            })
        })
        .collect();

    event_loop.run().expect("a fresh loop runs");
    for producer in producers {
        producer.join().expect("producer thread");
    }

    let stats = event_loop.stats();
    let elapsed = started.elapsed();
    println!("{PRODUCERS} producers x {TASKS_PER_PRODUCER} tasks in {elapsed:.2?}");
    for p in 0..PRODUCERS {
        let ran = next_seq[p].load(Relaxed);
        let micro = microtasks[p].load(Relaxed);
        println!("  producer {p}: {ran} tasks ran in submission order, {micro} microtasks");
        assert_eq!((ran, micro), (TASKS_PER_PRODUCER, TASKS_PER_PRODUCER));
    }
    println!(
        "loop: {} tasks, {} microtasks, {} panics, {} discarded; slept {} times, parked {}, woken by producers {}",
        stats.tasks_run,
        stats.microtasks_run,
        stats.panics,
        stats.discarded,
        stats.sleeps,
        stats.parks,
        stats.unparks
    );
    assert_eq!(stats.tasks_run, PRODUCERS * TASKS_PER_PRODUCER);
    assert_eq!(stats.microtasks_run, PRODUCERS * TASKS_PER_PRODUCER);
    assert_eq!(stats.discarded, 0);
}
