// Timers fire in deadline order, not in the order they were set; a timer set by a callback is
// due its delay after that callback ran, so it can go before a timer set earlier. The delays
// are 10 ms apart or more, so the order does not depend on how late Node's passes run.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

setTimeout(() => log('C90'), 90);
setTimeout(() => {
  log('A20');
  setTimeout(() => log('A20.t10'), 10); // due at 30, before B60
}, 20);
setTimeout(() => log('B60'), 60);
setTimeout(() => log('D1'), 1);
