// Promise.all rejects with the first rejection in settlement order (not input order), inside
// that input's reaction job; later rejections and fulfilments change nothing and are not
// reported unhandled (Promise.all handled every input). An already-rejected input rejects the
// result in the script's checkpoint.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

let resolve1;
let reject2;
let reject3;
const p1 = new Promise((r) => {
  resolve1 = r;
});
const p2 = new Promise((_, r) => {
  reject2 = r;
});
const p3 = new Promise((_, r) => {
  reject3 = r;
});
Promise.all([p1, p2, p3]).then(
  (vs) => log('all:fulfilled:' + vs.join(',')),
  (e) => log('all:rejected:' + e),
);
Promise.all([Promise.resolve('ok'), Promise.reject('early'), p1]).catch((e) =>
  log('all2:rejected:' + e),
);
queueMicrotask(() => log('q1'));
setImmediate(() => {
  log('A');
  reject3('x3');
  queueMicrotask(() => log('A.q1'));
  reject2('x2');
  resolve1('v1');
  queueMicrotask(() => log('A.q2'));
  log('A:end');
});
setImmediate(() => log('B'));
