// package.test.mjs: the npm package as a user gets it. `npm pack` into a temp dir, the
// tarball installed (offline: it has no dependencies) into a scratch ES-module project, then:
// its file list; Node importing `cu-lua` (memory and file storage); TypeScript resolving its
// declarations; a Vite build of a page and a module worker importing `cu-lua`, served on
// 127.0.0.1 and run in headless Chromium, persisting through IndexedDB across a reload; and
// a module worker importing the installed package's glue.js unbundled.
// Also: glue.d.ts's CuErrorCode lists exactly the codes glue.js makes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { ROOT, WASM_PATH } from './helpers.mjs';
import { ARGS, CHROMIUM } from '../browser/browser.mjs';

const run = promisify(execFile);
const npm = (args, cwd) => run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, maxBuffer: 1 << 24 });

let temp, project, packed;

before(async () => {
  temp = mkdtempSync(join(tmpdir(), 'cu-package-'));
  project = join(temp, 'project');
  mkdirSync(project);
  const { stdout } = await npm(['pack', '--json', '--pack-destination', temp], ROOT);
  [packed] = JSON.parse(stdout.slice(stdout.indexOf('[')));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  await npm(['install', '--offline', join(temp, packed.filename)], project);
});

after(() => {
  if (temp) rmSync(temp, { recursive: true, force: true });
});

// Every file under `dir` (relative to the repository root).
const filesUnder = (dir) =>
  readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(ROOT, join(e.parentPath ?? e.path, e.name)));

test('npm pack holds exactly what a user needs', () => {
  const optional = ['compat.js', 'compat.d.ts', 'LICENSE'].filter((f) => existsSync(join(ROOT, f)));
  const expected = [
    'package.json', 'README.md', 'glue.js', 'glue.d.ts', 'idb.js', 'idb.d.ts', 'file-store.js', 'file-store.d.ts',
    'dist/cu.wasm', ...filesUnder('docs'), ...optional,
  ];
  assert.deepEqual(packed.files.map((f) => f.path).sort(), expected.sort());
  assert.equal(packed.files.find((f) => f.path == 'dist/cu.wasm').size, readFileSync(WASM_PATH).length);

  // Every target of "exports" and "types" is in it (compat.* once the compatibility module exists).
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const targets = [pkg.types, ...Object.values(pkg.exports).flatMap((t) => (typeof t == 'string' ? [t] : Object.values(t)))];
  const paths = new Set(packed.files.map((f) => f.path));
  for (const t of targets) {
    const file = t.replace(/^\.\//, '');
    if (/^compat\./.test(file) && !existsSync(join(ROOT, file))) continue;
    assert.ok(paths.has(file), `${t} is exported but not packed`);
  }
  for (const entry of ['.', './glue.js', './idb.js', './file-store.js', './compat.js', './compat']) {
    assert.deepEqual(Object.keys(pkg.exports[entry]), ['types', 'default'], entry);
  }
});

test('glue.d.ts declares exactly the error codes glue.js makes', () => {
  const glue = readFileSync(join(ROOT, 'glue.js'), 'utf8');
  const table = /const SUGGESTIONS = \{([\s\S]*?)\n\};/.exec(glue)[1];
  const made = new Set([...table.matchAll(/^\s+([A-Z_]+):/gm), ...glue.matchAll(/new CuError\('([A-Z_]+)'/g)].map((m) => m[1]));
  const dts = readFileSync(join(ROOT, 'glue.d.ts'), 'utf8');
  const union = /export type CuErrorCode =([^;]*);/.exec(dts)[1];
  const declared = new Set([...union.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]));
  assert.ok(made.size > 20);
  assert.deepEqual([...declared].sort(), [...made].sort());
});

test('Node: the installed package runs Lua with memory and file storage', async () => {
  writeFileSync(join(project, 'node.mjs'), `
    import { CuWASM, CuError } from 'cu-lua';
    import { indexedDBStore } from 'cu-lua/idb.js';
    import { fileStore } from 'cu-lua/file-store.js';
    import { existsSync } from 'node:fs';
    import { fileURLToPath } from 'node:url';
    const out = { printed: [] };
    const mem = await CuWASM.init({ storage: 'memory', onPrint: (text) => out.printed.push(text) });
    out.sum = await mem.compute('print("hi") return 2 + 2');
    out.code = await mem.compute('error("x")').catch((e) => e instanceof CuError && e.code);
    await mem.close();
    const a = await CuWASM.init({ storage: 'file', name: 'scratch' });
    await a.setValue('t', 'k', 41);
    await a.close();
    const b = await CuWASM.init({ storage: 'file', name: 'scratch' });
    out.persisted = await b.compute('return Memory.t.k + 1');
    await b.close();
    out.log = existsSync('scratch.culog');
    out.glue = fileURLToPath(import.meta.resolve('cu-lua'));
    out.wasm = existsSync(fileURLToPath(import.meta.resolve('cu-lua/cu.wasm')));
    out.adapters = typeof indexedDBStore == 'function' && typeof fileStore.destroy == 'function';
    console.log(JSON.stringify(out));
  `);
  const { stdout } = await run(process.execPath, ['node.mjs'], { cwd: project });
  const out = JSON.parse(stdout);
  assert.deepEqual(out.printed, ['hi']);
  assert.equal(out.sum, 4);
  assert.equal(out.code, 'LUA_RUNTIME');
  assert.equal(out.persisted, 42);
  assert.equal(out.log, true);
  assert.equal(out.glue, join(project, 'node_modules/cu-lua/glue.js')); // the package, not the repository
  assert.equal(out.wasm, true);
  assert.equal(out.adapters, true);
});

test('TypeScript: a project using the installed package type-checks', async () => {
  writeFileSync(join(project, 'check.ts'), `
    import { CuWASM, CuError, type CuErrorCode, type Stats } from 'cu-lua';
    import { indexedDBStore } from 'cu-lua/idb.js';
    import { fileStore } from 'cu-lua/file-store.js';
    const lua = await CuWASM.init({ storage: 'memory', heapSize: 1 << 20 });
    const stats: Stats = await lua.stats();
    const code: CuErrorCode = new CuError('BAD_ARGUMENT', 'x').code;
    // @ts-expect-error: not a storage
    await CuWASM.init({ storage: 'cookies' });
    export const all = [stats, code, indexedDBStore, fileStore];
  `);
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2022', 'dom'], types: [] },
    files: ['check.ts'],
  }));
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  await run(process.execPath, [tsc, '-p', project]).catch((e) => assert.fail(e.stdout + e.stderr));
});

// A static server of the first of `roots` that has the file (the repository's serve.mjs
// serves only the repository).
function serve(...roots) {
  const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const file = roots.map((root) => join(root, path == '/' ? 'index.html' : path)).find((f, i) => f.startsWith(roots[i]) && existsSync(f));
    if (!file) return res.writeHead(path == '/favicon.ico' ? 204 : 404).end();
    res.writeHead(200, { 'content-type': TYPES[extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

test('Chromium: a page and a module worker bundled by Vite from the package, and a worker importing the package unbundled, run and persist', async () => {
  writeFileSync(join(project, 'index.html'), '<!doctype html><meta charset="utf-8"><title>cu</title><script type="module" src="./main.js"></script>\n');
  writeFileSync(join(project, 'main.js'), `
    import { CuWASM, CuError } from 'cu-lua';
    async function main() {
      const lua = await CuWASM.init({ name: 'vite' });
      const visits = await lua.compute('Memory.visits = (Memory.visits or 0) + 1 return Memory.visits');
      const error = await lua.compute('error("boom")').catch((e) => e instanceof CuError && e.code);
      await lua.close();
      const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
      const fromWorker = await new Promise((ok) => (worker.onmessage = (e) => ok(e.data)));
      return { visits, error, fromWorker };
    }
    window.result = main().catch((e) => ({ failed: String(e?.stack || e) }));
  `);
  writeFileSync(join(project, 'worker.js'), `
    import { CuWASM, CuError } from 'cu-lua';
    CuWASM.init({ name: 'vite-worker' }).then(async (lua) => {
      const runs = await lua.compute('Memory.runs = (Memory.runs or 0) + 1 return Memory.runs');
      const error = await lua.compute('return +').catch((e) => e instanceof CuError && e.code);
      await lua.close();
      postMessage({ runs, error });
    }).catch((e) => postMessage({ failed: String(e?.stack || e) }));
  `);
  const outDir = join(project, 'dist');
  await build({ root: project, configFile: false, logLevel: 'silent', build: { outDir, emptyOutDir: true } });

  const assets = readdirSync(join(outDir, 'assets'));
  const wasm = assets.filter((f) => /^cu-[\w-]+\.wasm$/.test(f));
  assert.equal(wasm.length, 1, `one hashed cu.wasm in ${assets}`);
  assert.ok(readFileSync(join(outDir, 'assets', wasm[0])).equals(readFileSync(WASM_PATH)), 'the wasm is ours, unchanged');
  assert.equal(assets.filter((f) => /^idb-[\w-]+\.js$/.test(f)).length, 1, `one hashed idb.js in ${assets}`);
  assert.equal(assets.filter((f) => /^worker-[\w-]+\.js$/.test(f)).length, 1, `the worker in ${assets}`);
  assert.ok(!assets.some((f) => /file-store/.test(f)), 'file-store.js (Node only) stays out of the bundle');

  // Unbundled: a module worker importing the installed package's glue.js as it is.
  mkdirSync(join(project, 'raw'));
  writeFileSync(join(project, 'raw/worker.js'), `
    import { CuWASM, CuError } from '/node_modules/cu-lua/glue.js';
    const lua = await CuWASM.init({ name: 'raw' });
    const runs = await lua.compute('Memory.runs = (Memory.runs or 0) + 1 return Memory.runs');
    const error = await lua.compute('return +').catch((e) => e instanceof CuError && e.code);
    await lua.close();
    postMessage({ runs, error });
  `);
  const raw = () => new Promise((ok, no) => {
    const worker = new Worker('/raw/worker.js', { type: 'module' });
    worker.onmessage = (e) => ok(e.data);
    worker.onerror = (e) => no(new Error('worker: ' + e.message));
  });

  const server = await serve(outDir, project);
  const url = `http://127.0.0.1:${server.address().port}/`;
  const profile = mkdtempSync(join(temp, 'chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const problems = [];
    page.on('pageerror', (e) => problems.push(String(e)));
    page.on('response', (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()} for ${r.url()}`));
    page.on('request', (r) => r.url().startsWith(url) || problems.push(`request outside the server: ${r.url()}`));
    await page.goto(url);
    assert.deepEqual(await page.evaluate(() => window.result), { visits: 1, error: 'LUA_RUNTIME', fromWorker: { runs: 1, error: 'LUA_SYNTAX' } });
    await page.reload();
    assert.deepEqual(await page.evaluate(() => window.result), { visits: 2, error: 'LUA_RUNTIME', fromWorker: { runs: 2, error: 'LUA_SYNTAX' } });
    assert.deepEqual(await page.evaluate(raw), { runs: 1, error: 'LUA_SYNTAX' });
    assert.deepEqual(await page.evaluate(raw), { runs: 2, error: 'LUA_SYNTAX' });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    server.close();
  }
});
