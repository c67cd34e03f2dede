// compression.test.mjs: the `compression` option of CuWASM.init and lua.setCompression
// (issue 6): validation, the threshold and level as seen in the stored page records of an
// adapter store, `off` storing everything raw, and data written under one setting read
// under every other, through the built module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newLua, rejectsWith, storeWith } from './helpers.mjs';

const pageBytes = (records) => [...records.values()].reduce((n, v) => n + v.length, 0);
// Whether some stored page holds `text` as is (a value stored raw does; a deflated one not).
const holds = (records, text) => [...records.values()].some((v) => Buffer.from(v).includes(text));

test('compression options: accepted forms, and BAD_ARGUMENT for the rest', async () => {
  const long = 'a compressible value, '.repeat(100); // 2,200 bytes
  for (const compression of [undefined, null, false, true, 'off', 'fast', 'default', 'best', {}, { level: 'best' }, { threshold: 0 },
    { threshold: 2 ** 32 - 1, level: 'fast' }, { enabled: false }, { enabled: true, level: 'off' }]) {
    const store = storeWith();
    const lua = await newLua({ storage: store, compression });
    const off = compression === false || compression === 'off' || compression?.enabled === false || compression?.level === 'off';
    await lua.setValue('t', 'k', long);
    assert.equal(holds(store.records, long.slice(0, 40)), off || compression?.threshold > long.length, JSON.stringify(compression));
    const s = await lua.stats();
    assert.equal(s.compression.level, off ? 'off' : typeof compression == 'string' ? compression : compression?.level ?? 'default');
    assert.equal(s.compression.threshold, compression?.threshold ?? 1024);
    lua.close();
  }
  for (const compression of ['fastest', 9, 0, [], { level: 'max' }, { level: 6 }, { threshold: -1 }, { threshold: 1.5 }, { threshold: 2 ** 32 },
    { threshold: '1024' }, { enabled: 'yes' }, { treshold: 10 }, { level: 'best', extra: 1 }]) {
    const e = await rejectsWith(newLua({ compression }), 'BAD_ARGUMENT');
    assert.match(e.message, /compression/, JSON.stringify(compression));
  }
  const store = storeWith();
  const lua = await newLua({ storage: store });
  await rejectsWith(lua.setCompression({ level: 'ultra' }), 'BAD_ARGUMENT');
  await lua.setValue('t', 'a', 'A:' + long);
  assert.ok(!holds(store.records, 'A:a compressible'), 'a refused setting changes nothing');
  await lua.setCompression(false);
  await lua.setValue('t', 'b', 'B:' + long);
  assert.ok(holds(store.records, 'B:a compressible') && holds(store.records, 'A:a compressible'), 'off: the page is written raw');
  await lua.setCompression({ level: 'best', threshold: 10 });
  assert.deepEqual((await lua.stats()).compression, { level: 'best', threshold: 10 });
  await lua.setCompression(); // the default again
  await lua.setValue('t', 'c', 'C:' + long);
  assert.ok(!holds(store.records, 'B:a compressible') && !holds(store.records, 'C:a compressible'));
  assert.deepEqual((await lua.stats()).compression, { level: 'default', threshold: 1024 });
  assert.equal(await lua.compute('return 1 + 1'), 2);
  lua.close();
});

test('the threshold: values of exactly that many bytes stay raw, longer ones are deflated', async () => {
  const store = storeWith(), records = store.records;
  const lua = await newLua({ storage: store, compression: { threshold: 100 } });
  const text = (tag, n) => tag + 'abcd'.repeat(50).slice(0, n - tag.length);
  await lua.setValue('t', 'at', text('AT:', 100));
  await lua.setValue('t', 'over', text('OVER:', 101));
  await lua.setValue('t', 'small', text('SMALL:', 40));
  assert.ok(holds(records, 'AT:abcd') && holds(records, 'SMALL:abcd'));
  assert.ok(!holds(records, 'OVER:'), 'over the threshold: deflated');
  // Functions too: a function whose encoding is over the threshold is deflated.
  await lua.compute("local tag = 'FUNCTION-CONSTANT:' .. string.rep('xy', 60) Memory.f = function() return tag end");
  await lua.compute("Memory.g = function() return 'G-CONSTANT' end");
  assert.ok(!holds(records, 'FUNCTION-CONSTANT:'));
  assert.ok(holds(records, 'G-CONSTANT'), 'a small function stays raw');
  assert.equal(await lua.getValue('t', 'over'), text('OVER:', 101));
  lua.close();
  // The same data with compression off: everything raw, and more bytes.
  const plainStore = storeWith(), plain = plainStore.records;
  const off = await newLua({ storage: plainStore, compression: false });
  await off.setValue('t', 'over', text('OVER:', 101));
  await off.compute("local tag = 'FUNCTION-CONSTANT:' .. string.rep('xy', 60) Memory.f = function() return tag end");
  assert.ok(holds(plain, 'OVER:abcd') && holds(plain, 'FUNCTION-CONSTANT:xyxy'));
  off.close();
});

test('levels: best <= default <= fast < off in stored bytes, and what one wrote every other reads', async () => {
  const words = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore'.split(' ');
  let seed = 1;
  const rand = (n) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const notes = Array.from({ length: 200 }, (_, i) => Array.from({ length: 150 + rand(300) }, () => words[rand(words.length)]).join(' ') + ' #' + i);
  const sizes = {}, dbs = {};
  for (const level of ['off', 'fast', 'default', 'best']) {
    const store = storeWith(), records = (dbs[level] = store.records);
    const lua = await newLua({ storage: store, compression: level });
    await lua.batchTableOperations(notes.map((note, i) => ({ type: 'set', table: 'notes', key: i, value: { note, n: i } })));
    await lua.compute("local k = 3 Memory.counter = function() k = k + 1 return k, '" + 'padding '.repeat(200) + "' end");
    sizes[level] = pageBytes(records);
    lua.close();
  }
  assert.ok(sizes.off > 2 * sizes.fast && sizes.fast >= sizes.default && sizes.default >= sizes.best, JSON.stringify(sizes));
  for (const [writer, records] of Object.entries(dbs)) {
    for (const reader of ['off', 'fast', 'best']) {
      const store = storeWith(records), copy = store.records;
      const lua = await newLua({ storage: store, compression: reader });
      assert.equal(await lua.count('notes'), 200, `${writer} → ${reader}`);
      assert.equal((await lua.getValue('notes', 123)).note, notes[123]);
      assert.equal(await lua.compute('return Memory.counter()'), 4);
      // The function's page was written again, under the reader's setting.
      assert.equal(holds(copy, 'padding padding'), reader == 'off', `${writer} → ${reader}`);
      lua.close();
      const again = await newLua({ storage: storeWith(copy) });
      assert.equal(await again.compute('return Memory.counter()'), 5);
      again.close();
    }
  }
});

test('setCompression at run time: pages written afterwards follow it; a named store reopens under any setting', async () => {
  const store = storeWith(), records = store.records;
  const a = await newLua({ storage: store, compression: 'off' });
  const doc = (i) => `DOC-${i}: ` + 'a sentence that repeats itself. '.repeat(60);
  // 200 records: pages of 64 tables (by persistent id: Memory 0, docs 1, record i 2 + i),
  // so record 150 is on page 2 and a new record goes to page 3.
  await a.batchTableOperations(Array.from({ length: 200 }, (_, i) => ({ type: 'set', table: 'docs', key: i, value: { doc: doc(i) } })));
  const before = (await a.stats()).tables[0];
  assert.equal(before.storedBytes, before.rawBytes, 'all written while off');
  await a.setCompression('best');
  await a.setValue('docs', 'new', { doc: doc('new') });
  assert.ok(!holds(records, 'DOC-0: a sentence') && !holds(records, 'DOC-new: a sentence'), 'the rewritten page: best');
  assert.ok(holds(records, 'DOC-150: a sentence'), 'a page not written again keeps its old form');
  const after = (await a.stats()).tables[0];
  // Page 0 (62 records) and page 3 deflated, pages 1 and 2 (128 records) raw.
  assert.ok(after.storedBytes < after.rawBytes * 0.8 && after.storedBytes > after.rawBytes * 0.6, `${after.storedBytes} of ${after.rawBytes}`);
  await a.close();
  for (const compression of ['fast', false, { level: 'default', threshold: 0 }]) {
    const b = await newLua({ storage: storeWith(records), compression });
    assert.equal((await b.getValue('docs', 150)).doc, doc(150));
    assert.equal((await b.getValue('docs', 'new')).doc, doc('new'));
    assert.deepEqual(await b.stats().then((s) => s.tables[0].storedBytes), after.storedBytes, 'stored bytes as read back');
    await b.close();
  }
});
