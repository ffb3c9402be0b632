// Resolving a promise with itself, or returning a then() callback's own derived promise from
// it, rejects with a TypeError: at once for the first, when the callback returns for the second.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));
const msg = (e) => (e instanceof Error ? e.message : String(e));
const reasons = new WeakMap();
process.on('unhandledRejection', (r, p) => {
  reasons.set(p, r);
  log('unhandled:' + msg(r));
});
process.on('rejectionHandled', (p) => log('handled:' + msg(reasons.get(p))));

let resolveSelf;
const p = new Promise((r) => (resolveSelf = r));
resolveSelf(p);
p.catch((e) => log('p:' + e.constructor.name + ':' + msg(e)));
const d = Promise.resolve().then(() => {
  log('d.callback');
  return d;
});
d.catch((e) => log('d:' + e.constructor.name + ':' + msg(e)));
queueMicrotask(() => log('q'));
