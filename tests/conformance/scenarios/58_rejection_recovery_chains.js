// Recovery: catch() returning a value fulfils the chain again, a throw or a returned rejected
// promise rejects it again, a returned fulfilled promise recovers two jobs later; then(f, g)
// with g returning a value recovers.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));
const msg = (e) => (e instanceof Error ? e.message : String(e));
const reasons = new WeakMap();
process.on('unhandledRejection', (r, p) => {
  reasons.set(p, r);
  log('unhandled:' + msg(r));
});
process.on('rejectionHandled', (p) => log('handled:' + msg(reasons.get(p))));

Promise.reject(new Error('e1'))
  .catch((e) => {
    log('recover:' + msg(e));
    return 'r1';
  })
  .then((v) => {
    log('then:' + v);
    throw new Error('e2');
  })
  .then(() => log('never'))
  .catch((e) => {
    log('recover:' + msg(e));
    return Promise.reject(new Error('e3'));
  })
  .catch((e) => {
    log('recover:' + msg(e));
    return Promise.resolve('r3');
  })
  .then((v) => log('end:' + v));
Promise.reject(new Error('x'))
  .then(
    (v) => v,
    (e) => 'fixed:' + msg(e),
  )
  .then((v) => log(v));
Promise.resolve()
  .then(() => log('c1'))
  .then(() => log('c2'))
  .then(() => log('c3'))
  .then(() => log('c4'))
  .then(() => log('c5'))
  .then(() => log('c6'))
  .then(() => log('c7'))
  .then(() => log('c8'))
  .then(() => log('c9'))
  .then(() => log('c10'));
