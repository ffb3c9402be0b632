// A macrotask that rejects a promise and then throws: the rejection is reported at the end of
// the checkpoint that follows the throw. HTML-vs-Node: see the .expected.txt override.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));
const msg = (e) => (e instanceof Error ? e.message : String(e));
const reasons = new WeakMap();
process.on('unhandledRejection', (r, p) => {
  reasons.set(p, r);
  log('unhandled:' + msg(r));
});
process.on('rejectionHandled', (p) => log('handled:' + msg(reasons.get(p))));

setImmediate(() => {
  log('A');
  Promise.reject(new Error('a'));
  queueMicrotask(() => log('A.q'));
  throw new Error('A');
});
setImmediate(() => {
  log('B');
  Promise.reject(new Error('b'));
});
setImmediate(() => log('C'));
