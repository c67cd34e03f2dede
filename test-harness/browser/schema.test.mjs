// schema.test.mjs: schemas and migrations in headless Chromium with IndexedDB storage
// (issue 6): a schema violation is refused and its schema, a migration's records, version
// and history are there again after a reload, where the rollback runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { ARGS, CHROMIUM, startServer } from './browser.mjs';

let server, url, profile;
const pageErrors = [];

before(async () => {
  ({ server, url } = await startServer());
  profile = mkdtempSync(join(tmpdir(), 'cu-chromium-schema-'));
});

after(() => {
  if (server && server.exitCode === null) server.kill();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

// Runs `body` (an async function body given `CuWASM`) in the page; CuError rejections come
// back as { error, violations, record }.
const inPage = (page, body) =>
  page.evaluate(async (body) => {
    const { CuWASM } = await import('/glue.js');
    try {
      return await new Function('CuWASM', `return (async () => { ${body} })()`)(CuWASM);
    } catch (e) {
      return { error: e.code || e.name, message: e.message, violations: e.violations, record: e.record };
    }
  }, body);

const OPEN = "const lua = await CuWASM.init({ storage: 'indexeddb', name: 'schema' });";

test('a schema violation is refused, and a migration survives a reload and rolls back there', async () => {
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(url);
    const first = await inPage(page, `${OPEN}
      await lua.defineSchema('users', { type: 'table', fields: {
        name: { type: 'string', required: true, minLength: 1 },
        age: { type: 'integer', min: 0, max: 150 } }, additionalFields: false });
      await lua.batchTableOperations(Array.from({ length: 300 }, (_, i) => ({ type: 'set', table: 'users', key: 'u' + i, value: { name: 'user ' + i, age: i % 100 } })));
      const progress = [];
      const m = await lua.migrate('users', { version: 2,
        up: 'function(record) record.fullName = record.name; record.name = nil; return record end',
        down: 'function(record) record.name = record.fullName; record.fullName = nil; return record end',
        schema: { type: 'table', fields: { fullName: { type: 'string', required: true }, age: { type: 'integer' } }, additionalFields: false } },
        { chunkSize: 100, onProgress: (p) => progress.push(p.done) });
      await lua.close();
      return { m, progress };`);
    assert.deepEqual(first, { m: { from: 1, version: 2, records: 300 }, progress: [100, 200, 300] });

    await page.reload();
    const after = await inPage(page, `${OPEN}
      const bad = await lua.setValue('users', 'x', { name: 'old style', age: 200 }).then(() => 'stored', (e) => ({ code: e.code, rules: e.violations.map((v) => v.path + ' ' + v.rule) }));
      const r = {
        bad,
        version: await lua.schemaVersion('users'),
        u7: await lua.getValue('users', 'u7'),
        history: (await lua.migrations('users')).map((h) => [h.version, h.from, h.records]),
        lua: await lua.computeAll('local s, v = ext.schema("users") return s.fields.fullName.type, v'),
      };
      r.back = await lua.rollbackMigration('users');
      await lua.close();
      return r;`);
    assert.deepEqual(after, {
      bad: { code: 'SCHEMA_VIOLATION', rules: ['users.x.fullName required', 'users.x.name additionalFields'] },
      version: 2,
      u7: { fullName: 'user 7', age: 7 },
      history: [[2, 1, 300]],
      lua: ['string', 2],
      back: { from: 2, version: 1, records: 300 },
    });

    await page.reload();
    const rolledBack = await inPage(page, `${OPEN}
      const r = [await lua.schemaVersion('users'), await lua.getValue('users', 'u7'), (await lua.validateTable('users')).valid];
      await lua.close();
      return r;`);
    assert.deepEqual(rolledBack, [1, { name: 'user 7', age: 7 }, true]);
    assert.deepEqual(pageErrors, []);
  } finally {
    await context.close();
  }
});
