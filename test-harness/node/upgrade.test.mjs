// upgrade.test.mjs: a database written by an older Cu page format opens and is upgraded.
// tests/fixtures/pages/v1.bin (format 1, made by make-v1.mjs with that version's code) is
// put into a memory adapter and into the Node file store; the instance sees every value
// (tests/fixtures/pages/v1-checks.lua), the closure counting on, the indices used, and its
// first save rewrites every page as format 2, which opens again the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newLua, rejectsWith } from './helpers.mjs';
import { fileStore } from '../../file-store.js';

const fixture = (name) => readFileSync(new URL('../../tests/fixtures/pages/' + name, import.meta.url));
const CHECKS = fixture('v1-checks.lua').toString();

// The records of v1.bin (a LOAD_PAGES request: u32 n, then u64 page, u32 length, bytes).
function v1Records() {
  const bytes = fixture('v1.bin'), view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length), out = new Map();
  for (let i = 0, p = 4; i < view.getUint32(0, true); i++) {
    const n = view.getUint32(p + 8, true);
    out.set('p' + view.getBigUint64(p, true), bytes.slice(p + 12, p + 12 + n));
    p += 12 + n;
  }
  return out;
}

const adapter = (records) => ({
  records,
  async commit(puts, deletes) {
    for (const [k, v] of puts) records.set(k, v);
    for (const k of deletes) records.delete(k);
  },
  async close() {},
});

test('a format-1 database in a memory adapter opens with every value and is rewritten as format 2', async () => {
  const records = v1Records();
  const keys = [...records.keys()].sort();
  assert.ok(keys.length > 3 && [...records.values()].every((v) => v[4] === 1));
  const a = await newLua({ storage: adapter(records) });
  await a.compute(CHECKS);
  assert.deepEqual([...records.keys()].sort(), keys, 'the same pages');
  assert.ok([...records.values()].every((v) => v[4] === 2), 'every page rewritten as format 2');
  assert.equal((await a.queryTable('users', { field: 'age', operator: '=', value: 25, explain: true })).type, 'btree');
  assert.equal((await a.queryTable('users', { field: 'email', operator: '=', value: 'u3@example.com' }))[0].key, 'u3');
  await rejectsWith(a.setValue('users', 'x', { email: 'u3@example.com' }), 'UNIQUE_VIOLATION');
  await a.close();
  // The counter went on from 13 (the checks called it twice, and that was saved).
  const b = await newLua({ storage: adapter(records) });
  assert.equal(await b.compute('return Memory.counter()'), 14);
  await b.close();
});

test('a format-1 database in the Node file store is upgraded there', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cu-upgrade-'));
  try {
    const store = await fileStore(dir, 'old');
    await store.commit([...v1Records()], []);
    await store.close();
    const a = await newLua({ storage: await fileStore(dir, 'old') });
    assert.equal(await a.count('users'), 149);
    await a.close();
    const reopened = await fileStore(dir, 'old');
    assert.ok([...reopened.records.values()].every((v) => v[4] === 2), 'stored as format 2');
    await reopened.close();
    const b = await newLua({ storage: await fileStore(dir, 'old') });
    await b.compute(CHECKS);
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pages of an unknown future format are BAD_DATA', async () => {
  const records = v1Records();
  for (const v of records.values()) v[4] = 3;
  await rejectsWith(newLua({ storage: adapter(records) }), 'BAD_DATA');
});
