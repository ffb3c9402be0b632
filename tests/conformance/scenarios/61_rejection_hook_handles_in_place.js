// The unhandledRejection listener may queue microtasks and attach handlers: they run in the
// same checkpoint, after every report of the round, and the handler it attached gives
// rejectionHandled at the end of it, before the next macrotask.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));
const msg = (e) => (e instanceof Error ? e.message : String(e));
const reasons = new WeakMap();
process.on('unhandledRejection', (r, p) => {
  reasons.set(p, r);
  log('unhandled:' + msg(r));
  queueMicrotask(() => log('hook.q:' + msg(r)));
  p.catch((e) => log('hook.caught:' + msg(e)));
});
process.on('rejectionHandled', (p) => log('handled:' + msg(reasons.get(p))));

Promise.reject(new Error('x'));
Promise.reject(new Error('y'));
queueMicrotask(() => log('q'));
setImmediate(() => log('A'));
