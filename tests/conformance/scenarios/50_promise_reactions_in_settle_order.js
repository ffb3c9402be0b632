// Reactions of several pending promises are queued when each one settles, in registration
// order per promise; the promises' order of settlement decides between them. A rejection
// passes through a then() without onRejected in one job. A then() after the settlement queues
// its reaction at once, behind the ones queued by the settlement.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));
const msg = (e) => (e instanceof Error ? e.message : String(e));
const reasons = new WeakMap();
process.on('unhandledRejection', (r, p) => {
  reasons.set(p, r);
  log('unhandled:' + msg(r));
});
process.on('rejectionHandled', (p) => log('handled:' + msg(reasons.get(p))));

let resolveA, resolveB, rejectC;
const a = new Promise((r) => (resolveA = r));
const b = new Promise((r) => (resolveB = r));
const c = new Promise((_, r) => (rejectC = r));
a.then((v) => log('a1:' + v));
b.then((v) => log('b1:' + v));
a.then((v) => log('a2:' + v));
c.catch((e) => log('c1:' + msg(e)));
b.then((v) => log('b2:' + v));
c.then(() => log('never')).catch((e) => log('c2:' + msg(e)));
setImmediate(() => {
  log('A');
  resolveB('B');
  rejectC(new Error('C'));
  resolveA('A');
  a.then((v) => log('a3:' + v));
  log('A:end');
});
setImmediate(() => log('B'));
