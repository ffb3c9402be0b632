//! The README's promise example: a promise settled on a worker thread, a chain whose reactions
//! run as microtasks on the loop, `finally`, an unhandled rejection reported at the end of the
//! checkpoint, and a blocking wait from another thread. `tests/tests/readme.rs` checks that the
//! README shows this code.

use eventloop_core::EventLoop;
use eventloop_core::driver::RejectionKind;
use eventloop_core::promise::Failure;

fn main() {
    // README-BEGIN
    let mut event_loop = EventLoop::builder()
        .rejection_hook(|event| {
            assert_eq!(event.kind, RejectionKind::Unhandled);
            println!("unhandled rejection: {:?}", event.reason);
        })
        .build();
    let handle = event_loop.handle();

    // A promise settled by a worker thread; its reactions run on the loop, in order.
    let answer = handle.promisify(|| Ok::<u32, Failure>(21));
    let doubled = answer.then(|v| Ok(v * 2)).finally(|| {
        println!("settled either way");
        Ok::<_, Failure>(())
    });

    // Rejected with no handler by the end of the checkpoint: reported once to the hook.
    let (_, resolver) = handle.promise::<u32, Failure>();
    drop(resolver); // a resolver dropped unused rejects its promise (Failure::Abandoned)

    // Any other thread may block on (or `.await`) a promise.
    let waiter = {
        let doubled = doubled.clone();
        std::thread::spawn(move || doubled.wait().unwrap())
    };
    drop(doubled.then(move |_| {
        handle.shutdown();
        Ok::<_, Failure>(())
    }));
    event_loop.run().unwrap(); // until the shutdown above
    assert_eq!(waiter.join().unwrap(), Ok(42));
    // README-END
}
