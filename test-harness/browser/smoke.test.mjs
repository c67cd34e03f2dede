// smoke.test.mjs: index.html (the playground) in headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core), served by scripts/serve.mjs on 127.0.0.1.
// Runs Lua through the page's #code, #run, #output and #status, checks print output and an
// error code, and saves a screenshot to screenshots/; glue.js in a page; the server's MIME
// types. The rest of the playground (examples, table browser, ...): playground.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHOTS, closeContext, launchChromium, startServer } from './browser.mjs';


let server, context, page, url, profile;
const pageErrors = [];

before(async () => {
  ({ server, url } = await startServer());
  profile = mkdtempSync(join(tmpdir(), 'cu-chromium-'));
  context = await launchChromium(profile);
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
  page.on('response', (r) => r.status() >= 400 && pageErrors.push(`HTTP ${r.status()} for ${r.url()}`));
  // The page must load nothing but our own files.
  page.on('request', (r) => {
    if (!r.url().startsWith(url) && !r.url().startsWith('data:')) pageErrors.push(`request outside the server: ${r.url()}`);
  });
});

after(async () => {
  if (context) await closeContext(context);
  if (server && server.exitCode === null) server.kill();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function runLua(source, { keyboard = false } = {}) {
  await page.fill('#code', source);
  if (keyboard) {
    await page.focus('#code');
    await page.keyboard.press('Control+Enter');
  } else {
    await page.click('#run');
  }
  await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('status').textContent));
  return page.textContent('#output');
}

test('index.html runs Lua and shows print output and errors', async () => {
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('status').textContent === 'ready');

  const out = await runLua('print(1+1)');
  assert.equal(out.trim(), '2');

  const greeting = await runLua('print("hi") print("there") return 40 + 2', { keyboard: true });
  assert.match(greeting, /hi\s*there\s*→ 42/);

  const syntax = await runLua('print(1+)');
  assert.match(syntax, /LUA_SYNTAX/);
  assert.match(syntax, /input:1:/);

  const runtime = await runLua('local t = nil\nreturn t.x');
  assert.match(runtime, /LUA_RUNTIME: input:2: attempt to index a nil value/);

  // A screenshot of the page showing an error, for people to look at.
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, 'smoke.png'), fullPage: true });

  // After an error the same state keeps working, globals included.
  await runLua('answer = 42');
  assert.equal((await runLua('print(answer)')).trim(), '42');

  assert.deepEqual(pageErrors, []);
});

test('glue.js in the page: streaming compile, wrong-MIME fallback, one fetch per URL', async () => {
  const wasmFetches = [];
  const onRequest = (r) => r.url().includes('cu.wasm') && wasmFetches.push(new URL(r.url()).pathname);
  page.on('request', onRequest);
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('status').textContent === 'ready');
  // The same bytes served as application/octet-stream: streaming compilation refuses them.
  await page.route('**/wrong-mime/cu.wasm', async (route) => {
    const res = await route.fetch({ url: url + 'dist/cu.wasm' });
    await route.fulfill({ status: 200, body: await res.body(), headers: { 'content-type': 'application/octet-stream' } });
  });
  const result = await page.evaluate(async () => {
    const { CuWASM } = await import('/glue.js');
    const out = [];
    const a = await CuWASM.init({ onPrint: (t) => out.push(t) });
    const b = await CuWASM.init({ onPrint: (t) => out.push(t) }); // the compiled module is cached
    const c = await CuWASM.init({ wasm: '/wrong-mime/cu.wasm', onPrint: (t) => out.push(t) });
    await a.compute('print("a")');
    await b.compute('print("b")');
    await c.compute('print("c")');
    const values = await c.computeAll('return 1 << 62, "\\xff", {1, {x = 2}}, print');
    return { out, values: values.map((v) => (typeof v === 'bigint' ? 'big ' + v : v instanceof Uint8Array ? 'bytes' : v && v.repr ? v.type : v)) };
  });
  assert.deepEqual(result.out, ['a', 'b', 'c']);
  assert.deepEqual(result.values, ['big ' + (1n << 62n), 'bytes', [1, { x: 2 }], 'function']);
  // One fetch per URL: index.html's own instance, a and b share the compiled module.
  assert.deepEqual(wasmFetches.sort(), ['/dist/cu.wasm', '/wrong-mime/cu.wasm']);
  page.off('request', onRequest);
  await page.unroute('**/wrong-mime/cu.wasm');
});

test('the server sends the right MIME types', async () => {
  for (const [path, type] of [['glue.js', 'text/javascript'], ['dist/cu.wasm', 'application/wasm'], ['', 'text/html']]) {
    const res = await fetch(url + path);
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get('content-type'), new RegExp('^' + type), path);
    await res.arrayBuffer();
  }
  // Raw paths (fetch would normalize the dots away before sending them).
  const status = (path) =>
    new Promise((resolve, reject) => {
      const { hostname, port } = new URL(url);
      get({ hostname, port, path }, (res) => (res.resume(), resolve(res.statusCode))).on('error', reject);
    });
  for (const path of ['/../package.json', '/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fetc%2fpasswd',
    '/docs/..%2f..%2f..%2fetc%2fpasswd', '/.git/HEAD', '/nope.txt', '/glue.js%00.html']) {
    assert.equal(await status(path), 404, path);
  }
});
