// modules.test.mjs: a Lua module saved with saveModule survives a page reload in Chromium
// (storage 'indexeddb', idb.js), and require loads it from the database after the reload;
// so do a deletion and setGlobal/compute args across the same page. Headless Chromium
// through engines.mjs's open('chromium'), scripts/serve.mjs on 127.0.0.1 (browser.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from './engines.mjs';
import { RUN_IN_PAGE, startServer } from './browser.mjs';

let server, url, b, profile;

before(async () => {
  ({ server, url } = await startServer());
  profile = mkdtempSync(join(tmpdir(), 'cu-modules-chromium-'));
  b = await open('chromium', { profile });
  await b.goto(url);
});

after(async () => {
  await b?.close();
  server?.kill();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

// Runs `body` (an async function body given `CuWASM` and `arg`) in the page; a CuError
// comes back as { error: code, message }.
const cu = (body, arg) =>
  b.eval(RUN_IN_PAGE, [body, arg]);

test('chromium: a stored module survives a reload (IndexedDB) and require loads it', async () => {
  const saved = await cu(`
    const lua = await CuWASM.init({ storage: 'indexeddb', name: 'modules' });
    await lua.saveModule('geo', 'local M = {} function M.area(w, h) return w * h end return M');
    await lua.saveModule('app', "local geo = require('geo') return { run = function(w, h) return geo.area(w, h) end }");
    await lua.saveModule('tmp', 'return 0');
    await lua.deleteModule('tmp');
    const bad = await lua.saveModule('bad', 'return +').catch((e) => e.code);
    await lua.setGlobal('size', { w: 6, h: 7 });
    const now = await lua.compute("return require('app').run(size.w, size.h)");
    lua.close();
    return { now, bad };
  `);
  assert.deepEqual(saved, { now: 42, bad: 'LUA_SYNTAX' });
  await b.reload();
  const after = await cu(`
    const lua = await CuWASM.init({ storage: 'indexeddb', name: 'modules' });
    const r = {
      modules: await lua.modules(),
      source: await lua.getModule('geo'),
      area: await lua.compute("local w, h = ... return require('app').run(w, h)", { args: [3, 4] }),
      size: await lua.compute('return size'),
    };
    lua.close();
    return r;
  `);
  assert.deepEqual(after, {
    modules: ['app', 'geo'],
    source: 'local M = {} function M.area(w, h) return w * h end return M',
    area: 12,
    size: null, // globals belong to the instance; only modules and Memory are stored
  });
});
