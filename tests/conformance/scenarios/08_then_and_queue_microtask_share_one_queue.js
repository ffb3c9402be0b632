// then() on an already-resolved promise queues its reaction job at once, in the same FIFO
// queue as queueMicrotask: the two interleave exactly in call order, also when nested.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

setImmediate(() => log('A'));
const resolved = Promise.resolve();
resolved.then(() => log('p1'));
queueMicrotask(() => log('q1'));
resolved.then(() => log('p2'));
queueMicrotask(() => {
  log('q2');
  Promise.resolve().then(() => log('q2.p'));
  queueMicrotask(() => log('q2.q'));
});
Promise.resolve().then(() => {
  log('p3');
  queueMicrotask(() => log('p3.q'));
  resolved.then(() => log('p3.p'));
});
