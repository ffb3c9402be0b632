// A macrotask queued from a microtask goes to the back of the macrotask queue: behind the
// macrotasks already queued, after the rest of the current checkpoint.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

setImmediate(() => log('A'));
queueMicrotask(() => {
  log('m1');
  setImmediate(() => {
    log('C');
    queueMicrotask(() => log('C.m1'));
  });
  queueMicrotask(() => log('m1.1'));
});
setImmediate(() => {
  log('B');
  queueMicrotask(() => {
    log('B.m1');
    setImmediate(() => log('D'));
  });
});
