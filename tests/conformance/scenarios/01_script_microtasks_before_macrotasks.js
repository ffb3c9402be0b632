// The script is a macrotask: its microtasks (queueMicrotask and then on a resolved promise,
// one FIFO queue) all run when it ends, before the first setImmediate callback.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

log('script:start');
setImmediate(() => log('A'));
queueMicrotask(() => log('m1'));
Promise.resolve().then(() => log('m2'));
setImmediate(() => log('B'));
queueMicrotask(() => log('m3'));
log('script:end');
