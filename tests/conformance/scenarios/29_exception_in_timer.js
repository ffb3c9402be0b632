// A throwing timer callback is reported; its microtasks still run right after it, then the
// setImmediate it queued, and the loop goes on. An interval that throws keeps running (here
// until it clears itself on its second run). Each thrower is the only timer of its pass (the
// next is 40 ms or more later), where Node and HTML agree; compare 32.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

setTimeout(() => {
  log('A');
  queueMicrotask(() => log('A.m1'));
  setImmediate(() => log('A.i'));
  throw new Error('A');
}, 10);
let runs = 0;
const interval = setInterval(() => {
  const n = ++runs;
  log('I' + n);
  queueMicrotask(() => log('I' + n + '.m1'));
  if (n === 2) clearInterval(interval);
  throw new Error('I' + n);
}, 50);
setTimeout(() => log('B'), 160);
