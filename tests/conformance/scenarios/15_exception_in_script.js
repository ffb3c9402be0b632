// The script (the first macrotask) throws after queuing work: the exception is reported, then
// the script's microtasks run (one of them throws too), then the macrotasks.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

log('script');
queueMicrotask(() => {
  log('s.m1');
  throw new Error('s.m1');
});
queueMicrotask(() => log('s.m2'));
setImmediate(() => {
  log('A');
  queueMicrotask(() => log('A.m1'));
});
throw new Error('script');
