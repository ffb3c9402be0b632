// Reactions registered on a pending promise are queued when it resolves (in registration
// order), not when they are registered; a then() after resolution queues at once.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

let resolve;
const pending = new Promise((r) => {
  resolve = r;
});
pending.then(() => log('then1'));
queueMicrotask(() => log('q1'));
pending.then(() => log('then2'));
setImmediate(() => {
  log('A');
  queueMicrotask(() => log('A.q1'));
  resolve();
  queueMicrotask(() => log('A.q2'));
  pending.then(() => log('then3'));
  log('A:end');
});
setImmediate(() => log('B'));
