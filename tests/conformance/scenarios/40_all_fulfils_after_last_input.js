// Promise.all fulfils with the values in input order, not settlement order, inside the reaction
// job of its last input to fulfil; its own reactions run one job later. Inputs already
// fulfilled react at once (their jobs are queued by the Promise.all call).
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

let resolveB;
let resolveD;
const a = Promise.resolve('a');
const b = new Promise((r) => {
  resolveB = r;
});
const c = Promise.resolve('c');
const d = new Promise((r) => {
  resolveD = r;
});
Promise.all([a, b, c, d]).then((vs) => log('all:' + vs.join(',')));
Promise.all([c, a]).then((vs) => log('all2:' + vs.join(',')));
Promise.resolve()
  .then(() => log('t1'))
  .then(() => log('t2'))
  .then(() => log('t3'));
setImmediate(() => {
  log('A');
  resolveD('d');
  queueMicrotask(() => log('A.q1'));
  log('A:end');
});
setImmediate(() => {
  log('B');
  resolveB('b');
  Promise.resolve()
    .then(() => log('B.t1'))
    .then(() => log('B.t2'));
  log('B:end');
});
