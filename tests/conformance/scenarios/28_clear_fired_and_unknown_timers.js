// Clearing a timer that already fired (also from its own callback, and twice) or an ID that was
// never issued does nothing; clearTimeout also stops an interval (one ID namespace).
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

const a = setTimeout(() => {
  log('A');
  clearTimeout(a);
  queueMicrotask(() => log('A.m'));
}, 10);
const interval = setInterval(() => log('I'), 20);
setTimeout(() => {
  log('B');
  clearTimeout(a);
  clearTimeout(a);
  clearTimeout(123456789);
  clearTimeout(interval);
}, 30);
setTimeout(() => log('C'), 50);
clearTimeout(987654321);
