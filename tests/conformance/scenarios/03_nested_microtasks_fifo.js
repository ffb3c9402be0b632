// Microtasks queued by microtasks join the back of the same queue (breadth-first order) and
// run in the same checkpoint, before the next macrotask.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

setImmediate(() => log('A'));
queueMicrotask(() => {
  log('m1');
  queueMicrotask(() => {
    log('m1.1');
    queueMicrotask(() => log('m1.1.1'));
  });
  queueMicrotask(() => log('m1.2'));
});
queueMicrotask(() => {
  log('m2');
  queueMicrotask(() => log('m2.1'));
});
queueMicrotask(() => log('m3'));
