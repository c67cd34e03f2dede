// engine-support.test.mjs: what init does where the engine or its storage falls short
// (issue 8), with the missing pieces stubbed in Node: no WebAssembly exception handling is
// UNSUPPORTED_ENGINE; a storage that cannot be opened is STORAGE_UNAVAILABLE, or with
// storage 'auto' a memory store and a warning (lua.warnings, onWarning). Every engine's
// QuotaExceededError shape: storage.test.mjs. The real engines: ../browser/engines.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CuError, newLua, rejectsWith } from './helpers.mjs';

test('an engine without WebAssembly exception handling is UNSUPPORTED_ENGINE, with the supported floor as suggestion', async () => {
  const validate = WebAssembly.validate;
  const seen = [];
  WebAssembly.validate = (bytes) => (seen.push(bytes), false);
  try {
    const e = await rejectsWith(newLua(), 'UNSUPPORTED_ENGINE');
    assert.match(e.message, /exception handling/);
    assert.match(e.suggestion, /Chrome 95, Firefox 100, Safari 15\.2/);
  } finally {
    WebAssembly.validate = validate;
  }
  // The probe is a real module with a try/catch: this engine accepts it, and without its
  // tag (section 13) it is invalid.
  assert.equal(seen.length, 1);
  assert.equal(WebAssembly.validate(seen[0]), true);
  const noTag = [...seen[0]];
  noTag.splice(noTag.indexOf(13, 8), 5);
  assert.equal(WebAssembly.validate(new Uint8Array(noTag)), false);
  const lua = await newLua(); // and with it, init works again
  assert.deepEqual(lua.warnings, []);
  lua.close();
});

test('no IndexedDB, or one the page may not touch: STORAGE_UNAVAILABLE; bad onWarning: BAD_ARGUMENT', async () => {
  await rejectsWith(newLua({ storage: 'indexeddb' }), 'STORAGE_UNAVAILABLE');
  // Opaque origins throw on reading `indexedDB`.
  Object.defineProperty(globalThis, 'indexedDB', { configurable: true, get() { throw new DOMException('access denied', 'SecurityError'); } });
  try {
    const e = await rejectsWith(newLua({ storage: 'indexeddb' }), 'STORAGE_UNAVAILABLE');
    assert.match(e.message, /no IndexedDB/);
  } finally {
    delete globalThis.indexedDB;
  }
  await rejectsWith(newLua({ onWarning: 'console' }), 'BAD_ARGUMENT');
});

test("storage 'auto': the file store when it opens; held by another process, memory and a warning (an onWarning that throws fails init)", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cu-auto-'));
  const cwd = process.cwd();
  const writer = new URL('./fixtures/storage-writer.mjs', import.meta.url).pathname;
  let child;
  try {
    process.chdir(dir);
    const warned = [];
    const a = await newLua({ storage: 'auto', name: 'free', onWarning: (w) => warned.push(w) });
    await a.compute('Memory.x = 1');
    await a.close();
    const b = await newLua({ storage: 'file', name: 'free' });
    assert.equal(await b.compute('return Memory.x'), 1, "'auto' used the file store");
    await b.close();
    assert.deepEqual(warned, []);

    child = spawn(process.execPath, [writer, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve, reject) => {
      child.stdout.once('data', resolve);
      child.on('exit', (code) => reject(new Error('writer exited with ' + code)));
    });
    const c = await newLua({ storage: 'auto', name: 'crash', onWarning: (w) => warned.push(w) });
    assert.equal(warned.length, 1);
    assert.ok(warned[0] instanceof CuError);
    assert.equal(warned[0].code, 'STORAGE_UNAVAILABLE');
    assert.match(warned[0].message, /^storage file: .*process \d+.*; using memory: nothing is saved$/);
    assert.deepEqual(c.warnings, warned);
    assert.equal(await c.compute('return Memory.round'), null, 'a memory store, not the held file');
    await c.compute('Memory.round = -1');
    // The fallback memory store is the one of its name: a second instance shares it.
    const d = await newLua({ storage: 'memory', name: 'crash' });
    assert.equal(await d.compute('return Memory.round'), -1);
    await c.close();
    await d.close();
    // An onWarning that throws fails init with its error.
    const boom = new Error('page handler failed');
    await assert.rejects(newLua({ storage: 'auto', name: 'crash', onWarning: () => { throw boom; } }), boom);
  } finally {
    process.chdir(cwd);
    if (child) {
      child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode !== null || child.signalCode ? r() : child.on('exit', r)));
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
