// Each macrotask is followed by a full microtask checkpoint before the next macrotask runs;
// a microtask never runs in the middle of the macrotask that queued it.
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

for (const name of ['A', 'B', 'C']) {
  setImmediate(() => {
    log(name);
    queueMicrotask(() => log(name + '.m1'));
    queueMicrotask(() => log(name + '.m2'));
    log(name + ':end');
  });
}
