//! The promise registry: weak references to the pending promises a loop owns, scavenged in
//! small batches, compacted when few are live, and rejected with
//! [`Failure::Terminated`](crate::promise::Failure::Terminated) when the loop terminates, so that
//! no waiter hangs on a promise nobody will settle. The argument is `proofs/registry.md`.
//!
//! # Ground rules
//!
//! - A [`Registry`] belongs to one thread (the loop's): every operation takes `&mut self`, and it
//!   has no atomics of its own. What is concurrent is the promises: any thread may settle them
//!   or drop their handles while the registry looks at them or rejects them. A promise's
//!   settlement cell decides every race (the first settler wins, proofs/promise.md P2): the
//!   registry's reject is one more settler, never a second outcome.
//! - Entries are [`WeakPromise`]s: the registry never keeps a promise alive (under loom see
//!   `promise::weak`). A pending promise with a resolver is never dead (the resolver holds it);
//!   a dead one needs no rejection (nobody can wait on it).
//! - **Register** ([`Registry::register`]) is a `Vec` push. Only when the vector is full, past
//!   [`MIN_CAPACITY`], does it sweep first (remove every dead or settled entry), and the vector
//!   grows only if more than half of it is still pending after the sweep: a full vector that is
//!   mostly garbage is reused, never doubled. Amortized O(1).
//! - **Scavenge** ([`Registry::scavenge`], once per loop tick) examines a batch of entries from
//!   a rotating cursor and swap-removes the dead and settled ones (the entry moved into the hole
//!   is examined next, so the cursor never skips one). A batch that was mostly garbage goes on:
//!   it stops at the first point where it examined at least `budget` entries and removed at
//!   most half of them, so examined ≤ max(budget, 2 × removed + 1) — O(budget) per tick plus
//!   O(1) per entry ever registered — and never examines more than `len + removed` entries, which
//!   is enough for a full pass. Then it **compacts**: past [`MIN_CAPACITY`], a vector whose
//!   live share fell below a quarter of its capacity shrinks to twice its length (memory
//!   returned).
//! - **Close** ([`Registry::close`]) refuses every later registration and hands back every
//!   entry; the owner rejects them ([`WeakPromise::reject_terminated`]) and rejects at once any
//!   promise whose registration is refused. [`Registry::reject_all`] does both steps.
//! - Probing an entry can drop a promise whose last other handle went meanwhile, which runs its
//!   outcome's destructor (user code) inside `register`, `scavenge` or `sweep`. At every point
//!   where that can happen the registry is consistent (the probed entry is still in the vector;
//!   a removed one is out of it), so a panicking destructor unwinds through a valid registry; the
//!   driver keeps its registry in a `RefCell` and registers elsewhere while it is borrowed.
//! - [`Inbox`] is the registry's door for other threads (a short lock around a `Vec` push); the
//!   owner moves its entries into the registry once per tick, and closes it together with the
//!   registry. A thread that finds it full sweeps it outside the lock.

use alloc::vec::Vec;
use core::fmt;
use core::mem;

use crate::promise::WeakPromise;
use crate::sync::Mutex;
use crate::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// Entries examined per tick by the loop's scavenge (a batch that is mostly garbage goes on).
pub const SCAVENGE_BATCH: usize = 32;

/// Capacity below which the registry neither sweeps on registration nor shrinks.
pub const MIN_CAPACITY: usize = 64;

/// Weak references to pending promises, owned by one thread; see the module docs.
pub struct Registry {
    entries: Vec<WeakPromise>,
    /// Where the next scavenge starts. Every entry below it was examined, and pending, since
    /// the cursor last wrapped to 0.
    cursor: usize,
    closed: bool,
}

/// What one [`Registry::scavenge`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scavenged {
    /// Entries probed.
    pub examined: usize,
    /// Entries removed (dead or settled).
    pub removed: usize,
}

impl Registry {
    /// An empty, open registry (allocates nothing).
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
            cursor: 0,
            closed: false,
        }
    }

    /// Adds `promise`. A push; when the vector is full past [`MIN_CAPACITY`], a sweep first,
    /// and growth only if more than half of it is still pending (module docs).
    ///
    /// # Errors
    /// The entry back if the registry is closed: the caller rejects its promise at once.
    pub fn register(&mut self, promise: WeakPromise) -> Result<(), WeakPromise> {
        if self.closed {
            return Err(promise);
        }
        let capacity = self.entries.capacity();
        if self.entries.len() == capacity && capacity >= MIN_CAPACITY {
            // A destructor run by the sweep may panic: `promise` unwinds with the caller's
            // frame (its promise is never handed out), the registry stays valid.
            self.sweep();
            if self.entries.len() > capacity / 2 {
                // Mostly pending: double (the push below would; made explicit for the bound).
                self.entries
                    .reserve_exact(2 * capacity - self.entries.len());
            }
        }
        self.entries.push(promise);
        Ok(())
    }

    /// Moves every entry of `incoming` in (the driver's [`Inbox`] hand-over). Runs no
    /// destructor.
    ///
    /// # Errors
    /// The entries back if the registry is closed.
    pub fn absorb(&mut self, mut incoming: Vec<WeakPromise>) -> Result<(), Vec<WeakPromise>> {
        if self.closed {
            return Err(incoming);
        }
        if self.entries.is_empty() && incoming.capacity() > self.entries.capacity() {
            mem::swap(&mut self.entries, &mut incoming);
        }
        self.entries.append(&mut incoming);
        Ok(())
    }

    /// Examines up to `budget` entries from the cursor (more while the batch is mostly
    /// garbage), removing the dead and settled ones, then compacts (module docs).
    pub fn scavenge(&mut self, budget: usize) -> Scavenged {
        // Every examination is of an entry this call has not examined yet, except right after a
        // removal, which may move an examined entry into the hole: `len + removed` examinations
        // cover every entry present now (a full pass, if the budget allows) and never exceed
        // twice the length.
        let len = self.entries.len();
        let mut done = Scavenged::default();
        while done.examined < len + done.removed
            && (done.examined < budget || 2 * done.removed > done.examined)
        {
            if self.cursor >= self.entries.len() {
                if self.entries.is_empty() {
                    break;
                }
                self.cursor = 0;
            }
            done.examined += 1;
            if !self.remove_if_done(self.cursor) {
                self.cursor += 1;
            } else {
                done.removed += 1;
            }
        }
        self.compact();
        done
    }

    /// Removes every dead or settled entry (O(len)); the cursor starts over. Returns how many.
    pub fn sweep(&mut self) -> usize {
        let mut removed = 0;
        let mut index = 0;
        while index < self.entries.len() {
            if self.remove_if_done(index) {
                removed += 1;
            } else {
                index += 1;
            }
        }
        self.cursor = 0;
        removed
    }

    /// Probes the entry at `index`; if its promise is dead or settled, swap-removes it (the last
    /// entry moves into `index`). Returns whether it removed.
    fn remove_if_done(&mut self, index: usize) -> bool {
        // The probe may run a destructor (module docs); the entry is still in place if it panics.
        if self.entries[index].is_pending() {
            return false;
        }
        // Dropping a weak reference runs no user code (under loom it may: the entry is then out
        // of the vector already).
        drop(self.entries.swap_remove(index));
        true
    }

    /// Past [`MIN_CAPACITY`], shrinks a vector whose entries fill less than a quarter of it to
    /// twice their number.
    fn compact(&mut self) {
        let capacity = self.entries.capacity();
        if capacity > MIN_CAPACITY && self.entries.len() < capacity / 4 {
            self.entries
                .shrink_to(MIN_CAPACITY.max(2 * self.entries.len()));
        }
        if self.cursor > self.entries.len() {
            self.cursor = 0;
        }
    }

    /// Closes the registry: later registrations are refused. Returns every entry (the vector's
    /// memory goes with them); the caller rejects their promises.
    pub fn close(&mut self) -> Vec<WeakPromise> {
        self.closed = true;
        self.cursor = 0;
        mem::take(&mut self.entries)
    }

    /// [`close`](Self::close), then rejects every promise still pending with
    /// [`Failure::Terminated`](crate::promise::Failure::Terminated). Returns how many this call
    /// settled (the others had settled, or were settled first by a racing settler). Rejecting
    /// runs destructors (reactions the terminated scheduler refuses); they may register more
    /// promises only elsewhere (the registry is borrowed), and those are refused: closed.
    pub fn reject_all(&mut self) -> usize {
        self.close()
            .iter()
            .filter(|entry| entry.reject_terminated())
            .count()
    }

    /// Entries held (pending, or settled or dead and not yet scavenged).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The vector's capacity (what compaction returns).
    pub fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("len", &self.entries.len())
            .field("capacity", &self.entries.capacity())
            .field("cursor", &self.cursor)
            .field("closed", &self.closed)
            .finish()
    }
}

/// Registrations from other threads for a [`Registry`] owned by one thread: a `Vec` under a
/// lock, and a hint that it is not empty. See the module docs.
///
/// Every entry pushed here is, at every moment, in exactly one place: this vector, a sweeping
/// thread's hands (it puts them back under the lock, or rejects them if the inbox closed
/// meanwhile), or whatever [`take`](Self::take) or [`close`](Self::close) returned.
pub struct Inbox {
    slot: Mutex<Slot>,
    /// Set (under the lock) when entries are waiting; cleared by `take`. Only a hint.
    waiting: AtomicBool,
}

struct Slot {
    entries: Vec<WeakPromise>,
    closed: bool,
}

impl Inbox {
    /// An empty, open inbox.
    pub fn new() -> Self {
        Self {
            slot: Mutex::new(Slot {
                entries: Vec::new(),
                closed: false,
            }),
            waiting: AtomicBool::new(false),
        }
    }

    /// Registers `promise`, or rejects it at once if the inbox is closed. Returns how many
    /// promises this call rejected (`promise`, or a swept batch that came back to a closed
    /// inbox).
    pub fn register(&self, promise: WeakPromise) -> usize {
        let mut slot = self.slot.lock();
        if slot.closed {
            drop(slot);
            return usize::from(promise.reject_terminated());
        }
        let capacity = slot.entries.capacity();
        let full = slot.entries.len() == capacity && capacity >= MIN_CAPACITY;
        slot.entries.push(promise);
        // Relaxed: pairs with nothing; a hint for the owner's next `take`; the entries themselves
        // travel under the lock, and `close` takes them whatever the hint says.
        self.waiting.store(true, Relaxed);
        if !full {
            return 0;
        }
        // The push grew the vector: sweep it instead, outside the lock (a probe may run a
        // promise's destructor, which may register more promises here).
        let taken = mem::take(&mut slot.entries);
        drop(slot);
        let mut back = PutBack {
            inbox: self,
            entries: taken,
        };
        back.entries.retain(WeakPromise::is_pending);
        back.put_back()
    }

    /// Takes the waiting entries (for the owner's registry), if the hint says there are any.
    pub fn take(&self) -> Vec<WeakPromise> {
        // Relaxed: pairs with nothing (see `register`); a stale `false` delays the hand-over to the
        // next call.
        if !self.waiting.load(Relaxed) {
            return Vec::new();
        }
        let mut slot = self.slot.lock();
        // Relaxed: cleared under the lock, before the entries are taken; a `register` that
        // pushes after this (under the same lock) sets it again. Pairs with nothing: a hint.
        self.waiting.store(false, Relaxed);
        mem::take(&mut slot.entries)
    }

    /// Closes the inbox (later registrations are rejected at once) and takes every entry.
    pub fn close(&self) -> Vec<WeakPromise> {
        let mut slot = self.slot.lock();
        slot.closed = true;
        // Relaxed: pairs with nothing; a hint (see `register`). Once closed, nothing is pushed any
        // more.
        self.waiting.store(false, Relaxed);
        mem::take(&mut slot.entries)
    }
}

/// A swept batch on its way back into the inbox: put back under the lock, or rejected if the
/// inbox closed meanwhile; by `put_back`, or by `Drop` if a destructor run by the sweep panics.
struct PutBack<'a> {
    inbox: &'a Inbox,
    entries: Vec<WeakPromise>,
}

impl PutBack<'_> {
    /// Puts the entries back; returns how many promises it rejected (the inbox had closed).
    fn put_back(mut self) -> usize {
        self.return_entries()
    }

    fn return_entries(&mut self) -> usize {
        let mut entries = mem::take(&mut self.entries);
        let mut slot = self.inbox.slot.lock();
        if slot.closed {
            drop(slot);
            return entries
                .drain(..)
                .filter(|entry| entry.reject_terminated())
                .count();
        }
        entries.append(&mut slot.entries);
        // Room for as many pushes as there are entries before the next sweep (amortized O(1)),
        // and no more than four times what is there.
        entries.reserve(entries.len().max(MIN_CAPACITY));
        if entries.capacity() > MIN_CAPACITY.max(4 * entries.len()) {
            entries.shrink_to(MIN_CAPACITY.max(2 * entries.len()));
        }
        slot.entries = entries;
        // Relaxed: pairs with nothing; a hint, see `Inbox::register`.
        self.inbox.waiting.store(true, Relaxed);
        0
    }
}

impl Drop for PutBack<'_> {
    fn drop(&mut self) {
        if !self.entries.is_empty() {
            self.return_entries();
        }
    }
}

impl Default for Inbox {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Inbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbox").finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom), not(feature = "shuttle")))]
mod tests;
