#!/usr/bin/env node
// bench/migrate.mjs: a schema migration of N records (default 100,000) and its rollback, in
// Node, memory store. The records have a schema (v1: name, age, email, tags, address); the
// migration renames `name` to `fullName` (the example) under a v2 schema, and
// rollbackMigration runs `down` back. Timed end to end from JS (the chunks, the event-loop
// yields between them, the validation, and the one save of every changed page at the end)
// and, separately, the module's share (the MIGRATE op, the TAKE_PAGES op that encodes the
// pages). Each run migrates a fresh copy of the same data; medians of --runs runs.
//
// Usage: node bench/migrate.mjs [--runs N] [--records N] [--chunk N]   (defaults 5, 100000, 5000)

import { performance } from 'node:perf_hooks';
import { CuWASM } from '../glue.js';
import { moduleMs, timedInit } from './timed.mjs';

const args = process.argv.slice(2);
const arg = (name, d) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : d);
const RUNS = arg('--runs', 5), N = arg('--records', 100000), CHUNK = arg('--chunk', 5000);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const CITIES = ['Paris', 'Berlin', 'Rome', 'Oslo', 'Lisbon', 'Vienna', 'Prague', 'Madrid'];

const V1 = {
  type: 'table',
  fields: {
    name: { type: 'string', required: true, minLength: 1, maxLength: 100 },
    age: { type: 'integer', min: 0, max: 150 },
    email: { type: 'string', pattern: '^[%w._]+@[%w.]+$' },
    tags: { type: 'array', items: { type: 'string' }, maxItems: 20 },
    address: { type: 'table', fields: { city: { type: 'string', required: true } } },
  },
  additionalFields: false,
};
const V2 = { ...V1, fields: { ...V1.fields, fullName: V1.fields.name, name: undefined } };
delete V2.fields.name;
const MIGRATION = {
  version: 2,
  up: 'function(record) record.fullName = record.name; record.name = nil; return record end',
  down: 'function(record) record.name = record.fullName; record.fullName = nil; return record end',
  schema: V2,
};

// An instance whose cu_call is timed per op (moduleMs[op]): bench/timed.mjs.
const cu = (storage) => timedInit({ storage });

// The database with N records and the v1 schema, as storage records (built once).
const seed = new Map();
{
  const storage = { records: seed, async commit(puts, deletes) { for (const [k, v] of puts) seed.set(k, v); for (const k of deletes) seed.delete(k); }, async close() {} };
  const lua = await CuWASM.init({ storage });
  await lua.defineSchema('users', V1);
  const ops = [];
  for (let i = 0; i < N; i++) {
    ops.push({ type: 'set', table: 'users', key: 'u' + i, value: { name: 'user ' + i, age: 18 + ((i * 7919) % 60), email: `user${i}@example.com`, tags: ['t' + (i % 7), 't' + (i % 11)], address: { city: CITIES[i % 8] } } });
  }
  await lua.batchTableOperations(ops);
  await lua.close();
}

const rows = { migrate: [], migrateModule: [], rollback: [], rollbackModule: [], save: [] };
for (let r = 0; r < RUNS; r++) {
  const records = new Map(seed);
  const lua = await cu({ records, async commit(puts, deletes) { for (const [k, v] of puts) records.set(k, v); for (const k of deletes) records.delete(k); }, async close() {} });
  for (const k in moduleMs) moduleMs[k] = 0;
  let t = performance.now();
  const out = await lua.migrate('users', MIGRATION, { chunkSize: CHUNK });
  rows.migrate.push(performance.now() - t);
  rows.migrateModule.push(moduleMs[26]);
  rows.save.push(moduleMs[21]);
  if (out.records !== N || out.version !== 2) throw new Error('migration did not run: ' + JSON.stringify(out));
  if ((await lua.getValue('users', 'u7')).fullName !== 'user 7') throw new Error('not migrated');
  for (const k in moduleMs) moduleMs[k] = 0;
  t = performance.now();
  await lua.rollbackMigration('users', { chunkSize: CHUNK });
  rows.rollback.push(performance.now() - t);
  rows.rollbackModule.push(moduleMs[26]);
  if ((await lua.getValue('users', 'u7')).name !== 'user 7') throw new Error('not rolled back');
  await lua.close();
}
const f = (x) => x.toFixed(0);
console.log(`${N} records, chunks of ${CHUNK}, median of ${RUNS} runs (ms):\n`);
console.log('| | end to end | MIGRATE op (module) | TAKE_PAGES (module, the save) |');
console.log('| --- | --- | --- | --- |');
console.log(`| migrate (v1 → v2) | ${f(median(rows.migrate))} | ${f(median(rows.migrateModule))} | ${f(median(rows.save))} |`);
console.log(`| rollbackMigration (v2 → v1) | ${f(median(rows.rollback))} | ${f(median(rows.rollbackModule))} | |`);
