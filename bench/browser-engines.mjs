#!/usr/bin/env node
// bench/browser-engines.mjs: Cu's persistence in the three browser engines, one column each
// (Chromium, Firefox ESR, WebKitGTK; started through test-harness/browser/engines.mjs on a
// fresh profile, the repository served by scripts/serve.mjs on 127.0.0.1). Medians of
// --runs N (default 5):
//   - a durable 1,000-op set batch (resolved after IndexedDB's `complete`, durability strict);
//   - an indexed range query on 100,000 records: a B-tree index on `age`, then
//     queryTable({ field: 'age', operator: 'between', value: [30, 40], limit: 100 });
//   - init to the first compute resolved, on a new database and on an existing empty one;
//   - the same in a fresh page (reloaded), from importing glue.js: cu.wasm fetched and compiled.
// Prints a markdown table. Usage: node bench/browser-engines.mjs [--runs N] [--engines a,b]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENGINES, open } from '../test-harness/browser/engines.mjs';
import { startServer } from '../test-harness/browser/browser.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const RUNS = Number(opt('--runs', 5));
const engines = opt('--engines', ENGINES.join(',')).split(',');

// In the page: the three measurements, in ms.
async function measure(RUNS) {
  const { CuWASM } = await import('/glue.js');
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const rec = (i) => ({ name: 'user' + i, age: 18 + ((i * 7919) % 60), city: 'C' + (i % 8) });
  const ops = (n, base) => Array.from({ length: n }, (_, i) => ({ type: 'set', table: 'b', key: 'k' + (base + i), value: rec(base + i) }));
  const out = {};
  const lua = await CuWASM.init({ storage: 'indexeddb', name: 'bench', onPrint() {} });
  const batch = [];
  for (let r = 0; r < RUNS + 1; r++) {
    const b = ops(1000, r * 1000);
    const t = performance.now();
    await lua.batchTableOperations(b);
    if (r) batch.push(performance.now() - t);
  }
  out.batch = median(batch);
  await lua.close();

  const big = await CuWASM.init({ storage: 'indexeddb', name: 'big', onPrint() {}, heapSize: 8 << 20 });
  for (let i = 0; i < 100000; i += 5000) await big.batchTableOperations(ops(5000, i));
  let t = performance.now();
  await big.createIndex('b', 'age');
  out.createIndex = performance.now() - t;
  const q = { field: 'age', operator: 'between', value: [30, 40], limit: 100 };
  // 50 queries a sample: Firefox and WebKit round performance.now() to 1 ms.
  const query = [];
  for (let r = 0; r < RUNS + 1; r++) {
    t = performance.now();
    for (let k = 0; k < 50; k++) {
      const rows = await big.queryTable('b', q);
      if (rows.length != 100) throw Error('query gave ' + rows.length + ' rows');
    }
    if (r) query.push((performance.now() - t) / 50);
  }
  out.query = median(query);
  out.plan = (await big.queryTable('b', { ...q, explain: true })).type;
  out.records = await big.count('b');
  await big.close();

  // A new database (the engine creates it), then the same again (a returning visitor).
  for (const key of ['init', 'reinit']) {
    const init = [];
    for (let r = 0; r < RUNS; r++) {
      t = performance.now();
      const e = await CuWASM.init({ storage: 'indexeddb', name: 'empty' + r, onPrint() {} });
      await e.compute('return 1');
      init.push(performance.now() - t);
      await e.close();
    }
    out[key] = median(init);
  }
  return out;
}

const { server, url } = await startServer();
const results = [];
try {
  for (const engine of engines) {
    const profile = mkdtempSync(join(tmpdir(), `cu-bench-${engine}-`));
    const b = await open(engine, { profile, timeout: 600000 });
    try {
      await b.goto(url);
      const r = { name: b.name, ...(await b.eval(measure, RUNS)) };
      // A fresh page each run: glue.js imported, cu.wasm fetched and compiled, the database
      // (existing, empty) opened, up to the first compute.
      const cold = [];
      for (let i = 0; i < RUNS; i++) {
        await b.reload();
        cold.push(await b.eval(async () => {
          const t = performance.now();
          const { CuWASM } = await import('/glue.js');
          const lua = await CuWASM.init({ storage: 'indexeddb', name: 'empty0', onPrint() {} });
          await lua.compute('return 1');
          const ms = performance.now() - t;
          await lua.close();
          return ms;
        }));
      }
      r.cold = cold.sort((x, y) => x - y)[cold.length >> 1];
      results.push(r);
      console.error(`${b.name}: done`);
    } finally {
      await b.close();
      rmSync(profile, { recursive: true, force: true });
    }
  }
} finally {
  server.kill();
}
const f = (x) => (x < 10 ? x.toFixed(2) : x.toFixed(1));
const row = (label, key) => console.log(`| ${label} | ${results.map((r) => f(r[key])).join(' | ')} |`);
console.log(`\nCu persistence in three engines (headless; WebKitGTK under Xvfb), ${RUNS} runs (medians), ms\n`);
console.log(`| measurement | ${results.map((r) => r.name).join(' | ')} |`);
console.log(`| --- |${results.map(() => ' ---: |').join('')}`);
row('durable 1,000-op set batch', 'batch');
row(`indexed range query on ${results[0].records.toLocaleString('en')} records (${results[0].plan}, limit 100)`, 'query');
row('createIndex on those records (once)', 'createIndex');
row('init to the first compute, new database', 'init');
row('init to the first compute, existing empty database', 'reinit');
row('a fresh page: glue.js imported, cu.wasm compiled, init to the first compute', 'cold');
