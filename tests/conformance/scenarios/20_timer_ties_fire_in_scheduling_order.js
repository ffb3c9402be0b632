// Timers due at the same time fire in the order they were set, whatever was set between them
// with another delay; timers with the same delay set by one callback keep their order too.
// (Node keeps one FIFO list per delay; the loop orders by (deadline, scheduling order).) The
// two delays are 40 ms apart, so Node keeps the groups apart even if the script is preempted
// between two calls.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

setTimeout(() => log('a50'), 50);
setTimeout(() => log('b10'), 10);
setTimeout(() => log('c50'), 50);
setTimeout(() => log('d10'), 10);
setTimeout(() => {
  log('e50');
  for (const name of ['x', 'y', 'z']) {
    setTimeout(() => log('e50.' + name), 20);
  }
}, 50);
