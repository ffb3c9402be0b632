// Promise.race settles like its first input to settle (fulfilled or rejected), one job after
// that input's reaction; among inputs already settled the first in input order wins (their
// reaction jobs are queued in input order). Promise.race([]) stays pending forever.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

let resolve1;
let reject2;
const p1 = new Promise((r) => {
  resolve1 = r;
});
const p2 = new Promise((_, r) => {
  reject2 = r;
});
Promise.race([p1, p2]).then(
  (v) => log('race1:fulfilled:' + v),
  (e) => log('race1:rejected:' + e),
);
Promise.race([p1, Promise.reject('r'), Promise.resolve('f')]).then(
  (v) => log('race2:fulfilled:' + v),
  (e) => log('race2:rejected:' + e),
);
Promise.race([p1, Promise.resolve('f'), Promise.reject('r')]).then(
  (v) => log('race3:fulfilled:' + v),
  (e) => log('race3:rejected:' + e),
);
Promise.race([]).then(
  () => log('race4:fulfilled'),
  () => log('race4:rejected'),
);
queueMicrotask(() => log('q1'));
setImmediate(() => {
  log('A');
  reject2('x2');
  resolve1('v1');
  queueMicrotask(() => log('A.q1'));
  log('A:end');
});
setImmediate(() => log('B'));
