// new Promise(r => r(p)) adopts p: two jobs when p is settled, two jobs after p settles when
// it is pending; a rejected p rejects the outer promise (and p counts as handled). Promise.resolve(p)
// of a native promise is p itself: no job at all.
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
const outer1 = new Promise((r) => r(f));
outer1.then((v) => log('o1:' + v));
let resolvePending;
const pending = new Promise((r) => (resolvePending = r));
const outer2 = new Promise((r) => r(pending));
outer2.then((v) => log('o2:' + v));
const rejected = Promise.reject(new Error('R'));
const outer3 = new Promise((r) => r(rejected));
outer3.catch((e) => log('o3:' + msg(e)));
const same = Promise.resolve(f);
log('same:' + (same === f));
same.then((v) => log('same:' + v));
Promise.resolve()
  .then(() => log('c1'))
  .then(() => {
    log('c2');
    resolvePending('P');
  })
  .then(() => log('c3'))
  .then(() => log('c4'))
  .then(() => log('c5'));
