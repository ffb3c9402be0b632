//! A deliberate data race, run only by `scripts/tsan.sh` (it is `#[ignore]`d everywhere else):
//! the script requires ThreadSanitizer to report it, which shows that the sanitizer is really on
//! and that the script notices a report (TSan can let a racy test exit 0).

use std::cell::UnsafeCell;

struct Racy(UnsafeCell<u64>);

// SAFETY: deliberately unsound: this type exists so that two threads race on it under TSan.
unsafe impl Sync for Racy {}

#[test]
#[ignore = "a deliberate data race: run by scripts/tsan.sh under ThreadSanitizer only"]
fn tsan_canary_unsynchronized_writes_are_reported() {
    let racy = Racy(UnsafeCell::new(0));
    let shared = &racy;
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(move || {
                for i in 0..1000 {
                    // SAFETY: none: the race is the point of the test.
                    unsafe { *shared.0.get() = i };
                }
            });
        }
    });
    // SAFETY: the threads have joined.
    assert!(unsafe { *racy.0.get() } < 1000);
}
