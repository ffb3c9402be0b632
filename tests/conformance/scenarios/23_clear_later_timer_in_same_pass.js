// A timer cleared by an earlier timer of the same pass does not run: A clears B directly and D
// from its microtask (the checkpoint after A runs before D's turn); C clears E, which has
// another delay (due in the same pass in Node, or the next one).
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

let b, d, e;
setTimeout(() => {
  log('A');
  clearTimeout(b);
  queueMicrotask(() => {
    log('A.m');
    clearTimeout(d);
  });
}, 5);
b = setTimeout(() => log('B'), 5);
setTimeout(() => {
  log('C');
  clearTimeout(e);
}, 5);
d = setTimeout(() => log('D'), 5);
e = setTimeout(() => log('E'), 6);
setTimeout(() => log('F'), 30);
