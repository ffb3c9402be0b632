// finally(): the callback runs on either outcome with no argument; the outcome passes through
// once the callback's result is fulfilled (PromiseResolve(result).then(() => outcome): two jobs
// more than a then), or the callback's own failure (thrown: at once; a rejected promise: two
// jobs later). A returned pending promise holds the chain until it settles.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));
const msg = (e) => (e instanceof Error ? e.message : String(e));
const reasons = new WeakMap();
process.on('unhandledRejection', (r, p) => {
  reasons.set(p, r);
  log('unhandled:' + msg(r));
});
process.on('rejectionHandled', (p) => log('handled:' + msg(reasons.get(p))));

let openGate;
const gate = new Promise((r) => (openGate = r));
Promise.resolve('v1')
  .finally(() => log('f1'))
  .then((v) => log('f1.then:' + v));
Promise.reject(new Error('e2'))
  .finally(() => log('f2'))
  .catch((e) => log('f2.catch:' + msg(e)));
Promise.resolve('v3')
  .finally(() => {
    log('f3');
    throw new Error('f3');
  })
  .catch((e) => log('f3.catch:' + msg(e)));
Promise.resolve('v4')
  .finally(() => {
    log('f4');
    return gate;
  })
  .then((v) => log('f4.then:' + v));
Promise.resolve('v5')
  .finally(() => {
    log('f5');
    return Promise.reject(new Error('f5'));
  })
  .catch((e) => log('f5.catch:' + msg(e)));
Promise.resolve()
  .then(() => log('c1'))
  .then(() => log('c2'))
  .then(() => log('c3'))
  .then(() => log('c4'))
  .then(() => log('c5'));
setImmediate(() => {
  log('A');
  openGate('ignored');
});
