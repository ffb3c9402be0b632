//! The microtask ring: an unbounded multi-producer, single-consumer FIFO queue.
//!
//! A fixed ring of `capacity` slots (a power of two) takes pushes without locking; a burst that
//! finds the ring full spills into a mutex-protected overflow, and FIFO holds across the spill.
//!
//! # Ground rules
//!
//! - **Who may touch what.** [`Producer`]s (cloneable, `Send + Sync`) push from any thread.
//!   There is exactly one [`Consumer`] (not `Clone`; popping takes `&mut self`), so the
//!   single-consumer rule cannot be broken in safe code.
//! - **Ring slots.** Each slot has a `stamp` that says whose turn it is. For the slot of index
//!   `i` (indices count pushes, modulo 2^(usize::BITS − 1)):
//!
//!   | stamp | meaning | who may touch the value |
//!   |---|---|---|
//!   | `i` | free for the push of index `i` | the producer whose CAS moves `tail` from `i` to `i + 1` |
//!   | `i + 1` | published | the consumer, when its `head` is `i` |
//!   | `i + capacity` | released: free for the push of index `i + capacity` | the next lap's producer |
//!
//!   A producer claims index `tail` by CAS, writes the value, then stores `stamp = i + 1`
//!   (Release). The consumer reads the value only after it loads `stamp == i + 1` (Acquire),
//!   moves it out, then stores `stamp = i + capacity` (Release); the next lap's producer writes
//!   only after it loads that stamp (Acquire). So no value is read before it is published and no
//!   slot is reused before the consumer is done with it.
//! - **Overflow and FIFO.** The overflow has two parts: the shared queue, which producers append
//!   to under the overflow lock, and the consumer's private stash. `spilled` is true exactly
//!   while the shared queue holds items (it is written only under the lock). A push that
//!   happens after a spill sees `spilled` and appends behind it, so nothing overtakes a value in
//!   the shared queue. The consumer moves the *whole* shared queue into its stash at once (one
//!   lock per batch), and only when the ring is empty *as seen under the lock*, so nothing that
//!   went into the ring before a spill is overtaken either. The stash is then older than
//!   anything pushed after the move, and the consumer always pops it first: so the move clears
//!   `spilled`, and pushes go back to the lock-free ring at once.
//! - **No spinning on a descheduled producer.** If the head slot is claimed but not yet
//!   published, [`Consumer::try_pop`] returns [`PopError::Pending`] at once. That producer's
//!   own wake-up of the consumer comes after its publish.
//! - **Closing.** [`Producer::close`] / [`Consumer::close`] set a bit in `tail` (and a flag under
//!   the overflow lock). A push is accepted iff its `tail` CAS succeeded, or its append happened
//!   under the lock, before the close: a rejected value is handed back in [`PushError`], and an
//!   accepted one is popped or dropped with the ring — never lost. Dropping the consumer closes.
//! - **Memory.** The ring is allocated once. While spills go on, the consumer hands its drained
//!   stash buffer back to the producers at the next move, so a sustained overload reuses two
//!   buffers instead of growing new ones. When a spell of spilling ends (the stash drains with no
//!   new spill, or the consumer finds the shared queue empty) both buffers shrink to
//!   [`OVERFLOW_RESERVE`] slots.
//!
//! The argument in full (invariants, linearization points, the ordering table) is in
//! `proofs/ring.md`; every `Ordering` below names what it pairs with.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use core::fmt;
use core::mem::{self, MaybeUninit};

use crate::sync::atomic::{
    AtomicBool, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release},
};
use crate::sync::cell::UnsafeCell;
use crate::sync::{Arc, CachePadded, Mutex, hint};

/// Ring capacity used by [`new`]: 4096 slots in production, 4 under loom (so that wrap-around
/// and overflow happen within a few steps of a model).
pub const DEFAULT_CAPACITY: usize = if cfg!(loom) { 4 } else { 4096 };

/// Largest accepted ring capacity: 2^30 slots on 64-bit targets, 2^28 on 32-bit ones. The index
/// arithmetic needs a capacity at most a quarter of the index range (`usize::BITS - 1` bits).
pub const MAX_CAPACITY: usize = if usize::BITS > 32 { 1 << 30 } else { 1 << 28 };

/// Overflow slots kept allocated after a burst drains; anything above is returned to the allocator.
pub const OVERFLOW_RESERVE: usize = 64;

/// Top bit of `tail`: set once by `close`, never cleared.
const CLOSED: usize = 1 << (usize::BITS - 1);
/// Indices and stamps live below the `CLOSED` bit and wrap there.
const INDEX_MASK: usize = !CLOSED;

#[inline(always)]
const fn index_add(index: usize, n: usize) -> usize {
    index.wrapping_add(n) & INDEX_MASK
}

/// Creates a ring with [`DEFAULT_CAPACITY`] slots and returns its two halves.
pub fn new<T: Send>() -> (Producer<T>, Consumer<T>) {
    match with_capacity(DEFAULT_CAPACITY) {
        Ok(halves) => halves,
        Err(_) => unreachable!("DEFAULT_CAPACITY is a power of two within bounds"),
    }
}

/// Creates a ring with `capacity` lock-free slots (a power of two from 2 to [`MAX_CAPACITY`]);
/// the overflow behind it is unbounded.
pub fn with_capacity<T: Send>(
    capacity: usize,
) -> Result<(Producer<T>, Consumer<T>), CapacityError> {
    if !capacity.is_power_of_two() || !(2..=MAX_CAPACITY).contains(&capacity) {
        return Err(CapacityError {
            requested: capacity,
        });
    }
    let slots = (0..capacity)
        .map(|index| Slot {
            stamp: AtomicUsize::new(index),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        })
        .collect();
    let shared = Arc::new(Shared {
        producers: CachePadded::new(ProducerLine {
            tail: AtomicUsize::new(0),
            spilled: AtomicBool::new(false),
        }),
        slots,
        mask: capacity - 1,
        capacity,
        overflow: Mutex::new(Overflow {
            queue: VecDeque::new(),
            closed: false,
        }),
        final_head: AtomicUsize::new(0),
    });
    let producer = Producer {
        shared: Arc::clone(&shared),
    };
    let consumer = Consumer {
        shared,
        head: 0,
        stash: VecDeque::new(),
    };
    Ok((producer, consumer))
}

/// The capacity given to [`with_capacity`] was not a power of two from 2 to [`MAX_CAPACITY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapacityError {
    /// The rejected capacity.
    pub requested: usize,
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ring capacity must be a power of two from 2 to {MAX_CAPACITY}, got {}",
            self.requested
        )
    }
}

impl core::error::Error for CapacityError {}

/// A push to a closed ring: the value is handed back untouched.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PushError<T>(pub T);

impl<T> PushError<T> {
    /// Returns the value that was not pushed.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PushError(..)")
    }
}

impl<T> fmt::Display for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the ring is closed; the value is handed back")
    }
}

impl<T> core::error::Error for PushError<T> {}

/// Why [`Consumer::try_pop`] returned no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopError {
    /// Nothing is queued.
    Empty,
    /// A producer has claimed the next slot but not yet written it. The consumer does not wait
    /// for it: that producer's push completes on its own, and whatever wake-up protocol the
    /// caller uses runs after it.
    Pending,
    /// The ring is closed and every accepted value has been popped: nothing will ever arrive.
    Closed,
}

/// The pushing half. Clone it for every producer thread; it is `Send + Sync`.
pub struct Producer<T> {
    shared: Arc<Shared<T>>,
}

/// The popping half. There is exactly one; popping needs `&mut self`.
pub struct Consumer<T> {
    shared: Arc<Shared<T>>,
    /// Index of the next slot to pop. Only the consumer reads or writes it.
    head: usize,
    /// Items taken from the shared overflow queue in one batch: older than anything pushed since,
    /// so they are popped before the ring.
    stash: VecDeque<T>,
}

struct Slot<T> {
    stamp: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// The words every push reads, on one line of their own: the consumer writes here only on the
/// rare transitions of `spilled` and on close.
struct ProducerLine {
    /// Next index to claim, plus the `CLOSED` bit.
    tail: AtomicUsize,
    /// True exactly while the shared overflow queue is non-empty. Written only under the
    /// overflow lock: set by an append, cleared when the consumer takes the whole queue.
    spilled: AtomicBool,
}

struct Overflow<T> {
    queue: VecDeque<T>,
    closed: bool,
}

struct Shared<T> {
    producers: CachePadded<ProducerLine>,
    slots: Box<[Slot<T>]>,
    mask: usize,
    capacity: usize,
    overflow: Mutex<Overflow<T>>,
    /// The consumer's `head`, written once when the consumer is dropped, so that dropping the
    /// last half can drop what is left in the ring.
    final_head: AtomicUsize,
}

// SAFETY: values of `T` are moved in by producers and out by the one consumer, never shared:
// `Shared` may cross threads whenever `T` may be sent. Slot access is arbitrated by the stamp
// protocol (module docs), the overflow by its mutex.
unsafe impl<T: Send> Sync for Shared<T> {}
// SAFETY: as above; `Shared` owns `T`s only to hand them to the consumer or drop them.
unsafe impl<T: Send> Send for Shared<T> {}

enum RingPush<T> {
    Full(T),
    Closed(T),
}

impl<T> Shared<T> {
    /// Pushes into the lock-free ring, or reports why it cannot.
    #[inline]
    fn push_ring(&self, value: T) -> Result<(), RingPush<T>> {
        let tail_word = &self.producers.tail;
        // Relaxed: pairs with nothing. A stale `tail` only costs a failed CAS or a retry below;
        // it publishes nothing.
        let mut tail = tail_word.load(Relaxed);
        loop {
            if tail & CLOSED != 0 {
                return Err(RingPush::Closed(value));
            }
            let slot = &self.slots[tail & self.mask];
            // Acquire pairs with the consumer's Release store of `index + capacity` in
            // `Consumer::pop_ring`: its move-out of the previous lap's value happens-before our
            // write of this lap's value (no slot reuse before the consumer is done).
            let stamp = slot.stamp.load(Acquire);
            let lag = tail.wrapping_sub(stamp) & INDEX_MASK;
            if lag == 0 {
                // Relaxed both ways: pairs with nothing. The CAS only makes the claim exclusive
                // (RMW atomicity); the value is
                // published by the stamp store below, not through `tail`.
                match tail_word.compare_exchange_weak(tail, index_add(tail, 1), Relaxed, Relaxed) {
                    Ok(_) => {
                        slot.value.with_mut(|cell| {
                            // SAFETY: the CAS made this producer the only one that owns index
                            // `tail`, and the stamp (`== tail`) shows the consumer released it.
                            unsafe { (*cell).write(value) };
                        });
                        // Release pairs with the consumer's Acquire load in `Consumer::pop_ring`:
                        // the write above happens-before its read.
                        slot.stamp.store(index_add(tail, 1), Release);
                        return Ok(());
                    }
                    Err(current) => tail = current,
                }
            } else if lag <= self.capacity {
                // The slot still holds (or is being filled with) the value of index
                // `tail - capacity`: the ring is full.
                return Err(RingPush::Full(value));
            } else {
                // The stamp is ahead of our `tail`: other pushes moved on. Reload.
                hint::spin_loop();
                // Relaxed: pairs with nothing, as the first load above.
                tail = tail_word.load(Relaxed);
            }
        }
    }

    /// Appends to the overflow. `only_if_spilled` is the path taken when `spilled` was seen set:
    /// if the consumer has emptied the overflow since, the value goes back to the ring.
    #[cold]
    fn push_overflow(&self, mut value: T, mut only_if_spilled: bool) -> Result<(), PushError<T>> {
        loop {
            let mut overflow = self.overflow.lock();
            if overflow.closed {
                return Err(PushError(value));
            }
            // Relaxed: pairs with nothing; written only under this lock, which we hold.
            if only_if_spilled && !self.producers.spilled.load(Relaxed) {
                drop(overflow);
                match self.push_ring(value) {
                    Ok(()) => return Ok(()),
                    Err(RingPush::Closed(v)) => return Err(PushError(v)),
                    Err(RingPush::Full(v)) => {
                        value = v;
                        only_if_spilled = false;
                        continue;
                    }
                }
            }
            overflow.queue.push_back(value);
            // Relaxed: pairs with nothing; written under the lock. See `Producer::push` for why
            // readers need only coherence, and `Consumer::try_pop` for the consumer's side.
            self.producers.spilled.store(true, Relaxed);
            return Ok(());
        }
    }

    fn close(&self) -> bool {
        let mut overflow = self.overflow.lock();
        let first = !overflow.closed;
        overflow.closed = true;
        // Relaxed: pairs with nothing. The bit is an RMW on `tail`, so every claim CAS ordered
        // after it fails;
        // claims ordered before it are below the final tail and get published on their own.
        // Holding the overflow lock makes the close of both paths one step for lock takers.
        self.producers.tail.fetch_or(CLOSED, Relaxed);
        first
    }

    fn is_closed(&self) -> bool {
        // Relaxed: pairs with nothing; a snapshot. Callers that need the exact answer hold or
        // take the lock.
        self.producers.tail.load(Relaxed) & CLOSED != 0
    }
}

impl<T> Producer<T> {
    /// Appends `value` at the back of the queue.
    ///
    /// Never blocks on the consumer and never fails while the ring is open. When the ring is
    /// full, or an earlier push spilled and the consumer has not yet taken it, the value goes to
    /// the overflow (a short critical section with no user code). If `push(a)` happens-before
    /// `push(b)`, `a` is popped before `b`, wherever each went.
    ///
    /// # Errors
    /// [`PushError`] with the value, if the ring was closed.
    #[inline]
    pub fn push(&self, value: T) -> Result<(), PushError<T>> {
        let shared = &*self.shared;
        // Relaxed (it pairs with nothing) is enough for FIFO: if an earlier push (happens-before
        // this one) spilled, its
        // `spilled = true` happens-before this load, so by coherence we read `true` or a later
        // value. A later `false` is written only by the consumer when it moved the whole shared
        // queue, that earlier item included, into its stash (popped before the ring) or found
        // it empty. Reading `true` sends us through the lock.
        if shared.producers.spilled.load(Relaxed) {
            return shared.push_overflow(value, true);
        }
        match shared.push_ring(value) {
            Ok(()) => Ok(()),
            Err(RingPush::Full(value)) => shared.push_overflow(value, false),
            Err(RingPush::Closed(value)) => Err(PushError(value)),
        }
    }

    /// Closes the ring: every later push is handed back; everything accepted before stays
    /// poppable. Returns `true` for the call that closed it, `false` if it was already closed.
    pub fn close(&self) -> bool {
        self.shared.close()
    }

    /// Whether the ring is closed (a snapshot: it can become true right after).
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Number of lock-free slots.
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }
}

impl<T> Clone for Producer<T> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Consumer<T> {
    /// Pops the oldest value, or `None` if nothing is ready (see [`try_pop`](Self::try_pop) for
    /// which case it was).
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        self.try_pop().ok()
    }

    /// Pops the oldest value, or says why there is none. Never waits on a producer.
    ///
    /// # Errors
    /// [`PopError::Empty`] when nothing is queued, [`PopError::Pending`] when the next value is
    /// being written by a producer, [`PopError::Closed`] when the ring is closed and drained.
    #[inline]
    pub fn try_pop(&mut self) -> Result<T, PopError> {
        // Stash first: it was moved out of the shared queue while the ring was empty (under the
        // lock), so no value in the ring now was pushed before any of it (proofs/ring.md, R2).
        if !self.stash.is_empty() {
            return Ok(self.pop_stash());
        }
        if let Some(value) = self.pop_ring() {
            return Ok(value);
        }
        // Inline answer for the common "nothing queued" case (a loop checks empty queues on every
        // checkpoint): nothing claimed, nothing spilled, not closed (`head` has no CLOSED bit, so
        // equality also says open). Relaxed: pairs with nothing, as in `try_pop_slow`, which
        // decides every other case.
        if self.shared.producers.tail.load(Relaxed) == self.head
            && !self.shared.producers.spilled.load(Relaxed)
        {
            return Err(PopError::Empty);
        }
        self.try_pop_slow()
    }

    #[inline]
    fn pop_stash(&mut self) -> T {
        let Some(value) = self.stash.pop_front() else {
            unreachable!("pop_stash on an empty stash")
        };
        // Relaxed: pairs with nothing; a hint about memory only (see `release_stash_if_idle`).
        if self.stash.is_empty() && !self.shared.producers.spilled.load(Relaxed) {
            self.release_stash_if_idle();
        }
        value
    }

    /// The stash drained and nothing has spilled since it was taken: the spell of spilling is
    /// over, so both overflow buffers go back to the allocator (down to the reserve). Rare: once
    /// per spell, not per value.
    #[cold]
    fn release_stash_if_idle(&mut self) {
        self.stash.shrink_to(OVERFLOW_RESERVE);
        let mut overflow = self.shared.overflow.lock();
        if overflow.queue.is_empty() {
            overflow.queue.shrink_to(OVERFLOW_RESERVE);
        }
    }

    /// The ring's head slot is not ready: tell `Pending` from `Empty`, or take the overflow.
    #[cold]
    fn try_pop_slow(&mut self) -> Result<T, PopError> {
        loop {
            // Relaxed: pairs with nothing. Compared with our own `head`; a stale value can only
            // make a claimed slot
            // look unclaimed, and the decision that matters is re-made under the lock below.
            let tail = self.shared.producers.tail.load(Relaxed);
            if tail & INDEX_MASK != self.head {
                return Err(PopError::Pending);
            }
            // Relaxed: pairs with nothing; a hint. A set flag is acted on under the lock. A
            // stale `false` means the
            // spill is concurrent with this pop (a spill that happens-before it is seen, by
            // coherence); wake-up protocols order this load with a SeqCst fence of their own.
            if !self.shared.producers.spilled.load(Relaxed) && tail & CLOSED == 0 {
                return Err(PopError::Empty);
            }
            match self.take_overflow() {
                TakeOverflow::Taken => return Ok(self.pop_stash()),
                TakeOverflow::RingNotEmpty => match self.pop_ring() {
                    Some(value) => return Ok(value),
                    None => continue,
                },
                TakeOverflow::Empty => return Err(PopError::Empty),
                TakeOverflow::Closed => return Err(PopError::Closed),
            }
        }
    }

    #[inline]
    fn pop_ring(&mut self) -> Option<T> {
        let shared = &*self.shared;
        let slot = &shared.slots[self.head & shared.mask];
        // Acquire pairs with the producer's Release store of `index + 1` in `push_ring`: its
        // write of the value happens-before our read.
        if slot.stamp.load(Acquire) != index_add(self.head, 1) {
            return None;
        }
        let value = slot.value.with_mut(|cell| {
            // SAFETY: stamp `head + 1` means the producer of index `head` wrote the value and
            // nobody else touches the slot until we release it below.
            unsafe { cell.cast::<T>().read() }
        });
        // Release pairs with the next lap's producer's Acquire load in `push_ring`: the read
        // above happens-before its write.
        slot.stamp
            .store(index_add(self.head, shared.capacity), Release);
        self.head = index_add(self.head, 1);
        Some(value)
    }

    #[cold]
    fn take_overflow(&mut self) -> TakeOverflow {
        debug_assert!(self.stash.is_empty());
        let shared = &*self.shared;
        let mut overflow = shared.overflow.lock();
        // Relaxed (it pairs with nothing) suffices: if push(x) into the ring happens-before
        // push(o) into the overflow,
        // x's claim happens-before o's append, which happens-before this load through the lock.
        // So the claim is visible here and we go back to the ring first (FIFO across overflow).
        let tail = shared.producers.tail.load(Relaxed);
        if tail & INDEX_MASK != self.head {
            return TakeOverflow::RingNotEmpty;
        }
        if overflow.queue.is_empty() {
            // Reached only on a closed ring: on an open one we get here after reading `spilled`
            // set, and only this consumer empties the shared queue. Return its memory anyway.
            // Relaxed: pairs with nothing; written under the lock.
            shared.producers.spilled.store(false, Relaxed);
            overflow.queue.shrink_to(OVERFLOW_RESERVE);
            self.stash.shrink_to(OVERFLOW_RESERVE);
            return if overflow.closed {
                TakeOverflow::Closed
            } else {
                TakeOverflow::Empty
            };
        }
        // Take the whole batch; the producers append to our drained buffer from now on. The
        // batch is older than every later push and is popped first, so the ring is usable again:
        // clear `spilled`. Relaxed: written under the lock; see `Producer::push` for why
        // producers need only coherence, and proofs/ring.md (R2 (iii)) for the stash order.
        mem::swap(&mut overflow.queue, &mut self.stash);
        // Relaxed: pairs with nothing (see above).
        shared.producers.spilled.store(false, Relaxed);
        TakeOverflow::Taken
    }

    /// Closes the ring (see [`Producer::close`]). The consumer can still pop what was accepted.
    pub fn close(&self) -> bool {
        self.shared.close()
    }

    /// Whether the ring is closed (a snapshot, unless this consumer closed it).
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Whether nothing is queued. A racy snapshot: a concurrent push may land right after, and
    /// a push that is claimed but not yet published counts as queued.
    pub fn is_empty(&self) -> bool {
        // Relaxed: pairs with nothing; a snapshot (see `try_pop`).
        self.stash.is_empty()
            && self.shared.producers.tail.load(Relaxed) & INDEX_MASK == self.head
            && !self.shared.producers.spilled.load(Relaxed)
    }

    /// Whether [`try_pop`](Self::try_pop) would return a value now. Unlike
    /// [`is_empty`](Self::is_empty), a slot that is claimed but not yet published does not
    /// count: its producer is still inside `push`, and a wake-up protocol that has that producer
    /// read the loop state after publishing (proofs/wake.md) lets the loop sleep on it.
    ///
    /// A racy snapshot. Used for a sleep decision, it must come after a SeqCst fence that
    /// follows the loop's publication of its Sleeping state.
    pub fn is_ready(&self) -> bool {
        if !self.stash.is_empty() {
            return true;
        }
        let shared = &*self.shared;
        // Was Acquire; weakened after `make orderings` (proofs/orderings.md). Only the answer is
        // used: the pop that follows re-loads the stamp with Acquire (read-read coherence gives
        // it the same or a later stamp), and a sleep decision is ordered by the caller's SeqCst
        // fence (wake.md). Relaxed: pairs with nothing; no value is read through this load.
        if shared.slots[self.head & shared.mask].stamp.load(Relaxed) == index_add(self.head, 1) {
            return true;
        }
        // Relaxed: pairs with nothing; snapshots ordered by the caller's fence. The shared overflow
        // queue is poppable only when the ring is empty.
        shared.producers.tail.load(Relaxed) & INDEX_MASK == self.head
            && shared.producers.spilled.load(Relaxed)
    }

    /// Number of values queued: a racy snapshot. Takes the overflow lock when the overflow is
    /// in use.
    pub fn len(&self) -> usize {
        let shared = &*self.shared;
        // Relaxed: pairs with nothing; a snapshot.
        let in_ring = shared.producers.tail.load(Relaxed).wrapping_sub(self.head) & INDEX_MASK;
        // Relaxed: pairs with nothing; a snapshot. The count itself is read under the lock.
        let in_overflow = if shared.producers.spilled.load(Relaxed) {
            shared.overflow.lock().queue.len()
        } else {
            0
        };
        in_ring + in_overflow + self.stash.len()
    }

    /// Number of lock-free slots.
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// Overflow slots currently allocated (shared queue plus the consumer's stash). Once a burst
    /// has drained (the consumer popped the last value of the last batch it took, with no spill
    /// since), this is at most 2 × [`OVERFLOW_RESERVE`] (proofs/ring.md, R5). For a zero-sized
    /// `T` nothing is ever allocated and this reports `usize::MAX` (a `VecDeque` of zero-sized
    /// values reports unbounded capacity).
    pub fn overflow_allocation(&self) -> usize {
        // Saturating: a zero-sized `T` reports `usize::MAX` capacity.
        self.shared
            .overflow
            .lock()
            .queue
            .capacity()
            .saturating_add(self.stash.capacity())
    }
}

enum TakeOverflow {
    Taken,
    RingNotEmpty,
    Empty,
    Closed,
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        // Nobody can pop any more: refuse further pushes so nothing piles up unseen.
        self.shared.close();
        // Relaxed: pairs with nothing itself. Read in `Shared::drop`, which runs after the last
        // `Arc` is released; Arc's
        // release/acquire on the count orders this store before that read.
        self.shared.final_head.store(self.head, Relaxed);
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // Every handle is gone, so every claimed slot is published (a push finishes before its
        // `&Producer` borrow ends). Drop each value still in the ring, exactly once.
        // Relaxed: pairs with nothing itself; see `Consumer::drop`. Ordered by the last `Arc`
        // release/acquire.
        let mut index = self.final_head.load(Relaxed);
        // Relaxed: pairs with nothing, as the load above.
        let tail = self.producers.tail.load(Relaxed) & INDEX_MASK;
        while index != tail {
            let slot = &self.slots[index & self.mask];
            // Relaxed: pairs with nothing; no other thread is left (the last Arc drop
            // synchronized with them all).
            let stamp = slot.stamp.load(Relaxed);
            debug_assert_eq!(
                stamp,
                index_add(index, 1),
                "claimed slot left unpublished at drop"
            );
            slot.value.with_mut(|cell| {
                // SAFETY: `index` lies in [head, tail), so the slot holds a published value the
                // consumer never took; we are the only thread left.
                unsafe { cell.cast::<T>().drop_in_place() };
            });
            index = index_add(index, 1);
        }
        // The overflow queue drops its own values.
    }
}

impl<T> fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("capacity", &self.shared.capacity)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("capacity", &self.shared.capacity)
            .field("head", &self.head)
            .field("stashed", &self.stash.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

#[cfg(not(loom))]
mod assertions {
    use super::{Consumer, Producer};
    use alloc::boxed::Box;
    use alloc::rc::Rc;
    use static_assertions::{assert_impl_all, assert_not_impl_any, const_assert};

    type Task = Box<dyn FnOnce() + Send>;
    assert_impl_all!(Producer<Task>: Send, Sync, Clone);
    assert_impl_all!(Consumer<Task>: Send);
    assert_not_impl_any!(Consumer<Task>: Clone);
    assert_not_impl_any!(Producer<Rc<u8>>: Send, Sync);
    assert_not_impl_any!(Consumer<Rc<u8>>: Send);
    const_assert!(super::DEFAULT_CAPACITY.is_power_of_two());
    const_assert!(super::MAX_CAPACITY.is_power_of_two());
    const_assert!(super::MAX_CAPACITY <= super::INDEX_MASK / 4);
}

#[cfg(all(test, not(loom), not(feature = "shuttle")))]
mod tests;
