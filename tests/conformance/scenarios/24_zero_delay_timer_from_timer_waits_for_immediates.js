// setTimeout(f, 0) from a timer callback is due 1 ms later and never runs in the pass that set
// it: B (due with A) runs first, then the setImmediate callbacks queued by the timers, then the
// 0 ms timers in the order they were set (one set from an immediate included). The script
// blocks for 10 ms so that A and B are both due at the first timer pass (in Node, timers set
// a few hundred microseconds apart can fall on different milliseconds, and so in different
// passes, and A.i would then run before B).
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));
const block = (ms) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

setTimeout(() => {
  log('A');
  setTimeout(() => log('A.t0'), 0);
  setImmediate(() => log('A.i'));
  queueMicrotask(() => log('A.m'));
}, 5);
setTimeout(() => {
  log('B');
  setTimeout(() => log('B.t0'), 0);
  setImmediate(() => {
    log('B.i');
    setTimeout(() => log('B.i.t0'), 0);
  });
}, 5);
block(10);
