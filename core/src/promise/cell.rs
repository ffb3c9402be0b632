//! The settlement cell: one outcome, settled once from any thread, and a lock-free list of
//! reactions registered before, during or after the settlement. Each registered reaction is
//! handed out exactly once: to the settler (in the list it takes) or back to its registrar
//! (who found the cell settled and must schedule it itself).
//!
//! # Protocol
//!
//! One word, `state`, holds the head of the reaction list (a pointer to a [`Header`], aligned to
//! at least 4) and a two-bit tag in the pointer's low bits. The word is an `AtomicPtr` and the
//! tag is set and cleared with `map_addr` (strict provenance: no integer-to-pointer cast, so Miri
//! checks it under `-Zmiri-strict-provenance`):
//!
//! | tag | meaning | outcome slot | a registration |
//! |---|---|---|---|
//! | `PENDING` | no settler yet | empty | pushes its node |
//! | `CLAIMED` | a settler won and is writing the outcome | written by that settler only | pushes |
//! | `PUBLISHED` | the outcome is readable; the settler is handing out the list | read-only | pushes |
//! | `SETTLED` (null list) | final: every pushed node was handed to the settler's `schedule` | read-only | gets its node back |
//!
//! - **settle(o, schedule)** (S1) CAS the tag `PENDING → CLAIMED` (at most one settler ever
//!   wins; the others get `o` back); (S2) write `o`; (S3) `swap(PUBLISHED, AcqRel)` takes the
//!   list; (S4) `schedule` it in registration order; (S5) CAS `PUBLISHED → SETTLED` (Release):
//!   if nodes were pushed meanwhile the CAS fails, and the settler takes them with another swap
//!   (Acquire) and goes back to S4. S3's Release publishes S2 (the later swaps continue its
//!   release sequence); Acquire on S3 and on the retry swaps makes the registrars' nodes visible;
//!   S5's Release orders `schedule`'s effects before a registrar that reads SETTLED.
//! - **register(r)** (R1) link the node in front of the head; (R2) CAS it in (Release,
//!   publishes the node), keeping the tag, retried on contention; if the state is `SETTLED`
//!   (read with Acquire, so the outcome and everything the settler did before S5 are visible),
//!   the node comes back to the registrar.
//! - **read** `outcome()` is `Some` once an Acquire load sees `PUBLISHED` or `SETTLED`, which
//!   synchronizes with S3: no reader sees a settled cell without its outcome.
//!
//! Exactly once (proofs/promise.md, P1): every successful R2 comes before S5's final CAS in the
//! modification order of `state` (that CAS succeeds only on an empty `PUBLISHED` word, and R2
//! changes the word), so the node is in a list some swap takes; a registration that reads
//! `SETTLED` pushed nothing. No node is in both places, none in neither.
//!
//! Order: if `register(a)` happens-before `register(b)` and `b` comes back, `a` was pushed
//! before the final S5, so `schedule` saw it before S5, and S5 (Release) happens-before `b`'s
//! Acquire read of `SETTLED`: whoever schedules `b` does so after `a` was scheduled. With a FIFO
//! scheduler (the loop's microtask queue), reactions run in registration order, also across the
//! race. The settler never waits for a registrar: registrars that keep pushing keep it in S4–S5,
//! each round handing out what they pushed.
//!
//! Nodes are thin (a header with two function pointers, then the closure), so one reaction is
//! one allocation; each list is LIFO and the settler reverses it.

use alloc::boxed::Box;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr;

use crate::sync::atomic::{
    AtomicPtr,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};
use crate::sync::cell::UnsafeCell;

const PENDING: usize = 0b00;
const CLAIMED: usize = 0b01;
const PUBLISHED: usize = 0b10;
const SETTLED: usize = 0b11;
const TAGS: usize = 0b11;

/// The tag of a state word.
fn tag_of<O>(word: *mut Header<O>) -> usize {
    word.addr() & TAGS
}

/// The list head of a state word: the tag bits cleared, the head's provenance kept.
fn head_of<O>(word: *mut Header<O>) -> *mut Header<O> {
    word.map_addr(|addr| addr & !TAGS)
}

/// A state word with an empty list and the tag `tag` (never dereferenced, so no provenance).
fn bare<O>(tag: usize) -> *mut Header<O> {
    ptr::without_provenance_mut(tag)
}

/// The header every reaction node starts with (`repr(C)`, so a pointer to a node is a pointer to
/// its header).
#[repr(C)]
struct Header<O> {
    /// The facade's `UnsafeCell`, so that loom and shuttle check every access to the link that
    /// the registrar writes (R1) and the settler reads after its swap: a missing
    /// Release/Acquire pair on the state word shows up as a race on it. Free in production.
    next: UnsafeCell<*mut Header<O>>,
    /// Runs the reaction with the outcome and frees the node.
    run: unsafe fn(*mut Header<O>, &O),
    /// Frees the node without running it (the cell was dropped unsettled).
    discard: unsafe fn(*mut Header<O>),
}

#[repr(C)]
struct Node<O, F> {
    header: Header<O>,
    reaction: F,
}

/// A reaction: a closure to run once with the outcome, in one allocation (a thin node, so the
/// cell's list costs no allocation beyond the closure's own).
pub struct Reaction<O> {
    node: *mut Header<O>,
    _owns: PhantomData<OwnedClosure<O>>,
}

/// What a [`Reaction`] owns, for variance and drop-check purposes.
type OwnedClosure<O> = Box<dyn FnOnce(&O) + Send>;

// SAFETY: a `Reaction` owns a node whose closure is `Send` (enforced by `Reaction::new`); moving
// the node to another thread moves the closure.
unsafe impl<O> Send for Reaction<O> {}

impl<O> Reaction<O> {
    /// Allocates the node for `reaction` (the one allocation of a reaction).
    pub fn new<F: FnOnce(&O) + Send + 'static>(reaction: F) -> Self {
        unsafe fn run<O, F: FnOnce(&O)>(node: *mut Header<O>, outcome: &O) {
            // SAFETY: `node` came from `Box::into_raw` of a `Node<O, F>` (`Reaction::new`) and
            // is owned by the caller, who gives it up here; `repr(C)` puts the header first.
            let node = unsafe { Box::from_raw(node.cast::<Node<O, F>>()) };
            (node.reaction)(outcome);
        }
        unsafe fn discard<O, F>(node: *mut Header<O>) {
            // SAFETY: as in `run`.
            drop(unsafe { Box::from_raw(node.cast::<Node<O, F>>()) });
        }
        let node = Box::new(Node {
            header: Header {
                next: UnsafeCell::new(ptr::null_mut()),
                run: run::<O, F>,
                discard: discard::<O, F>,
            },
            reaction,
        });
        Self {
            node: Box::into_raw(node).cast::<Header<O>>(),
            _owns: PhantomData,
        }
    }

    /// Runs the reaction with `outcome`, consuming it.
    pub fn run(self, outcome: &O) {
        let node = self.node;
        core::mem::forget(self);
        // SAFETY: we own `node`, a live node from `Reaction::new` (forgotten above, so `Drop`
        // will not free it too).
        let run = unsafe { (*node).run };
        // SAFETY: `run` was set for the node's concrete type by `Reaction::new`; it takes over
        // the node.
        unsafe { run(node, outcome) }
    }
}

impl<O> Drop for Reaction<O> {
    fn drop(&mut self) {
        // SAFETY: an unrun reaction owns its live node.
        let discard = unsafe { (*self.node).discard };
        // SAFETY: `discard` frees the node with its concrete type; nobody uses it afterwards.
        unsafe { discard(self.node) }
    }
}

/// The reactions a settler took, in registration order (an iterator; unrun ones are dropped
/// with it).
pub struct Reactions<O> {
    head: *mut Header<O>,
}

// SAFETY: owns its nodes, whose closures are `Send` (see `Reaction`).
unsafe impl<O> Send for Reactions<O> {}

impl<O> Reactions<O> {
    /// A list of one reaction (one that came back from [`SettleCell::register`]).
    pub(super) fn single(reaction: Reaction<O>) -> Self {
        let node = reaction.node;
        core::mem::forget(reaction);
        // SAFETY: we own the node (taken from the reaction, which is forgotten). Its `next` may
        // hold a stale head from a failed registration attempt: cut it.
        unsafe { set_next(node, ptr::null_mut()) };
        Self { head: node }
    }

    /// The list as a raw pointer (for a [`Job`](super::Job)); [`Reactions::from_raw`] takes it
    /// back.
    pub(super) fn into_raw(self) -> *mut () {
        let head = self.head;
        core::mem::forget(self);
        head.cast::<()>()
    }

    /// # Safety
    /// `raw` comes from [`Reactions::into_raw`] of a `Reactions<O>` (same `O`), once.
    pub(super) unsafe fn from_raw(raw: *mut ()) -> Self {
        Self {
            head: raw.cast::<Header<O>>(),
        }
    }

    /// True if no reaction was registered before the settlement.
    pub fn is_empty(&self) -> bool {
        self.head.is_null()
    }

    /// Runs every reaction in registration order with `outcome`. A panicking reaction is the
    /// caller's to contain: the ones after it are dropped unrun by `Drop`, so wrap each reaction
    /// in its own guard if they must all run (the promise layer does).
    pub fn run_all(mut self, outcome: &O) {
        while let Some(reaction) = self.pop() {
            reaction.run(outcome);
        }
    }

    fn pop(&mut self) -> Option<Reaction<O>> {
        if self.head.is_null() {
            return None;
        }
        let node = self.head;
        // SAFETY: `node` is a node of this list, which we own.
        self.head = unsafe { get_next(node) };
        Some(Reaction {
            node,
            _owns: PhantomData,
        })
    }
}

impl<O> core::fmt::Debug for Reactions<O> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Reactions")
            .field("empty", &self.is_empty())
            .finish()
    }
}

impl<O> core::fmt::Debug for Reaction<O> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Reaction(..)")
    }
}

impl<O> core::fmt::Debug for SettleCell<O> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SettleCell")
            .field("settled", &self.outcome().is_some())
            .finish()
    }
}

impl<O> Default for SettleCell<O> {
    fn default() -> Self {
        Self::new()
    }
}

impl<O> Iterator for Reactions<O> {
    type Item = Reaction<O>;
    fn next(&mut self) -> Option<Reaction<O>> {
        self.pop()
    }
}

impl<O> Drop for Reactions<O> {
    fn drop(&mut self) {
        while self.pop().is_some() {}
    }
}

/// Reads a node's link.
///
/// # Safety
/// `node` is live and the caller owns it (or its list), so nobody writes the link meanwhile.
unsafe fn get_next<O>(node: *mut Header<O>) -> *mut Header<O> {
    // SAFETY: see the function's contract: `node` is live.
    let link = unsafe { &(*node).next };
    // SAFETY: `with` gives a valid pointer to the link, which nobody writes meanwhile.
    link.with(|next| unsafe { *next })
}

/// Writes a node's link.
///
/// # Safety
/// `node` is live and owned by the caller, so nobody else reads or writes the link meanwhile.
unsafe fn set_next<O>(node: *mut Header<O>, next: *mut Header<O>) {
    // SAFETY: see the function's contract: `node` is live.
    let link = unsafe { &(*node).next };
    // SAFETY: `with_mut` gives a valid pointer to the link, which nobody else reads or writes
    // meanwhile.
    link.with_mut(|slot| unsafe { *slot = next })
}

/// Reverses a LIFO chain of nodes (newest first) into registration order.
fn reverse<O>(mut head: *mut Header<O>) -> *mut Header<O> {
    let mut reversed = ptr::null_mut();
    while !head.is_null() {
        // SAFETY: the chain was taken whole from the cell by its one settler; we own its nodes,
        // and `head` is one of them.
        let next = unsafe { get_next(head) };
        // SAFETY: as above.
        unsafe { set_next(head, reversed) };
        reversed = head;
        head = next;
    }
    reversed
}

/// The settlement cell of one promise: `O` is the outcome (`Result<T, E>` for promises). Share
/// it (in an `Arc`) between the settlers and the registrars; see the module docs.
pub struct SettleCell<O> {
    state: AtomicPtr<Header<O>>,
    outcome: UnsafeCell<MaybeUninit<O>>,
}

// SAFETY: the outcome is written once by the one settler before it is published (Release) and
// only read after (Acquire); nodes are `Send` and change owner through the AcqRel protocol above.
// `O: Send` to settle from another thread, `O: Sync` to read it from several.
unsafe impl<O: Send + Sync> Sync for SettleCell<O> {}
// SAFETY: as above; the cell owns its outcome and its nodes.
unsafe impl<O: Send> Send for SettleCell<O> {}

impl<O> SettleCell<O> {
    /// A pending cell with no reaction.
    pub fn new() -> Self {
        const { assert!(align_of::<Header<()>>() > TAGS) };
        Self {
            state: AtomicPtr::new(bare(PENDING)),
            outcome: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// A cell that is settled from the start (no atomic protocol needed: not shared yet).
    pub fn settled(outcome: O) -> Self {
        Self {
            state: AtomicPtr::new(bare(SETTLED)),
            outcome: UnsafeCell::new(MaybeUninit::new(outcome)),
        }
    }

    /// Settles the cell, if no settler won before, and hands every reaction registered before
    /// the settlement completes to `schedule`, in batches, in registration order. Returns the
    /// outcome back if another settler won.
    ///
    /// `schedule` should only queue the reactions (for example as microtasks), not run user
    /// code: registrations that race the settlement wait in the list until it returns.
    pub fn settle(&self, outcome: O, mut schedule: impl FnMut(Reactions<O>)) -> Result<(), O> {
        // S1: claim. Relaxed load: only a guess for the CAS, which validates it; pairs with
        // nothing (the claim publishes and reads no data).
        let mut current = self.state.load(Relaxed);
        loop {
            if tag_of(current) != PENDING {
                return Err(outcome); // another settler claimed first
            }
            // Relaxed: the claim publishes nothing (S3 publishes the outcome; the swaps acquire
            // the nodes).
            let claimed = current.map_addr(|addr| addr | CLAIMED);
            match self
                .state
                .compare_exchange_weak(current, claimed, Relaxed, Relaxed) // pairs with nothing (above)
            {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        // S2: write the outcome.
        // SAFETY: exclusive: only the claimer writes (the tag never returns to PENDING), and no
        // reader reads before PUBLISHED (S3, Release).
        self.outcome
            .with_mut(|slot| unsafe { (*slot).write(outcome) });
        // S3: publish the outcome and take the list. AcqRel: Release publishes S2 to every
        // Acquire reader of PUBLISHED or SETTLED; Acquire synchronizes with every registrar's
        // Release CAS (R2) before it, so the nodes taken are initialized.
        let mut list = self.state.swap(bare(PUBLISHED), AcqRel); // pairs with R2 and readers' Acquire
        debug_assert_eq!(tag_of(list), CLAIMED, "only the claimer publishes");
        loop {
            // S4: hand out what was taken, in registration order.
            let head = head_of(list);
            if !head.is_null() {
                schedule(Reactions {
                    head: reverse(head),
                });
            }
            // S5: finish, unless more nodes were pushed meanwhile. Release on success: orders
            // everything `schedule` did before the Acquire load of a registrar that reads
            // SETTLED (model `cell_b`). No Acquire: a successful CAS read this settler's own
            // PUBLISHED (any registrar's push changes the word and fails it). Relaxed on
            // failure: the swap below takes the new nodes with Acquire.
            match self
                .state
                .compare_exchange(bare(PUBLISHED), bare(SETTLED), Release, Relaxed) // pairs with R's Acquire
            {
                Ok(_) => return Ok(()),
                // More reactions: take them. Acquire synchronizes with their registrars' R2
                // (the nodes are initialized). No Release: this swap continues the release
                // sequence headed by S3 (every write to `state` after S3 is an RMW), so a reader
                // that reads its PUBLISHED still synchronizes with S3 and sees the outcome.
                Err(_) => list = self.state.swap(bare(PUBLISHED), Acquire), // pairs with R2's Release
            }
        }
    }

    /// Registers `reaction`; the settler will hand it to its `schedule`. If the cell is already
    /// settled, the reaction comes back: the caller schedules it (or runs it) with
    /// [`SettleCell::outcome`], which is then `Some`.
    pub fn register(&self, reaction: Reaction<O>) -> Result<(), Reaction<O>> {
        let node = reaction.node;
        // Relaxed load: a guess validated by the CAS (or re-read with Acquire below); pairs with
        // nothing.
        let mut current = self.state.load(Relaxed);
        loop {
            if current.addr() == SETTLED {
                // Acquire: pairs with S5's Release (and, through the release sequence, S3's):
                // the outcome, and everything the settler scheduled, happen-before whatever the
                // caller does with the reaction.
                let settled = self.state.load(Acquire);
                debug_assert_eq!(settled.addr(), SETTLED, "SETTLED is final");
                return Err(reaction);
            }
            // R1: link the node in front of the current head. We still own the node.
            // SAFETY: the node is ours until the CAS below succeeds.
            unsafe { set_next(node, head_of(current)) };
            // R2: Release publishes the node (closure and `next`) to the settler's Acquire
            // swap. Relaxed on failure: we retry with the value read.
            let pushed = node.map_addr(|addr| addr | tag_of(current));
            match self
                .state
                .compare_exchange_weak(current, pushed, Release, Relaxed) // pairs with S3's/S4's Acquire
            {
                Ok(_) => {
                    core::mem::forget(reaction); // the list owns the node now
                    return Ok(());
                }
                Err(actual) => current = actual,
            }
        }
    }

    /// The outcome, once published.
    pub fn outcome(&self) -> Option<&O> {
        // Acquire: pairs with S3's Release, so the outcome written in S2 is visible.
        let tag = tag_of(self.state.load(Acquire)); // pairs with S3's Release
        if tag == PUBLISHED || tag == SETTLED {
            // The outcome is never written again after S3, so shared references are fine for
            // the cell's lifetime.
            Some(self.outcome.with(|slot| {
                // SAFETY: the slot lives as long as the cell (see above).
                let slot: &MaybeUninit<O> = unsafe { &*slot };
                // SAFETY: initialized before PUBLISHED (S2).
                unsafe { slot.assume_init_ref() }
            }))
        } else {
            None
        }
    }
}

impl<O> Drop for SettleCell<O> {
    fn drop(&mut self) {
        // Relaxed: pairs with nothing. `&mut self` means no other thread can touch the cell, and
        // whatever handed us the last reference (an `Arc` drop) synchronized with every earlier
        // user.
        let state = self.state.load(Relaxed);
        let tag = tag_of(state);
        debug_assert!(
            tag == PENDING || tag == SETTLED,
            "a settler cannot outlive its cell"
        );
        if tag == SETTLED {
            self.outcome.with_mut(|slot| {
                // SAFETY: `&mut self`: nobody else can reach the slot.
                let slot = unsafe { &mut *slot };
                // SAFETY: initialized before PUBLISHED (S2), dropped only here.
                unsafe { slot.assume_init_drop() }
            });
        } else {
            drop(Reactions {
                head: head_of(state),
            });
        }
    }
}
