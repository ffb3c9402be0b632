// Timers set from microtasks: the script's microtask sets one after the script's own timer of
// the same delay; a microtask of timer A sets a 0 ms timer that waits for a later pass (after
// B, due with A, and after the setImmediate queued with it), and a promise reaction inside
// that timer sets another one. The script's microtask blocks for 30 ms so that every timer set
// so far is due at the first timer pass (in Node, timers set a few hundred microseconds apart
// can fall on different milliseconds, and so in different passes, and A.m.i would then run
// before B).
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));
const block = (ms) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

queueMicrotask(() => {
  log('script.m');
  setTimeout(() => log('S.m.t5'), 5);
  block(30);
});
setTimeout(() => log('S.t5'), 5);
setTimeout(() => {
  log('A');
  queueMicrotask(() => {
    log('A.m');
    setImmediate(() => log('A.m.i'));
    setTimeout(() => {
      log('A.m.t0');
      Promise.resolve().then(() => {
        log('A.m.t0.p');
        setTimeout(() => log('A.m.t0.p.t0'), 0);
      });
    }, 0);
  });
}, 20);
setTimeout(() => log('B'), 20);
