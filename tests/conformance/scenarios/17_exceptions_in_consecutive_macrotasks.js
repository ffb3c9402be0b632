// Two macrotasks in a row throw after queuing microtasks. HTML runs each one's microtasks
// right after it; Node defers them past every following setImmediate callback up to the first
// that does not throw (see the .expected.txt override).
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

for (const name of ['A', 'B', 'C']) {
  setImmediate(() => {
    log(name);
    queueMicrotask(() => log(name + '.m1'));
    if (name !== 'C') throw new Error(name);
  });
}
setImmediate(() => log('D'));
