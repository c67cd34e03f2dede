// api.test.mjs: the shape of glue.js's public API, init options, the call queue, close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as glue from '../../glue.js';
import { CuWASM, CuError, newLua, rejectsWith, WASM_URL, WASM_PATH } from './helpers.mjs';

test('glue.js exports exactly BatchError, CuWASM and CuError', () => {
  assert.deepEqual(Object.keys(glue).sort(), ['BatchError', 'CuError', 'CuWASM']);
  assert.equal(typeof CuWASM.init, 'function');
  assert.ok(new CuError('LUA_RUNTIME', 'x') instanceof Error);
});

test('an instance has compute, computeAll, stats, gc, close', async () => {
  const lua = await newLua();
  for (const m of ['compute', 'computeAll', 'stats', 'gc', 'close']) assert.equal(typeof lua[m], 'function', m);
  assert.equal(await lua.compute('return 2 + 2'), 4);
  assert.deepEqual(await lua.computeAll('return 1, 2'), [1, 2]);
  assert.equal(await lua.compute('local x = 1'), undefined);
  assert.deepEqual(await lua.computeAll('local x = 1'), []);
  lua.close();
});

test('state persists between computes of one instance, not across instances', async () => {
  const a = await newLua(), b = await newLua();
  await a.compute('counter = 41');
  assert.equal(await a.compute('counter = counter + 1 return counter'), 42);
  assert.equal(await b.compute('return counter'), null);
  a.close();
  b.close();
});

test('CuWASM.init defaults: 512 KiB heap, default wasm URL, console.log for print', async () => {
  const logged = [];
  const log = console.log;
  console.log = (...args) => logged.push(args);
  let lua;
  try {
    lua = await CuWASM.init({ storage: 'memory' });
    await lua.compute('print("hello from the default onPrint")');
  } finally {
    console.log = log;
  }
  assert.deepEqual(logged, [['hello from the default onPrint']]);
  assert.equal((await lua.stats()).heapSize, 524288);
  lua.close();
});

test('heapSize option is honoured', async () => {
  const lua = await newLua({ heapSize: 2 << 20 });
  const s = await lua.stats();
  assert.equal(s.heapSize, 2 << 20);
  lua.close();
});

test('wasm option accepts a URL, a path string, a file: URL string, an ArrayBuffer, a Uint8Array, a Module', async () => {
  const bytes = await readFile(WASM_PATH);
  const u8 = new Uint8Array(bytes);
  const module = await WebAssembly.compile(u8);
  for (const wasm of [WASM_URL, WASM_PATH, WASM_URL.href, u8.buffer.slice(0), u8, module]) {
    const lua = await newLua({ wasm });
    assert.equal(await lua.compute('return 6 * 7'), 42, String(wasm));
    lua.close();
  }
});

test('compiled modules are cached per URL', async () => {
  const compile = WebAssembly.compile;
  let compiles = 0;
  WebAssembly.compile = (...args) => (compiles++, compile.apply(WebAssembly, args));
  try {
    const url = new URL(WASM_URL.href + '?cache-test');
    const a = await newLua({ wasm: url });
    const b = await newLua({ wasm: url });
    const c = await newLua({ wasm: url.href });
    assert.equal(compiles, 1);
    // ...but every init gets its own instance and Lua state.
    await a.compute('x = 1');
    assert.equal(await b.compute('return x'), null);
    for (const lua of [a, b, c]) lua.close();
  } finally {
    WebAssembly.compile = compile;
  }
});

test('a wasm URL that cannot be loaded rejects with BAD_ARGUMENT', async () => {
  const e = await rejectsWith(CuWASM.init({ wasm: new URL('./no-such-file.wasm', WASM_URL), storage: 'memory' }), 'BAD_ARGUMENT');
  assert.match(e.message, /no-such-file\.wasm/);
  await rejectsWith(CuWASM.init({ wasm: new Uint8Array([1, 2, 3]), storage: 'memory' }), 'BAD_ARGUMENT');
});

test('bad init options reject with BAD_ARGUMENT', async () => {
  const bad = [
    'nope', null, 42,
    { heapSize: -1 }, { heapSize: 1.5 }, { heapSize: '1MB' }, { heapSize: 2 ** 32 },
    { instructionLimit: -5 }, { instructionLimit: NaN }, { instructionLimit: '10' },
    { onPrint: 'console' }, { wasm: 42 }, { wasm: {} }, { durability: 'eventual' }, { durability: true },
    { storage: 'opfs' }, { storage: null }, // (no IndexedDB in Node: STORAGE_UNAVAILABLE, storage.test.mjs)
  ];
  for (const options of bad) {
    const e = await rejectsWith(CuWASM.init(options), 'BAD_ARGUMENT');
    assert.equal(e.details.status, null);
    assert.ok(e.suggestion.length > 0);
  }
  // storage: 'memory' is accepted.
  const lua = await newLua({ storage: 'memory' });
  lua.close();
});

test('a heap too small for Lua itself is an init error, not a trap', async () => {
  const e = await CuWASM.init({ heapSize: 1024, onPrint() {}, storage: 'memory' }).then(
    () => assert.fail('init succeeded with a 1 KiB heap'),
    (e) => e,
  );
  assert.ok(e instanceof CuError);
  assert.ok(['LUA_MEMORY', 'BAD_ARGUMENT'].includes(e.code), e.code);
  assert.equal(typeof e.details.status, 'number');
});

test('instructionLimit 0 and Infinity mean no limit', async () => {
  for (const instructionLimit of [0, Infinity]) {
    const lua = await newLua({ instructionLimit });
    assert.equal(await lua.compute('local n = 0 for i = 1, 3e6 do n = n + 1 end return n'), 3e6);
    lua.close();
  }
});

test('bad compute arguments reject with BAD_ARGUMENT and leave the instance usable', async () => {
  const lua = await newLua();
  for (const code of [undefined, null, 42, {}, new Uint8Array([49])]) {
    await rejectsWith(lua.compute(code), 'BAD_ARGUMENT');
    await rejectsWith(lua.computeAll(code), 'BAD_ARGUMENT');
  }
  await rejectsWith(lua.compute('return 1', 'name'), 'BAD_ARGUMENT');
  await rejectsWith(lua.compute('return 1', { chunkName: 5 }), 'BAD_ARGUMENT');
  await rejectsWith(lua.compute('return 1', { chunkName: 'x'.repeat(70000) }), 'BAD_ARGUMENT');
  assert.equal(await lua.compute('return 1', {}), 1);
  lua.close();
});

test('concurrent computes are serialized and resolve in order', async () => {
  // 1 MiB: two 100 KB results plus their garbage would sit at the edge of the default
  // 512 KiB heap, where fragmentation decides; this test is about ordering.
  const lua = await newLua({ heapSize: 1 << 20 });
  await lua.compute('n = 0');
  const big = 'return ("x"):rep(100000) .. tostring(n)';
  const calls = [];
  for (let i = 0; i < 20; i++) {
    calls.push(lua.compute(`n = n + 1 return n`));
    calls.push(lua.compute(big));
    calls.push(lua.compute('error("boom")').catch((e) => e.code));
  }
  const results = await Promise.all(calls);
  for (let i = 0; i < 20; i++) {
    assert.equal(results[3 * i], i + 1);
    assert.equal(results[3 * i + 1], 'x'.repeat(100000) + (i + 1));
    assert.equal(results[3 * i + 2], 'LUA_RUNTIME');
  }
  lua.close();
});

test('close: later calls reject with INSTANCE_DEAD ("closed"); calls queued before it complete', async () => {
  const lua = await newLua();
  const before = lua.compute('return "queued before close"');
  const closing = lua.close();
  for (const call of [lua.compute('return 1'), lua.computeAll('return 1'), lua.stats(), lua.gc()]) {
    const e = await rejectsWith(call, 'INSTANCE_DEAD');
    assert.match(e.message, /closed/);
    assert.match(e.suggestion, /CuWASM\.init/);
  }
  assert.equal(await before, 'queued before close');
  await closing;
  await rejectsWith(lua.compute('return 1'), 'INSTANCE_DEAD');
  lua.close(); // closing twice is harmless
  await rejectsWith(lua.compute('return 1'), 'INSTANCE_DEAD');
});

test('stats and gc', async () => {
  const lua = await newLua({ heapSize: 1 << 20 });
  await lua.compute('junk = {} for i = 1, 2000 do junk[i] = {i} end');
  const s1 = await lua.stats();
  for (const k of ['heapUsed', 'heapSize', 'heapPeak', 'lastInstructions', 'moduleHeapUsed']) assert.equal(typeof s1[k], 'number', k);
  // The five fields of Cu's first releases first, then the report of issue 6 (stats.test.mjs).
  assert.deepEqual(Object.keys(s1).slice(0, 5), ['heapUsed', 'heapSize', 'heapPeak', 'lastInstructions', 'moduleHeapUsed']);
  // The module's heap holds the Lua arena, and external tables grow it.
  assert.ok(s1.moduleHeapUsed > s1.heapSize, `${s1.moduleHeapUsed}`);
  await lua.compute("local u = ext.table('u') for i = 1, 1000 do u[i] = { n = i } end");
  assert.ok((await lua.stats()).moduleHeapUsed > s1.moduleHeapUsed + 100 * 1000);
  await lua.compute("Memory.u = nil");
  assert.equal(s1.heapSize, 1 << 20);
  assert.ok(s1.heapUsed > 0 && s1.heapUsed <= s1.heapPeak && s1.heapPeak <= s1.heapSize);
  assert.ok(s1.lastInstructions > 2000, `lastInstructions ${s1.lastInstructions}`);
  await lua.compute('junk = nil');
  assert.equal(await lua.gc(), undefined);
  const s2 = await lua.stats();
  assert.ok(s2.heapUsed < s1.heapUsed, `${s2.heapUsed} < ${s1.heapUsed}`);
  assert.ok(s2.heapPeak >= s1.heapPeak);
  lua.close();
});

test('CuError fields', async () => {
  const lua = await newLua();
  const e = await rejectsWith(lua.compute('error("kaput")', { chunkName: '=main.lua' }), 'LUA_RUNTIME');
  assert.ok(e instanceof Error && e instanceof CuError);
  assert.equal(e.name, 'CuError');
  assert.equal(typeof e.message, 'string');
  assert.equal(typeof e.suggestion, 'string');
  assert.deepEqual(Object.keys(e.details).sort(), ['chunkName', 'line', 'luaMessage', 'status', 'traceback']);
  assert.equal(e.details.status, -1);
  assert.equal(e.details.chunkName, '=main.lua');
  assert.equal(e.details.luaMessage, 'main.lua:1: kaput');
  assert.equal(e.message, 'main.lua:1: kaput');
  assert.equal(e.details.line, 1);
  assert.equal(typeof e.details.traceback, 'string');
  lua.close();
});
