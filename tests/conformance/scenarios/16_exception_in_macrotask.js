// A macrotask throws after queuing microtasks; the next macrotask is already queued.
// HTML runs the thrower's microtasks right after it (a checkpoint follows every callback,
// thrown or not); Node runs them only after the next setImmediate callback (see the
// .expected.txt override).
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

setImmediate(() => {
  log('A');
  queueMicrotask(() => log('A.m1'));
  Promise.resolve().then(() => log('A.p2'));
  throw new Error('A');
});
setImmediate(() => {
  log('B');
  queueMicrotask(() => log('B.m1'));
});
setImmediate(() => log('C'));
