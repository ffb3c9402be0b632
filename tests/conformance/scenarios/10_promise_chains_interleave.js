// In p.then(f).then(g), g's job is queued only when f has returned (the derived promise is
// fulfilled then): two chains and a queueMicrotask advance one step per round, all before
// the next macrotask.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

setImmediate(() => log('A'));
Promise.resolve()
  .then(() => log('a1'))
  .then(() => log('a2'))
  .then(() => log('a3'));
Promise.resolve()
  .then(() => log('b1'))
  .then(() => log('b2'));
queueMicrotask(() => log('q'));
