// Promise.allSettled never rejects: it fulfils, once every input has settled, with one record
// per input in input order (fulfilled with its value, or rejected with its reason), inside the
// reaction job of the last input to settle.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

const show = (rs) =>
  rs.map((r) => (r.status === 'fulfilled' ? 'ok:' + r.value : 'err:' + r.reason)).join(',');

let reject1;
let resolve3;
const p1 = new Promise((_, r) => {
  reject1 = r;
});
const p3 = new Promise((r) => {
  resolve3 = r;
});
Promise.allSettled([p1, Promise.resolve('v2'), p3, Promise.reject('x4')]).then((rs) =>
  log('settled:' + show(rs)),
);
Promise.allSettled([Promise.reject('y'), Promise.resolve('z')]).then((rs) =>
  log('settled2:' + show(rs)),
);
Promise.resolve()
  .then(() => log('t1'))
  .then(() => log('t2'))
  .then(() => log('t3'));
setImmediate(() => {
  log('A');
  resolve3('v3');
  queueMicrotask(() => log('A.q1'));
  reject1('x1');
  queueMicrotask(() => log('A.q2'));
  log('A:end');
});
