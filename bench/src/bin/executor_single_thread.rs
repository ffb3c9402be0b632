//! Executor submit and run paths on one thread, for instruction counts (callgrind).
//!
//! What it measures: for one executor, `N` tasks submitted through the executor's remote-submit
//! API (`phase_submit`), then all of them run by the executor's own dispatch loop (`phase_run`),
//! both on this one thread. Under `valgrind --tool=callgrind`, the inclusive instruction count
//! of each phase divided by `N` is the per-task cost of that side, free of timing noise (but
//! blind to cache misses, contention and wake-ups, which one thread never has). The task is the
//! same closure as in the timed executor rows: it captures one word and bumps a counter.
//!
//! The executors, as in `eventloop_bench::remote`: ours (`Handle::submit`, then
//! `EventLoop::run_until_idle`; the ring is sized to hold all `N`, so this is the lock-free
//! path, as when a consumer keeps up), tokio current-thread (`Handle::spawn` from outside the
//! runtime, then `block_on` until all ran; or an unbounded `tokio::sync::mpsc`, drained inside
//! `block_on`), `std::sync::mpsc` and crossbeam-channel (send, then `recv` and run), and `none`
//! (a plain `Vec` of boxed closures: the allocation, call and free every executor pays).
//!
//! Usage: `executor_single_thread EXECUTOR N` with EXECUTOR one of `none`, `ours`,
//! `tokio_spawn`, `tokio_mpsc`, `std_mpsc`, `crossbeam`. Prints how many tasks ran.

use std::process;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use eventloop_core::EventLoop;
use eventloop_core::driver::Config;

static RAN: AtomicUsize = AtomicUsize::new(0);

type Job = Box<dyn FnOnce() + Send>;

/// The task body of every executor: bump the counter (one runner thread: load + store).
#[inline(always)]
fn bump(counter: &AtomicUsize) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Release);
}

#[inline(never)]
fn phase_submit_none(queue: &mut Vec<Job>, n: usize) {
    let ran: &'static AtomicUsize = &RAN;
    for _ in 0..n {
        queue.push(Box::new(move || bump(ran)));
    }
}

#[inline(never)]
fn phase_run_none(queue: &mut Vec<Job>) {
    for job in queue.drain(..) {
        job();
    }
}

fn none(n: usize) {
    let mut queue = Vec::with_capacity(n);
    phase_submit_none(&mut queue, n);
    phase_run_none(&mut queue);
}

#[inline(never)]
fn phase_submit_ours(handle: &eventloop_core::Handle, n: usize) {
    let ran: &'static AtomicUsize = &RAN;
    for _ in 0..n {
        if handle.submit(move |_cx| bump(ran)).is_err() {
            unreachable!("the loop accepts work");
        }
    }
}

#[inline(never)]
fn phase_run_ours(el: &mut EventLoop) {
    el.run_until_idle().expect("the loop runs");
}

fn ours(n: usize) {
    let mut el = EventLoop::builder()
        .config(Config {
            ring_capacity: n.next_power_of_two().max(2),
            ..Config::default()
        })
        .build();
    let handle = el.handle();
    phase_submit_ours(&handle, n);
    phase_run_ours(&mut el);
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio current-thread runtime")
}

#[inline(never)]
fn phase_submit_tokio_spawn(handle: &tokio::runtime::Handle, n: usize) {
    let ran: &'static AtomicUsize = &RAN;
    for _ in 0..n {
        drop(handle.spawn(async move { bump(ran) }));
    }
}

#[inline(never)]
fn phase_run_tokio_spawn(runtime: &tokio::runtime::Runtime, n: usize) {
    runtime.block_on(async {
        while RAN.load(Ordering::Acquire) < n {
            tokio::task::yield_now().await;
        }
    });
}

fn tokio_spawn(n: usize) {
    let runtime = runtime();
    phase_submit_tokio_spawn(runtime.handle(), n);
    phase_run_tokio_spawn(&runtime, n);
}

#[inline(never)]
fn phase_submit_tokio_mpsc(tx: &tokio::sync::mpsc::UnboundedSender<Job>, n: usize) {
    let ran: &'static AtomicUsize = &RAN;
    for _ in 0..n {
        if tx.send(Box::new(move || bump(ran))).is_err() {
            unreachable!("the receiver is alive");
        }
    }
}

#[inline(never)]
fn phase_run_tokio_mpsc(
    runtime: &tokio::runtime::Runtime,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Job>,
    n: usize,
) {
    runtime.block_on(async {
        for _ in 0..n {
            match rx.recv().await {
                Some(job) => job(),
                None => unreachable!("the sender is alive"),
            }
        }
    });
}

fn tokio_mpsc(n: usize) {
    let runtime = runtime();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Job>();
    phase_submit_tokio_mpsc(&tx, n);
    phase_run_tokio_mpsc(&runtime, &mut rx, n);
}

#[inline(never)]
fn phase_submit_std_mpsc(tx: &mpsc::Sender<Job>, n: usize) {
    let ran: &'static AtomicUsize = &RAN;
    for _ in 0..n {
        if tx.send(Box::new(move || bump(ran))).is_err() {
            unreachable!("the receiver is alive");
        }
    }
}

#[inline(never)]
fn phase_run_std_mpsc(rx: &mpsc::Receiver<Job>, n: usize) {
    for _ in 0..n {
        match rx.recv() {
            Ok(job) => job(),
            Err(_) => unreachable!("the sender is alive"),
        }
    }
}

fn std_mpsc(n: usize) {
    let (tx, rx) = mpsc::channel::<Job>();
    phase_submit_std_mpsc(&tx, n);
    phase_run_std_mpsc(&rx, n);
}

#[inline(never)]
fn phase_submit_crossbeam(tx: &crossbeam_channel::Sender<Job>, n: usize) {
    let ran: &'static AtomicUsize = &RAN;
    for _ in 0..n {
        if tx.send(Box::new(move || bump(ran))).is_err() {
            unreachable!("the receiver is alive");
        }
    }
}

#[inline(never)]
fn phase_run_crossbeam(rx: &crossbeam_channel::Receiver<Job>, n: usize) {
    for _ in 0..n {
        match rx.recv() {
            Ok(job) => job(),
            Err(_) => unreachable!("the sender is alive"),
        }
    }
}

fn crossbeam(n: usize) {
    let (tx, rx) = crossbeam_channel::unbounded::<Job>();
    phase_submit_crossbeam(&tx, n);
    phase_run_crossbeam(&rx, n);
}

fn usage() -> ! {
    eprintln!(
        "usage: executor_single_thread none|ours|tokio_spawn|tokio_mpsc|std_mpsc|crossbeam N"
    );
    process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [executor, n] = args.as_slice() else {
        usage()
    };
    let n: usize = n.parse().unwrap_or_else(|_| usage());
    match executor.as_str() {
        "none" => none(n),
        "ours" => ours(n),
        "tokio_spawn" => tokio_spawn(n),
        "tokio_mpsc" => tokio_mpsc(n),
        "std_mpsc" => std_mpsc(n),
        "crossbeam" => crossbeam(n),
        _ => usage(),
    }
    let ran = RAN.load(Ordering::Acquire);
    assert_eq!(ran, n, "every submitted task ran");
    println!("{executor}: {ran} tasks ran");
}
