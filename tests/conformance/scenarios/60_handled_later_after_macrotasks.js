// A handler attached to a promise already reported unhandled gives rejectionHandled at the end
// of the checkpoint in which it was attached, after that checkpoint's microtasks (the handler's
// own reaction included); once per promise.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));
const msg = (e) => (e instanceof Error ? e.message : String(e));
const reasons = new WeakMap();
process.on('unhandledRejection', (r, p) => {
  reasons.set(p, r);
  log('unhandled:' + msg(r));
});
process.on('rejectionHandled', (p) => log('handled:' + msg(reasons.get(p))));

const p = Promise.reject(new Error('p'));
const q = Promise.reject(new Error('q'));
setImmediate(() => {
  log('A');
  p.catch((e) => log('caught:' + msg(e)));
  queueMicrotask(() => log('A.q'));
});
setImmediate(() => {
  log('B');
  p.catch((e) => log('caught again:' + msg(e)));
});
setTimeout(() => {
  log('T');
  q.then(() => log('never')).catch((e) => log('caught:' + msg(e)));
}, 30);
