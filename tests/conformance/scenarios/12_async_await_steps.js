// An async function runs synchronously up to its first await; each await of a non-promise
// value resumes it one microtask later. Calls from the script and from a macrotask interleave
// with queueMicrotask in FIFO order.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

async function f(name) {
  log(name + '1');
  await null;
  log(name + '2');
  await undefined;
  log(name + '3');
}
f('f');
f('g');
queueMicrotask(() => log('q'));
setImmediate(() => {
  log('A');
  f('h');
  queueMicrotask(() => log('A.q'));
  log('A:end');
});
log('script:end');
