// A value passes through catch() and a reason through then() without onRejected, one job per
// step; then(f, g) runs exactly one of its callbacks.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));
const msg = (e) => (e instanceof Error ? e.message : String(e));
const reasons = new WeakMap();
process.on('unhandledRejection', (r, p) => {
  reasons.set(p, r);
  log('unhandled:' + msg(r));
});
process.on('rejectionHandled', (p) => log('handled:' + msg(reasons.get(p))));

Promise.resolve('v')
  .catch(() => log('never'))
  .catch(() => log('never'))
  .then((v) => log('v:' + v));
Promise.reject(new Error('e'))
  .then(() => log('never'))
  .then(() => log('never'))
  .catch((e) => log('e:' + msg(e)));
Promise.reject(new Error('e2')).then(
  () => log('never'),
  (e) => log('onRejected:' + msg(e)),
);
Promise.resolve('v2').then(
  (v) => log('onFulfilled:' + v),
  () => log('never'),
);
Promise.resolve()
  .then(() => log('c1'))
  .then(() => log('c2'))
  .then(() => log('c3'))
  .then(() => log('c4'));
