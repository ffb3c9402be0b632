// A callback that throws rejects its derived promise with the thrown error (no
// uncaughtException): caught further down the chain, or reported unhandled at the end of the
// checkpoint when nothing catches it.
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
  .then(() => {
    log('t1');
    throw new Error('boom1');
  })
  .then(() => log('never'))
  .catch((e) => log('caught:' + msg(e)));
Promise.reject(new Error('e'))
  .catch((e) => {
    log('c1:' + msg(e));
    throw new Error('boom2');
  })
  .catch((e) => log('caught:' + msg(e)));
Promise.resolve('v').then(() => {
  log('t3');
  throw new Error('boom3');
});
setImmediate(() => log('A'));
log('script:end');
