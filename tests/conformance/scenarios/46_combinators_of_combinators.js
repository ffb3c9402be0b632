// Combinators nest, one job per level, against a plain chain that counts the jobs:
// Promise.all over two Promise.race results (one racing a then() result against
// Promise.race([]), which never settles), Promise.any over two Promise.race results (the first
// rejects), and a then() handler returning Promise.all (which costs the two adoption jobs).
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

const never = Promise.race([]);
const race1 = Promise.race([Promise.resolve('r')]);
const race2 = Promise.race([Promise.resolve('l').then((v) => v + '2'), never]);
Promise.all([race1, race2]).then((vs) => log('all:' + vs.join(',')));
Promise.any([Promise.race([Promise.reject('x')]), Promise.race([Promise.resolve('y')])]).then(
  (v) => log('any:' + v),
);
Promise.resolve()
  .then(() => {
    log('a1');
    return Promise.all([Promise.resolve('p'), Promise.resolve('q')]);
  })
  .then((vs) => log('a2:' + vs.join(',')));
Promise.resolve()
  .then(() => log('t1'))
  .then(() => log('t2'))
  .then(() => log('t3'))
  .then(() => log('t4'))
  .then(() => log('t5'));
