// Several microtasks throw in one checkpoint, one of them queued by another that threw: each
// is reported when it throws, and the checkpoint runs to its end every time.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

queueMicrotask(() => {
  log('m1');
  queueMicrotask(() => {
    log('m1.1');
    throw new Error('m1.1');
  });
  throw new Error('m1');
});
queueMicrotask(() => {
  log('m2');
  throw new Error('m2');
});
queueMicrotask(() => log('m3'));
setImmediate(() => {
  log('A');
  queueMicrotask(() => {
    log('A.m1');
    throw new Error('A.m1');
  });
  queueMicrotask(() => log('A.m2'));
});
setImmediate(() => log('B'));
