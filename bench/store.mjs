#!/usr/bin/env node
// bench/store.mjs: external tables, batches, indices and queries, beside LokiJS (npm
// devDependency), in one run. Prints a markdown table of medians.
//
// Cu is timed end to end from JS (packing, the module, unpacking) and, where it can be
// separated, in the module alone: the raw cu_call export is wrapped (through the
// WebAssembly.instantiate hook, as test-harness/node/helpers.mjs does) and timed per op.
// LokiJS runs the same work on the same records: insert for sets, ensureIndex (binary index)
// for the index build, find/chain with $gte/$between for range queries, by() on a unique
// index for point gets, find on an unindexed field for the full scan.
// Memory: Cu's is the growth of stats().moduleHeapUsed (the module's own heap) while 100,000
// records go in (batches of 2,000 sets, each followed by takeChanges, as the persistence
// layer will do, so the change set stays small), and the wasm memory growth beside it;
// LokiJS's is the JS heap growth after a GC.
// Every timed write is followed (untimed) by takeChanges for the same reason.
//
// Usage: node bench/store.mjs [--runs N] [--records N]   (defaults 7, 100000)

import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadavg } from 'node:os';
import loki from 'lokijs';
import { memory, moduleMs, timedInit } from './timed.mjs';

const args = process.argv.slice(2);
const arg = (name, d) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : d);
const RUNS = arg('--runs', 7), N = arg('--records', 100000);
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

const CITIES = ['Paris', 'Berlin', 'Rome', 'Oslo', 'Lisbon', 'Vienna', 'Prague', 'Madrid'];
const rec = (i) => ({ name: 'user' + i, age: 18 + ((i * 7919) % 60), city: CITIES[i % 8] });
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

// A Cu instance whose cu_call is timed per op: moduleMs[op] accumulates (bench/timed.mjs).
const cu = () => timedInit({ heapSize: 1 << 20, storage: 'memory' });
// Times fn (end to end) and the module's share for op; returns [ms, moduleMs] per call.
async function time(op, fn, calls = 1) {
  moduleMs[op] = 0;
  const t = performance.now();
  for (let i = 0; i < calls; i++) await fn(i);
  return [(performance.now() - t) / calls, moduleMs[op] / calls];
}
function timeSync(fn, calls = 1) {
  const t = performance.now();
  for (let i = 0; i < calls; i++) fn(i);
  return (performance.now() - t) / calls;
}
async function runs(f, warm = 1) {
  const e2e = [], mod = [], lk = [];
  for (let i = 0; i < warm; i++) await f(); // warm-up: V8 optimizes the packer and the decoder
  for (let r = 0; r < RUNS; r++) {
    const [a, b, c] = await f();
    e2e.push(a), mod.push(b), lk.push(c);
  }
  return [median(e2e), median(mod), median(lk)];
}

const rows = [];
const row = (what, [e2e, mod, lk], unit, target) => rows.push({ what, e2e, mod, lk, unit, target });

// ---------------------------------------------------------------- data
const lua = await cu();
const db = new loki('bench.db');
const setOps = (n, base = 0) => Array.from({ length: n }, (_, i) => ({ type: 'set', table: 'b', key: 'k' + (base + i), value: rec(base + i) }));

// 1,000-op set batch
{
  const ops = setOps(1000);
  let r = 0;
  row('1,000-op set batch', await runs(async () => {
    const [e2e, mod] = await time(15, () => lua.batchTableOperations(ops));
    await lua.takeChanges(); // as the persistence layer will: keeps the change set small
    const coll = db.addCollection('s' + r++);
    const lk = timeSync(() => coll.insert(ops.map((o) => ({ key: o.key, ...o.value }))));
    db.removeCollection(coll.name);
    return [e2e, mod, lk];
  }, 30), 'ms', '≤ 2 ms end to end');
}

// throughput: N sets in one batch
let big;
{
  const ops = setOps(N);
  const res = await runs(async () => {
    const [e2e, mod] = await time(15, () => lua.batchTableOperations(ops, { chunkSize: N }));
    await lua.takeChanges();
    if (big) db.removeCollection('big');
    big = db.addCollection('big', { unique: ['key'] });
    const lk = timeSync(() => big.insert(ops.map((o) => ({ key: o.key, ...o.value }))));
    return [N / e2e * 1000, N / mod * 1000, N / lk * 1000];
  });
  row(`set throughput (${N.toLocaleString('en')} sets in one batch)`, res.map((x) => x / 1e6), 'M ops/s', '≥ 2 M ops/s in the module');
}

// index build on N records
row(`index build, ${N.toLocaleString('en')} records`, await runs(async () => {
  await lua.dropIndex('b', 'age');
  const [e2e, mod] = await time(17, () => lua.createIndex('b', 'age', 'btree'));
  await lua.takeChanges();
  const lk = timeSync(() => big.ensureIndex('age', true));
  return [e2e, mod, lk];
}), 'ms', '≤ 20 ms');

// range queries
for (const [label, q, lq] of [
  ['age >= 25 limit 100', { field: 'age', operator: '>=', value: 25, limit: 100 }, { age: { $gte: 25 } }],
  ['age between 30 and 40 limit 100', { field: 'age', operator: 'between', value: [30, 40], limit: 100 }, { age: { $between: [30, 40] } }],
]) {
  const check = await lua.queryTable('b', q);
  if (check.length != 100 || big.chain().find(lq).limit(100).data().length != 100) throw new Error('range query: wrong count');
  row(`range query ${label}, ${N.toLocaleString('en')} records`, await runs(async () => {
    const [e2e, mod] = await time(19, () => lua.queryTable('b', q), 200);
    const lk = timeSync(() => big.chain().find(lq).limit(100).data(), 200);
    return [e2e, mod, lk];
  }).then((r) => r.map((x) => x * 1000)), 'µs', '≤ 50 µs module, ≤ 150 µs end to end');
}

// point get
row('point get (getValue)', await runs(async () => {
  const [e2e, mod] = await time(9, (i) => lua.getValue('b', 'k' + ((i * 7919) % N)), 5000);
  const lk = timeSync((i) => big.by('key', 'k' + ((i * 7919) % N)), 5000);
  return [e2e, mod, lk];
}).then((r) => r.map((x) => x * 1000)), 'µs', '≤ 2 µs');

// full scan on an unindexed field
{
  const q = { field: 'name', operator: '=', value: 'user' + (N - 7) };
  if ((await lua.queryTable('b', q)).length != 1) throw new Error('scan: wrong count');
  row(`full scan (unindexed field), ${N.toLocaleString('en')} records`, await runs(async () => {
    const [e2e, mod] = await time(19, () => lua.queryTable('b', q), 5);
    const lk = timeSync(() => big.find({ name: 'user' + (N - 7) }), 5);
    return [e2e, mod, lk];
  }), 'ms', '≤ 5 ms');
}
lua.close();

// memory per record
{
  const fresh = await cu();
  const heap = async () => (await fresh.stats()).moduleHeapUsed;
  const before = await heap(), wasm0 = memory.buffer.byteLength;
  for (let i = 0; i < N; i += 2000) await fresh.batchTableOperations(setOps(Math.min(2000, N - i), i)), await fresh.takeChanges();
  const data = await heap(), wasm1 = memory.buffer.byteLength;
  await fresh.createIndex('b', 'age', 'btree');
  await fresh.takeChanges();
  const indexed = await heap();
  fresh.close();
  gc();
  const h0 = process.memoryUsage().heapUsed;
  const d = new loki('m.db'), c = d.addCollection('m');
  for (let i = 0; i < N; i++) c.insert({ key: 'k' + i, ...rec(i) });
  gc();
  const h1 = process.memoryUsage().heapUsed;
  c.ensureIndex('age', true);
  gc();
  const h2 = process.memoryUsage().heapUsed;
  rows.push({ what: 'memory per record (module heap in use / JS heap)', e2e: (data - before) / N, mod: null, lk: (h1 - h0) / N, unit: 'bytes', target: 'reported' });
  rows.push({ what: '… plus a btree index on age', e2e: (indexed - before) / N, mod: null, lk: (h2 - h0) / N, unit: 'bytes', target: 'reported' });
  rows.push({ what: '(wasm memory growth for the records)', e2e: (wasm1 - wasm0) / N, mod: null, lk: null, unit: 'bytes', target: '' });
}

// ---------------------------------------------------------------- report
const f = (x) => (x == null ? '—' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(x >= 1 ? 2 : 3));
console.log(`\nstore benchmark: Node ${process.version}, ${RUNS} runs (medians), ${N.toLocaleString('en')} records, load ${loadavg()[0].toFixed(2)}\n`);
console.log('| measurement | unit | Cu (end to end) | Cu (in module) | LokiJS | Cu ÷ LokiJS | target |');
console.log('| --- | --- | ---: | ---: | ---: | ---: | --- |');
for (const r of rows) console.log(`| ${r.what} | ${r.unit} | ${f(r.e2e)} | ${f(r.mod)} | ${f(r.lk)} | ${f(r.lk == null ? null : r.e2e / r.lk)} | ${r.target} |`);
console.log('\nCu ÷ LokiJS compares end-to-end numbers; for throughput (M ops/s) higher is better, elsewhere lower is better.');
