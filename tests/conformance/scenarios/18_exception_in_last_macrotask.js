// The last queued macrotask throws after queuing microtasks that queue a microtask and a
// macrotask. With no other macrotask pending, Node and HTML agree: the checkpoint runs at once.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

setImmediate(() => {
  log('A');
  queueMicrotask(() => {
    log('A.m1');
    queueMicrotask(() => log('A.m1.m'));
    setImmediate(() => log('B'));
  });
  throw new Error('A');
});
