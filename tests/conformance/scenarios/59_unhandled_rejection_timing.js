// unhandledRejection is emitted at the end of the microtask checkpoint of the macrotask in
// which the promise was rejected without a handler (the script, an immediate, each timer of a
// pass), before the next macrotask; a handler attached in the same checkpoint (from a later
// microtask) prevents it. Derived promises count like any other.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));
const msg = (e) => (e instanceof Error ? e.message : String(e));
const reasons = new WeakMap();
process.on('unhandledRejection', (r, p) => {
  reasons.set(p, r);
  log('unhandled:' + msg(r));
});
process.on('rejectionHandled', (p) => log('handled:' + msg(reasons.get(p))));

Promise.reject(new Error('script'));
const handledSoon = Promise.reject(new Error('soon'));
queueMicrotask(() => handledSoon.catch((e) => log('caught:' + msg(e))));
log('script:end');
setImmediate(() => {
  log('A');
  Promise.resolve().then(() => {
    log('A.p');
    return Promise.reject(new Error('A.derived'));
  });
  queueMicrotask(() => log('A.q'));
});
setImmediate(() => log('B'));
setTimeout(() => {
  log('T1');
  Promise.reject(new Error('T1'));
  queueMicrotask(() => log('T1.q'));
}, 30);
setTimeout(() => log('T2'), 30);
