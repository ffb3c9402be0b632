// then() reactions and queueMicrotask share one FIFO queue: a pending promise's reactions join
// it when the promise is resolved (here from a microtask), each step of a chain one round
// later, and microtasks queued by reactions behind what is already queued.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));
const msg = (e) => (e instanceof Error ? e.message : String(e));
const reasons = new WeakMap();
process.on('unhandledRejection', (r, p) => {
  reasons.set(p, r);
  log('unhandled:' + msg(r));
});
process.on('rejectionHandled', (p) => log('handled:' + msg(reasons.get(p))));

let resolve;
const p = new Promise((r) => (resolve = r));
p.then(() => {
  log('p1');
  queueMicrotask(() => log('p1.q'));
}).then(() => log('p1.then'));
queueMicrotask(() => {
  log('q1');
  resolve('x');
  queueMicrotask(() => log('q1.q'));
});
p.then((v) => log('p2:' + v));
Promise.resolve()
  .then(() => log('r1'))
  .then(() => log('r2'))
  .then(() => log('r3'));
queueMicrotask(() => log('q2'));
setImmediate(() => log('A'));
