// An interval every 200 ms interleaves with timeouts at 300, 500 and 700 ms (the last clears
// it); a timeout set by the interval's second run (150 ms) lands between T500 and the next
// run, which is re-armed from when the second run started. (Scaled by 20 from "interval 10,
// timeouts 15 and 25": Node's late runs add up over an interval's runs, and the script can be
// preempted between two calls; the gaps leave 50 ms or more for that.)
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

let runs = 0;
const interval = setInterval(() => {
  const n = ++runs;
  log('I' + n);
  if (n === 2) setTimeout(() => log('I2.t150'), 150);
}, 200);
setTimeout(() => log('T300'), 300);
setTimeout(() => log('T500'), 500);
setTimeout(() => {
  log('T700');
  clearInterval(interval);
}, 700);
