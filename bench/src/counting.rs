//! A counting global allocator: [`System`] plus running totals of the bytes held, for the
//! burst row's "bytes per item at peak" and "memory returned" numbers.
//!
//! Why it is switchable: counting costs shared atomic read-modify-writes on every allocation,
//! which would add contention to the multi-producer rows and blur their comparison. So it
//! counts only inside a [`Window`]; outside one, each call pays one relaxed load of a flag.
//! A program opts in with
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: eventloop_bench::counting::CountingAlloc = eventloop_bench::counting::CountingAlloc;
//! ```
//!
//! Numbers are deltas within one window, so open a window only while no other thread
//! allocates or frees (a block allocated before the window and freed inside it would count
//! negative).

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering::Relaxed};

static ENABLED: AtomicBool = AtomicBool::new(false);
/// Bytes allocated minus bytes freed while counting was on.
static CURRENT: AtomicIsize = AtomicIsize::new(0);
/// Highest `CURRENT` seen, a `realloc` counted as replacing the old size with the new.
static PEAK: AtomicIsize = AtomicIsize::new(0);
/// Highest `CURRENT` seen if every `realloc` held old and new block at once (copying realloc).
static PEAK_IF_COPY: AtomicIsize = AtomicIsize::new(0);

/// The counting allocator. Install it with `#[global_allocator]`; it forwards to [`System`].
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

#[inline]
fn to_isize(bytes: usize) -> isize {
    // Allocation sizes never exceed isize::MAX (a `Layout` invariant).
    bytes as isize
}

#[inline]
fn record_grow(bytes: usize) {
    let now = CURRENT.fetch_add(to_isize(bytes), Relaxed) + to_isize(bytes);
    PEAK.fetch_max(now, Relaxed);
    PEAK_IF_COPY.fetch_max(now, Relaxed);
}

#[inline]
fn record_shrink(bytes: usize) {
    CURRENT.fetch_sub(to_isize(bytes), Relaxed);
}

// SAFETY: every method forwards to `System` with its arguments unchanged and returns what
// `System` returned, so the `GlobalAlloc` contract is exactly `System`'s. The counters are
// bookkeeping only: they never influence which pointer is returned.
unsafe impl GlobalAlloc for CountingAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller meets `alloc`'s contract (non-zero size); forwarded unchanged.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() && ENABLED.load(Relaxed) {
            record_grow(layout.size());
        }
        ptr
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() && ENABLED.load(Relaxed) {
            record_grow(layout.size());
        }
        ptr
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ENABLED.load(Relaxed) {
            record_shrink(layout.size());
        }
        // SAFETY: the caller guarantees `ptr` came from this allocator (hence from `System`,
        // which served every request) with this `layout`.
        unsafe { System.dealloc(ptr, layout) };
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let counting = ENABLED.load(Relaxed);
        if counting {
            // The pessimistic view: the new block exists before the old one is released.
            let with_both = CURRENT.load(Relaxed) + to_isize(new_size);
            PEAK_IF_COPY.fetch_max(with_both, Relaxed);
        }
        // SAFETY: the caller guarantees `ptr` came from this allocator (hence from `System`)
        // with `layout`, and that `new_size` is valid for it; forwarded unchanged.
        let new_ptr = unsafe { System.realloc(ptr, layout, new_size) };
        if counting && !new_ptr.is_null() {
            if new_size >= layout.size() {
                let now = CURRENT.fetch_add(to_isize(new_size - layout.size()), Relaxed)
                    + to_isize(new_size - layout.size());
                PEAK.fetch_max(now, Relaxed);
                PEAK_IF_COPY.fetch_max(now, Relaxed);
            } else {
                record_shrink(layout.size() - new_size);
            }
        }
        new_ptr
    }
}

/// Bytes held by allocations counted so far (a running total; meaningful as a difference).
pub fn current() -> isize {
    CURRENT.load(Relaxed)
}

/// A period during which allocations are counted. Counting stops when it is dropped.
#[derive(Debug)]
pub struct Window {
    base: isize,
}

impl Window {
    /// Starts counting. Returns `None` if [`CountingAlloc`] is not this program's global
    /// allocator (a probe allocation went uncounted).
    pub fn open() -> Option<Self> {
        ENABLED.store(true, Relaxed);
        let before = current();
        let probe = black_box(Box::new([0u8; 64]));
        let counted = current() - before;
        drop(probe);
        if counted <= 0 {
            ENABLED.store(false, Relaxed);
            return None;
        }
        Some(Self::starting_now())
    }

    fn starting_now() -> Self {
        let base = current();
        PEAK.store(base, Relaxed);
        PEAK_IF_COPY.store(base, Relaxed);
        Self { base }
    }

    /// Keeps counting but measures from now on: new baseline, peaks reset.
    pub fn restart(self) -> Self {
        let restarted = Self::starting_now();
        // `self` is dropped here, which would stop counting: turn it back on.
        drop(self);
        ENABLED.store(true, Relaxed);
        restarted
    }

    /// Bytes held now, relative to the window's start.
    pub fn current(&self) -> isize {
        current() - self.base
    }

    /// Peak bytes held since the window's start: `(as reallocated, if realloc copies)`.
    pub fn peaks(&self) -> (usize, usize) {
        let peak = PEAK.load(Relaxed) - self.base;
        let peak_if_copy = PEAK_IF_COPY.load(Relaxed) - self.base;
        (
            usize::try_from(peak).unwrap_or(0),
            usize::try_from(peak_if_copy).unwrap_or(0),
        )
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        ENABLED.store(false, Relaxed);
    }
}
