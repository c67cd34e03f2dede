// worker.test.mjs: glue.js in module Web Workers (`new Worker(url, { type: 'module' })`) in
// headless Chromium: Lua runs with no DOM, IndexedDB storage persists from one worker to the
// next (and to the page), two workers on one database take turns under the Web Lock, and
// errors arrive as CuError/BatchError with their codes. The repository is served as by
// scripts/serve.mjs, plus a test page and worker under /__worker__/. (The Vite-bundled
// worker: test-harness/node/package.test.mjs.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM, ROOT, closeContext, launchChromium } from './browser.mjs';
import { createStaticServer } from '../../scripts/serve.mjs';

// The page keeps workers by number; inWorker(n, fn, arg) runs `fn(cu, arg)` in worker n,
// where cu is glue.js's exports plus `dom` (whether the worker sees a DOM).
const PAGE = `<!doctype html><meta charset="utf-8"><title>workers</title>
<script type="module">
  const workers = [];
  let next = 0;
  window.newWorker = () => new Promise((ok, no) => {
    const w = new Worker('./worker.js', { type: 'module' });
    w.onerror = (e) => no(new Error('worker failed to start: ' + e.message));
    w.addEventListener('message', (e) => e.data === 'ready' && ok(workers.push(w) - 1), { once: true });
  });
  window.inWorker = (n, fn, arg) => new Promise((ok, no) => {
    const id = next++, w = workers[n];
    w.addEventListener('message', function reply(e) {
      if (e.data?.id !== id) return;
      w.removeEventListener('message', reply);
      'error' in e.data ? no(new Error(e.data.error)) : ok(e.data.value);
    });
    w.postMessage({ id, fn, arg });
  });
  window.endWorker = (n) => workers[n].terminate();
  window.ready = true;
</script>
`;
const WORKER = `import * as glue from '/glue.js';
const cu = { ...glue, dom: typeof document != 'undefined' || typeof window != 'undefined' };
self.onmessage = async ({ data: { id, fn, arg } }) => {
  try {
    postMessage({ id, value: await (0, eval)('(' + fn + ')')(cu, arg) });
  } catch (e) {
    postMessage({ id, error: String(e?.stack || e) });
  }
};
postMessage('ready');
`;

let server, context, page, profile, url;
const problems = [];

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: install it with \`apt-get install chromium\``);
  if (!existsSync(join(ROOT, 'dist/cu.wasm'))) throw new Error('dist/cu.wasm is missing: build it first with `bash scripts/build.sh`');
  const statics = createStaticServer().listeners('request')[0];
  const own = { '/__worker__/': ['text/html', PAGE], '/__worker__/worker.js': ['text/javascript', WORKER] };
  server = createServer((req, res) => {
    const mine = own[req.url];
    if (!mine) return statics(req, res);
    res.writeHead(200, { 'content-type': mine[0], 'cache-control': 'no-store' });
    res.end(mine[1]);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${server.address().port}/__worker__/`;
  profile = mkdtempSync(join(tmpdir(), 'cu-chromium-worker-'));
  context = await launchChromium(profile);
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('response', (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()} for ${r.url()}`));
  await page.goto(url);
  await page.waitForFunction(() => window.ready);
});

after(async () => {
  if (context) await closeContext(context);
  server?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const newWorker = () => page.evaluate(() => window.newWorker());
const inWorker = (n, fn, arg) => page.evaluate(([n, fn, arg]) => window.inWorker(n, fn, arg), [n, String(fn), arg]);
const endWorker = (n) => page.evaluate((n) => window.endWorker(n), n);

test('a module worker runs Lua from glue.js with no DOM, on IndexedDB', async () => {
  const w = await newWorker();
  const out = await inWorker(w, async ({ CuWASM, dom }) => {
    const printed = [];
    const lua = await CuWASM.init({ storage: 'auto', name: 'first', onPrint: (text, stream) => printed.push([stream, text]) });
    const sum = await lua.compute('print("from a worker") return 2 + 2');
    const all = await lua.computeAll('return 1, "two", {3}, 2^53 + 1 == 2^53 + 1');
    const warnings = lua.warnings.length;
    const stats = await lua.stats();
    await lua.close();
    return { dom, sum, all, printed, warnings, heap: stats.heapSize, locks: !!navigator.locks, idb: typeof indexedDB };
  });
  assert.deepEqual(out, {
    dom: false, sum: 4, all: [1, 'two', [3], true], printed: [['stdout', 'from a worker']], warnings: 0, heap: 524288, locks: true, idb: 'object',
  });
  await endWorker(w);
});

test('IndexedDB storage persists from one worker to the next, and to the page', async () => {
  const a = await newWorker();
  const written = await inWorker(a, async ({ CuWASM }) => {
    const lua = await CuWASM.init({ name: 'shared' });
    await lua.setValue('users', 'u1', { name: 'Ann', age: 30 });
    await lua.createIndex('users', 'age');
    await lua.compute('local n = 10 Memory.counter = function() n = n + 1 return n end');
    const first = await lua.compute('return Memory.counter()');
    await lua.close();
    return first;
  });
  assert.equal(written, 11);
  await endWorker(a);

  const b = await newWorker();
  const read = await inWorker(b, async ({ CuWASM }) => {
    const lua = await CuWASM.init({ name: 'shared' });
    const user = await lua.getValue('users', 'u1');
    const next = await lua.compute('return Memory.counter()');
    const rows = await lua.queryTable('users', { field: 'age', op: '>=', value: 18 });
    const plan = await lua.queryTable('users', { field: 'age', op: '>=', value: 18, explain: true });
    await lua.close();
    return { user, next, rows, plan: plan.index };
  });
  assert.deepEqual(read, { user: { name: 'Ann', age: 30 }, next: 12, rows: [{ key: 'u1', value: { name: 'Ann', age: 30 } }], plan: 'age' });
  await endWorker(b);

  // The page, same origin, opens the same database.
  const fromPage = await page.evaluate(async () => {
    const { CuWASM } = await import('/glue.js');
    const lua = await CuWASM.init({ name: 'shared' });
    const v = await lua.compute('return Memory.counter()');
    await lua.close();
    return v;
  });
  assert.equal(fromPage, 13);
});

test('two workers on one database take turns under the Web Lock', async () => {
  const [a, b] = [await newWorker(), await newWorker()];
  const bump = async ({ CuWASM }, times) => {
    const lua = await CuWASM.init({ name: 'turns' });
    for (let i = 0; i < times; i++) await lua.compute('Memory.n = (Memory.n or 0) + 1');
    await lua.close();
  };
  await Promise.all([inWorker(a, bump, 25), inWorker(b, bump, 25)]);
  const n = await inWorker(a, async ({ CuWASM }) => {
    const lua = await CuWASM.init({ name: 'turns' });
    const n = await lua.compute('return Memory.n');
    await lua.close();
    return n;
  });
  assert.equal(n, 50, 'no increment lost');
  await endWorker(a);
  await endWorker(b);
});

test('errors in a worker are CuError (and BatchError) with their codes', async () => {
  const w = await newWorker();
  const out = await inWorker(w, async ({ CuWASM, CuError, BatchError }) => {
    const shape = (e) => ({ cu: e instanceof CuError, batch: e instanceof BatchError, code: e.code, line: e.details?.line ?? null });
    const caught = async (p) => p.then(() => null, shape);
    const lua = await CuWASM.init({ name: 'errors' });
    await lua.defineSchema('users', { type: 'table', fields: { age: { type: 'integer', max: 150 } } });
    const out = {
      syntax: await caught(lua.compute('x = = 1')),
      runtime: await caught(lua.compute('\n\nerror("boom")')),
      badArgument: await caught(lua.setValue('users', 'u1', () => 1)),
      schema: await caught(lua.setValue('users', 'u1', { age: 200 })),
      batch: await caught(lua.batchTableOperations([{ type: 'update', table: 'users', key: 'nobody', value: { age: 1 } }])),
      init: await caught(CuWASM.init({ storage: 'localStorage' })),
    };
    const e = await lua.setValue('users', 'u1', { age: 200 }).catch((e) => e);
    out.violations = e.violations.map((v) => v.rule);
    const b = await lua.batchTableOperations([{ type: 'update', table: 'users', key: 'nobody', value: {} }]).catch((e) => e);
    out.failures = b.failures.map((f) => [f.index, f.error.code]);
    await lua.close();
    out.closed = await caught(lua.compute('return 1'));
    return out;
  });
  assert.deepEqual(out, {
    syntax: { cu: true, batch: false, code: 'LUA_SYNTAX', line: 1 },
    runtime: { cu: true, batch: false, code: 'LUA_RUNTIME', line: 3 },
    badArgument: { cu: true, batch: false, code: 'BAD_ARGUMENT', line: null },
    schema: { cu: true, batch: false, code: 'SCHEMA_VIOLATION', line: null },
    batch: { cu: true, batch: true, code: 'BATCH_FAILED', line: null },
    init: { cu: true, batch: false, code: 'BAD_ARGUMENT', line: null },
    violations: ['max'],
    failures: [[0, 'NOT_FOUND']],
    closed: { cu: true, batch: false, code: 'INSTANCE_DEAD', line: null },
  });
  await endWorker(w);
  assert.deepEqual(problems, []);
});
