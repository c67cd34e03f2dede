// errors.test.mjs: every error code reachable from JS, chunk names, and that an instance
// stays usable after each recoverable error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CuError, newLua, rejectsWith } from './helpers.mjs';

test('LUA_SYNTAX: message names the chunk and line; suggestion says to check the line', async () => {
  const lua = await newLua();
  const e = await rejectsWith(lua.compute('local x = 1\nlocal y = = 2', { chunkName: '=main.lua' }), 'LUA_SYNTAX');
  assert.match(e.message, /^main\.lua:2: /);
  assert.equal(e.details.status, -2);
  assert.equal(e.details.line, 2);
  assert.equal(e.details.chunkName, '=main.lua');
  assert.equal(e.details.luaMessage, e.message);
  assert.match(e.suggestion, /line/);
  assert.equal(await lua.compute('return "still usable"'), 'still usable');
  lua.close();
});

test('LUA_RUNTIME with the line, and a traceback', async () => {
  const lua = await newLua();
  const src = 'local function f()\n  local t = nil\n  return t.x\nend\nreturn f()';
  const e = await rejectsWith(lua.compute(src, { chunkName: '@script.lua' }), 'LUA_RUNTIME');
  assert.match(e.message, /^script\.lua:3: attempt to index a nil value/);
  assert.equal(e.details.line, 3);
  assert.equal(e.details.status, -1);
  assert.equal(e.details.chunkName, '@script.lua');
  assert.equal(typeof e.details.traceback, 'string');
  assert.match(e.details.traceback, /script\.lua:3/);
  const e2 = await rejectsWith(lua.compute('error("plain")'), 'LUA_RUNTIME');
  assert.equal(e2.message, 'compute:1: plain'); // the default chunk name is '=compute'
  assert.equal(e2.details.chunkName, '=compute');
  assert.equal(e2.details.line, 1);
  assert.equal(await lua.compute('return 1'), 1);
  lua.close();
});

test('runtime errors with non-string values and without positions', async () => {
  const lua = await newLua();
  const e = await rejectsWith(lua.compute('error("no position", 0)'), 'LUA_RUNTIME');
  assert.equal(e.message, 'no position');
  assert.equal(e.details.line, null);
  const t = await rejectsWith(lua.compute('error({code = 42})'), 'LUA_RUNTIME');
  assert.equal(typeof t.message, 'string');
  assert.ok(t.message.length > 0);
  const n = await rejectsWith(lua.compute('error()'), 'LUA_RUNTIME');
  assert.equal(typeof n.message, 'string');
  const m = await rejectsWith(
    lua.compute('error(setmetatable({}, {__tostring = function() return "custom" end}))'),
    'LUA_RUNTIME',
  );
  assert.match(m.message, /custom/);
  lua.close();
});

test('chunkName shows in errors and debug info', async () => {
  const lua = await newLua();
  assert.equal(await lua.compute('return debug.getinfo(1, "S").source', { chunkName: '=main.lua' }), '=main.lua');
  assert.equal(await lua.compute('return debug.getinfo(1, "S").short_src', { chunkName: '@dir/file.lua' }), 'dir/file.lua');
  const e = await rejectsWith(lua.compute('\n\nerror("x")', { chunkName: '=main.lua' }), 'LUA_RUNTIME');
  assert.equal(e.message, 'main.lua:3: x');
  assert.equal(e.details.line, 3);
  const s = await rejectsWith(lua.compute('error("x")', { chunkName: 'return 1' }), 'LUA_RUNTIME');
  assert.equal(s.message, '[string "return 1"]:1: x');
  assert.equal(s.details.line, 1);
  lua.close();
});

test('LUA_MEMORY with a small heap; the state is usable afterwards', async () => {
  const lua = await newLua({ heapSize: 512 * 1024 });
  const e = await rejectsWith(lua.compute('local t = {} for i = 1, 1e8 do t[i] = {i} end'), 'LUA_MEMORY');
  assert.equal(e.details.status, -3);
  assert.match(e.message, /memory/);
  assert.match(e.suggestion, /heapSize/);
  await lua.gc();
  assert.equal(await lua.compute('local t = {} for i = 1, 100 do t[i] = i end return #t'), 100);
  const big = await rejectsWith(lua.compute('return ("x"):rep(1 << 20)'), 'LUA_MEMORY');
  assert.equal(big.code, 'LUA_MEMORY');
  assert.equal(await lua.compute('return ("y"):rep(10)'), 'yyyyyyyyyy');
  // A memory error caught by pcall is the script's business.
  assert.equal(await lua.compute('return pcall(string.rep, "x", 1 << 20)'), false);
  lua.close();
});

test('INSTRUCTION_LIMIT stops an endless loop; the state is usable afterwards', async () => {
  const lua = await newLua({ instructionLimit: 100000 });
  const e = await rejectsWith(lua.compute('while true do end'), 'INSTRUCTION_LIMIT');
  assert.equal(e.details.status, -4);
  assert.match(e.suggestion, /instructionLimit/);
  assert.match(e.suggestion, /endless loop/);
  assert.equal(await lua.compute('return 1 + 1'), 2);
  // The budget is per call: many small calls each get the whole budget.
  await lua.compute('n = 0');
  for (let i = 0; i < 5; i++) await lua.compute('for i = 1, 10000 do n = n + 1 end');
  assert.equal(await lua.compute('return n'), 50000);
  lua.close();
});

test('pcall cannot swallow the instruction limit', async () => {
  const lua = await newLua({ instructionLimit: 100000 });
  await rejectsWith(lua.compute('while true do pcall(function() while true do end end) end'), 'INSTRUCTION_LIMIT');
  await rejectsWith(
    lua.compute('local ok, e repeat ok, e = pcall(function() for i = 1, math.huge do end end) until false'),
    'INSTRUCTION_LIMIT',
  );
  await rejectsWith(
    lua.compute('while true do xpcall(function() while true do end end, function(m) return m end) end'),
    'INSTRUCTION_LIMIT',
  );
  await rejectsWith(
    lua.compute('local co = coroutine.wrap(function() while true do end end) while true do pcall(co) end'),
    'INSTRUCTION_LIMIT',
  );
  assert.equal(await lua.compute('return "alive"'), 'alive');
  lua.close();
});

test('LUA_EXIT from os.exit', async () => {
  const lua = await newLua();
  for (const src of ['os.exit()', 'os.exit(0)', 'os.exit(3)', 'os.exit(true)', 'os.exit(false)', 'pcall(os.exit, 1)']) {
    const e = await rejectsWith(lua.compute(src), 'LUA_EXIT');
    assert.equal(e.details.status, -6);
    assert.ok(e.suggestion.length > 0);
  }
  lua.close();
});

test('CONVERSION for a result nested deeper than 200 tables', async () => {
  const lua = await newLua();
  const e = await rejectsWith(
    lua.compute('local t = {} local root = t for i = 1, 299 do t[1] = {} t = t[1] end return root'),
    'CONVERSION',
  );
  assert.equal(e.details.status, -7);
  assert.match(e.suggestion, /200/);
  await rejectsWith(lua.compute('local t = {} local root = t for i = 1, 200 do t.x = {} t = t.x end return root'), 'CONVERSION');
  assert.deepEqual(await lua.compute('return {1}'), [1]);
  lua.close();
});

test('every error is a CuError with a suggestion', async () => {
  const lua = await newLua({ instructionLimit: 1e6 });
  const cases = {
    LUA_SYNTAX: 'return +',
    LUA_RUNTIME: 'return nil .. 1',
    LUA_MEMORY: 'local t = {} while true do t[#t + 1] = ("x"):rep(1000) .. #t end',
    INSTRUCTION_LIMIT: 'while true do end',
    LUA_EXIT: 'os.exit()',
    CONVERSION: 'local t = {} t[1] = {} local r = t for i = 1, 300 do r = {r} end return r',
  };
  for (const [code, src] of Object.entries(cases)) {
    const e = await rejectsWith(lua.compute(src), code);
    assert.ok(e instanceof CuError);
    assert.ok(e.suggestion.length > 10, code);
    assert.equal(typeof e.details.status, 'number');
  }
  lua.close();
});
