#!/usr/bin/env node
// bench/compression.mjs: storage compression on a realistic dataset, per level (issue 6).
// Prints a markdown table of medians.
//
// The dataset (seeded, the same every run): 10,000 user records { name, email, age, city,
// bio (200-400 characters of text from a 300-word vocabulary, frequent words more often),
// tags (2-5 of 30), and for one record in ten, notes of 1.2-4 KB of the same kind of text },
// and 20 closures with upvalues in Memory.handlers (one of them over 1 KiB of bytecode).
// Per level (off, fast, default, best; then default and best with a threshold of 128 bytes,
// which takes in the bios) in a fresh instance on a memory store (storeWith() of
// test-harness/node/helpers.mjs, whose records are counted): the batch that writes the records (end to end: packing, the
// module, the save of the changed pages), the module's share of it spent making the pages
// (op 21, where the deflating happens), the closures, then lua.stats() (its ratio, and its
// time), the bytes the store holds, and an init that reads it all back (inflating). Then
// lua.stats() on 100,000 small records { name, age, city } with a B-tree index.
//
// Usage: node bench/compression.mjs [--runs N]   (default 3)

import { performance } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import { CuWASM } from '../glue.js';
import { moduleMs, timedInit } from './timed.mjs';
import { storeWith } from '../test-harness/node/helpers.mjs';

const args = process.argv.slice(2);
const RUNS = args.includes('--runs') ? Number(args[args.indexOf('--runs') + 1]) : 3;
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

// ---------------------------------------------------------------- the dataset
let seed = 12345;
const rand = (n) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
const vocab = Array.from({ length: 300 }, () => Array.from({ length: 2 + rand(8) }, () => String.fromCharCode(97 + rand(26))).join(''));
// Word i with weight ~ 1 / (i + 1): the frequent words first.
const word = () => vocab[Math.floor(300 ** (rand(10000) / 10000)) - 1];
const prose = (chars) => {
  let s = '';
  while (s.length < chars) s += word() + (rand(12) ? ' ' : '. ');
  return s;
};
const FIRST = ['Ann', 'Bob', 'Cyd', 'Dee', 'Eve', 'Fay', 'Gus', 'Hal', 'Ivy', 'Jon', 'Kim', 'Lou', 'Max', 'Ned', 'Oli', 'Pam'];
const LAST = ['Smith', 'Jones', 'Brown', 'Garcia', 'Miller', 'Davis', 'Martin', 'Lopez', 'Wilson', 'Moore', 'Taylor', 'Thomas'];
const CITIES = ['Paris', 'Berlin', 'Rome', 'Oslo', 'Lisbon', 'Vienna', 'Prague', 'Madrid'];
const TAGS = Array.from({ length: 30 }, (_, i) => 'tag' + i);
const users = Array.from({ length: 10000 }, (_, i) => {
  const first = FIRST[rand(16)], last = LAST[rand(12)];
  const u = {
    name: `${first} ${last}`, email: `${first}.${last}${i}@example.com`.toLowerCase(), age: 18 + rand(60), city: CITIES[rand(8)],
    bio: prose(200 + rand(200)), tags: Array.from({ length: 2 + rand(4) }, () => TAGS[rand(30)]),
  };
  if (i % 10 == 0) u.notes = prose(1200 + rand(2800));
  return u;
});
const CLOSURES = `Memory.handlers = {}
for i = 1, 19 do
  local count, label = 0, 'handler ' .. i
  Memory.handlers[i] = function(x) count = count + 1 return label .. ': ' .. tostring(x * i) .. ' (' .. count .. ')' end
end
local names = { 'alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta' }
Memory.handlers[20] = function(record)
  local out = {}
  for _, n in ipairs(names) do
    if record[n] then out[#out + 1] = string.format('%s=%s', n, tostring(record[n])) end
  end
  if record.kind == 'user' then out[#out + 1] = 'user record of ' .. (record.name or '?')
  elseif record.kind == 'post' then out[#out + 1] = 'post titled ' .. (record.title or '?')
  elseif record.kind == 'comment' then out[#out + 1] = 'comment by ' .. (record.author or '?')
  elseif record.kind == 'event' then out[#out + 1] = 'event at ' .. (record.place or '?') .. ' on ' .. (record.date or '?')
  else out[#out + 1] = 'record of an unknown kind' end
  return table.concat(out, ', ')
end`;

// ---------------------------------------------------------------- the runs

// An instance whose cu_call is timed per op (the TAKE_PAGES op makes the pages): bench/timed.mjs.
const cu = (options) => timedInit({ heapSize: 1 << 20, ...options });

const ops = users.map((value, i) => ({ type: 'set', table: 'users', key: 'u' + i, value }));
const rows = [];
const started = loadavg()[0];
for (const setting of ['off', 'fast', 'default', 'best', { level: 'default', threshold: 128 }, { level: 'best', threshold: 128 }]) {
  const level = typeof setting == 'string' ? setting : `${setting.level}, threshold ${setting.threshold}`;
  const m = { write: [], pages: [], stats: [], open: [] };
  let report, bytes;
  for (let run = 0; run < RUNS; run++) {
    const store = storeWith(), records = store.records;
    const lua = await cu({ storage: store, compression: setting });
    moduleMs[21] = 0;
    let t = performance.now();
    await lua.batchTableOperations(ops);
    m.write.push(performance.now() - t);
    m.pages.push(moduleMs[21]);
    await lua.compute(CLOSURES);
    await lua.compute('assert(Memory.handlers[3](2) == "handler 3: 6 (1)")');
    t = performance.now();
    report = await lua.stats();
    m.stats.push(performance.now() - t);
    bytes = [...records.values()].reduce((n, v) => n + v.length, 0);
    lua.close();
    t = performance.now();
    const back = await CuWASM.init({ storage: store });
    await back.compute('return 1');
    m.open.push(performance.now() - t);
    if ((await back.getValue('users', 'u10')).notes !== users[10].notes) throw Error('read back differs');
    back.close();
  }
  const users_ = report.tables.find((x) => x.table == 'Memory.users');
  rows.push([level, report.rawBytes, report.storedBytes, report.compressionRatio.toFixed(2), users_.ratio.toFixed(2), bytes,
    median(m.write).toFixed(1), median(m.pages).toFixed(1), median(m.stats).toFixed(1), median(m.open).toFixed(1)]);
}

// lua.stats() on 100,000 small records with an index.
const big = await CuWASM.init({ heapSize: 1 << 20, storage: 'memory' });
await big.batchTableOperations(Array.from({ length: 100000 }, (_, i) => ({ type: 'set', table: 'people', key: i, value: { name: 'user' + i, age: 18 + ((i * 7919) % 60), city: CITIES[i % 8] } })));
await big.createIndex('people', 'age');
const times = [];
for (let run = 0; run < Math.max(RUNS, 3); run++) {
  const t = performance.now();
  await big.stats();
  times.push(performance.now() - t);
}
big.close();

console.log(`\nNode ${process.versions.node}, ${RUNS} runs, medians; load average ${started.toFixed(2)} at the start\n`);
console.log('| level | raw bytes | stored bytes | ratio (all) | ratio (users) | bytes in the store | write 10,000 records ms | of it, making pages ms | stats() ms | init + read back ms |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
console.log(`\nstats() on 100,000 records { name, age, city } with a B-tree index: ${median(times).toFixed(1)} ms`);
