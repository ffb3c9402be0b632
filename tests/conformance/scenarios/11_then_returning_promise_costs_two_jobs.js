// A then() handler that returns a promise resolves its derived promise two jobs later
// (ECMAScript: NewPromiseResolveThenableJob, then the inner promise's reaction), so a plain
// chain started beside it overtakes it by two steps.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

setImmediate(() => log('A'));
Promise.resolve()
  .then(() => {
    log('a1');
    return Promise.resolve('x');
  })
  .then((v) => log('a2:' + v));
Promise.resolve()
  .then(() => log('b1'))
  .then(() => log('b2'))
  .then(() => log('b3'))
  .then(() => log('b4'));
