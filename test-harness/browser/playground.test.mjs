// playground.test.mjs: the playground (index.html and playground/) in headless Chromium
// (Debian's /usr/bin/chromium, playwright-core), served by scripts/serve.mjs on 127.0.0.1.
// Every example runs with its output; errors show code, message and line, and the gutter
// marks the line; the editor (line numbers, Tab, Ctrl+Enter); the table browser (tree,
// records, indices, query rows and plan); the stored functions; the statistics; a reload
// keeps Memory (the counter goes on); the reset; a 375px wide screen; a page without
// IndexedDB (a memory store, said so); a shown table replaced by a value; cu.wasm failing to
// load; localStorage refused. Screenshots go to
// screenshots/playground-*.png. The same page in Firefox and WebKit: engines.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHOTS, closeContext, closePage, launchChromium, startServer } from './browser.mjs';

let server, context, page, url, profile;
const pageErrors = [];

before(async () => {
  ({ server, url } = await startServer());
  profile = mkdtempSync(join(tmpdir(), 'cu-playground-'));
  context = await launchChromium(profile, { viewport: { width: 1280, height: 900 } });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30000);
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => ['error', 'warning'].includes(m.type()) && pageErrors.push(`console ${m.type()}: ${m.text()}`));
  page.on('response', (r) => r.status() >= 400 && pageErrors.push(`HTTP ${r.status()} for ${r.url()}`));
  page.on('request', (r) => {
    if (!r.url().startsWith(url) && !r.url().startsWith('data:')) pageErrors.push(`request outside the server: ${r.url()}`);
  });
  mkdirSync(SHOTS, { recursive: true });
  await page.goto(url);
  await ready();
});

after(async () => {
  if (context) await closeContext(context);
  if (server && server.exitCode === null) server.kill();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const byTest = (id) => `[data-testid="${id}"]`;
const text = (selector) => page.textContent(selector);
const ready = () => page.waitForFunction(() => document.getElementById('status').textContent === 'ready');
const shot = (name) => page.screenshot({ path: join(SHOTS, `playground-${name}.png`), fullPage: true });

// Runs what the editor holds (by the Run button, or by a key); resolves to the output text.
async function run({ key } = {}) {
  if (key) {
    await page.focus('#code');
    await page.keyboard.press(key);
  } else {
    await page.click('#run');
  }
  await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('status').textContent));
  return text('#output');
}

async function runCode(source, options) {
  await page.fill('#code', source);
  return run(options);
}

async function runExample(id) {
  await page.click(byTest(`example-${id}`));
  const code = await page.inputValue('#code');
  assert.match(code, /\n/, `example ${id} loaded`);
  return run();
}

test('the page loads: status, engine version, storage kind, statistics, nothing from elsewhere', async () => {
  assert.equal(await text('#status'), 'ready');
  assert.equal(await text(byTest('engine-version')), 'Lua 5.4');
  assert.match(await text(byTest('storage-kind')), /IndexedDB \(cu:playground\)/);
  assert.match(await text(byTest('stat-lua-heap')), /KiB|MiB/);
  assert.match(await text(byTest('stat-wasm-memory')), /MiB/);
  assert.equal(await page.title(), 'Cu playground: Lua in the browser');
  // The welcome code runs.
  const out = await run();
  assert.match(out, /Hello from Lua 5\.4/);
  assert.match(out, /→ 4/);
  assert.equal(await text('#status'), 'done');
  assert.match(await text(byTest('run-info')), /^ran in [\d.]+ ms$/);
  await shot('welcome');
  assert.deepEqual(pageErrors, []);
});

test('the editor: line numbers follow the lines and the scrolling, Tab indents, Ctrl+Enter and Cmd+Enter run', async () => {
  await page.fill('#code', Array.from({ length: 60 }, (_, i) => `x${i + 1} = ${i + 1}`).join('\n'));
  assert.equal(await page.locator('#gutter-lines .gutter-line').count(), 60);
  await page.$eval('#code', (t) => (t.scrollTop = 400, t.dispatchEvent(new Event('scroll'))));
  const [editorTop, gutterTop] = await page.evaluate(() => [document.getElementById('code').scrollTop, document.getElementById('gutter').scrollTop]);
  assert.ok(editorTop > 0, `the editor scrolled (${editorTop})`);
  assert.equal(gutterTop, editorTop, 'the gutter scrolls with the editor');

  await page.fill('#code', 'if true then\nprint("tab")\nend');
  await page.focus('#code');
  await page.$eval('#code', (t) => t.setSelectionRange(13, 13)); // the start of line 2
  await page.keyboard.press('Tab');
  assert.equal(await page.inputValue('#code'), 'if true then\n  print("tab")\nend');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'code', 'Tab stays in the editor');
  await page.keyboard.press('Shift+Tab');
  assert.equal(await page.inputValue('#code'), 'if true then\nprint("tab")\nend');
  // Esc, then Tab, moves focus on (no keyboard trap).
  await page.keyboard.press('Escape');
  await page.keyboard.press('Tab');
  assert.notEqual(await page.evaluate(() => document.activeElement.id), 'code', 'Esc then Tab leaves the editor');

  assert.match(await runCode('print("by keyboard") return 40 + 2', { key: 'Control+Enter' }), /by keyboard\s*→ 42/);
  assert.match(await runCode('return "meta"', { key: 'Meta+Enter' }), /→ "meta"/);
  // Long output: 5,000 lines shown, the rest counted.
  const long = await runCode('for i = 1, 6000 do print(i) end');
  assert.equal(await page.locator('#output .stdout').count(), 5000);
  assert.equal(await text(byTest('output-dropped')), '… 1000 more printed lines not shown');
  assert.match(long, /^1\s*2\s*3/);
  assert.equal(await page.locator('#gutter-lines .gutter-line').count(), 1);
});

test('errors: code, message and line in the output, the line marked in the gutter and the editor', async () => {
  const out = await runCode('local t = {}\nlocal u = nil\nreturn u.x');
  assert.equal(await text('#status'), 'error');
  assert.equal(await text(byTest('error-code')), 'LUA_RUNTIME');
  assert.match(await text(byTest('error-message')), /^input:3: attempt to index a nil value \(local 'u'\)/);
  assert.equal(await text(byTest('error-line')), 'line 3');
  assert.match(out, /LUA_RUNTIME: input:3:/);
  assert.deepEqual(await page.$$eval('#gutter-lines .gutter-error', (els) => els.map((e) => e.textContent)), ['3']);
  assert.equal(await page.isVisible('#error-band'), true);
  assert.equal(await page.getAttribute('#code', 'aria-invalid'), 'true');
  await shot('error');
  // An edit clears the mark.
  await page.focus('#code');
  await page.keyboard.press('End');
  await page.keyboard.type(' ');
  assert.equal(await page.locator('#gutter-lines .gutter-error').count(), 0);
  assert.equal(await page.isVisible('#error-band'), false);

  await runCode('print("before")\nprint(1 +)');
  assert.equal(await text(byTest('error-code')), 'LUA_SYNTAX');
  assert.equal(await text(byTest('error-line')), 'line 2');
  assert.deepEqual(await page.$$eval('#gutter-lines .gutter-error', (els) => els.map((e) => e.textContent)), ['2']);
  // The next good run clears it.
  assert.match(await runCode('return 1'), /→ 1/);
  assert.equal(await page.locator('#gutter-lines .gutter-error').count(), 0);
});

test('example 1: the counter closure counts, and is listed with the stored functions', async () => {
  const first = await runExample('counter');
  const n = Number(/counter: (\d+)/.exec(first)?.[1]);
  assert.ok(n >= 1, first);
  assert.match(await runExample('counter'), new RegExp(`counter: ${n + 1}\\b`));
  assert.match(await runExample('counter'), new RegExp(`counter: ${n + 2}\\b`));
  await page.waitForSelector(`${byTest('function')}[data-path="Memory.counter"]`);
  await shot('examples-counter');
  // Clicking it adds a call to the editor.
  await page.fill('#code', '');
  await page.click(`${byTest('function')}[data-path="Memory.counter"]`);
  assert.equal(await page.inputValue('#code'), 'print(Memory.counter())');
  assert.match(await run(), new RegExp(`^${n + 3}`));
  // Functions anywhere in Memory, keys that are not names included.
  await runCode("Memory.tools = { greet = function() return 'hi' end, ['two words'] = { f = print } }\n" +
    "Memory.tools['two words'].g = function() return 'g' end");
  const paths = await page.$$eval(byTest('function'), (els) => els.map((e) => e.dataset.path));
  assert.deepEqual(paths.sort(), ['Memory.counter', 'Memory.tools.greet', "Memory.tools['two words'].f", "Memory.tools['two words'].g"].sort());
  await page.fill('#code', '');
  await page.click(`${byTest('function')}[data-path="Memory.tools['two words'].g"]`);
  assert.match(await run(), /^g/);
  await runCode('Memory.tools = nil');
  // A top-level table over 1 MiB is not searched, and the list says so.
  await runCode("Memory.big = { text = string.rep('x', 1100000), f = function() end }");
  assert.match(await text(byTest('functions')), /Memory\.big not searched \(over 1\.00 MiB\)/);
  await runCode('Memory.big = nil');
  assert.doesNotMatch(await text(byTest('functions')), /not searched/);
});

test('example 2: 1,000 users in one run, a B-tree index, the query and its plan', async () => {
  const out = await runExample('users');
  assert.equal(await text('#status'), 'done', out);
  assert.match(out, /u156\tuser 156\t30\tParis/);
  assert.match(out, /matches: 33/);
  assert.match(out, /plan: btree index on age, 5 records examined, sorted: false/);
  assert.match(out, /→ \{.*"index":"age".*\}/);
  assert.equal(await text(byTest('stat-records')), '1,000'); // Memory.users' records (the counter and count_n are Memory's own)
  await page.waitForSelector(`${byTest('table-node')}[data-path="Memory.users"]`);
  await shot('examples-users');
});

test('example 3: a schema violation shows SCHEMA_VIOLATION and its violations', async () => {
  const out = await runExample('schema');
  assert.equal(await text('#status'), 'error');
  assert.match(out, /a valid record is stored/);
  assert.match(out, /pcall:\tfalse\tschema violation: accounts\.eve\.age: min \(expected 0, got -1\)/);
  assert.equal(await text(byTest('error-code')), 'SCHEMA_VIOLATION');
  const violations = await page.$$eval(`${byTest('violations')} tbody tr`, (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
  assert.deepEqual(violations, [
    ['accounts.bob.age', 'max', '150', '200'],
    ['accounts.bob.email', 'pattern', '"^[%w._]+@[%w.]+$"', '"bob(at)example.com"'],
    ['accounts.bob.name', 'minLength', '1', '0'],
  ]);
  // The whole run was undone: no table accounts.
  assert.equal(await page.locator(`${byTest('table-node')}[data-path="Memory.accounts"]`).count(), 0);
  await shot('examples-schema');
});

test('example 4: a migration to version 2 (a field renamed), its result, and the rollback', async () => {
  for (let i = 0; i < 2; i++) { // it runs again from where it left the table
    const out = await runExample('migration');
    assert.equal(await text('#status'), 'done', out);
    assert.match(out, /migrated: from 1 to version 2, 3 records/);
    assert.match(out, /ada\.fullName = Ada Lovelace, ada\.name = nil/);
    assert.match(out, /rolled back to version 1/);
    assert.match(out, /ada\.name = Ada Lovelace, ada\.fullName = nil/);
    assert.match(out, /→ \{"(from|version|records)".*\}/);
    for (const field of ['"from":1', '"version":2', '"records":3']) assert.ok(out.includes(field), out);
  }
  await shot('examples-migration');
});

test('the table browser: the tree of Memory, records 50 at a time, indices, the query form with rows and plan', async () => {
  const node = (path) => `${byTest('table-node')}[data-path="${path}"]`;
  for (const path of ['Memory', 'Memory.users', 'Memory.people']) await page.waitForSelector(node(path));
  // Nested tables: users' records are tables too.
  await page.click(`button[aria-label="Expand Memory.users"]`);
  await page.waitForSelector(node('Memory.users.u1'));
  assert.equal(await page.locator(`${node('Memory.users')} ~ *`).count() >= 1, true);
  assert.match(await text(byTest('tree-more')), /950 more tables/);
  await page.click(`button[aria-label="Collapse Memory.users"]`);

  await page.click(node('Memory.users'));
  await page.waitForFunction(() => /Memory\.users: 1000 records/.test(document.querySelector('[data-testid="table-title"]').textContent));
  assert.equal(await page.locator(`${byTest('record-rows')} tbody tr`).count(), 50);
  assert.equal(await text(`${byTest('record-rows')} tbody tr:first-child th`), '"u1"');
  await page.click(byTest('records-more'));
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="record-rows"] tbody tr').length === 100);
  assert.deepEqual(await page.$$eval(byTest('index'), (els) => els.map((e) => e.textContent)), ['age btree']);

  await page.fill('#query-field', 'age');
  await page.selectOption('#query-op', 'between');
  await page.fill('#query-value', '[30, 31]');
  await page.fill('#query-limit', '5');
  await page.click(byTest('query-run'));
  await page.waitForSelector(`${byTest('query-result-rows')}`);
  assert.equal(await page.locator(`${byTest('query-result-rows')} tbody tr`).count(), 5);
  assert.equal(await text(`${byTest('query-result-rows')} tbody tr:first-child th`), '"u156"');
  const plan = await text(byTest('query-plan'));
  assert.match(plan, /btree index on age; 5 records examined; sorted afterwards: no\. 33 matches, 5 shown/);
  assert.equal(await page.getAttribute(byTest('query-plan'), 'data-plan-index'), 'age');
  await page.click(byTest('query-next'));
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="query-result-rows"] tbody tr').length === 10);

  // Without an index: a scan.
  await page.fill('#query-field', 'city');
  await page.selectOption('#query-op', '=');
  await page.fill('#query-value', 'Oslo');
  await page.fill('#query-limit', '3');
  await page.click(byTest('query-run'));
  await page.waitForFunction(() => /a scan of the table/.test(document.querySelector('[data-testid="query-plan"]').textContent));
  assert.match(await text(byTest('query-plan')), /1000 records examined; sorted afterwards: yes\. 250 matches, 3 shown/);
  // A bad query shows its error.
  await page.selectOption('#query-op', 'between');
  await page.click(byTest('query-run'));
  await page.waitForSelector(byTest('query-error'));
  assert.match(await text(byTest('query-error')), /^BAD_ARGUMENT: /);
  await page.fill('#query-value', '["A", "M"]');
  await page.click(byTest('query-run'));
  await page.waitForFunction(() => /matches/.test(document.querySelector('[data-testid="query-plan"]').textContent));
  await shot('tables');

  // The root: Memory's own records (the counter among them).
  await page.click(node('Memory'));
  await page.waitForFunction(() => /^Memory: \d+ records/.test(document.querySelector('[data-testid="table-title"]').textContent));
  const keys = await page.$$eval(`${byTest('record-rows')} tbody th`, (els) => els.map((e) => e.textContent));
  for (const key of ['"count_n"', '"counter"', '"users"']) assert.ok(keys.includes(key), keys.join(' '));
  assert.equal(await page.isVisible(byTest('records-more')), false);
});

test('statistics: records, bytes, compression, indices, Lua heap and wasm memory, refreshed after a run', async () => {
  const stat = (name) => text(byTest(`stat-${name}`));
  for (const name of ['records', 'raw-bytes', 'stored-bytes', 'compression-ratio', 'index-bytes', 'lua-heap', 'lua-heap-peak', 'wasm-memory', 'module-heap']) {
    assert.match(await stat(name), /\d/, name);
  }
  assert.match(await stat('index-bytes'), /^[1-9][\d,]* B/);
  assert.match(await stat('compression-ratio'), /^\d+\.\d\d : 1$/);
  assert.match(await stat('lua-heap'), / \/ 8\.00 MiB$/);
  assert.match(await stat('memory-keys'), /^[1-9]\d*$/); // counter, count_n, users, ...
  const before = await stat('records');
  await runCode('Memory.extra = { a = 1, b = 2, c = 3 }');
  assert.equal(await stat('records'), (Number(before.replace(/,/g, '')) + 3).toLocaleString('en'));
  await runCode('Memory.extra = nil');
  assert.equal(await stat('records'), before);
  await runCode('local x = 0 for i = 1, 100000 do x = x + i end return x');
  assert.match(await stat('instructions'), /^≈ [1-9][\d,]*$/);
});

test('a reload keeps Memory: the counter goes on, the functions and tables are still there', async () => {
  const out = await runExample('counter');
  const n = Number(/counter: (\d+)/.exec(out)[1]);
  await page.reload();
  await ready();
  await page.waitForSelector(`${byTest('function')}[data-path="Memory.counter"]`);
  await page.waitForSelector(`${byTest('table-node')}[data-path="Memory.users"]`);
  assert.match(await runExample('counter'), new RegExp(`counter: ${n + 1}\\b`));
  // The editor's text is kept too.
  await page.fill('#code', 'return "kept"');
  await page.reload();
  await ready();
  assert.equal(await page.inputValue('#code'), 'return "kept"');
  assert.deepEqual(pageErrors, []);
});

test('a 375px wide screen: one column, nothing wider than the screen', async () => {
  await page.setViewportSize({ width: 375, height: 740 });
  await page.reload();
  await ready();
  await runExample('users');
  const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, screen: window.innerWidth }));
  assert.ok(widths.page <= widths.screen, `page ${widths.page}px wide on a ${widths.screen}px screen`);
  for (const id of ['code', 'run', 'output', 'table-tree', 'stats']) {
    const box = await page.locator('#' + id).boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 375, `#${id} inside the screen: ${JSON.stringify(box)}`);
  }
  await shot('mobile');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot('mobile-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1280, height: 900 });
});

test('Reset database asks first, then empties Memory (the counter starts again at 1)', async () => {
  const asked = [];
  page.once('dialog', (d) => (asked.push([d.type(), d.message()]), d.dismiss()));
  await page.click(byTest('reset'));
  assert.equal(asked.length, 1);
  assert.equal(asked[0][0], 'confirm');
  assert.match(asked[0][1], /^Reset the database\?/);
  await runCode('return 1'); // the page goes on
  assert.ok(await page.locator(`${byTest('table-node')}[data-path="Memory.users"]`).count(), 'nothing deleted on cancel');

  page.once('dialog', (d) => d.accept());
  await page.click(byTest('reset'));
  await page.waitForSelector(byTest('reset-done'));
  await ready();
  assert.equal(await page.locator(`${byTest('table-node')}[data-path="Memory.users"]`).count(), 0);
  assert.equal(await page.locator(`${byTest('function')}`).count(), 0);
  assert.equal(await text(byTest('stat-records')), '0');
  assert.match(await runExample('counter'), /counter: 1\b/);
  await page.reload();
  await ready();
  assert.match(await runExample('counter'), /counter: 2\b/);
  assert.deepEqual(pageErrors, []);
});

test('without IndexedDB: a memory store, said in the status line and the output; Reset still empties Memory', async () => {
  const other = await context.newPage();
  const errors = [];
  other.on('pageerror', (e) => errors.push(String(e)));
  other.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await other.addInitScript(() => Object.defineProperty(window, 'indexedDB', { value: undefined }));
  await other.goto(url);
  await other.waitForFunction(() => document.getElementById('status').textContent === 'ready');
  assert.match(await other.textContent(byTest('storage-kind')), /memory .*nothing is saved/);
  assert.match(await other.textContent('#output'), /STORAGE_UNAVAILABLE: .*using memory: nothing is saved/);
  await other.fill('#code', 'Memory.note = "kept in memory" return Memory.note');
  await other.click('#run');
  await other.waitForFunction(() => document.getElementById('status').textContent === 'done');
  await other.waitForSelector(`${byTest('record-rows')}, ${byTest('table-node')}[data-path="Memory"]`);
  other.once('dialog', (d) => d.accept());
  await other.click(byTest('reset'));
  await other.waitForSelector(byTest('reset-done'));
  await other.fill('#code', 'return Memory.note');
  await other.click('#run');
  await other.waitForFunction(() => document.getElementById('status').textContent === 'done');
  assert.doesNotMatch(await other.textContent('#output'), /kept in memory/);
  await closePage(other);
  assert.deepEqual(errors, []);
});

test('a table shown in the table browser that a run replaces by a value: its view closes', async () => {
  const node = `${byTest('table-node')}[data-path="Memory.gone"]`;
  await runCode('Memory.gone = { a = 1, b = 2 } return true');
  await page.click(node);
  await page.waitForFunction(() => /Memory\.gone: 2 records/.test(document.querySelector('[data-testid="table-title"]').textContent));
  assert.equal(await page.isVisible('#table-view'), true);
  assert.match(await runCode('Memory.gone = 5 return Memory.gone'), /→ 5/);
  await page.waitForSelector('#table-view', { state: 'hidden' });
  await page.waitForSelector(node, { state: 'detached' });
  assert.deepEqual(pageErrors, []);
});

test('the engine fails to load (cu.wasm answers 404): the status says so, storage none, the error shown', async () => {
  const other = await context.newPage();
  await other.route('**/dist/cu.wasm', (r) => r.fulfill({ status: 404, contentType: 'text/plain', body: 'not here' }));
  await other.goto(url);
  await other.waitForFunction(() => document.getElementById('status').textContent === 'failed to load');
  assert.equal(await other.textContent(byTest('storage-kind')), 'storage: none');
  assert.match(await other.textContent(byTest('error')), /404/);
  await closePage(other);
});

test('localStorage refused (it throws, as with some privacy settings): the welcome code, and runs go on without a draft', async () => {
  const other = await context.newPage();
  const errors = [];
  other.on('pageerror', (e) => errors.push(String(e)));
  await other.addInitScript(() => Object.defineProperty(window, 'localStorage', {
    get() { throw new DOMException('The operation is insecure.', 'SecurityError'); },
  }));
  await other.goto(url);
  await other.waitForFunction(() => document.getElementById('status').textContent === 'ready');
  assert.match(await other.inputValue('#code'), /^-- Welcome to Cu/);
  await other.fill('#code', 'return 6 * 7');
  await other.click('#run');
  await other.waitForFunction(() => document.getElementById('status').textContent === 'done');
  assert.match(await other.textContent('#output'), /→ 42/);
  await closePage(other);
  assert.deepEqual(errors, []);
});
