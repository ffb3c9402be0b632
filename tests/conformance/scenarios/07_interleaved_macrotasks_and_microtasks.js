// Three macrotasks, each queuing microtasks that queue more microtasks and macrotasks: every
// macrotask's whole microtask tree runs before the next macrotask; new macrotasks queue FIFO.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

for (const name of ['A', 'B', 'C']) {
  setImmediate(() => {
    log(name);
    queueMicrotask(() => {
      log(name + '.m1');
      setImmediate(() => {
        log(name + '.i');
        queueMicrotask(() => log(name + '.i.m'));
      });
      queueMicrotask(() => log(name + '.m1.m'));
    });
    Promise.resolve().then(() => log(name + '.p'));
    queueMicrotask(() => log(name + '.m2'));
  });
}
queueMicrotask(() => log('script.m'));
