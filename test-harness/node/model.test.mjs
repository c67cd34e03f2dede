// model.test.mjs: seeded random operations on one external table, through the built
// module, against a plain JS model (a Map of records, linear scans). Sets, deletes, batches
// (atomic ones that fail are rolled back), Lua writes and rolled-back computes, createIndex/
// dropIndex (btree, hash, unique), and random queries whose results must be identical.
//
// The rule the model implements (README, "Queries"): results are ordered by the orderBy
// field, else by the field of the first condition, else by record key, ascending in the type
// order false < true < numbers (numerically) < strings (bytewise) < everything else (nil,
// tables); ties by record key in the same order; desc reverses the whole order. `=` compares
// numbers numerically, strings and booleans exactly and never matches nil; `!=` is Lua's ~=;
// `<`, `<=`, `>`, `>=`, between need both numbers or both strings; `in` is `=` to any listed
// value; contains: substring of a string field, or an element at 1..#t of a table field;
// startsWith: string prefix; a dotted field goes into nested tables. count ignores paging.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newLua } from './helpers.mjs';

function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------- the model's rules
const rank = (v) => (v === false ? 0 : v === true ? 1 : typeof v == 'number' ? 2 : typeof v == 'string' ? 3 : 4);
const bytes = (s) => Buffer.from(s, 'utf8');
function cmp(a, b) {
  const r = rank(a) - rank(b);
  if (r || rank(a) < 2 || rank(a) == 4) return Math.sign(r);
  return rank(a) == 2 ? Math.sign(a - b) : Buffer.compare(bytes(a), bytes(b));
}
const eq = (a, b) => a != null && rank(a) < 4 && rank(a) == rank(b) && cmp(a, b) == 0;
const ordered = (a, b) => (typeof a == 'number' && typeof b == 'number') || (typeof a == 'string' && typeof b == 'string');
const field = (rec, path) => path.split('.').reduce((v, k) => (v != null && typeof v == 'object' ? v[k] : undefined), rec);
const MATCH = {
  '=': (f, v) => eq(f, v),
  '!=': (f, v) => !(eq(f, v) || (f == null && v == null)),
  '<': (f, v) => ordered(f, v) && cmp(f, v) < 0,
  '<=': (f, v) => ordered(f, v) && cmp(f, v) <= 0,
  '>': (f, v) => ordered(f, v) && cmp(f, v) > 0,
  '>=': (f, v) => ordered(f, v) && cmp(f, v) >= 0,
  between: (f, [lo, hi]) => ordered(f, lo) && ordered(f, hi) && cmp(f, lo) >= 0 && cmp(f, hi) <= 0,
  in: (f, vs) => vs.some((v) => eq(f, v)),
  contains: (f, v) => (typeof f == 'string' ? typeof v == 'string' && f.includes(v) : Array.isArray(f) && f.some((x) => eq(x, v))),
  startsWith: (f, v) => typeof f == 'string' && typeof v == 'string' && f.startsWith(v),
};

function modelQuery(records, q) {
  const conds = [...(q.field ? [q] : []), ...(q.where || [])];
  let rows = [...records].filter(([, r]) => conds.every((c) => MATCH[c.operator](field(r, c.field), c.value)));
  if (q.count) return rows.length;
  const by = q.orderBy || conds[0]?.field;
  rows.sort(([ka, a], [kb, b]) => (by && cmp(field(a, by), field(b, by))) || cmp(ka, kb));
  if (q.order == 'desc') rows.reverse();
  rows = rows.slice(q.offset || 0);
  if (q.limit != null) rows = rows.slice(0, q.limit);
  return rows.map(([key, value]) => ({ key, value }));
}

// ---------------------------------------------------------------- random data
const KEYS = [1, 2, 3, 5, 8, 13, 21, -4, 'a', 'b', 'k1', 'k10', 'k2', 'Z', 'é'];
const N_VALUES = [-3, -1, 0, 1, 2, 3, 1.5, -0.5, 2.25, 'a', 'b', 'ab', true, false];
const S_VALUES = ['', 'a', 'ab', 'abc', 'b', 'ba', 'x y', 'é', 'Z'];
const T_VALUES = ['a', 'b', 'c', 1, 2];
const U_VALUES = [0, 1, 2, 3, 4, 5, 6, 7, 'u0', 'u1', 'u2'];
const FIELDS = ['n', 's', 't', 'o.v', 'u'];

function generator(rand) {
  const int = (n) => Math.floor(rand() * n);
  const pick = (xs) => xs[int(xs.length)];
  const chance = (p) => rand() < p;
  const record = () => {
    const r = {};
    if (chance(0.8)) r.n = pick(N_VALUES);
    if (chance(0.8)) r.s = pick(S_VALUES);
    if (chance(0.5)) r.t = Array.from({ length: 1 + int(3) }, () => pick(T_VALUES));
    if (chance(0.5)) r.o = chance(0.8) ? { v: pick(N_VALUES) } : {};
    if (chance(0.6)) r.u = pick(U_VALUES);
    return r;
  };
  const operand = (f, op) => {
    const pool = f == 'n' || f == 'o.v' ? N_VALUES : f == 's' ? S_VALUES : f == 't' ? T_VALUES : U_VALUES;
    if (op == 'between') {
      const a = pick(pool), same = pool.filter((x) => typeof x == typeof a);
      const b = pick(same);
      return cmp(a, b) <= 0 ? [a, b] : [b, a];
    }
    if (op == 'in') return Array.from({ length: 1 + int(3) }, () => pick(pool));
    if (op == 'contains' || op == 'startsWith') return f == 't' ? pick(T_VALUES) : pick(S_VALUES);
    return pick(pool);
  };
  const condition = () => {
    const f = pick(FIELDS), op = pick(Object.keys(MATCH));
    return { field: f, operator: op, value: operand(f, op) };
  };
  const query = () => {
    const q = {};
    const n = int(3);
    if (n >= 1) Object.assign(q, condition());
    if (n == 2 || chance(0.1)) q.where = [condition()];
    if (chance(0.3)) q.orderBy = pick(FIELDS);
    if (chance(0.4)) q.order = pick(['asc', 'desc']);
    if (chance(0.4)) q.limit = int(8);
    if (chance(0.3)) q.offset = int(5);
    return q;
  };
  return { int, pick, chance, record, query };
}

const luaKey = (k) => (typeof k == 'number' ? `[${k}]` : `[${JSON.stringify(k)}]`);
const clean = (r) => JSON.parse(JSON.stringify(r)); // the record as it comes back: undefined fields gone

// CU_MODEL_SEEDS=n CU_MODEL_STEPS=m run more (default 4 seeds of 400 steps).
const SEEDS = Number(process.env.CU_MODEL_SEEDS) || 4, STEPS = Number(process.env.CU_MODEL_STEPS) || 400;
for (let seed = 1; seed <= SEEDS; seed++) {
  test(`random operations agree with the model (seed ${seed})`, async () => {
    const rand = rng(seed), g = generator(rand);
    const lua = await newLua({ heapSize: 2 << 20 });
    const T = 'm';
    let model = new Map(); // key → record
    const indexes = new Map(); // field → { type, unique }
    const uniqueOk = (recs, key, rec) => ![...indexes].some(([f, ix]) => ix.unique && field(rec, f) != null && [...recs].some(([k, r]) => k !== key && eq(field(r, f), field(rec, f))));
    let queries = 0, failedBatches = 0;

    for (let step = 0; step < STEPS; step++) {
      const what = g.int(100);
      const key = g.pick(KEYS);
      if (what < 25) {
        const rec = g.record();
        if (uniqueOk(model, key, rec)) {
          await lua.setValue(T, key, rec);
          model.set(key, clean(rec));
        } else {
          await assert.rejects(lua.setValue(T, key, rec), (e) => e.code == 'UNIQUE_VIOLATION');
        }
      } else if (what < 32) {
        assert.equal(await lua.deleteValue(T, key), model.delete(key), `delete ${key}`);
      } else if (what < 47) {
        const atomic = g.chance(0.6), ops = [], expected = [];
        const work = new Map(model);
        for (let i = 1 + g.int(6); i > 0; i--) {
          const k = g.pick(KEYS), type = g.pick(['set', 'set', 'update', 'update', 'delete', 'get']);
          const op = { type, table: T, key: k };
          if (type == 'set') op.value = g.record();
          if (type == 'update') op.value = g.chance(0.3) ? { n: null, s: g.pick(S_VALUES) } : { u: g.pick(U_VALUES), n: g.pick(N_VALUES) };
          ops.push(op);
          if (type == 'get') expected.push({ ok: true, value: work.get(k) });
          else if (type == 'delete') expected.push({ ok: true, value: work.delete(k) });
          else if (type == 'update' && !work.has(k)) expected.push('NOT_FOUND');
          else {
            const rec = type == 'set' ? clean(op.value) : Object.fromEntries(Object.entries({ ...work.get(k), ...op.value }).filter(([, v]) => v != null));
            if (uniqueOk(work, k, rec)) work.set(k, clean(rec)), expected.push({ ok: true, value: undefined });
            else expected.push('UNIQUE_VIOLATION');
          }
        }
        const failed = expected.some((x) => typeof x == 'string');
        let results;
        try {
          results = await lua.batchTableOperations(ops, { atomic });
          assert.ok(!atomic || !failed, 'an atomic batch with failures must reject');
        } catch (e) {
          assert.ok(atomic && failed, `unexpected rejection ${e.code}: ${e.message}`);
          assert.equal(e.code, 'BATCH_FAILED');
          results = e.results;
          failedBatches++;
        }
        assert.deepEqual(results.map((r) => (r.ok ? r : r.error.code)), expected, JSON.stringify(ops));
        if (!(atomic && failed)) model = work;
      } else if (what < 52) {
        // A compute that writes and then fails: rolled back.
        await assert.rejects(lua.compute(`Memory.${T}${luaKey(key)} = nil ext.table('${T}')${luaKey(g.pick(KEYS))} = { s = 'zz' } error('no')`));
      } else if (what < 57 && model.has(key)) {
        // A Lua write of one field.
        const s = g.pick(S_VALUES);
        await lua.compute(`Memory.${T}${luaKey(key)}.s = ${JSON.stringify(s)}`);
        model.get(key).s = s;
      } else if (what < 62) {
        const f = g.pick(['n', 's', 't', 'u', 'u']), type = g.pick(['btree', 'hash']), unique = f == 'u' && g.chance(0.5);
        if (indexes.has(f)) {
          assert.equal(await lua.dropIndex(T, f), true);
          indexes.delete(f);
        } else {
          const vals = [...model.values()].map((r) => field(r, f)).filter((v) => v != null);
          const dup = unique && vals.some((v, i) => vals.some((w, j) => i != j && eq(v, w)));
          if (dup) {
            await assert.rejects(lua.createIndex(T, f, type, { unique }), (e) => e.code == 'UNIQUE_VIOLATION');
          } else {
            await lua.createIndex(T, f, type, { unique });
            indexes.set(f, { type, unique });
          }
        }
        const got = (await lua.indexes(T)).sort((a, b) => (a.field < b.field ? -1 : 1));
        assert.deepEqual(got, [...indexes].map(([f, x]) => ({ field: f, ...x })).sort((a, b) => (a.field < b.field ? -1 : 1)));
      } else {
        const q = g.query();
        queries++;
        assert.deepEqual([...(await lua.queryTable(T, q))], modelQuery(model, q), JSON.stringify(q));
        assert.equal(await lua.queryTable(T, { ...q, count: true }), modelQuery(model, { ...q, count: true }), 'count ' + JSON.stringify(q));
      }
      if (step % 50 == 49) {
        assert.equal(await lua.count(T), model.size);
        assert.deepEqual(await lua.keys(T), [...model.keys()].sort(cmp));
        for (const [k, r] of model) assert.deepEqual(await lua.getValue(T, k), r, `record ${k}`);
      }
    }
    assert.ok(queries > 50 && failedBatches > 2, `${queries} queries, ${failedBatches} failed batches`);
    lua.close();
  });
}
