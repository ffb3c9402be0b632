// Timers set from setImmediate callbacks (I2 runs in a later loop iteration than I1): equal
// delays keep their scheduling order, shorter delays go first, a timer's setImmediate runs
// before a timer set from it; the script's S.t250 goes last. The delays leave 30 ms or more
// for Node to be preempted between loop iterations (I1.t30 must not be due before I2 runs).
// Not here: setTimeout(f, 0) against a setImmediate queued by the same immediate (or by the
// script), whose order in Node depends on how much real time passed.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

setImmediate(() => {
  log('I1');
  setTimeout(() => log('I1.t90'), 90);
  setTimeout(() => log('I1.t30'), 30);
  setImmediate(() => {
    log('I2');
    setTimeout(() => log('I2.t90'), 90);
    setTimeout(() => {
      log('I2.t30');
      setImmediate(() => {
        log('J');
        setTimeout(() => log('J.t10'), 10);
      });
    }, 30);
  });
});
setTimeout(() => log('S.t250'), 250);
