// module.test.mjs: the module's contract with glue.js: its imports, its memory footprint,
// and what glue.js does when an export traps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { CuWASM, newLua, newLuaWithExports, rejectsWith, withInstantiateHook, WASM_PATH } from './helpers.mjs';

const module = await WebAssembly.compile(await readFile(WASM_PATH));

test('the module imports exactly env.cu_now and env.cu_local_offset', () => {
  const imports = WebAssembly.Module.imports(module).map(({ module, name, kind }) => `${module}.${name}:${kind}`);
  assert.deepEqual(imports.sort(), ['env.cu_local_offset:function', 'env.cu_now:function']);
});

test('the module exports what glue.js uses', () => {
  const exports = Object.fromEntries(WebAssembly.Module.exports(module).map(({ name, kind }) => [name, kind]));
  for (const name of ['cu_buffer', 'cu_init', 'cu_push', 'cu_call', 'cu_reply_size', 'cu_pull', 'cu_output_size', 'cu_close', 'cu_fail_alloc']) {
    assert.equal(exports[name], 'function', name);
  }
  assert.equal(exports.memory, 'memory');
});

test('no call_indirect ends a try body (WebKit\'s wasm interpreter would let its exception escape)', async () => {
  // scripts/build.sh pads them (scripts/pad-call-indirect.mjs); this catches a build without it.
  const { unpadded } = await import('../../scripts/pad-call-indirect.mjs');
  assert.equal(unpadded(await readFile(WASM_PATH)), 0);
});

test('a fresh instance uses at most 1 MiB of memory', async () => {
  const { lua, exports } = await newLuaWithExports();
  assert.equal(await lua.compute('return 1'), 1);
  const bytes = exports.memory.buffer.byteLength;
  assert.ok(bytes <= 1 << 20, `memory is ${bytes} bytes`);
  lua.close();
});

test('the imports: cu_now and cu_local_offset reach os.time, os.clock and os.date', async () => {
  const lua = await newLua();
  const t = await lua.compute('return os.time()');
  assert.ok(Math.abs(t - Date.now() / 1000) < 120, `os.time() = ${t}`);
  const c = await lua.compute('return os.clock()');
  assert.equal(typeof c, 'number');
  // os.date's local time follows the JS time zone offset at that instant.
  const local = await lua.compute('return os.date("*t", 86400 * 200)');
  const d = new Date(86400 * 200 * 1000);
  assert.deepEqual(
    [local.year, local.month, local.day, local.hour, local.min],
    [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes()],
  );
  assert.equal(await lua.compute('return os.date("!%Y-%m-%d %H:%M:%S", 0)'), '1970-01-01 00:00:00');
  lua.close();
});

test('math.random is seeded differently per instance', async () => {
  const a = await newLua(), b = await newLua();
  const src = 'local t = {} for i = 1, 8 do t[i] = math.random(0, 1 << 30) end return table.concat(t, ",")';
  assert.notEqual(await a.compute(src), await b.compute(src));
  a.close();
  b.close();
});

// A trap cannot be provoked through the public API of a correct module, so the test
// substitutes cu_call (via a WebAssembly.instantiate hook in helpers.mjs; glue.js has no
// test-only path) with one that hits a real `unreachable` trap in a tiny wasm module.
const trapModule = new WebAssembly.Module(
  // (module (func (export "trap") unreachable))
  new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 7, 8, 1, 4, 116, 114, 97, 112, 0, 0, 10, 5, 1, 3, 0, 0, 11]),
);
const realTrap = new WebAssembly.Instance(trapModule).exports.trap;

test('a trap in an export marks the instance dead: that call and every later one reject with INSTANCE_DEAD', async () => {
  let armed = false;
  const lua = await withInstantiateHook(
    (instance) => ({
      exports: {
        ...instance.exports,
        cu_call: (op) => (armed ? realTrap() : instance.exports.cu_call(op)),
      },
    }),
    () => newLua(),
  );
  assert.equal(await lua.compute('return 1'), 1);
  armed = true;
  const queued = lua.compute('return "queued behind the trap"');
  const e = await rejectsWith(lua.compute('return 2'), 'INSTANCE_DEAD');
  assert.match(e.message, /trap/);
  assert.match(e.message, /cu_call/);
  assert.match(e.suggestion, /CuWASM\.init/);
  armed = false; // even with a working export, the instance stays dead
  await rejectsWith(queued, 'INSTANCE_DEAD');
  await rejectsWith(lua.compute('return 3'), 'INSTANCE_DEAD');
  await rejectsWith(lua.stats(), 'INSTANCE_DEAD');
  await rejectsWith(lua.gc(), 'INSTANCE_DEAD');
  await lua.close(); // close on a dead instance does not throw
  await rejectsWith(lua.compute('return 4'), 'INSTANCE_DEAD');
});

test('any exception out of an export also marks the instance dead', async () => {
  let armed = false;
  const lua = await withInstantiateHook(
    (instance) => ({
      exports: {
        ...instance.exports,
        cu_reply_size: () => {
          if (armed) throw new RangeError('simulated');
          return instance.exports.cu_reply_size();
        },
      },
    }),
    () => newLua(),
  );
  armed = true;
  const e = await rejectsWith(lua.compute('return 1'), 'INSTANCE_DEAD');
  assert.match(e.message, /simulated/);
  armed = false;
  await rejectsWith(lua.compute('return 1'), 'INSTANCE_DEAD');
});

test('a trap during init rejects with INSTANCE_DEAD', async () => {
  const e = await withInstantiateHook(
    (instance) => ({ exports: { ...instance.exports, cu_init: () => realTrap() } }),
    () => CuWASM.init({ onPrint() {}, storage: 'memory' }).catch((e) => e),
  );
  assert.equal(e.code, 'INSTANCE_DEAD');
});

test('NOT_INITIALIZED: the module answers calls made without a Lua state', async () => {
  // glue.js never calls before cu_init; skipping cu_init shows how the status reaches JS.
  const lua = await withInstantiateHook(
    (instance) => ({ exports: { ...instance.exports, cu_init: () => 0 } }),
    () => newLua(),
  );
  const e = await rejectsWith(lua.compute('return 1'), 'NOT_INITIALIZED');
  assert.equal(e.details.status, -8);
  assert.match(e.suggestion, /CuWASM\.init/);
  // Raw: before cu_init and after cu_close.
  const { exports } = await WebAssembly.instantiate(module, { env: { cu_now: () => 0, cu_local_offset: () => 0 } });
  assert.equal(exports.cu_call(1), -8);
  assert.equal(exports.cu_init(0, 0, 1, 2), 0);
  assert.equal(exports.cu_call(4), 0);
  exports.cu_close();
  assert.equal(exports.cu_call(4), -8);
});

test('other instances are unaffected by a dead one', async () => {
  const healthy = await newLua();
  const doomed = await withInstantiateHook(
    (instance) => ({ exports: { ...instance.exports, cu_call: () => realTrap() } }),
    () => newLua(),
  );
  await rejectsWith(doomed.compute('return 1'), 'INSTANCE_DEAD');
  assert.equal(await healthy.compute('return "fine"'), 'fine');
  healthy.close();
});

// cu_fail_alloc(n) makes the nth Lua allocation from now, and every later one, fail (as
// Lua's ltests.c does). Every allocation point of a compute is tried in the built module:
// each ends in success or LUA_MEMORY, never a trap, and no arena space is leaked.
test('cu_fail_alloc: every allocation point fails cleanly and leaks nothing', async () => {
  const { lua, exports } = await newLuaWithExports({ heapSize: 1 << 20 });
  const src = 'local t = {} for i = 1, 50 do t[i] = {i, tostring(i)} end return #t, table.concat(t[1], ",")';
  assert.deepEqual(await lua.computeAll(src), [50, '1,1']);
  await lua.gc();
  const baseline = (await lua.stats()).heapUsed;
  let failures = 0;
  for (let n = 1; ; n++) {
    exports.cu_fail_alloc(n);
    let ok = true;
    try {
      assert.deepEqual(await lua.computeAll(src), [50, '1,1']);
    } catch (e) {
      if (e.code !== 'LUA_MEMORY') throw e;
      ok = false;
      failures++;
    }
    for (const op of [() => lua.stats(), () => lua.gc()]) await op(); // the other ops, still failing
    exports.cu_fail_alloc(0);
    await lua.gc();
    assert.ok((await lua.stats()).heapUsed <= baseline + 512, `arena space leaked after failing allocation ${n}`);
    assert.equal(await lua.compute('return 40 + 2'), 42, `after failing allocation ${n}`);
    if (ok) break;
    assert.ok(n < 5000);
  }
  assert.ok(failures > 20, `only ${failures} allocation points`);
  lua.close();
});
