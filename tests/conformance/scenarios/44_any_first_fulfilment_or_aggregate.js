// Promise.any fulfils with the first input to fulfil (settlement order), ignoring rejections;
// if every input rejects, it rejects with an AggregateError whose errors are in input order
// (not settlement order), inside the reaction job of the last input to reject.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

let reject1;
let resolve2;
let reject3;
let reject4;
const p1 = new Promise((_, r) => {
  reject1 = r;
});
const p2 = new Promise((r) => {
  resolve2 = r;
});
const p3 = new Promise((_, r) => {
  reject3 = r;
});
const p4 = new Promise((_, r) => {
  reject4 = r;
});
Promise.any([p1, p2, Promise.reject('x0')]).then(
  (v) => log('any1:fulfilled:' + v),
  (e) => log('any1:rejected:' + e.errors.join(',')),
);
Promise.any([p3, Promise.reject('x5'), p4]).then(
  (v) => log('any2:fulfilled:' + v),
  (e) => log('any2:rejected:' + e.errors.join(',')),
);
Promise.any([Promise.reject('y'), Promise.resolve('z')]).then(
  (v) => log('any3:fulfilled:' + v),
  (e) => log('any3:rejected:' + e.errors.join(',')),
);
queueMicrotask(() => log('q1'));
setImmediate(() => {
  log('A');
  reject4('x4');
  reject1('x1');
  queueMicrotask(() => log('A.q1'));
  resolve2('v2');
  reject3('x3');
  queueMicrotask(() => log('A.q2'));
  log('A:end');
});
