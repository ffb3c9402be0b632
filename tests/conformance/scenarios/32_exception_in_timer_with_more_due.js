// Timers throw after queuing microtasks while more timers are due in the same pass. HTML runs
// a thrower's microtasks right after it (a checkpoint follows every callback, thrown or not);
// Node runs the next due timer first (see the .expected.txt override). The script blocks for
// 20 ms so that the four timers are all due at the first timer pass (in Node, timers set a few
// hundred microseconds apart can fall on different milliseconds, and so in different passes).
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));
const block = (ms) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

setTimeout(() => {
  log('A');
  queueMicrotask(() => log('A.m1'));
  Promise.resolve().then(() => log('A.p2'));
  throw new Error('A');
}, 5);
setTimeout(() => {
  log('B');
  queueMicrotask(() => log('B.m1'));
}, 5);
setTimeout(() => {
  log('C');
  queueMicrotask(() => log('C.m1'));
  throw new Error('C');
}, 5);
setTimeout(() => {
  log('D');
  queueMicrotask(() => log('D.m1'));
}, 5);
block(20);
