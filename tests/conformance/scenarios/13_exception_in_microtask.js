// A microtask that throws is reported at once; the other microtasks of the same checkpoint
// (queued before it, and those it queued before throwing) still run, then the next macrotask,
// including one queued by the throwing microtask.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

setImmediate(() => {
  log('A');
  queueMicrotask(() => log('A.m1'));
  queueMicrotask(() => {
    log('A.m2');
    queueMicrotask(() => log('A.m2.m'));
    setImmediate(() => log('C'));
    throw new Error('A.m2');
  });
  queueMicrotask(() => log('A.m3'));
  Promise.resolve().then(() => log('A.p4'));
});
setImmediate(() => log('B'));
