//! Models of the microtask ring (`core/src/ring.rs`); claims R1–R5 of `proofs/ring.md`.
//!
//! Every value pushed is a [`Token`] that records its drop: a token dropped twice panics at
//! once (duplication), and each model ends by checking that every token was dropped exactly
//! once (no loss, no leak). Under loom the consumer makes a fixed number of pop attempts while
//! the producers run (loom has no fairness, so it cannot spin), then drains after joining them.

use std::sync::Arc as StdArc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use eventloop_core::ring::{self, Consumer, PopError, Producer};
use eventloop_models::{Model, check, scale, thread};

/// A pushed value: producer `from`, its `seq`-th push. Drops are counted per value.
struct Token {
    from: usize,
    seq: usize,
    ledger: StdArc<Ledger>,
}

struct Ledger {
    per_producer: usize,
    drops: Vec<AtomicUsize>,
}

impl Ledger {
    fn new(producers: usize, per_producer: usize) -> StdArc<Self> {
        StdArc::new(Self {
            per_producer,
            drops: (0..producers * per_producer)
                .map(|_| AtomicUsize::new(0))
                .collect(),
        })
    }

    fn token(self: &StdArc<Self>, from: usize, seq: usize) -> Token {
        Token {
            from,
            seq,
            ledger: StdArc::clone(self),
        }
    }

    /// Every token was dropped exactly once.
    fn assert_all_dropped_once(&self) {
        for (i, d) in self.drops.iter().enumerate() {
            assert_eq!(
                d.load(SeqCst),
                1,
                "token {i} dropped {} times",
                d.load(SeqCst)
            );
        }
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        let prev =
            self.ledger.drops[self.from * self.ledger.per_producer + self.seq].fetch_add(1, SeqCst);
        assert_eq!(
            prev, 0,
            "token ({}, {}) dropped twice: duplicated by the ring",
            self.from, self.seq
        );
    }
}

/// Pops while producers may still run: at most `attempts` tries under loom, otherwise until
/// `want` values arrived (yielding on `Empty`/`Pending`).
fn pop_concurrently(
    consumer: &mut Consumer<Token>,
    got: &mut Vec<(usize, usize)>,
    want: usize,
    attempts: usize,
) {
    let mut tries = 0;
    while got.len() < want && (!cfg!(loom) || tries < attempts) {
        tries += 1;
        match consumer.try_pop() {
            Ok(t) => got.push((t.from, t.seq)),
            Err(PopError::Empty | PopError::Pending) => thread::yield_now(),
            Err(PopError::Closed) => unreachable!("nobody closed the ring"),
        }
    }
}

/// After every producer has returned, nothing is pending: pop until `Empty`.
fn drain_quiescent(consumer: &mut Consumer<Token>, got: &mut Vec<(usize, usize)>) {
    loop {
        match consumer.try_pop() {
            Ok(t) => got.push((t.from, t.seq)),
            Err(PopError::Empty) => return,
            Err(e) => panic!("quiescent ring reported {e:?}"),
        }
    }
}

/// No loss, no duplication, and each producer's values in its push order.
fn assert_conserved_and_fifo(got: &[(usize, usize)], producers: usize, per_producer: usize) {
    assert_eq!(
        got.len(),
        producers * per_producer,
        "lost or duplicated values ({} popped)",
        got.len()
    );
    for p in 0..producers {
        let seqs = got.iter().filter(|(from, _)| *from == p).map(|&(_, s)| s);
        if let Some((expected, seen)) = seqs.enumerate().find(|(i, s)| i != s) {
            panic!("producer {p}: its pop #{expected} returned its push #{seen}: FIFO violated");
        }
    }
}

fn spawn_producers(
    producer: &Producer<Token>,
    ledger: &StdArc<Ledger>,
    producers: usize,
) -> Vec<thread::JoinHandle<()>> {
    (0..producers)
        .map(|from| {
            let producer = producer.clone();
            let ledger = StdArc::clone(ledger);
            thread::spawn(move || {
                for seq in 0..ledger.per_producer {
                    assert!(
                        producer.push(ledger.token(from, seq)).is_ok(),
                        "open ring refused a push"
                    );
                }
            })
        })
        .collect()
}

/// The body of models (a)–(c): `producers` threads push `per_producer` tokens each into a ring
/// of `capacity` slots while the consumer pops (at most `attempts` tries under loom); after the
/// join it drains. Checks conservation and per-producer FIFO, and, once the producer half is
/// dropped, that every token was dropped exactly once. Returns the drained consumer for checks
/// of its own state; dropping it afterwards drops nothing (the ring is empty).
fn run_producers_then_drain(
    producers: usize,
    per_producer: usize,
    capacity: usize,
    attempts: usize,
) -> Consumer<Token> {
    let ledger = Ledger::new(producers, per_producer);
    let (producer, mut consumer) = ring::with_capacity(capacity).unwrap();
    let handles = spawn_producers(&producer, &ledger, producers);
    let mut got = Vec::new();
    pop_concurrently(&mut consumer, &mut got, producers * per_producer, attempts);
    for h in handles {
        h.join().unwrap();
    }
    drain_quiescent(&mut consumer, &mut got);
    assert_conserved_and_fifo(&got, producers, per_producer);
    drop(producer);
    ledger.assert_all_dropped_once();
    consumer
}

/// Capacities cycle through 2, 4, 8 across runs (loom: always 2).
fn capacity_for_run() -> usize {
    static RUN: AtomicUsize = AtomicUsize::new(0);
    if cfg!(loom) {
        2
    } else {
        [2, 4, 8][RUN.fetch_add(1, SeqCst) % 3]
    }
}

/// (a) R1 conservation and per-producer FIFO: 2 producers × 2 pushes into capacity 2 under loom
/// (so the ring fills and spills); 4 producers × 50 pushes into capacities 2–8 under shuttle.
#[test]
fn ring_a_producers_fifo_conservation() {
    check(
        Model::new("ring_a_producers_fifo_conservation").preemption_bound(2),
        || {
            run_producers_then_drain(scale(2, 4, 4), scale(2, 50, 500), capacity_for_run(), 2);
        },
    );
}

/// (b) R2 FIFO across overflow: one producer pushes past the ring's capacity (so a value
/// spills) while the consumer pops and frees slots; the spilled value must not be overtaken by
/// a later push that finds room in the ring, nor overtake an earlier one still in the ring.
/// Also R5: the overflow's memory is back to the reserve once drained.
#[test]
fn ring_b_spill_while_popping_keeps_fifo() {
    check(
        Model::new("ring_b_spill_while_popping_keeps_fifo").preemption_bound(3),
        || {
            let consumer = run_producers_then_drain(1, scale(4, 200, 2000), capacity_for_run(), 3);
            assert!(
                consumer.overflow_allocation() <= 2 * ring::OVERFLOW_RESERVE,
                "overflow memory kept after drain"
            );
        },
    );
}

/// (c) R3 no read before publish, no overwrite: a producer laps a capacity-2 ring while the
/// consumer is slow, so slots are reused. loom checks every access to a slot's value against the
/// stamp protocol (a causality violation fails the model); the values check no overwrite.
#[test]
fn ring_c_slot_reuse_under_wraparound() {
    check(
        Model::new("ring_c_slot_reuse_under_wraparound").preemption_bound(3),
        || {
            // The slow consumer: one pop attempt between yields.
            run_producers_then_drain(scale(1, 3, 3), scale(3, 60, 600), 2, 4);
        },
    );
}

/// (d) R4 drop with values in flight: producers push while the consumer pops once and is then
/// dropped (which closes the ring). Every value is dropped exactly once: popped ones by the
/// consumer, refused ones by their producer (handed back), the rest with the ring.
#[test]
fn ring_d_drop_with_values_in_flight() {
    check(
        Model::new("ring_d_drop_with_values_in_flight").preemption_bound(2),
        || {
            let producers = 2;
            let per_producer = scale(2, 40, 400);
            let ledger = Ledger::new(producers, per_producer);
            let refused = StdArc::new(AtomicUsize::new(0));
            let (producer, mut consumer) = ring::with_capacity(2).unwrap();
            let handles: Vec<_> = (0..producers)
                .map(|from| {
                    let producer = producer.clone();
                    let ledger = StdArc::clone(&ledger);
                    let refused = StdArc::clone(&refused);
                    thread::spawn(move || {
                        for seq in 0..per_producer {
                            if let Err(back) = producer.push(ledger.token(from, seq)) {
                                let token = back.into_inner();
                                assert_eq!(
                                    (token.from, token.seq),
                                    (from, seq),
                                    "handed back someone else's value"
                                );
                                refused.fetch_add(1, SeqCst);
                            }
                        }
                    })
                })
                .collect();
            drop(producer);
            let popped = consumer.pop().is_some() as usize;
            drop(consumer);
            for h in handles {
                h.join().unwrap();
            }
            assert!(popped + refused.load(SeqCst) <= producers * per_producer);
            ledger.assert_all_dropped_once();
        },
    );
}
