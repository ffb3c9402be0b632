// A delay outside 1..2^31-1 (negative, NaN, Infinity, 0, 0.5, 2^31) is 1 ms, and a fractional
// one is truncated (1.9 -> 1, 2.7 -> 2): all these fire in the order they were set. If 0, 0.5 or
// -1 meant 0 ms they would go before one1; if 1.9 rounded up it would go after one2; if 2.7
// rounded up it would go after two. The 2 ms timers are set last, so their deadline is never
// earlier than a 1 ms timer's even if Node's clock ticks while the script runs.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));
// Node prints a TimeoutOverflowWarning to stderr for 2^31 (record.sh requires an empty stderr):
// drop that one warning, keep any other.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'TimeoutOverflowWarning') console.error(w);
});

setTimeout(() => log('one1'), 1);
setTimeout(() => log('negative'), -1);
setTimeout(() => log('NaN'), NaN);
setTimeout(() => log('Infinity'), Infinity);
setTimeout(() => log('zero'), 0);
setTimeout(() => log('half'), 0.5);
setTimeout(() => log('1.9'), 1.9);
setTimeout(() => log('2^31'), 2 ** 31);
setTimeout(() => log('one2'), 1);
setTimeout(() => log('2.7'), 2.7);
setTimeout(() => log('two'), 2);
