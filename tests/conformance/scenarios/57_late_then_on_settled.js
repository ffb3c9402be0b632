// then()/catch() on promises settled long ago queue their reaction at once, in order with
// queueMicrotask, from a macrotask and from a timer.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));
const msg = (e) => (e instanceof Error ? e.message : String(e));
const reasons = new WeakMap();
process.on('unhandledRejection', (r, p) => {
  reasons.set(p, r);
  log('unhandled:' + msg(r));
});
process.on('rejectionHandled', (p) => log('handled:' + msg(reasons.get(p))));

const f = Promise.resolve('F');
const r = Promise.reject(new Error('R'));
r.catch(() => log('r.early'));
setImmediate(() => {
  log('A');
  f.then((v) => log('f.late:' + v));
  queueMicrotask(() => log('A.q'));
  r.then(
    () => log('never'),
    (e) => log('r.late:' + msg(e)),
  );
  r.then(() => log('never')).catch((e) => log('r.late2:' + msg(e)));
  f.finally(() => log('f.finally')).then((v) => log('f.finally.then:' + v));
  queueMicrotask(() => log('A.q2'));
});
setTimeout(() => {
  log('T');
  r.catch((e) => log('r.timer:' + msg(e)));
  f.then((v) => log('f.timer:' + v));
}, 30);
