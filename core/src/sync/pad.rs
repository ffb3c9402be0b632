//! Cache-line padding for hot atomics that different threads write.

use core::ops::Deref;

/// Aligns and pads `T` to 128 bytes: two 64-byte lines, because the adjacent-line prefetcher
/// of current x86 cores pulls lines in pairs, so 64-byte padding still shares a pair.
#[derive(Default)]
#[repr(align(128))]
pub(crate) struct CachePadded<T> {
    value: T,
}

impl<T> CachePadded<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self { value }
    }
}

impl<T> Deref for CachePadded<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.value
    }
}

static_assertions::const_assert_eq!(core::mem::align_of::<CachePadded<u8>>(), 128);
static_assertions::const_assert_eq!(core::mem::size_of::<CachePadded<usize>>(), 128);
