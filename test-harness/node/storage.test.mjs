// storage.test.mjs: external tables saved through a storage adapter after every call and
// restored at init (issue 5, in progress): the memory store, the Node file store, a store
// that fails (the change is undone and the call fails with STORAGE_*), damaged pages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newLua, rejectsWith } from './helpers.mjs';
import { fileStore } from '../../file-store.js';

test('memory store: a second instance of the same name continues where the first left off', async () => {
  const a = await newLua({ storage: 'memory', name: 'mem-1' });
  await a.compute('local n = 0 Memory.counter = function() n = n + 1 return n end');
  assert.equal(await a.compute('return Memory.counter()'), 1);
  await a.batchTableOperations(Array.from({ length: 500 }, (_, i) => ({ type: 'set', table: 'users', key: 'u' + i, value: { age: i % 50 } })));
  await a.createIndex('users', 'age');
  await a.close();
  const b = await newLua({ storage: 'memory', name: 'mem-1' });
  assert.equal(await b.compute('return Memory.counter()'), 2);
  assert.equal(await b.count('users'), 500);
  assert.equal((await b.queryTable('users', { field: 'age', operator: '=', value: 7, explain: true })).type, 'btree');
  assert.equal((await b.queryTable('users', { field: 'age', operator: '=', value: 7 })).length, 10);
  const c = await newLua({ storage: 'memory', name: 'mem-other' });
  assert.equal(await c.count('users'), 0, 'other names are other databases');
  b.close();
  c.close();
});

test('file store: data and a closure survive closing and reopening', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cu-storage-'));
  try {
    const a = await newLua({ storage: await fileStore(dir, 'db') });
    await a.compute('local n = 10 Memory.next = function() n = n + 1 return n end Memory.cfg = { theme = "dark" }');
    assert.equal(await a.compute('return Memory.next()'), 11);
    await a.close();
    const b = await newLua({ storage: await fileStore(dir, 'db') });
    assert.equal(await b.compute('return Memory.next() .. Memory.cfg.theme'), '12dark');
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failing store: the call fails with STORAGE_QUOTA (every engine\'s shape of a full storage) / STORAGE_FAILED and its change is undone', async () => {
  const records = new Map();
  let fail = null;
  const store = {
    records,
    async commit(puts, deletes) {
      if (fail) throw fail;
      for (const [k, v] of puts) records.set(k, v);
      for (const k of deletes) records.delete(k);
    },
    async close() {},
  };
  const lua = await newLua({ storage: store });
  await lua.compute('Memory.a = 1');
  // A full storage as each engine (and Node) reports it.
  const full = {
    'QuotaExceededError (Chromium, Firefox, WebKit)': new DOMException('', 'QuotaExceededError'),
    'legacy code 22': Object.assign(new Error('quota'), { code: 22 }),
    'Firefox NS_ERROR_DOM_QUOTA_REACHED, code 1014': Object.assign(new Error('quota'), { name: 'NS_ERROR_DOM_QUOTA_REACHED', code: 1014 }),
    'Node ENOSPC': Object.assign(new Error('no space'), { code: 'ENOSPC' }),
  };
  for (const [what, error] of Object.entries(full)) {
    fail = error;
    const e = await rejectsWith(lua.compute('Memory.a = 2 Memory.b = 3'), 'STORAGE_QUOTA').catch((e) => assert.fail(`${what}: ${e.message}`));
    assert.match(e.message, /^storage: \S/, what); // an empty message gives the name
  }
  for (const error of [new Error('disk gone'), new DOMException('gone', 'UnknownError'), Object.assign(new Error('x'), { code: 5 })]) {
    fail = error;
    await rejectsWith(lua.setValue('t', 'k', 1), 'STORAGE_FAILED');
  }
  fail = null;
  assert.deepEqual(await lua.computeAll('return Memory.a, Memory.b, Memory.t'), [1, null, null]);
  await lua.compute('Memory.c = 4');
  assert.equal(await lua.compute('return Memory.a + Memory.c'), 5);
  lua.close();
});

test('damaged pages in storage are refused at init with BAD_DATA, and the storage is closed', async () => {
  const records = new Map([['p0', new Uint8Array([1, 2, 3])]]);
  let closed = 0;
  await rejectsWith(newLua({ storage: { records, async commit() {}, async close() { closed++; } } }), 'BAD_DATA');
  assert.equal(closed, 1);
});

// Starts fixtures/storage-writer.mjs (1,000-record batches forever) on the file store in
// `dir`; resolves once its first batch is saved, to { pid, kill } (kill: SIGKILL, then exit).
async function startWriter(dir) {
  const { spawn } = await import('node:child_process');
  const writer = new URL('./fixtures/storage-writer.mjs', import.meta.url).pathname;
  const child = spawn(process.execPath, [writer, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const kill = () => (child.kill('SIGKILL'), new Promise((r) => (child.exitCode !== null || child.signalCode ? r() : child.on('exit', r))));
  try {
    await new Promise((resolve, reject) => {
      child.stdout.once('data', resolve);
      child.on('exit', (code) => reject(new Error('writer exited with ' + code)));
    });
  } catch (e) {
    await kill();
    throw e;
  }
  return { pid: child.pid, kill };
}

test('a storage that cannot be opened is STORAGE_UNAVAILABLE', async () => {
  await rejectsWith(newLua({ storage: 'indexeddb' }), 'STORAGE_UNAVAILABLE'); // no IndexedDB in Node
  // The file store of the working directory, held by another process.
  const dir = mkdtempSync(join(tmpdir(), 'cu-held-'));
  const cwd = process.cwd();
  let writer;
  try {
    writer = await startWriter(dir);
    process.chdir(dir);
    const e = await rejectsWith(newLua({ storage: 'file', name: 'crash' }), 'STORAGE_UNAVAILABLE');
    assert.match(e.message, new RegExp(`process ${writer.pid}`));
  } finally {
    process.chdir(cwd);
    await writer?.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('file store: a process killed mid-batch leaves every batch whole or absent', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cu-crash-'));
  try {
    for (let round = 0; round < 6; round++) {
      const writer = await startWriter(dir);
      await new Promise((r) => setTimeout(r, 20 + round * 37));
      await writer.kill();
      const lua = await newLua({ storage: await fileStore(dir, 'crash') });
      const values = await lua.compute("local seen = {} for k, r in pairs(Memory.users) do seen[r.v] = (seen[r.v] or 0) + 1 end local out = {} for v, n in pairs(seen) do out[#out + 1] = v .. ':' .. n end return table.concat(out, ' ')");
      // One batch value for all 1,000 records: never a mix of two batches.
      assert.match(values, /^\d+:1000$/, `round ${round}: ${values}`);
      await lua.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('flush, saveState and loadState', async () => {
  const records = new Map();
  let slow = null;
  const store = {
    records,
    async commit(puts, deletes) {
      await slow;
      for (const [k, v] of puts) records.set(k, v);
      for (const k of deletes) records.delete(k);
    },
    async reload() {},
    async close() {},
  };
  const lua = await newLua({ storage: store });
  let release;
  slow = new Promise((r) => (release = r));
  const write = lua.compute('Memory.x = 1');
  let flushed = false;
  const f = lua.flush().then(() => (flushed = true));
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(flushed, false, 'flush waits for the pending save');
  release();
  await write;
  await f;
  assert.ok(records.size > 0);
  await lua.saveState();
  // Another writer changes storage: loadState brings it in.
  const other = await newLua({ storage: { records: new Map(records), async commit(p, d) { for (const [k, v] of p) records.set(k, v); for (const k of d) records.delete(k); }, async close() {} } });
  await other.compute('Memory.x = 2');
  assert.equal(await lua.compute('return Memory.x'), 1);
  await lua.loadState();
  assert.equal(await lua.compute('return Memory.x'), 2);
  lua.close();
  other.close();
});

test('two instances on one versioned store see each other\'s commits and lose no update', async () => {
  // A shared store with a version and a lock, as idb.js gives tabs.
  const records = new Map();
  let version = 0, chain = Promise.resolve();
  const shared = () => ({
    records: new Map(records),
    at: version,
    async commit(puts, deletes) {
      for (const [k, v] of puts) records.set(k, v);
      for (const k of deletes) records.delete(k);
      this.records = new Map(records);
      return ++version;
    },
    async reload() { this.records = new Map(records); this.at = version; },
    async version() { return version; },
    lock(fn) { const r = chain.then(fn); chain = r.catch(() => {}); return r; },
    async close() {},
  });
  const a = await newLua({ storage: shared() });
  const b = await newLua({ storage: shared() });
  await a.compute('Memory.n = 0');
  // Interleaved increments from both: every one counts.
  const incs = [];
  for (let i = 0; i < 20; i++) incs.push((i % 2 ? a : b).compute('Memory.n = (Memory.n or 0) + 1'));
  await Promise.all(incs);
  assert.equal(await a.compute('return Memory.n'), 20);
  assert.equal(await b.compute('return Memory.n'), 20);
  a.close();
  b.close();
});

test('Node default: a file in the working directory, shared by the instances of the process', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cu-default-'));
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const { CuWASM } = await import('../../glue.js');
    const a = await CuWASM.init({ onPrint() {} });
    const b = await CuWASM.init({ onPrint() {} });
    await a.compute('Memory.n = 0');
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).compute('Memory.n = Memory.n + 1')));
    assert.equal(await b.compute('return Memory.n'), 10);
    await a.close();
    await b.close();
    const c = await CuWASM.init({ onPrint() {} });
    assert.equal(await c.compute('return Memory.n'), 10);
    await c.close();
    const named = await CuWASM.init({ onPrint() {}, name: 'other' });
    assert.equal(await named.compute('return Memory.n == nil'), true);
    await named.close();
  } finally {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- One persistence suite, run against the memory store and the Node file store (the
// browser runs it against IndexedDB: test-harness/browser/storage.test.mjs).
const STORES = {
  // A named memory store lives as long as the process: "reopening" is a new instance.
  memory: async (t) => ({ open: (extra = {}) => newLua({ storage: 'memory', name: 'suite-' + t, ...extra }), done() {} }),
  // The file store in a fresh working directory, as `storage: 'file'` (the Node default) uses it.
  file: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cu-suite-'));
    const cwd = process.cwd();
    return {
      open: async (extra = {}) => {
        process.chdir(dir);
        try {
          return await newLua({ storage: 'file', name: 'suite', ...extra });
        } finally {
          process.chdir(cwd);
        }
      },
      done: () => rmSync(dir, { recursive: true, force: true }),
    };
  },
};

for (const [kind, make] of Object.entries(STORES)) {
  test(`${kind} store: data, a closure and an index survive closing and reopening`, async () => {
    const s = await make('a');
    try {
      const a = await s.open();
      await a.compute('local n = 0 Memory.counter = function() n = n + 1 return n end');
      assert.equal(await a.compute('return Memory.counter()'), 1);
      await a.batchTableOperations(Array.from({ length: 300 }, (_, i) => ({ type: 'set', table: 'users', key: 'u' + i, value: { age: i % 30, bio: 'x'.repeat(i) } })));
      await a.createIndex('users', 'age');
      await a.close();
      const b = await s.open();
      assert.equal(await b.compute('return Memory.counter()'), 2);
      assert.equal(await b.count('users'), 300);
      assert.equal((await b.getValue('users.u299', 'bio')).length, 299);
      assert.equal((await b.queryTable('users', { field: 'age', operator: '=', value: 7, explain: true })).type, 'btree');
      assert.equal((await b.queryTable('users', { field: 'age', operator: '=', value: 7 })).length, 10);
      await b.close();
    } finally {
      s.done();
    }
  });

  test(`${kind} store: a failed atomic batch and a failed compute leave nothing behind, across a reopen`, async () => {
    const s = await make('b');
    try {
      const a = await s.open();
      await a.setValue('t', 'kept', 1);
      await rejectsWith(a.batchTableOperations([{ type: 'set', table: 't', key: 'x', value: 1 }, { type: 'update', table: 't', key: 'missing', value: { y: 1 } }]), 'BATCH_FAILED');
      await rejectsWith(a.compute("Memory.t.y = 2 error('no')"), 'LUA_RUNTIME');
      await a.close();
      const b = await s.open();
      assert.deepEqual(await b.keys('t'), ['kept']);
      await b.close();
    } finally {
      s.done();
    }
  });

  test(`${kind} store: two instances on one database lose no update`, async () => {
    const s = await make('c');
    try {
      const a = await s.open();
      const b = await s.open();
      await a.compute('Memory.n = 0');
      await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).compute('Memory.n = Memory.n + 1')));
      assert.equal(await a.compute('return Memory.n'), 12);
      await a.close();
      await b.close();
    } finally {
      s.done();
    }
  });
}
