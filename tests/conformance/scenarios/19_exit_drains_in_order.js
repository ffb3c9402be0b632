// The program ends only when every queued macrotask and microtask has run. The Rust side runs
// the loop with run() and calls shutdown() from A: the graceful drain must keep JS order
// (B still runs, every checkpoint runs in full, a throw during the drain is reported).
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

queueMicrotask(() => log('script.m'));
setImmediate(() => {
  log('A');
  queueMicrotask(() => {
    log('A.m1');
    queueMicrotask(() => log('A.m1.m'));
  });
});
setImmediate(() => {
  log('B');
  queueMicrotask(() => log('B.m1'));
  throw new Error('B');
});
