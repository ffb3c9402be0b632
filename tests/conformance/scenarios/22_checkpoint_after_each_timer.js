// Each timer callback is followed by a full microtask checkpoint before the next timer of the
// same pass runs (queueMicrotask and then() share the queue; nested microtasks run in it too).
// D has another delay: the next pass in the loop, the same or the next one in Node.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

for (const name of ['A', 'B', 'C']) {
  setTimeout(() => {
    log(name);
    queueMicrotask(() => {
      log(name + '.m1');
      queueMicrotask(() => log(name + '.m1.m'));
    });
    Promise.resolve()
      .then(() => log(name + '.p1'))
      .then(() => log(name + '.p2'));
    log(name + ':end');
  }, 5);
}
setTimeout(() => {
  log('D');
  queueMicrotask(() => log('D.m1'));
}, 6);
