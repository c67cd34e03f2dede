// store.test.mjs: external tables from JS (getValue, setValue, deleteValue, keys, count,
// takeChanges), the request bytes glue.js writes, values of every type, paths, errors,
// and compute's rollback of its external-table changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newLua, rejectsWith, withInstantiateHook, CuError } from './helpers.mjs';

const lua = await newLua({ heapSize: 4 << 20 });

// A Lua value decoder over request bytes (docs/ARCHITECTURE.md, "Wire values"), for the tests
// that check what glue.js sends: tags 0–7 only (requests carry no references or opaques).
function reader(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let p = 0;
  const r = {
    u8: () => bytes[p++],
    u32: () => view.getUint32((p += 4) - 4, true),
    value() {
      const tag = bytes[p++];
      switch (tag) {
        case 0: return { nil: true };
        case 1: case 2: return tag == 2;
        case 3: return { int: view.getBigInt64((p += 8) - 8, true) };
        case 4: return { float: view.getFloat64((p += 8) - 8, true) };
        case 5: { const n = r.u32(); return { bytes: [...bytes.subarray(p, (p += n))] }; }
        case 6: { const n = r.u32(); return { array: Array.from({ length: n }, () => r.value()) }; }
        case 7: { const n = r.u32(); return { map: Array.from({ length: n }, () => [r.value(), r.value()]) }; }
      }
      throw new Error(`bad tag ${tag} at ${p - 1}`);
    },
    path: () => Array.from({ length: r.u8() }, () => r.value()),
    end: () => assert.equal(p, bytes.length, 'request fully read'),
  };
  return r;
}
const S = (s) => ({ bytes: [...Buffer.from(s)] });
const I = (n) => ({ int: BigInt(n) });

// Runs `fn(lua)` on a fresh instance whose requests for ops >= 9 are recorded as [op, bytes].
async function capture(fn) {
  const sent = [];
  let l;
  await withInstantiateHook((instance) => {
    const x = instance.exports, pending = [];
    const exports = {
      ...x,
      cu_push: (n) => (pending.push(...new Uint8Array(x.memory.buffer, x.cu_buffer(), n)), x.cu_push(n)),
      // (Ops 21/22 are the storage layer's page saves and loads, after every call.)
      cu_call: (op) => (op >= 9 && op < 21 && sent.push([op, Uint8Array.from(pending)]), (pending.length = 0), x.cu_call(op)),
    };
    return { exports };
  }, async () => { l = await newLua(); });
  try { await fn(l); } catch (e) { if (!(e instanceof CuError)) throw e; }
  l.close();
  return sent;
}

test('requests: path, key, value bytes as in the spec', async () => {
  const sent = await capture((l) => l.setValue('Memory.users', 'u1', { name: 'Al', age: 30, f: 1.5, z: -0, h: [1, , 3], big: -(2n ** 60n), raw: new Uint8Array([0xff, 0]), no: undefined, t: true, n: null }));
  assert.equal(sent[0][0], 10);
  const r = reader(sent[0][1]);
  assert.deepEqual(r.path(), [S('users')]);
  assert.deepEqual(r.value(), S('u1'));
  assert.deepEqual(r.value(), {
    map: [
      [S('name'), S('Al')], [S('age'), I(30)], [S('f'), { float: 1.5 }], [S('z'), { float: -0 }],
      [S('h'), { array: [I(1), { nil: true }, I(3)] }], [S('big'), I(-(2n ** 60n))],
      [S('raw'), { bytes: [0xff, 0] }], [S('t'), true], [S('n'), { nil: true }],
    ],
  });
  r.end();
});

test('requests: numbers, strings, Map, empty tables', async () => {
  const long = 'x'.repeat(150) + 'é', mixed = 'abc\u0000é€\u{1F600}\uD800z';
  const extra = [2 ** 32, 2 ** 32 - 1, -(2 ** 32), -(2 ** 40) + 3, long, mixed];
  const values = [...extra, 2 ** 53 - 1, -(2 ** 53) + 1, 2 ** 53, -1, 0, 1e300, NaN, Infinity, 2n ** 63n - 1n, -(2n ** 63n), 'é€😀', '', new Map([[1, 'a'], ['k', undefined], [true, 2]]), [], {}, new Uint8Array(0).buffer];
  const sent = await capture(async (l) => { for (const v of values) await l.setValue('t', 1, v).catch(() => {}); });
  const got = sent.map(([, b]) => { const r = reader(b); r.path(); r.value(); const v = r.value(); r.end(); return v; });
  assert.deepEqual(got, [
    I(2 ** 32), I(2 ** 32 - 1), I(-(2 ** 32)), I(-(2 ** 40) + 3), S(long), S(mixed),
    I(2 ** 53 - 1), I(-(2 ** 53) + 1), { float: 2 ** 53 }, I(-1), I(0), { float: 1e300 }, { float: NaN }, { float: Infinity },
    I(2n ** 63n - 1n), I(-(2n ** 63n)), S('é€😀'), S(''), { map: [[I(1), S('a')], [true, I(2)]] }, { map: [] }, { map: [] }, { bytes: [] },
  ]);
});

test('requests: path forms', async () => {
  const forms = ['users', 'Memory.users', '_home.users', ['users'], 'users.u1', ['users', 'u1'], 'Memory', [], ['Memory', 'users'], [1, 'a.b']];
  const sent = await capture(async (l) => { for (const p of forms) await l.count(p).catch(() => {}); });
  assert.deepEqual(sent.map(([op, b]) => (assert.equal(op, 13), reader(b).path())), [
    [S('users')], [S('users')], [S('users')], [S('users')], [S('users'), S('u1')], [S('users'), S('u1')], [], [], [S('Memory'), S('users')], [I(1), S('a.b')],
  ]);
});

test('requests: query flags, limit, offset, orderBy, cursor, conditions', async () => {
  const sent = await capture((l) => l.queryTable('users', {
    field: 'address.city', op: '==', value: 'Paris', where: [{ field: 'age', operator: 'between', value: [30, 40] }, { field: 'tags', operator: 'in', value: ['a', 'b'] }],
    limit: 100, offset: 5, orderBy: 'age', order: 'desc', cursor: 'c1', count: true, explain: true,
  }));
  const r = reader(sent[0][1]);
  assert.equal(sent[0][0], 19);
  assert.deepEqual(r.path(), [S('users')]);
  assert.equal(r.u8(), 1 | 2 | 4 | 8 | 16);
  assert.equal(r.u32(), 100);
  assert.equal(r.u32(), 5);
  assert.deepEqual(r.path(), [S('age')]);
  assert.deepEqual(r.value(), S('c1'));
  assert.equal(r.u8(), 3);
  assert.deepEqual([r.path(), r.u8(), r.value()], [[S('address'), S('city')], 1, S('Paris')]);
  assert.deepEqual([r.path(), r.u8(), r.value()], [[S('age')], 7, { array: [I(30), I(40)] }]);
  assert.deepEqual([r.path(), r.u8(), r.value()], [[S('tags')], 8, { array: [S('a'), S('b')] }]);
  r.end();
  const plain = await capture((l) => l.queryTable('users', {}));
  const q = reader(plain[0][1]);
  q.path();
  assert.deepEqual([q.u8(), q.u32(), q.u32(), q.u8()], [0, 0xffffffff, 0, 0]);
  q.end();
});

test('requests: index field from table + field path', async () => {
  const sent = await capture(async (l) => {
    await l.createIndex('users', 'age').catch(() => {});
    await l.createIndex('Memory', 'users.age', 'hash', { unique: true }).catch(() => {});
    await l.createIndex(['users'], ['address', 'city'], 'btree', { unique: true }).catch(() => {});
    await l.dropIndex('Memory.users', 'age').catch(() => {});
  });
  const got = sent.map(([op, b]) => { const r = reader(b); const v = [op, r.path(), r.path()]; if (op == 17) v.push(r.u8(), r.u8()); r.end(); return v; });
  assert.deepEqual(got, [
    [17, [S('users')], [S('age')], 1, 0],
    [17, [S('users')], [S('age')], 2, 1],
    [17, [S('users'), S('address')], [S('city')], 1, 1],
    [18, [S('users')], [S('age')]],
  ]);
});

test('get, set, delete, keys, count', async () => {
  await lua.setValue('users', 'u1', { name: 'Alice', age: 30 });
  await lua.setValue('users', 'u2', { name: 'Bob', age: 25 });
  assert.deepEqual(await lua.getValue('users', 'u1'), { name: 'Alice', age: 30 });
  assert.equal(await lua.getValue('users', 'nobody'), undefined);
  assert.equal(await lua.count('users'), 2);
  assert.deepEqual(await lua.keys('users'), ['u1', 'u2']);
  assert.equal(await lua.deleteValue('users', 'u2'), true);
  assert.equal(await lua.deleteValue('users', 'u2'), false);
  assert.equal(await lua.count('users'), 1);
  assert.deepEqual(await lua.keys('users'), ['u1']);
  await lua.setValue('users', 'u1', { name: 'Alicia' }); // a set replaces the record
  assert.deepEqual(await lua.getValue('users', 'u1'), { name: 'Alicia' });
  assert.equal(await lua.compute('return Memory.users.u1.name'), 'Alicia');
  assert.equal(await lua.compute("return ext.table('users').u1.name"), 'Alicia');
  await lua.compute('Memory.users.u3 = { name = "Cy", age = 40 }');
  assert.deepEqual(await lua.getValue('users', 'u3'), { name: 'Cy', age: 40 });
  await lua.setValue('empty', 'x', 1);
  await lua.deleteValue('empty', 'x');
  assert.deepEqual(await lua.keys('empty'), []);
  assert.equal(await lua.count('empty'), 0);
});

test('paths: every form names the same table', async () => {
  await lua.setValue('paths', 'k', 1);
  for (const p of ['paths', 'Memory.paths', '_home.paths', ['paths']]) assert.equal(await lua.getValue(p, 'k'), 1, String(p));
  await lua.setValue('paths.inner', 'k', 2); // tables along the path are created
  assert.equal(await lua.getValue(['paths', 'inner'], 'k'), 2);
  assert.deepEqual(await lua.getValue('paths', 'inner'), { k: 2 });
  assert.deepEqual(await lua.getValue('Memory', 'paths'), { k: 1, inner: { k: 2 } });
  assert.ok((await lua.keys('Memory')).includes('paths'));
  await lua.setValue(['paths', 7], 1, 'seven');
  assert.equal(await lua.getValue(['paths', 7], 1), 'seven');
  assert.equal(await lua.compute('return Memory.paths[7][1]'), 'seven');
  await lua.setValue(['Memory', 'paths'], 'k', 3); // in an array, 'Memory' is an ordinary key
  assert.equal(await lua.getValue('Memory.paths', 'k'), 1);
  assert.equal(await lua.getValue('Memory.Memory.paths', 'k'), 3);
});

test('values of every type round-trip', async () => {
  const values = {
    int: 42, neg: -7, zero: 0, negzero: -0, float: 3.25, nan: NaN, inf: -Infinity, maxsafe: 2 ** 53 - 1, bigf: 2 ** 60,
    big: 2n ** 62n, minint: -(2n ** 63n), t: true, f: false, s: 'hé😀\0x', empty: '',
    nested: { a: { b: { c: [1, 2, { d: 'e' }] } } }, arr: [1, 'two', 3.5, false], emptyobj: {},
  };
  for (const [k, v] of Object.entries(values)) {
    await lua.setValue('vals', k, v);
    const got = await lua.getValue('vals', k);
    if (k == 'emptyobj') assert.deepEqual(got, {});
    else assert.ok(Object.is(got, v) || (assert.deepEqual(got, v), true), k);
  }
  assert.ok(Object.is(await lua.getValue('vals', 'negzero'), -0));
  assert.equal(await lua.compute('return math.type(Memory.vals.int) .. math.type(Memory.vals.float) .. math.type(Memory.vals.bigf) .. math.type(Memory.vals.negzero)'), 'integerfloatfloatfloat');
  assert.equal(await lua.compute('return Memory.vals.big == 1 << 62 and Memory.vals.minint == math.mininteger'), true);
  const bytes = new Uint8Array([0, 1, 0xff, 0xfe, 0x80]);
  await lua.setValue('vals', 'bytes', bytes);
  assert.deepEqual(await lua.getValue('vals', 'bytes'), bytes);
  assert.equal(await lua.compute('return #Memory.vals.bytes'), 5);
  await lua.setValue('vals', 'ab', bytes.buffer);
  assert.deepEqual(await lua.getValue('vals', 'ab'), bytes);
  await lua.setValue('vals', 'holes', [1, , 3]);
  assert.equal(await lua.compute('local h = Memory.vals.holes return h[1] == 1 and h[2] == nil and h[3] == 3'), true);
  await lua.setValue('vals', 'map', new Map([[1, 'one'], ['x', 2], [true, 'yes']]));
  assert.equal(await lua.compute('local m = Memory.vals.map return m[1] .. m.x .. m[true]'), 'one2yes');
  const bare = Object.create(null);
  bare.x = 1;
  await lua.setValue('vals', 'bare', bare);
  assert.deepEqual(await lua.getValue('vals', 'bare'), { x: 1 });
  await lua.setValue('vals', 'skip', { a: 1, b: undefined });
  assert.deepEqual(await lua.getValue('vals', 'skip'), { a: 1 });
  await lua.setValue('vals', 2.5, 'float key');
  await lua.setValue('vals', true, 'bool key');
  assert.equal(await lua.getValue('vals', 2.5), 'float key');
  assert.equal(await lua.getValue('vals', true), 'bool key');
  const shared = { s: 1 };
  await lua.setValue('vals', 'shared', [shared, shared]); // shared, not cyclic: copied twice
  assert.deepEqual(await lua.getValue('vals', 'shared'), [{ s: 1 }, { s: 1 }]);
  // External tables nest at most 200 deep counting from Memory: Memory.vals + 199 tables is the most.
  let deep = {};
  for (let i = 0; i < 198; i++) deep = { d: deep };
  await lua.setValue('vals', 'deep', deep);
  assert.equal(await lua.compute('local n, t = 0, Memory.vals.deep while t do n, t = n + 1, t.d end return n'), 199);
  await rejectsWith(lua.setValue('vals', 'deep', { d: deep }), 'BAD_ARGUMENT');
});

test('bad arguments are BAD_ARGUMENT in glue.js (nothing sent), and the instance keeps working', async () => {
  const cyclic = { a: 1 };
  cyclic.self = cyclic;
  let deep = {};
  for (let i = 0; i < 200; i++) deep = { d: deep };
  const messages = [];
  const sent = await capture(async (l) => {
    const no = async (p) => messages.push((await rejectsWith(p, 'BAD_ARGUMENT')).message);
    for (const v of [() => 1, Symbol('s'), cyclic, [cyclic], deep, 2n ** 63n, -(2n ** 63n) - 1n, new Date(), new Set([1]), new Float64Array(2), { f() {} }, new String('')]) await no(l.setValue('bad', 'k', v));
    for (const key of [null, undefined, NaN, {}, [1]]) await no(l.setValue('bad', key, 1));
    for (const p of [null, 5, {}, [null], [{}], Array(256).fill('a')]) await no(l.getValue(p, 'k'));
    await no(l.createIndex('users', 'age', 'skiplist'));
    await no(l.createIndex('users', []));
    await no(l.createIndex('users'));
    for (const q of [null, { field: 'a', operator: '~', value: 1 }, { field: 'a', op: 'between', value: 1 }, { field: 'a', op: 'between', value: [1] },
      { field: 'a', op: 'in', value: 1 }, { limit: -1 }, { limit: 1.5 }, { limit: '10' }, { offset: -1 }, { order: 'up' }, { where: {} }, { where: [5] },
      { where: [{ op: '=', value: 1 }] }, { field: 'a', value: 1 }]) await no(l.queryTable('users', q));
    await no(l.batchTableOperations('nope'));
    assert.equal(messages.length, 41);
    assert.equal(await l.compute('return 1 + 1'), 2);
  });
  assert.deepEqual(sent, []);
  for (const m of messages) assert.match(m, /^(bad|cannot|missing)/, m);
  assert.ok(messages.some((m) => /cycle/.test(m)) && messages.some((m) => /200/.test(m)) && messages.some((m) => /operator/.test(m)));
});

test('NOT_A_TABLE: a path through a value that is not a table', async () => {
  await lua.setValue('cfg', 'name', 'x');
  const e = await rejectsWith(lua.getValue('cfg.name', 'k'), 'NOT_A_TABLE');
  assert.equal(e.details.status, -13);
  assert.ok(e.suggestion);
  await rejectsWith(lua.setValue('cfg.name.deeper', 'k', 1), 'NOT_A_TABLE');
  await rejectsWith(lua.keys('cfg.name'), 'NOT_A_TABLE');
  assert.equal(await lua.getValue('cfg', 'name'), 'x');
});

test('takeChanges: value changes and index changes, then empty', async () => {
  const l = await newLua();
  await l.takeChanges();
  await l.setValue('users', 'u1', { age: 30 });
  await l.setValue('users', 'u2', 'two');
  await l.deleteValue('users', 'u2');
  const changes = await l.takeChanges();
  const last = (key) => changes.findLast((c) => c.key === key && c.path.length == 1);
  assert.deepEqual(last('u1'), { table: 'Memory.users', path: ['users'], key: 'u1', value: { age: 30 } });
  const u2 = last('u2');
  assert.deepEqual(u2, { table: 'Memory.users', path: ['users'], key: 'u2', value: undefined });
  assert.ok('value' in u2);
  for (const c of changes) {
    assert.equal(c.table, ['Memory', ...c.path].join('.'));
    assert.ok(Array.isArray(c.path) && 'key' in c && 'value' in c);
  }
  await l.createIndex('users', 'age', 'hash', { unique: true });
  assert.deepEqual(await l.takeChanges(), [{ table: 'Memory.users', path: ['users'], index: 'age', type: 'hash', unique: true }]);
  await l.dropIndex('users', 'age');
  assert.deepEqual(await l.takeChanges(), [{ table: 'Memory.users', path: ['users'], index: 'age', dropped: true }]);
  assert.deepEqual(await l.takeChanges(), []);
  await l.compute('Memory.top = 1');
  assert.deepEqual(await l.takeChanges(), [{ table: 'Memory', path: [], key: 'top', value: 1 }]);
  l.close();
});

// The spec (ARCHITECTURE.md, "change record") says a kind-1 record's value is { type, unique };
// the module sends the index as it is when the changes are taken, so nil once it was dropped.
test('takeChanges: an index created and dropped in one change set still says { type, unique }', async () => {
  const l = await newLua();
  await l.createIndex('users', 'age', 'hash', { unique: true });
  await l.dropIndex('users', 'age');
  assert.deepEqual((await l.takeChanges()).filter((c) => 'index' in c), [
    { table: 'Memory.users', path: ['users'], index: 'age', type: 'hash', unique: true },
    { table: 'Memory.users', path: ['users'], index: 'age', dropped: true },
  ]);
  l.close();
});

test('a compute that raises an error rolls back its external-table changes', async () => {
  const l = await newLua();
  await l.setValue('users', 'u1', { name: 'Alice', age: 30 });
  await l.takeChanges();
  const e = await rejectsWith(l.compute("Memory.users.u1.age = 31 Memory.users.u9 = {} ext.table('other').x = 1 error('x')"), 'LUA_RUNTIME');
  assert.match(e.message, /x/);
  assert.deepEqual(await l.getValue('users', 'u1'), { name: 'Alice', age: 30 });
  assert.equal(await l.getValue('users', 'u9'), undefined);
  assert.equal(await l.count('users'), 1);
  assert.equal(await l.getValue('other', 'x'), undefined);
  assert.deepEqual(await l.takeChanges(), []);
  await l.compute('Memory.users.u1.age = 31');
  assert.deepEqual(await l.getValue('users', 'u1'), { name: 'Alice', age: 31 });
  assert.ok((await l.takeChanges()).length > 0);
  l.close();
});

test('a string path over 255 keys is refused every time (not only the first)', async () => {
  const long = Array(300).fill('a').join('.');
  const sent = await capture(async (l) => {
    for (let i = 0; i < 3; i++) await rejectsWith(l.getValue(long, 'k'), 'BAD_ARGUMENT');
  });
  assert.deepEqual(sent, []);
});

// A wire-value encoder for canned replies (u32 count, then values), as the module writes them.
function reply(values) {
  const out = [];
  const u32 = (n) => out.push(n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24);
  const value = (v) => {
    if (v == null) out.push(0);
    else if (typeof v == 'boolean') out.push(v ? 2 : 1);
    else if (typeof v == 'number') {
      const b = new DataView(new ArrayBuffer(8));
      if (Number.isInteger(v)) out.push(3), b.setBigInt64(0, BigInt(v), true);
      else out.push(4), b.setFloat64(0, v, true);
      out.push(...new Uint8Array(b.buffer));
    } else if (typeof v == 'string') {
      const s = Buffer.from(v);
      out.push(5), u32(s.length), out.push(...s);
    } else if (Array.isArray(v) && v.length) out.push(6), u32(v.length), v.forEach(value);
    else {
      const e = Object.entries(v);
      out.push(7), u32(e.length), e.forEach(([k, x]) => (value(k), value(x)));
    }
  };
  u32(values.length);
  values.forEach(value);
  return Uint8Array.from(out);
}

// A fresh instance whose ops >= 9 never reach the module: `replies[op]` is [status, values].
async function canned(replies, fn) {
  let l;
  await withInstantiateHook((instance) => {
    const x = instance.exports;
    let fake = null, pending = [];
    const exports = {
      ...x,
      cu_push: (n) => (pending.push(...new Uint8Array(x.memory.buffer, x.cu_buffer(), n)), x.cu_push(n)),
      cu_call: (op) => {
        const request = Uint8Array.from(pending);
        pending = [];
        if (op < 9 || op >= 21) return (fake = null), x.cu_call(op);
        const r = replies[op];
        const [status, values] = typeof r == 'function' ? r(request) : r;
        fake = reply(values);
        return status;
      },
      cu_reply_size: () => (fake ? fake.length : x.cu_reply_size()),
      cu_pull: (at) => {
        if (!fake) return x.cu_pull(at);
        const n = Math.min(65536, fake.length - at);
        new Uint8Array(x.memory.buffer, x.cu_buffer(), n).set(fake.subarray(at, at + n));
        return n;
      },
    };
    return { exports };
  }, async () => { l = await newLua(); });
  try { return await fn(l); } finally { l.close(); }
}

test('replies: takeChanges, indexes, keys, queries and batch results are mapped as documented', async () => {
  const changes = [0, ['users'], 'u1', { age: 30 }, 0, {}, 'top', null, 1, ['users'], 'age', { type: 'btree', unique: false }, 2, ['a', 'b'], 'n', null];
  await canned({ 14: [0, changes] }, async (l) => {
    assert.deepEqual(await l.takeChanges(), [
      { table: 'Memory.users', path: ['users'], key: 'u1', value: { age: 30 } },
      { table: 'Memory', path: [], key: 'top', value: undefined },
      { table: 'Memory.users', path: ['users'], index: 'age', type: 'btree', unique: false },
      { table: 'Memory.a.b', path: ['a', 'b'], index: 'n', dropped: true },
    ]);
  });
  await canned({ 20: [0, ['age', 'btree', false, 'email', 'hash', true]], 12: [0, [{}]], 13: [0, [7]] }, async (l) => {
    assert.deepEqual(await l.indexes('users'), [{ field: 'age', type: 'btree', unique: false }, { field: 'email', type: 'hash', unique: true }]);
    assert.deepEqual(await l.keys('users'), []);
    assert.equal(await l.count('users'), 7);
  });
  await canned({ 19: [0, [{ index: 'age' }, 'cur', 'k1', { a: 1 }, 2, 'two']] }, async (l) => {
    const r = await l.queryTable('users', { limit: 2 });
    assert.deepEqual(r, [{ key: 'k1', value: { a: 1 } }, { key: 2, value: 'two' }]);
    assert.equal(r.cursor, 'cur');
    assert.deepEqual(await l.queryTable('users', { explain: true }), { index: 'age' });
  });
  await canned({ 19: [0, [null, 42]] }, async (l) => assert.equal(await l.queryTable('users', { count: true }), 42));
  const calls = [];
  await canned({ 15: [0, [0, null, 0, { a: 1 }, -15, 'no such key', 0, true, -14, 'dup', -13, 'not a table']], 16: [0, [0]] }, async (l) => {
    const ops = [['set', 1], ['get', 2], ['update', 3], ['delete', 4], ['set', 5], ['update', 6]].map(([type, key]) => ({ type, table: 't', key, value: {} }));
    const r = await l.batchTableOperations(ops, { atomic: false, onProgress: (p) => calls.push(p) });
    assert.deepEqual(r.map((x) => (x.ok ? x : [x.error.code, x.error.message, x.error.details.status])), [
      { ok: true, value: undefined }, { ok: true, value: { a: 1 } }, ['NOT_FOUND', 'no such key', -15], { ok: true, value: true },
      ['UNIQUE_VIOLATION', 'dup', -14], ['NOT_A_TABLE', 'not a table', -13],
    ]);
    const e = await rejectsWith(l.batchTableOperations(ops), 'BATCH_FAILED');
    assert.deepEqual(e.failures.map((f) => [f.index, f.error.code]), [[2, 'NOT_FOUND'], [4, 'UNIQUE_VIOLATION'], [5, 'NOT_A_TABLE']]);
    assert.match(e.message, /3 ops failed/);
  });
  assert.deepEqual(calls, [{ done: 6, total: 6 }]);
});

test('batch protocol: chunk flags, op counts, BATCH_ABORT on abort and on ops glue.js could not pack', async () => {
  const log = [];
  const batch = (request) => {
    const n = new DataView(request.buffer).getUint32(1, true);
    log.push([15, request[0], n]);
    return [0, Array.from({ length: n }, () => [0, null]).flat()];
  };
  const replies = { 15: batch, 16: (r) => (log.push([16, r.length]), [0, [0]]) };
  const ops = Array.from({ length: 5 }, (_, i) => ({ type: 'set', table: 't', key: i, value: i }));
  await canned(replies, async (l) => {
    await l.batchTableOperations(ops, { chunkSize: 2 });
    await l.batchTableOperations(ops, { chunkSize: 2, atomic: false });
    await l.batchTableOperations(ops);
    await rejectsWith(l.batchTableOperations([...ops, { type: 'set', table: 't', key: 9, value: () => {} }], { chunkSize: 2 }), 'BATCH_FAILED');
    const ac = new AbortController();
    await rejectsWith(l.batchTableOperations(ops, { chunkSize: 2, signal: ac.signal, onProgress: () => ac.abort() }), 'ABORTED');
  });
  assert.deepEqual(log, [
    [15, 1 | 2, 2], [15, 1, 2], [15, 1 | 4, 1],       // atomic: first, middle, last
    [15, 2, 2], [15, 0, 2], [15, 4, 1],               // non-atomic
    [15, 1 | 2 | 4, 5],                               // one chunk: first and last
    [15, 1 | 2, 2], [15, 1, 2], [15, 1, 1], [16, 0],  // a JS-side failure: never "last", then BATCH_ABORT
    [15, 1 | 2, 2], [16, 0],                          // aborted after the first chunk
  ]);
});

test('getValue: functions and tables the codec holds come back as opaque values', async () => {
  const lua = await newLua();
  await lua.compute("Memory.fns = { f = function() return 1 end, m = setmetatable({}, { __index = {} }) }");
  const f = await lua.getValue('fns', 'f');
  const m = await lua.getValue('fns', 'm');
  assert.equal(f.type, 'function');
  assert.equal(m.type, 'table');
  assert.match(String(f), /function/);
  assert.equal(await lua.compute('return Memory.fns.f()'), 1);
  lua.close();
});
