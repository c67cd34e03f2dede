// schema.test.mjs: schemas and migrations through glue.js (issue 6): the schema on
// every write path (setValue, a Lua assignment at any depth, pcall in Lua, deleteValue,
// batches atomic and not, a migration's output), the violations reported, the read
// accessors and validateTable, migrate/rollbackMigration with progress, abort, failures
// naming the record, and schemas, versions and history kept across a reopen (a named
// memory store and the Node file store).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newLua, rejectsWith, CuError } from './helpers.mjs';
import { BatchError } from '../../glue.js';
import { fileStore } from '../../file-store.js';

const USERS = {
  type: 'table',
  fields: {
    name: { type: 'string', required: true, minLength: 1, maxLength: 100 },
    age: { type: 'integer', min: 0, max: 150 },
    email: { type: 'string', pattern: '^[%w._]+@[%w.]+$' }, // Lua pattern
    role: { type: 'string', enum: ['admin', 'user'], default: 'user' },
    tags: { type: 'array', items: { type: 'string' }, maxItems: 20 },
    address: { type: 'table', fields: { city: { type: 'string', required: true } } },
    onSave: { type: 'function' },
  },
  additionalFields: false,
};

const UP = 'function(record) record.fullName = record.name; record.name = nil; return record end';
const DOWN = 'function(record) record.name = record.fullName; record.fullName = nil; return record end';
const V2 = { ...USERS, fields: { ...USERS.fields, fullName: USERS.fields.name } };
delete V2.fields.name;

async function withUsers() {
  const lua = await newLua();
  await lua.defineSchema('users', USERS);
  return lua;
}

test('every write path is checked, and a violation lists every problem', async () => {
  const lua = await withUsers();
  await lua.setValue('users', 'u1', { name: 'Ann', age: 30, email: 'ann@example.com', tags: ['a'], address: { city: 'Oslo' } });
  assert.deepEqual(await lua.getValue('users', 'u1'), { name: 'Ann', age: 30, email: 'ann@example.com', tags: ['a'], address: { city: 'Oslo' }, role: 'user' });
  // setValue
  let e = await rejectsWith(lua.setValue('users', 'u2', { name: '', age: 151, email: 'no', role: 'root', tags: [1], address: {}, x: 1 }), 'SCHEMA_VIOLATION');
  assert.deepEqual(
    e.violations.map((v) => [v.path, v.rule]).sort(),
    [
      ['users.u2.address.city', 'required'], ['users.u2.age', 'max'], ['users.u2.email', 'pattern'], ['users.u2.name', 'minLength'],
      ['users.u2.role', 'enum'], ['users.u2.tags[1]', 'type'], ['users.u2.x', 'additionalFields'],
    ],
  );
  assert.deepEqual(e.violations.find((v) => v.rule == 'required'), { path: 'users.u2.address.city', rule: 'required', expected: true, got: null });
  assert.deepEqual(e.violations.find((v) => v.rule == 'max'), { path: 'users.u2.age', rule: 'max', expected: 150, got: 151 });
  assert.deepEqual(e.violations.find((v) => v.rule == 'enum'), { path: 'users.u2.role', rule: 'enum', expected: ['admin', 'user'], got: 'root' });
  assert.match(e.message, /^schema violation: .*users\.u2\.age: max \(expected 150, got 151\)/);
  assert.ok(e.suggestion);
  assert.equal(await lua.getValue('users', 'u2'), undefined);
  // A Lua assignment at any depth: checked when the compute ends, all its writes undone.
  e = await rejectsWith(lua.compute('Memory.log = "x" Memory.users.u1.address.city = 7'), 'SCHEMA_VIOLATION');
  assert.deepEqual(e.violations, [{ path: 'users.u1.address.city', rule: 'type', expected: 'string', got: 'integer' }]);
  assert.equal(await lua.getValue('Memory', 'log'), undefined);
  await lua.compute('Memory.users.u3 = {} Memory.users.u3.name = "Cy"'); // valid when the compute ends
  // pcall in Lua catches a violation (its writes undone), and the compute goes on.
  assert.deepEqual(await lua.computeAll('local ok, err = pcall(function() Memory.users.u4 = { age = -1 } end) return ok, err, Memory.users.u4'),
    [false, 'schema violation: users.u4.age: min (expected 0, got -1); users.u4.name: required (expected true, got nil)', null]);
  // deleteValue of a required field
  await rejectsWith(lua.deleteValue('users.u1', 'name'), 'SCHEMA_VIOLATION');
  // Batches: each op a unit. Not atomic: the bad op fails alone, with its violations.
  const ops = [
    { type: 'set', table: 'users', key: 'b1', value: { name: 'B1' } },
    { type: 'update', table: 'users', key: 'u1', value: { age: 'old' } },
    { type: 'set', table: 'users', key: 'b2', value: { name: 'B2' } },
  ];
  const r = await lua.batchTableOperations(ops, { atomic: false });
  assert.deepEqual(r.map((x) => x.ok), [true, false, true]);
  assert.equal(r[1].error.code, 'SCHEMA_VIOLATION');
  assert.deepEqual(r[1].error.violations, [{ path: 'users.u1.age', rule: 'type', expected: 'integer', got: 'string' }]);
  // Atomic: rolled back, the failure at its index.
  await lua.batchTableOperations([{ type: 'delete', table: 'users', key: 'b1' }, { type: 'delete', table: 'users', key: 'b2' }]);
  e = await lua.batchTableOperations(ops).catch((x) => x);
  assert.ok(e instanceof BatchError);
  assert.deepEqual(e.failures.map((f) => [f.index, f.error.code]), [[1, 'SCHEMA_VIOLATION']]);
  assert.equal(await lua.getValue('users', 'b1'), undefined);
  assert.equal((await lua.getValue('users', 'u1')).age, 30);
  lua.close();
});

test('read accessors, dropSchema and validateTable', async () => {
  const lua = await newLua();
  assert.equal(await lua.getSchema('users'), undefined);
  assert.equal(await lua.schemaVersion('users'), 1);
  assert.deepEqual(await lua.migrations('users'), []);
  await lua.batchTableOperations([
    { type: 'set', table: 'users', key: 'a', value: { name: 'A' } },
    { type: 'set', table: 'users', key: 'b', value: { name: 5 } },
    { type: 'set', table: 'users', key: 'c', value: { nick: 'c' } },
  ]);
  // Defining checks nothing that is there; validateTable does.
  await lua.defineSchema('Memory.users', USERS);
  assert.deepEqual(await lua.getSchema('users'), JSON.parse(JSON.stringify(USERS)));
  const v = await lua.validateTable('users');
  assert.equal(v.valid, false);
  assert.equal(v.records, 3);
  assert.deepEqual(v.map((x) => x.path), ['users.b.name', 'users.c.name', 'users.c.nick']);
  assert.equal(v.violations, v);
  await lua.setValue('users', 'b', { name: 'B' });
  await lua.deleteValue('users', 'c');
  const ok = await lua.validateTable('users');
  assert.deepEqual([...ok], []);
  assert.equal(ok.valid, true);
  assert.equal(await lua.dropSchema('users'), true);
  assert.equal(await lua.dropSchema('users'), false);
  await lua.setValue('users', 'c', { anything: true });
  // Bad definitions: BAD_ARGUMENT saying where and why.
  let e = await rejectsWith(lua.defineSchema('users', { fields: { email: { pattern: '[%w' } } }), 'BAD_ARGUMENT');
  assert.equal(e.message, "bad schema for users: fields.email.pattern: malformed pattern (missing ']')");
  e = await rejectsWith(lua.defineSchema('users', { fields: { n: { type: 'int' } } }), 'BAD_ARGUMENT');
  assert.match(e.message, /fields\.n\.type: type is one of string, number, integer/);
  e = await rejectsWith(lua.defineSchema('users', { fields: { n: { type: 'integer', default: 'x' } } }), 'BAD_ARGUMENT');
  assert.match(e.message, /fields\.n\.default: the default does not satisfy its rule/);
  await rejectsWith(lua.defineSchema('users', { fields: { n: { minlength: 1 } } }), 'BAD_ARGUMENT');
  await rejectsWith(lua.defineSchema('users', 'string'), 'BAD_ARGUMENT');
  await rejectsWith(lua.defineSchema('users', null), 'BAD_ARGUMENT');
  lua.close();
});

async function withRecords(n) {
  const lua = await withUsers();
  await lua.batchTableOperations(Array.from({ length: n }, (_, i) => ({ type: 'set', table: 'users', key: 'u' + String(i).padStart(4, '0'), value: { name: 'user ' + i, age: i % 100 } })));
  return lua;
}

test('migrate runs up over every record in chunks, with progress; rollbackMigration runs down', async () => {
  const lua = await withRecords(1000);
  const progress = [];
  const out = await lua.migrate('users', { version: 2, up: UP, down: DOWN, schema: V2 }, { chunkSize: 300, onProgress: (p) => progress.push(p) });
  assert.deepEqual(out, { from: 1, version: 2, records: 1000 });
  assert.deepEqual(progress, [300, 600, 900, 1000].map((done) => ({ done, total: 1000 })));
  assert.deepEqual(await lua.getValue('users', 'u0007'), { fullName: 'user 7', age: 7, role: 'user' });
  assert.equal(await lua.schemaVersion('users'), 2);
  assert.deepEqual(await lua.getSchema('users'), JSON.parse(JSON.stringify(V2)));
  // The new schema holds.
  const e = await rejectsWith(lua.setValue('users', 'x', { name: 'old style' }), 'SCHEMA_VIOLATION');
  assert.deepEqual(e.violations.map((v) => v.rule).sort(), ['additionalFields', 'required']);
  const [h] = await lua.migrations('users');
  assert.equal(h.version, 2);
  assert.equal(h.from, 1);
  assert.equal(h.records, 1000);
  assert.equal(h.up, UP);
  assert.equal(h.down, DOWN);
  assert.ok(h.at > 0 && h.previous.fields.name && h.schema.fields.fullName);
  assert.deepEqual(await lua.rollbackMigration('users'), { from: 2, version: 1, records: 1000 });
  assert.deepEqual(await lua.getValue('users', 'u0007'), { name: 'user 7', age: 7, role: 'user' });
  assert.equal(await lua.schemaVersion('users'), 1);
  assert.deepEqual(await lua.getSchema('users'), JSON.parse(JSON.stringify(USERS)));
  assert.ok((await lua.migrations('users'))[0].rolledBack >= h.at);
  await rejectsWith(lua.rollbackMigration('users'), 'BAD_ARGUMENT');
  // Lua sees it all.
  assert.deepEqual(await lua.computeAll('local s, v = ext.schema("users") local h = ext.migrations("users") return s.fields.name.type, v, #h, h[1].version'), ['string', 1, 1, 2]);
  lua.close();
});

test('a failing record undoes the whole migration and is named', async () => {
  const lua = await withRecords(500);
  // An error in up (in the second chunk).
  let e = await rejectsWith(lua.migrate('users', { version: 2, up: 'function(r) if r.age == 42 and r.name == "user 342" then error("no 342") end r.age = r.age + 1 return r end' }, { chunkSize: 200 }), 'MIGRATION_FAILED');
  assert.equal(e.record, 'u0342');
  assert.deepEqual(e.violations, []);
  assert.equal(e.message, 'migration of users to version 2 failed at record u0342: users.up:1: no 342');
  assert.equal((await lua.getValue('users', 'u0001')).age, 1, 'the first chunk was undone too');
  assert.equal(await lua.schemaVersion('users'), 1);
  assert.deepEqual(await lua.migrations('users'), []);
  // A result that breaks the schema (kept: no schema given).
  e = await rejectsWith(lua.migrate('users', { version: 2, up: 'function(r) r.age = r.age * 2 return r end' }), 'MIGRATION_FAILED');
  assert.equal(e.record, 'u0076');
  assert.equal(e.violations[0].path, 'users.u0076.age');
  assert.equal(e.violations.length, 5 * 24, 'every record over 150 listed (ages 76 to 99, doubled)');
  // up returning nil
  e = await rejectsWith(lua.migrate('users', { version: 2, up: 'function(r) if r.age == 3 then return nil end return r end' }), 'MIGRATION_FAILED');
  assert.match(e.message, /at record u0003: the migration returned nil, not the record/);
  // Requests refused before anything runs.
  await rejectsWith(lua.migrate('users', { version: 1, up: 'function(r) return r end' }), 'BAD_ARGUMENT');
  await rejectsWith(lua.migrate('users', { version: 2, up: 'function(r) return r +' }), 'LUA_SYNTAX');
  await rejectsWith(lua.migrate('users', { version: 2, up: 'function(r) return r end', down: 'end' }), 'LUA_SYNTAX');
  await rejectsWith(lua.migrate('users', { version: 2, up: 'function(r) return r end', schema: { type: 'x' } }), 'BAD_ARGUMENT');
  await rejectsWith(lua.migrate('users', { version: 2.5, up: 'function(r) return r end' }), 'BAD_ARGUMENT');
  await rejectsWith(lua.migrate('users', { version: 2, up: 5 }), 'BAD_ARGUMENT');
  await rejectsWith(lua.migrate('users', null), 'BAD_ARGUMENT');
  await rejectsWith(lua.migrate('users', { version: 2, up: 'function(r) return r end' }, { chunkSize: 0 }), 'BAD_ARGUMENT');
  assert.equal(await lua.schemaVersion('users'), 1);
  lua.close();
});

test('an aborted migration is undone: signal, a throwing onProgress', async () => {
  const lua = await withRecords(600);
  const ac = new AbortController();
  let e = await rejectsWith(lua.migrate('users', { version: 2, up: UP, schema: V2 }, { chunkSize: 100, signal: ac.signal, onProgress: ({ done }) => done >= 300 && ac.abort() }), 'ABORTED');
  assert.ok(e instanceof CuError);
  assert.equal((await lua.getValue('users', 'u0001')).name, 'user 1');
  assert.equal(await lua.schemaVersion('users'), 1);
  e = await lua.migrate('users', { version: 2, up: UP, schema: V2 }, { chunkSize: 100, onProgress: () => { throw new Error('stop'); } }).catch((x) => x);
  assert.equal(e.message, 'stop');
  assert.equal((await lua.getValue('users', 'u0599')).name, 'user 599');
  await rejectsWith(lua.migrate('users', { version: 2, up: UP }, { signal: AbortSignal.abort() }), 'ABORTED');
  // Printing from up goes to onPrint, and the migration goes on.
  await lua.migrate('users', { version: 2, up: 'function(r) if r.age == 1 then print("one", r.name) end return r end' }, { chunkSize: 50 });
  assert.deepEqual(lua.lines(), ['one\tuser 1', 'one\tuser 101', 'one\tuser 201', 'one\tuser 301', 'one\tuser 401', 'one\tuser 501']);
  assert.equal(await lua.schemaVersion('users'), 2);
  lua.close();
});

test('from Lua: ext.defineSchema, ext.schema, ext.validateTable, ext.migrate, ext.rollbackMigration, ext.migrations', async () => {
  const lua = await newLua();
  const out = await lua.computeAll(`
    ext.defineSchema('notes', { fields = { text = { type = 'string', required = true } } })
    Memory.notes = { n1 = { text = 'a' } }
    local bad = pcall(function() Memory.notes.n2 = { text = 5 } end)
    local v = ext.migrate('notes', { version = 3, up = 'function(r) r.text = r.text:upper() return r end', down = 'function(r) r.text = r.text:lower() return r end' })
    local upper = Memory.notes.n1.text
    local back = ext.rollbackMigration('notes')
    return bad, v, upper, back, Memory.notes.n1.text, #ext.migrations('notes'), ext.schema('notes').fields.text.type, #ext.validateTable('notes')
  `);
  assert.deepEqual(out, [false, 3, 'A', 1, 'a', 1, 'string', 0]);
  assert.deepEqual((await lua.migrations('notes')).map((m) => [m.version, m.from, typeof m.rolledBack]), [[3, 1, 'number']]);
  lua.close();
});

test('schemas, versions and history survive a reopen: a named memory store, the file store', async () => {
  const check = async (options) => {
    let lua = await newLua(await options());
    await lua.defineSchema('users', USERS);
    await lua.setValue('users', 'u1', { name: 'Ann' });
    await lua.migrate('users', { version: 2, up: UP, down: DOWN, schema: V2 });
    await lua.close();
    lua = await newLua(await options());
    assert.equal(await lua.schemaVersion('users'), 2);
    assert.deepEqual(await lua.getValue('users', 'u1'), { fullName: 'Ann', role: 'user' });
    await rejectsWith(lua.setValue('users', 'u2', { name: 'x' }), 'SCHEMA_VIOLATION');
    assert.equal((await lua.migrations('users')).length, 1);
    await lua.rollbackMigration('users');
    await lua.close();
    lua = await newLua(await options());
    assert.deepEqual(await lua.getValue('users', 'u1'), { name: 'Ann', role: 'user' });
    assert.deepEqual(await lua.computeAll('return select(2, ext.schema("users")), ext.migrations("users")[1].rolledBack ~= nil'), [1, true]);
    await lua.close();
  };
  const dir = mkdtempSync(join(tmpdir(), 'cu-schema-'));
  try {
    await check(async () => ({ storage: 'memory', name: 'schema-reopen' }));
    await check(async () => ({ storage: await fileStore(dir, 'db') }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
