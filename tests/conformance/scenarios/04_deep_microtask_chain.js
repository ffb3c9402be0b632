// A chain of 10000 microtasks, each queuing the next, runs to its end in one checkpoint:
// macrotasks queued before the chain and from its middle wait for all of it. Only every
// 2500th step is logged. (The Rust loop runs microtasks from a queue, not by recursion, so a
// deep chain needs no stack.)
const log = (event) => console.log(event);
process.on('uncaughtException', (e) => log('error:' + e.message));

const DEPTH = 10000;
setImmediate(() => log('A'));
function step(depth) {
  if (depth % 2500 === 0) log('chain:' + depth);
  if (depth === 5000) setImmediate(() => log('B'));
  if (depth < DEPTH) queueMicrotask(() => step(depth + 1));
  else log('chain:end');
}
queueMicrotask(() => step(1));
log('script:end');
