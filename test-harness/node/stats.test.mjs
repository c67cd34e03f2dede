// stats.test.mjs: lua.stats() and ext.stats() (issue 6): the shape of the report, its
// numbers against the page records an adapter store holds, index sizes against the
// module's heap, the Lua heap, a table's own report, and errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newLua, rejectsWith, storeWith } from './helpers.mjs';


const TABLE_KEYS = ['path', 'records', 'rawBytes', 'storedBytes', 'ratio', 'indexBytes', 'indexes', 'table'];

test('the report: its shape, and its bytes are those of the stored page records', async () => {
  const store = storeWith(), records = store.records;
  const lua = await newLua({ storage: store });
  await lua.batchTableOperations(Array.from({ length: 300 }, (_, i) => ({
    type: 'set', table: 'users', key: 'u' + i,
    value: { name: 'user ' + i, email: `u${i}@example.com`, age: 20 + (i % 40), bio: i % 10 ? 'short' : 'a long biography. '.repeat(100) },
  })));
  await lua.createIndex('users', 'email', 'hash', { unique: true });
  await lua.createIndex('users', 'age');
  await lua.compute("Memory.settings = { theme = 'dark' } Memory.greet = function(n) return 'hi ' .. n end Memory.visits = 3");
  const s = await lua.stats();
  assert.deepEqual(Object.keys(s), ['heapUsed', 'heapSize', 'heapPeak', 'lastInstructions', 'moduleHeapUsed', 'records', 'rawBytes',
    'storedBytes', 'compressionRatio', 'indexBytes', 'tables', 'luaHeap', 'moduleMemory', 'compression']);
  assert.deepEqual(s.tables.map((t) => t.table), ['Memory.settings', 'Memory.users'], 'in key order');
  for (const t of s.tables) assert.deepEqual(Object.keys(t), TABLE_KEYS);
  const [settings, users] = s.tables;
  assert.deepEqual(users.path, ['users']);
  assert.equal(users.records, 300);
  assert.equal(settings.records, 1);
  assert.equal(s.records, 301);
  // Every page record, as stored: each page is a 16-byte header, a u32 count, the records.
  const stored = [...records.values()].reduce((n, v) => n + v.length - 20, 0);
  assert.equal(s.storedBytes, stored);
  assert.ok(s.rawBytes > s.storedBytes && users.rawBytes > users.storedBytes);
  assert.equal(s.compressionRatio, s.rawBytes / s.storedBytes);
  assert.equal(users.ratio, users.rawBytes / users.storedBytes);
  assert.equal(settings.ratio, 1, 'nothing to deflate');
  assert.ok(s.rawBytes > users.rawBytes + settings.rawBytes, 'the total has the root record (greet, visits) too');
  assert.deepEqual(users.indexes.map(({ field, type, unique, entries }) => [field, type, unique, entries]),
    [['email', 'hash', true, 300], ['age', 'btree', false, 300]]);
  assert.equal(users.indexBytes, users.indexes[0].bytes + users.indexes[1].bytes);
  assert.equal(s.indexBytes, users.indexBytes);
  assert.deepEqual(settings.indexes, []);
  // The heaps; the five fields of the first releases are the same numbers.
  assert.deepEqual(s.luaHeap, { used: s.heapUsed, limit: s.heapSize, peak: s.heapPeak });
  assert.equal(s.heapSize, 512 * 1024);
  assert.equal(s.moduleMemory.heapUsed, s.moduleHeapUsed);
  assert.ok(s.moduleMemory.wasmMemory % 65536 == 0 && s.moduleMemory.wasmMemory > s.moduleHeapUsed);
  assert.deepEqual(s.compression, { level: 'default', threshold: 1024 });
  // Lua sees the same report (an empty Lua table comes to JS as {}).
  const fromLua = await lua.compute('return ext.stats()');
  for (const t of fromLua.tables) t.indexes = Array.isArray(t.indexes) ? t.indexes : [];
  for (const k of ['records', 'rawBytes', 'storedBytes', 'compressionRatio', 'indexBytes', 'tables', 'compression']) assert.deepEqual(fromLua[k], s[k], k);
  assert.equal(fromLua.luaHeap.limit, s.luaHeap.limit);
  lua.close();
});

test("index sizes: what the module's heap grows by when the index is made", async () => {
  const lua = await newLua({ heapSize: 256 * 1024 });
  await lua.batchTableOperations(Array.from({ length: 20000 }, (_, i) => ({ type: 'set', table: 'items', key: i, value: { sku: 'sku-' + i * 7919, price: i % 500 } })));
  for (const [field, type] of [['price', 'btree'], ['sku', 'hash']]) {
    await lua.takeChanges(); // the change set grows with every write until taken
    await lua.gc();
    const before = (await lua.stats()).moduleHeapUsed;
    await lua.createIndex('items', field, type);
    await lua.takeChanges();
    const s = await lua.stats('Memory');
    const ix = s.tables[0].indexes.find((x) => x.field == field);
    const grown = s.moduleHeapUsed - before;
    assert.equal(ix.entries, 20000);
    assert.ok(Math.abs(ix.bytes - grown) < grown * 0.02, `${type}: reported ${ix.bytes}, heap grew ${grown}`);
  }
  lua.close();
});

test("a table's report, a missing table, and bad paths", async () => {
  const lua = await newLua();
  await lua.compute("Memory.app = { users = { a = { n = 1 } }, posts = { p1 = { text = 'x' }, p2 = { text = 'y' } } } Memory.n = 1");
  const app = await lua.stats('app');
  assert.deepEqual(app.tables.map((t) => [t.table, t.path, t.records]), [['Memory.app.posts', ['app', 'posts'], 2], ['Memory.app.users', ['app', 'users'], 1]]);
  assert.equal(app.records, 3);
  assert.deepEqual(await lua.stats(['app', 'users']).then((s) => s.tables.map((t) => t.table)), ['Memory.app.users.a']);
  assert.deepEqual((await lua.stats('Memory.app')).tables, app.tables);
  const none = await lua.stats('nothing');
  assert.deepEqual([none.tables, none.records, none.rawBytes, none.storedBytes, none.compressionRatio], [[], 0, 0, 0, 1]);
  assert.equal(await lua.count('nothing'), 0, 'looking did not create it');
  await rejectsWith(lua.stats('n.x'), 'NOT_A_TABLE');
  await rejectsWith(lua.stats(5), 'BAD_ARGUMENT');
  assert.equal(await lua.compute("local s = ext.stats('app') return s.tables[1].table .. ' ' .. s.records"), 'Memory.app.posts 3');
  assert.equal(await lua.compute("return ext.stats(Memory.app.users).tables[1].table"), 'Memory.app.users.a');
  await rejectsWith(lua.compute("return ext.stats('n')"), 'LUA_RUNTIME');
  assert.equal((await lua.stats()).records, 2, 'still working');
  lua.close();
});
