//! The README's timer example: timeouts and an interval on the loop thread, a timer set and
//! cleared from another thread. `tests/tests/readme.rs` checks that the README shows this code.

use std::time::Duration;

use eventloop_core::EventLoop;
use eventloop_core::driver::ClearOutcome;

fn main() {
    // README-BEGIN
    let ms = Duration::from_millis;
    let mut event_loop = EventLoop::new();

    // On the loop thread: equal deadlines fire in scheduling order.
    event_loop.set_timeout(ms(20), |_| println!("a")).unwrap();
    event_loop.set_timeout(ms(20), |_| println!("b")).unwrap();
    let mut ticks = 0;
    event_loop
        .set_interval(ms(5), move |cx| {
            ticks += 1;
            if ticks == 3 {
                cx.shutdown(); // pending timers are cancelled, their callbacks dropped
            }
        })
        .unwrap();

    // From another thread: the ID comes back at once; a clear says whether it won the race.
    let handle = event_loop.handle();
    let other = std::thread::spawn(move || {
        let id = handle.set_timeout(ms(10), |_| println!("never")).unwrap();
        let outcome = handle.clear_timer(id).wait().unwrap();
        assert_eq!(outcome, ClearOutcome::Cancelled); // cleared 10 ms before it was due
    });

    event_loop.run().unwrap(); // shut down by the interval's third run, at about 15 ms
    other.join().unwrap();
    // README-END
}
