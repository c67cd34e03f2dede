// query.test.mjs: queryTable — every operator, where (AND), limit/offset, orderBy/order,
// count, explain, cursor paging, btree vs hash vs no index, unique indices, indexes().
// Expected results are written out by hand from the data below and the ordering rule
// (README: by orderBy, else the first condition's field, else the key; false < true <
// numbers < strings < anything else; ties by key; desc reverses it all).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newLua, rejectsWith } from './helpers.mjs';

const USERS = {
  u1: { name: 'Alice', age: 30, city: 'Paris', tags: ['admin', 'dev'], address: { city: 'Paris', zip: 75001 } },
  u2: { name: 'Bob', age: 25, city: 'Berlin', tags: ['dev'] },
  u3: { name: 'Carol', age: 35, city: 'Paris', tags: ['ops'] },
  u4: { name: 'Dave', age: 40, city: 'Rome', address: { city: 'Rome' } },
  u5: { name: 'Eve', age: 25.5, city: 'berlin' },
  u6: { name: 'Frank', city: 'Paris' },
  u7: { name: 'Gina', age: 'old', city: 'Oslo' },
  u8: { name: 'Hal', age: true },
};

// [query, expected keys in order]
const CASES = [
  [{ field: 'age', operator: '>=', value: 25 }, ['u2', 'u5', 'u1', 'u3', 'u4']],
  [{ field: 'age', operator: '>', value: 25 }, ['u5', 'u1', 'u3', 'u4']],
  [{ field: 'age', operator: '<', value: 30 }, ['u2', 'u5']],
  [{ field: 'age', operator: '<=', value: 30 }, ['u2', 'u5', 'u1']],
  [{ field: 'age', operator: '=', value: 25 }, ['u2']],
  [{ field: 'age', op: '==', value: 25.5 }, ['u5']],
  [{ field: 'age', operator: '=', value: true }, ['u8']],
  [{ field: 'age', operator: '!=', value: 25 }, ['u8', 'u5', 'u1', 'u3', 'u4', 'u7', 'u6']],
  [{ field: 'age', operator: 'between', value: [30, 40] }, ['u1', 'u3', 'u4']],
  [{ field: 'age', operator: 'between', value: [26, 29] }, []],
  [{ field: 'age', operator: 'between', value: ['a', 'z'] }, ['u7']],
  [{ field: 'age', operator: '>', value: 'a' }, ['u7']],
  [{ field: 'age', operator: 'in', value: [40, 25, 'old'] }, ['u2', 'u4', 'u7']],
  [{ field: 'name', operator: 'contains', value: 'a' }, ['u3', 'u4', 'u6', 'u7', 'u8']],
  [{ field: 'tags', operator: 'contains', value: 'dev' }, ['u1', 'u2']],
  [{ field: 'city', operator: 'startsWith', value: 'Ber' }, ['u2']],
  [{ field: 'city', operator: 'startsWith', value: 'P' }, ['u1', 'u3', 'u6']],
  [{ field: 'address.city', operator: '=', value: 'Paris' }, ['u1']],
  [{ field: ['address', 'zip'], operator: '>', value: 0 }, ['u1']],
  [{ field: 'city', operator: '=', value: 'Paris', where: [{ field: 'age', operator: '>=', value: 30 }] }, ['u1', 'u3']],
  [{ where: [{ field: 'city', op: '=', value: 'Paris' }, { field: 'name', op: 'startsWith', value: 'F' }] }, ['u6']],
  [{ field: 'city', operator: '=', value: 'Paris', orderBy: 'age' }, ['u1', 'u3', 'u6']],
  [{ field: 'city', operator: '=', value: 'Paris', orderBy: 'age', order: 'desc' }, ['u6', 'u3', 'u1']],
  [{ field: 'age', operator: '>=', value: 25, order: 'desc' }, ['u4', 'u3', 'u1', 'u5', 'u2']],
  [{ field: 'age', operator: '>=', value: 25, limit: 2, offset: 1 }, ['u5', 'u1']],
  [{ field: 'age', operator: '>=', value: 25, limit: 0 }, []],
  [{ field: 'age', operator: '>=', value: 25, offset: 10 }, []],
  [{ orderBy: 'name', order: 'desc', limit: 3 }, ['u8', 'u7', 'u6']],
  [{}, ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8']],
  [{ orderBy: 'city' }, ['u2', 'u7', 'u1', 'u3', 'u6', 'u4', 'u5', 'u8']],
];

async function withUsers(index) {
  const l = await newLua({ heapSize: 2 << 20 });
  for (const [k, v] of Object.entries(USERS)) await l.setValue('users', k, v);
  if (index) for (const f of ['age', 'name', 'city', 'tags']) await l.createIndex('users', f, index);
  return l;
}

for (const index of [null, 'btree', 'hash']) {
  test(`every operator, where, orderBy, order, limit, offset (${index || 'no'} index)`, async () => {
    const l = await withUsers(index);
    for (const [q, keys] of CASES) {
      const r = await l.queryTable('users', q);
      assert.deepEqual(r.map((x) => x.key), keys, JSON.stringify(q));
      for (const x of r) assert.deepEqual(x, { key: x.key, value: USERS[x.key] });
      assert.equal(await l.queryTable('users', { ...q, count: true }), (await l.queryTable('users', { ...q, limit: undefined, offset: 0 })).length);
    }
    l.close();
  });
}

test('count ignores limit, offset and cursor', async () => {
  const l = await withUsers('btree');
  assert.equal(await l.queryTable('users', { field: 'age', operator: '>=', value: 25, count: true }), 5);
  assert.equal(await l.queryTable('users', { field: 'age', operator: '>=', value: 25, count: true, limit: 2, offset: 1 }), 5);
  const page = await l.queryTable('users', { field: 'age', operator: '>=', value: 25, limit: 2 });
  assert.equal(await l.queryTable('users', { field: 'age', operator: '>=', value: 25, count: true, cursor: page.cursor }), 5);
  assert.equal(await l.queryTable('users', { count: true }), 8);
  l.close();
});

test('result shape: [{ key, value }] with a non-enumerable cursor', async () => {
  const l = await withUsers(null);
  const r = await l.queryTable('users', { field: 'age', operator: '>=', value: 25 });
  assert.ok(Array.isArray(r));
  assert.equal(r.cursor, null); // no limit
  assert.deepEqual(Object.keys(r), ['0', '1', '2', '3', '4']);
  const full = await l.queryTable('users', { field: 'age', operator: '>=', value: 25, limit: 5 });
  assert.equal(full.length, 5);
  const short = await l.queryTable('users', { field: 'age', operator: '>=', value: 25, limit: 6 });
  assert.equal(short.cursor, null); // not a full page
  l.close();
});

for (const index of [null, 'btree', 'hash']) {
  test(`cursor paging through every record (${index || 'no'} index)`, async () => {
    const l = await newLua({ heapSize: 2 << 20 });
    const n = 250;
    await l.batchTableOperations(Array.from({ length: n }, (_, i) => ({ type: 'set', table: 'r', key: 'k' + String(i).padStart(3, '0'), value: { v: i % 17, s: 'x' + (i % 5) } })));
    if (index) await l.createIndex('r', 'v', index);
    for (const q of [{}, { field: 'v', operator: '>=', value: 3 }, { field: 'v', operator: '!=', value: 4, order: 'desc' }, { field: 's', operator: 'in', value: ['x1', 'x3'], orderBy: 'v' }]) {
      const all = await l.queryTable('r', q);
      const paged = [];
      let page = await l.queryTable('r', { ...q, limit: 7 });
      let pages = 1;
      for (;;) {
        paged.push(...page);
        assert.ok(page.length <= 7);
        if (page.cursor == null) break;
        assert.equal(page.length, 7);
        page = await l.queryTable('r', { ...q, limit: 7, cursor: page.cursor });
        assert.ok(++pages < 100);
      }
      assert.deepEqual(paged, [...all], JSON.stringify(q));
      assert.ok(all.length > 20);
    }
    l.close();
  });
}

test('explain: the plan says whether an index was used and how many entries were examined', async () => {
  const l = await withUsers(null);
  const q = { field: 'age', operator: '>=', value: 25, explain: true };
  assert.deepEqual(await l.queryTable('users', q), { type: 'scan', examined: 8, sorted: true });
  await l.createIndex('users', 'age', 'btree');
  assert.deepEqual(await l.queryTable('users', q), { index: 'age', type: 'btree', examined: 5, sorted: false });
  await l.createIndex('users', 'city', 'hash');
  const eq = await l.queryTable('users', { field: 'city', operator: '=', value: 'Paris', explain: true });
  assert.equal(eq.index, 'city');
  assert.equal(eq.type, 'hash');
  assert.equal(eq.examined, 3);
  const range = await l.queryTable('users', { field: 'city', operator: '>', value: 'A', explain: true }); // hash: no ranges
  assert.equal(range.type, 'scan');
  assert.equal(range.index, undefined);
  l.close();
});

test('condition values are booleans, numbers or strings (arrays of them for between/in): others are BAD_ARGUMENT', async () => {
  const l = await withUsers(null);
  for (const value of [null, {}, [1], new Map()]) await rejectsWith(l.queryTable('users', { field: 'age', operator: '=', value }), 'BAD_ARGUMENT');
  await rejectsWith(l.queryTable('users', { field: 'age', operator: '!=', value: null }), 'BAD_ARGUMENT');
  await rejectsWith(l.queryTable('users', { field: 'age', operator: 'in', value: [1, null] }), 'BAD_ARGUMENT');
  assert.equal((await l.queryTable('users', { field: 'age', operator: 'in', value: [25] })).length, 1);
  l.close();
});

// An empty JS array can only go on the wire as an empty map ({}): tag 6 needs n >= 1.
test('in [] matches nothing', async () => {
  const l = await withUsers(null);
  assert.deepEqual(await l.queryTable('users', { field: 'age', operator: 'in', value: [] }), []);
  l.close();
});

test('createIndex on existing data; indexes(); dropIndex; every write path keeps indices right', async () => {
  const l = await withUsers(null);
  await l.createIndex('users', 'age', 'btree');
  await l.createIndex('Memory', 'users.city', 'hash');
  assert.deepEqual(await l.indexes('users'), [{ field: 'age', type: 'btree', unique: false }, { field: 'city', type: 'hash', unique: false }]);
  const q = (f, op, value) => l.queryTable('users', { field: f, operator: op, value }).then((r) => r.map((x) => x.key));
  assert.deepEqual(await q('age', '>=', 25), ['u2', 'u5', 'u1', 'u3', 'u4']);
  await l.setValue('users', 'u9', { age: 27, city: 'Paris' });                               // JS set
  await l.compute('Memory.users.u2.age = 50 Memory.users.u3 = nil');                         // Lua assignment, delete
  await l.batchTableOperations([{ type: 'update', table: 'users', key: 'u4', value: { age: 26, city: 'Paris' } }]); // batch update
  await l.deleteValue('users', 'u5');                                                        // JS delete
  await l.compute('Memory.users.u1.age = 99 error("rolled back")').catch(() => {});           // rollback
  await rejectsWith(l.batchTableOperations([{ type: 'set', table: 'users', key: 'u1', value: { age: 1 } }, { type: 'update', table: 'users', key: 'zz', value: {} }]), 'BATCH_FAILED');
  assert.deepEqual(await q('age', '>=', 25), ['u4', 'u9', 'u1', 'u2']);
  assert.deepEqual(await q('city', '=', 'Paris'), ['u1', 'u4', 'u6', 'u9']);
  assert.equal(await l.dropIndex('users', 'age'), true);
  assert.equal(await l.dropIndex('users', 'age'), false);
  assert.deepEqual(await l.indexes('users'), [{ field: 'city', type: 'hash', unique: false }]);
  assert.deepEqual(await q('age', '>=', 25), ['u4', 'u9', 'u1', 'u2']);
  assert.deepEqual(await l.indexes('nothing'), []);
  l.close();
});

test('unique indices: violations on every write path, and on createIndex over duplicates', async () => {
  const l = await newLua();
  await l.setValue('acc', 'a', { email: 'a@x', n: 1 });
  await l.setValue('acc', 'b', { email: 'b@x', n: 1 });
  await l.createIndex('acc', 'email', 'hash', { unique: true });
  const e = await rejectsWith(l.createIndex('acc', 'n', 'btree', { unique: true }), 'UNIQUE_VIOLATION');
  assert.equal(e.details.status, -14);
  await l.createIndex('acc', 'n', 'btree'); // duplicates are fine without unique
  await rejectsWith(l.setValue('acc', 'c', { email: 'a@x' }), 'UNIQUE_VIOLATION');
  for (const src of ["Memory.acc.c = { email = 'b@x' }", "Memory.acc.b.email = 'a@x'"]) {
    const err = await l.compute(src).then(() => null, (x) => x);
    assert.ok(['LUA_RUNTIME', 'UNIQUE_VIOLATION'].includes(err?.code), src + ': ' + err?.code);
  }
  assert.equal(await l.getValue('acc', 'c'), undefined);
  assert.deepEqual(await l.getValue('acc', 'b'), { email: 'b@x', n: 1 });
  await l.setValue('acc', 'a', { email: 'a@x', n: 2 }); // the same record keeps its value
  await l.setValue('acc', 'c', { n: 3 });               // nil is not indexed
  await l.setValue('acc', 'd', { n: 4 });
  assert.deepEqual((await l.queryTable('acc', { field: 'email', operator: 'in', value: ['a@x', 'b@x'] })).map((r) => r.key), ['a', 'b']);
  assert.deepEqual(await l.indexes('acc'), [{ field: 'email', type: 'hash', unique: true }, { field: 'n', type: 'btree', unique: false }]);
  await l.deleteValue('acc', 'a');
  await l.setValue('acc', 'e', { email: 'a@x' }); // free again
  assert.equal(await l.count('acc'), 4);
  l.close();
});

test('the Lua query API gives the same records', async () => {
  const l = await withUsers('btree');
  const keys = await l.compute(`
    local r = ext.query('users', { field = 'age', op = '>=', value = 25, limit = 100 })
    local ks = {}
    for i, x in ipairs(r) do ks[i] = x.key end
    return table.concat(ks, ',')`);
  assert.equal(keys, 'u2,u5,u1,u3,u4');
  l.close();
});
