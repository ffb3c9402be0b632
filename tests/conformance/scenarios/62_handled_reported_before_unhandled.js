// In one checkpoint that both handles an old rejection late and rejects a new promise without
// a handler, rejectionHandled comes before unhandledRejection, whatever order they happened in.
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
setImmediate(() => {
  log('A');
  Promise.reject(new Error('q'));
  p.catch((e) => log('caught:' + msg(e)));
  queueMicrotask(() => log('A.q'));
});
setImmediate(() => log('B'));
