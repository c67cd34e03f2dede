// chunking.test.mjs: requests and replies larger than the module's 64 KiB I/O buffer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newLua } from './helpers.mjs';

test('a 200 KB script', async () => {
  const lua = await newLua({ heapSize: 8 << 20 });
  const lines = ['local t = {}'];
  for (let i = 0; lines.join('\n').length < 200_000; i++) lines.push(`t[#t + 1] = ${i} -- padding padding padding`);
  lines.push('return #t');
  const src = lines.join('\n');
  assert.ok(src.length >= 200_000);
  assert.equal(await lua.compute(src), lines.length - 2);
  lua.close();
});

test('a script whose size is an exact multiple of 64 KiB, and one byte more or less', async () => {
  const lua = await newLua({ heapSize: 8 << 20 });
  for (const size of [65536 - 3 - 8, 65536 - 1 - 3 - 8, 65536 + 1 - 3 - 8, 2 * 65536 - 3 - 8]) {
    // 3 header bytes + '=compute' (8 bytes) + source = the request size
    const body = 'return "ok"';
    const src = body + ' '.repeat(size - body.length);
    assert.equal(await lua.compute(src), 'ok', `source of ${size} bytes`);
  }
  lua.close();
});

test('a long string literal in the script round-trips', async () => {
  const lua = await newLua({ heapSize: 8 << 20 });
  const s = 'é✓'.repeat(50_000) + 'end';
  assert.equal(await lua.compute(`return "${s}"`), s);
  lua.close();
});

test('a 1 MB result string with an 8 MiB heap', async () => {
  const lua = await newLua({ heapSize: 8 << 20 });
  const v = await lua.compute('return ("abcdefgh" .. "\\u{e9}"):rep(100000) .. "end"');
  assert.equal(v.length, 900_003); // "é" is 2 bytes in Lua, 1 UTF-16 unit in JS
  assert.equal(v, 'abcdefghé'.repeat(100000) + 'end');
  const w = await lua.compute('local t = {} for i = 1, 10000 do t[i] = string.format("%099d\\n", i) end return table.concat(t)');
  assert.equal(w.length, 1_000_000);
  assert.equal(w.slice(-100), String(10000).padStart(99, '0') + '\n');
  lua.close();
});

test('a 1 MB binary result arrives intact as a Uint8Array', async () => {
  const lua = await newLua({ heapSize: 8 << 20 });
  const v = await lua.compute(
    'local t = {} for i = 0, 255 do t[#t + 1] = string.char(i) end local s = table.concat(t) return s:rep(4096)',
  );
  assert.ok(v instanceof Uint8Array);
  assert.equal(v.length, 1 << 20);
  for (let i = 0; i < v.length; i++) if (v[i] !== (i & 255)) assert.fail(`byte ${i} is ${v[i]}`);
  lua.close();
});

test('a large table result spanning many pulls', async () => {
  const lua = await newLua({ heapSize: 8 << 20 });
  const v = await lua.compute('local t = {} for i = 1, 20000 do t[i] = {id = i, name = "item" .. i} end return t');
  assert.equal(v.length, 20000);
  assert.deepEqual(v[19999], { id: 20000, name: 'item20000' });
  lua.close();
});

test('memory growth between calls does not break the buffer views', async () => {
  const lua = await newLua({ heapSize: 8 << 20 });
  for (let i = 1; i <= 5; i++) {
    const n = i * 200_000;
    const v = await lua.compute(`return ("ab"):rep(${n / 2})`);
    assert.equal(v.length, n);
    assert.equal(await lua.compute(`return ${'1 + '.repeat(i * 5000)}0`), i * 5000);
  }
  lua.close();
});
