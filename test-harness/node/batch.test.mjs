// batch.test.mjs: batchTableOperations — results, atomic rollback (BatchError), non-atomic
// partial success, ops glue.js cannot pack, chunks with progress, abort, the queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchError } from '../../glue.js';
import { newLua, rejectsWith, CuError } from './helpers.mjs';

const lua = await newLua({ heapSize: 4 << 20 });
const snapshot = async (l, t) => Object.fromEntries(await Promise.all((await l.keys(t)).map(async (k) => [k, await l.getValue(t, k)])));

test("the issue's example batch", async () => {
  await lua.setValue('users', 'user2', { name: 'Bob' });
  const results = await lua.batchTableOperations([
    { type: 'set', table: 'users', key: 'user1', value: { name: 'Alice', age: 30 } },
    { type: 'get', table: 'users', key: 'user1' },
    { type: 'update', table: 'users', key: 'user1', value: { age: 31 } },
    { type: 'delete', table: 'users', key: 'user2' },
    { type: 'delete', table: 'users', key: 'user2' },
    { type: 'get', table: 'users', key: 'user2' },
    { type: 'get', table: 'Memory.users', key: 'user1' },
  ], { atomic: true, onProgress: () => {} });
  assert.deepEqual(results, [
    { ok: true, value: undefined },
    { ok: true, value: { name: 'Alice', age: 30 } },
    { ok: true, value: undefined },
    { ok: true, value: true },
    { ok: true, value: false },
    { ok: true, value: undefined },
    { ok: true, value: { name: 'Alice', age: 31 } }, // update merges shallowly
  ]);
  assert.deepEqual(await snapshot(lua, 'users'), { user1: { name: 'Alice', age: 31 } });
});

test('update: shallow merge, a null field deletes it, nested tables replaced', async () => {
  await lua.setValue('upd', 'k', { a: 1, b: { x: 1, y: 2 }, c: 3 });
  await lua.batchTableOperations([{ type: 'update', table: 'upd', key: 'k', value: { b: { x: 9 }, c: null, d: 'new' } }]);
  assert.deepEqual(await lua.getValue('upd', 'k'), { a: 1, b: { x: 9 }, d: 'new' });
  await lua.batchTableOperations([{ type: 'update', table: 'upd', key: 'k', value: new Map([['a', 2]]) }]);
  assert.deepEqual(await lua.getValue('upd', 'k'), { a: 2, b: { x: 9 }, d: 'new' });
});

test('atomic: any failure rolls every op back and rejects with BatchError listing failures by index', async () => {
  const l = await newLua();
  await l.setValue('accounts', 'a', { owner: 'ann', email: 'ann@x' });
  await l.createIndex('accounts', 'email', 'hash', { unique: true });
  await l.takeChanges();
  const before = await snapshot(l, 'accounts');
  const cyclic = {};
  cyclic.c = cyclic;
  const ops = [
    { type: 'set', table: 'accounts', key: 'b', value: { owner: 'bob', email: 'bob@x' } },
    { type: 'update', table: 'accounts', key: 'missing', value: { owner: 'x' } },     // NOT_FOUND
    { type: 'delete', table: 'accounts', key: 'a' },
    { type: 'set', table: 'accounts', key: 'c', value: { owner: 'cy', email: 'bob@x' } }, // UNIQUE_VIOLATION
    { type: 'get', table: 'accounts', key: 'b' },
    { type: 'set', table: 'accounts', key: 'd', value: cyclic },                       // not packable
    { type: 'frobnicate', table: 'accounts', key: 'e' },                               // unknown type
    { type: 'set', table: 'accounts', value: 1 },                                      // no key
    { type: 'set', key: 'f', value: 1 },                                               // no table
    null,
    { type: 'set', table: 'accounts', key: 'g', value: { owner: 'gil' } },
  ];
  const e = await rejectsWith(l.batchTableOperations(ops), 'BATCH_FAILED');
  assert.ok(e instanceof BatchError && e instanceof CuError);
  assert.equal(e.name, 'BatchError');
  assert.deepEqual(e.failures.map((f) => [f.index, f.error.code]), [
    [1, 'NOT_FOUND'], [3, 'UNIQUE_VIOLATION'], [5, 'BAD_ARGUMENT'], [6, 'BAD_ARGUMENT'], [7, 'BAD_ARGUMENT'], [8, 'BAD_ARGUMENT'], [9, 'BAD_ARGUMENT'],
  ]);
  assert.equal(e.failures[0].error.details.status, -15);
  assert.equal(e.failures[1].error.details.status, -14);
  for (const f of e.failures) assert.ok(f.error instanceof CuError && f.error.message, f.index);
  assert.equal(e.results.length, ops.length);
  assert.deepEqual(e.results[4], { ok: true, value: { owner: 'bob', email: 'bob@x' } }); // as it ran, before the rollback
  assert.equal(e.results[10].ok, true);
  assert.deepEqual(await snapshot(l, 'accounts'), before);
  assert.deepEqual(await l.takeChanges(), []);
  // The unique index was rolled back too: bob@x is free again, ann@x is still taken.
  await l.setValue('accounts', 'b', { owner: 'bob', email: 'bob@x' });
  await rejectsWith(l.setValue('accounts', 'z', { email: 'ann@x' }), 'UNIQUE_VIOLATION');
  assert.equal(await l.compute('return Memory.accounts.a.owner'), 'ann');
  l.close();
});

test('atomic: a batch whose only failure is an op glue.js cannot pack still rolls back', async () => {
  const l = await newLua();
  const e = await rejectsWith(l.batchTableOperations([
    { type: 'set', table: 't', key: 1, value: 'one' },
    { type: 'set', table: 't', key: 2, value: () => 2 },
  ]), 'BATCH_FAILED');
  assert.deepEqual(e.failures.map((f) => f.index), [1]);
  assert.deepEqual(e.results[0], { ok: true, value: undefined });
  assert.equal(await l.getValue('t', 1), undefined);
  assert.equal(await l.count('Memory'), 0);
  l.close();
});

test('non-atomic: successes commit, failures are per-op results', async () => {
  const l = await newLua();
  await l.createIndex('p', 'email', 'btree', { unique: true });
  const results = await l.batchTableOperations([
    { type: 'set', table: 'p', key: 'a', value: { email: 'a@x' } },
    { type: 'update', table: 'p', key: 'nope', value: { email: 'n@x' } },
    { type: 'set', table: 'p', key: 'b', value: { email: 'a@x' } },
    { type: 'set', table: 'p', key: 'c', value: { email: 'c@x' } },
    { type: 'update', table: 'p', key: 'c', value: { email: 'a@x' } },
    { type: 'set', table: 'p', key: 'd', value: Symbol('x') },
    { type: 'get', table: 'p', key: 'c' },
  ], { atomic: false });
  assert.deepEqual(results.map((r) => r.ok || r.error.code), [true, 'NOT_FOUND', 'UNIQUE_VIOLATION', true, 'UNIQUE_VIOLATION', 'BAD_ARGUMENT', true]);
  assert.deepEqual(results[6].value, { email: 'c@x' }); // the failed update left c alone
  assert.deepEqual(await snapshot(l, 'p'), { a: { email: 'a@x' }, c: { email: 'c@x' } });
  assert.deepEqual((await l.queryTable('p', { field: 'email', operator: '=', value: 'a@x' })).map((r) => r.key), ['a']);
  l.close();
});

test('empty batch; batch of only failures; atomic false with nothing packable', async () => {
  const progress = [];
  assert.deepEqual(await lua.batchTableOperations([], { onProgress: (p) => progress.push(p) }), []);
  assert.deepEqual(progress, [{ done: 0, total: 0 }]);
  const e = await rejectsWith(lua.batchTableOperations([{ type: 'get' }]), 'BATCH_FAILED');
  assert.deepEqual(e.failures.map((f) => f.index), [0]);
  const r = await lua.batchTableOperations([{ type: 'get' }, 5], { atomic: false });
  assert.deepEqual(r.map((x) => x.error.code), ['BAD_ARGUMENT', 'BAD_ARGUMENT']);
});

test('long batch: chunks, progress, one queue entry', async () => {
  const l = await newLua({ heapSize: 1 << 20 });
  const n = 20000, ops = [];
  for (let i = 0; i < n; i++) ops.push({ type: 'set', table: 'big', key: 'k' + i, value: { i, name: 'n' + (i % 97) } });
  const progress = [];
  let seenDuring = null;
  const batch = l.batchTableOperations(ops, {
    chunkSize: 1000,
    onProgress: (p) => {
      progress.push(p);
      if (p.done == 5000) seenDuring = l.count('big'); // queued behind the whole batch
    },
  });
  const results = await batch;
  assert.equal(results.length, n);
  assert.ok(results.every((r) => r.ok && r.value === undefined));
  assert.equal(progress.length, 20);
  assert.deepEqual(progress.map((p) => p.done), Array.from({ length: 20 }, (_, i) => (i + 1) * 1000));
  assert.ok(progress.every((p) => p.total == n));
  assert.equal(await seenDuring, n);
  assert.equal(await l.count('big'), n);
  assert.deepEqual(await l.getValue('big', 'k12345'), { i: 12345, name: 'n' + (12345 % 97) });
  l.close();
});

test('abort: an aborted signal mid-batch rolls it back and rejects with ABORTED', async () => {
  const l = await newLua({ heapSize: 1 << 20 });
  await l.setValue('ab', 'keep', 1);
  await l.takeChanges();
  const ops = Array.from({ length: 5000 }, (_, i) => ({ type: 'set', table: 'ab', key: i, value: i }));
  const ac = new AbortController();
  const progress = [];
  const e = await rejectsWith(l.batchTableOperations(ops, { chunkSize: 500, signal: ac.signal, onProgress: (p) => (progress.push(p.done), p.done == 1500 && ac.abort()) }), 'ABORTED');
  assert.ok(e.suggestion !== undefined);
  assert.deepEqual(progress, [500, 1000, 1500]);
  assert.equal(e.suggestion, 'The call was undone.');
  assert.equal(await l.count('ab'), 1);
  assert.equal(await l.getValue('ab', 0), undefined);
  assert.deepEqual(await l.takeChanges(), []);
  // Aborted before it starts: nothing runs.
  await rejectsWith(l.batchTableOperations(ops, { signal: AbortSignal.abort() }), 'ABORTED');
  assert.equal(await l.count('ab'), 1);
  // Aborted while waiting in the queue behind another call.
  const ac2 = new AbortController();
  const slow = l.compute('local x = 0 for i = 1, 3e6 do x = x + i end return x');
  const queued = l.batchTableOperations(ops, { signal: ac2.signal });
  ac2.abort();
  await slow;
  await rejectsWith(queued, 'ABORTED');
  assert.equal(await l.count('ab'), 1);
  // The instance keeps working, batches too.
  assert.equal((await l.batchTableOperations(ops.slice(0, 10))).length, 10);
  assert.equal(await l.count('ab'), 11);
  l.close();
});

test('non-atomic abort also rolls the open batch back', async () => {
  const l = await newLua();
  const ac = new AbortController();
  const ops = Array.from({ length: 300 }, (_, i) => ({ type: 'set', table: 'na', key: i, value: i }));
  await rejectsWith(l.batchTableOperations(ops, { atomic: false, chunkSize: 100, signal: ac.signal, onProgress: () => ac.abort() }), 'ABORTED');
  assert.equal(await l.count('na'), 0);
  l.close();
});

test('an onProgress that throws rolls the batch back and rejects with its error', async () => {
  const l = await newLua();
  const ops = Array.from({ length: 300 }, (_, i) => ({ type: 'set', table: 'th', key: i, value: i }));
  await assert.rejects(l.batchTableOperations(ops, { chunkSize: 100, onProgress: () => { throw new Error('boom'); } }), /boom/);
  assert.equal(await l.count('th'), 0);
  l.close();
});

test('the instance keeps working after every kind of batch error, and calls interleave correctly', async () => {
  const l = await newLua();
  await rejectsWith(l.batchTableOperations([{ type: 'update', table: 'x', key: 'no', value: {} }]), 'BATCH_FAILED');
  const [a, b, c] = await Promise.all([
    l.setValue('x', 'k', 1),
    l.batchTableOperations([{ type: 'get', table: 'x', key: 'k' }, { type: 'set', table: 'x', key: 'k', value: 2 }]),
    l.getValue('x', 'k'),
  ]);
  assert.equal(a, undefined);
  assert.deepEqual(b, [{ ok: true, value: 1 }, { ok: true, value: undefined }]);
  assert.equal(c, 2);
  assert.equal(await l.compute('return Memory.x.k'), 2);
  l.close();
});

test('per-op NOT_A_TABLE and BAD_ARGUMENT from the module; NaN keys refused in glue.js', async () => {
  const l = await newLua();
  await l.setValue('t', 's', 'str');
  await l.setValue('t', 'r', { a: 1 });
  const r = await l.batchTableOperations([
    { type: 'update', table: 't', key: 's', value: { a: 1 } }, // the record is not a table
    { type: 'update', table: 't', key: 'r', value: 5 },        // update takes an object
    { type: 'get', table: 't.s', key: 'x' },                   // a path through a string
    { type: 'set', table: 't', key: NaN, value: 1 },
    { type: 'set', table: 't', key: 'ok', value: 1 },
  ], { atomic: false });
  assert.deepEqual(r.map((x) => x.ok || x.error.code), ['NOT_A_TABLE', 'BAD_ARGUMENT', 'NOT_A_TABLE', 'BAD_ARGUMENT', true]);
  assert.equal(r[0].error.details.status, -13);
  assert.deepEqual(await l.getValue('t', 'r'), { a: 1 });
  assert.equal(await l.getValue('t', 'ok'), 1);
  l.close();
});
