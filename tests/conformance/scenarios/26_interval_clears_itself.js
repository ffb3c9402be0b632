// setInterval runs until cleared: I (every 20 ms) clears itself from its third run and starts
// J; J (every 20 ms) is cleared from a microtask of its second run (after it was re-armed),
// which sets T 50 ms later: a run of I or J that was not cancelled would come before T. Each
// run is followed by its checkpoint. (Each timer is set from the previous one, so Node's late
// runs cannot reorder them.)
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

let iRuns = 0;
const i = setInterval(() => {
  const n = ++iRuns;
  log('I' + n);
  queueMicrotask(() => log('I' + n + '.m'));
  if (n === 3) {
    clearInterval(i);
    log('I' + n + ':cleared');
    startJ();
  }
}, 20);

function startJ() {
  let jRuns = 0;
  const j = setInterval(() => {
    const n = ++jRuns;
    log('J' + n);
    queueMicrotask(() => {
      log('J' + n + '.m');
      if (n === 2) {
        clearInterval(j);
        setTimeout(() => log('T'), 50);
      }
    });
  }, 20);
}
