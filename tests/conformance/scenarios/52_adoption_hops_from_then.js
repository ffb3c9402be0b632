// A then() callback that returns a promise: its derived promise adopts it two jobs later when
// it is already settled (fulfilled or rejected), and two jobs after it settles when it is
// pending (resolved here from the middle of another chain).
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));
const msg = (e) => (e instanceof Error ? e.message : String(e));
const reasons = new WeakMap();
process.on('unhandledRejection', (r, p) => {
  reasons.set(p, r);
  log('unhandled:' + msg(r));
});
process.on('rejectionHandled', (p) => log('handled:' + msg(reasons.get(p))));

let late;
Promise.resolve()
  .then(() => {
    log('x1');
    return Promise.resolve('X');
  })
  .then((v) => log('x2:' + v));
Promise.resolve()
  .then(() => {
    log('y1');
    return new Promise((r) => (late = r));
  })
  .then((v) => log('y2:' + v));
Promise.resolve()
  .then(() => {
    log('z1');
    return Promise.reject(new Error('Z'));
  })
  .catch((e) => log('z2:' + msg(e)));
Promise.resolve()
  .then(() => log('b1'))
  .then(() => log('b2'))
  .then(() => {
    log('b3');
    late('Y');
  })
  .then(() => log('b4'))
  .then(() => log('b5'))
  .then(() => log('b6'))
  .then(() => log('b7'));
