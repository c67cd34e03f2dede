#!/usr/bin/env node
// bench/browser-store.mjs: persistence in real Chromium (Debian's, via playwright-core),
// beside Dexie (npm devDependency) in the same page and run. Serves the repository with
// scripts/serve.mjs on 127.0.0.1 and measures, medians of --runs N (default 5):
//   - a 1,000-op set batch, durable (resolved after IndexedDB's `complete`), Cu vs Dexie
//     bulkPut of the same records (its own transaction, durability 'strict');
//   - a 10,000-op set batch, the same;
//   - init with an empty database to the first compute resolved;
//   - restore of 100,000 records at init (to the first compute).
// Prints a markdown table. Usage: node bench/browser-store.mjs [--runs N]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { ARGS, CHROMIUM, startServer } from '../test-harness/browser/browser.mjs';

const args = process.argv.slice(2);
const RUNS = args.includes('--runs') ? Number(args[args.indexOf('--runs') + 1]) : 5;
const { server, url } = await startServer();
const profile = mkdtempSync(join(tmpdir(), 'cu-bench-'));
const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });
const page = context.pages()[0] ?? (await context.newPage());
await page.goto(url);

try {
  const results = await page.evaluate(async (RUNS) => {
    const { CuWASM } = await import('/glue.js');
    const { default: Dexie } = await import('/node_modules/dexie/dist/dexie.mjs');
    const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    const rec = (i) => ({ name: 'user' + i, age: 18 + ((i * 7919) % 60), city: 'C' + (i % 8) });
    const ops = (n, base) => Array.from({ length: n }, (_, i) => ({ type: 'set', table: 'b', key: 'k' + (base + i), value: rec(base + i) }));
    const out = {};
    // Batches: fresh keys every run (a growing table), durable.
    const lua = await CuWASM.init({ storage: 'indexeddb', name: 'bench', onPrint() {} });
    const db = new Dexie('dexie-bench', { chromeTransactionDurability: 'strict' });
    db.version(1).stores({ b: 'key' });
    await db.open();
    for (const n of [1000, 10000]) {
      const cu = [], dx = [];
      for (let r = 0; r < RUNS + 1; r++) {
        const batch = ops(n, r * n + n * 100);
        let t = performance.now();
        await lua.batchTableOperations(batch);
        if (r) cu.push(performance.now() - t);
        const rows = batch.map((o) => ({ key: o.key, ...o.value }));
        t = performance.now();
        await db.b.bulkPut(rows);
        if (r) dx.push(performance.now() - t);
      }
      out['batch' + n] = [median(cu), median(dx)];
    }
    await lua.close();
    db.close();
    // Empty database: init to the first compute.
    const empty = [];
    for (let r = 0; r < RUNS; r++) {
      const t = performance.now();
      const e = await CuWASM.init({ storage: 'indexeddb', name: 'empty' + r, onPrint() {} });
      await e.compute('return 1');
      empty.push(performance.now() - t);
      await e.close();
    }
    out.emptyInit = median(empty);
    // 100,000 records written, then restored by a new instance.
    const w = await CuWASM.init({ storage: 'indexeddb', name: 'big', onPrint() {} });
    for (let i = 0; i < 100000; i += 5000) await w.batchTableOperations(ops(5000, i));
    await w.close();
    const restore = [];
    for (let r = 0; r < RUNS; r++) {
      const t = performance.now();
      const l = await CuWASM.init({ storage: 'indexeddb', name: 'big', onPrint() {} });
      await l.compute('return 1');
      restore.push(performance.now() - t);
      if (r == 0) out.restored = await l.count('b');
      await l.close();
    }
    out.restore = median(restore);
    return out;
  }, RUNS);
  const f = (x) => (x < 10 ? x.toFixed(2) : x.toFixed(1));
  console.log(`\npersistence benchmark: Chromium ${context.browser()?.version() ?? ''} headless, ${RUNS} runs (medians)\n`);
  console.log('| measurement | Cu ms | Dexie ms | Cu ÷ Dexie | target |');
  console.log('| --- | ---: | ---: | ---: | --- |');
  console.log(`| 1,000-op set batch, durable | ${f(results.batch1000[0])} | ${f(results.batch1000[1])} | ${(results.batch1000[0] / results.batch1000[1]).toFixed(2)} | ≤ 15 ms |`);
  console.log(`| 10,000-op set batch, durable | ${f(results.batch10000[0])} | ${f(results.batch10000[1])} | ${(results.batch10000[0] / results.batch10000[1]).toFixed(2)} | ≤ 100 ms |`);
  console.log(`| init, empty database, to the first compute | ${f(results.emptyInit)} | — | — | ≤ 10 ms |`);
  console.log(`| init restoring ${results.restored.toLocaleString('en')} records, to the first compute | ${f(results.restore)} | — | — | ≤ 300 ms |`);
} finally {
  await context.close();
  server.kill();
  rmSync(profile, { recursive: true, force: true });
}
