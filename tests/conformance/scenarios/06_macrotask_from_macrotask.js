// A macrotask queued from a macrotask runs after every macrotask queued before it (FIFO),
// never in place of the queuing task's microtask checkpoint.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

setImmediate(() => {
  log('A');
  setImmediate(() => {
    log('A.1');
    setImmediate(() => log('A.1.1'));
  });
  queueMicrotask(() => log('A.m1'));
  setImmediate(() => log('A.2'));
});
setImmediate(() => {
  log('B');
  setImmediate(() => log('B.1'));
  queueMicrotask(() => log('B.m1'));
});
