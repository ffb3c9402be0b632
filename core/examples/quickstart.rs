//! The README's usage example: one consumer (the loop thread), any number of producers.
//! `tests/tests/readme.rs` checks that the README shows exactly this code.

use eventloop_core::ring;

fn main() {
    // README-BEGIN
    // One consumer (the loop thread), any number of producers.
    let (producer, mut consumer) = ring::new::<Box<dyn FnOnce() + Send>>();
    let remote = producer.clone();
    std::thread::spawn(move || {
        remote
            .push(Box::new(|| println!("ran on the loop thread")))
            .ok();
    })
    .join()
    .unwrap();

    while let Some(task) = consumer.pop() {
        task();
    }

    // After close, pushes hand the value back instead of dropping it.
    producer.close();
    assert!(producer.push(Box::new(|| ())).is_err());
    // README-END
}
