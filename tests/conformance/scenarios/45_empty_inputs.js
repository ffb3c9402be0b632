// Empty inputs: Promise.all([]) and Promise.allSettled([]) are fulfilled with [] and
// Promise.any([]) is rejected with an AggregateError of no errors, all three before the call
// returns (so their reactions are queued at once, in registration order with other
// microtasks); Promise.race([]) never settles.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

queueMicrotask(() => log('q1'));
Promise.all([]).then((vs) => log('all:' + vs.length));
queueMicrotask(() => log('q2'));
Promise.allSettled([]).then((rs) => log('allSettled:' + rs.length));
Promise.any([]).catch((e) => log('any:rejected:' + e.errors.length));
Promise.race([]).then(
  () => log('race:fulfilled'),
  () => log('race:rejected'),
);
queueMicrotask(() => log('q3'));
setImmediate(() => {
  log('A');
  Promise.all([])
    .then(() => log('A.all'))
    .then(() => log('A.all.2'));
  Promise.resolve().then(() => log('A.t1'));
});
