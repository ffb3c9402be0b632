//! The README's event loop example: work submitted from another thread, JS tick order, graceful
//! shutdown. `tests/tests/readme.rs` checks that the README shows exactly this code.

use eventloop_core::EventLoop;

fn main() {
    // README-BEGIN
    let mut event_loop = EventLoop::new();
    let handle = event_loop.handle(); // Send + Sync + Clone

    let producer = std::thread::spawn(move || {
        handle
            .submit(|cx| {
                println!("1. a macrotask");
                cx.queue_microtask(|_| println!("2. its microtask, before the next macrotask"))
                    .unwrap();
            })
            .unwrap();
        handle
            .submit(|_| println!("3. the next macrotask"))
            .unwrap();
        // Graceful: admission stops now; everything accepted before still runs.
        handle.shutdown();
        assert!(handle.submit(|_| ()).is_err()); // refused work is handed back
    });

    event_loop.run().unwrap(); // returns once the loop has terminated
    producer.join().unwrap();
    // README-END
}
