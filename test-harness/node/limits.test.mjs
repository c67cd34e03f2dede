// limits.test.mjs: Lua's C recursion limit (LUAI_MAXCCALLS) must stop every deep C
// recursion with Lua's own error before the module's 256 KiB shadow stack runs out, and
// the instance must keep working afterwards. Each pattern recurses past the limit through a
// different C path (pattern matching, formatting, sorting, coroutines, the parser, ...).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newLua, rejectsWith } from './helpers.mjs';

const N = 400; // deeper than LUAI_MAXCCALLS (200)

const patterns = {
  'gsub callback': `local function f(n) if n == 0 then return 'y' end return (string.gsub('x', 'x', function() return f(n - 1) end)) end return pcall(f, ${N})`,
  'gsub with captures': `local function r(n) if n == 0 then return 0 end return string.gsub('abc', '(a)(b)(c)', function() return r(n - 1) end) end return pcall(r, ${N})`,
  'format %s with __tostring': `local mt = {} mt.__tostring = function(t) if t.n == 0 then return 'z' end return string.format('%s', setmetatable({ n = t.n - 1 }, mt)) end return pcall(tostring, setmetatable({ n = ${N} }, mt))`,
  'sort comparator': `local function s(n) local t = { 3, 1, 2 } table.sort(t, function(a, b) if n > 0 then s(n - 1) end return a < b end) end return pcall(s, ${N})`,
  'coroutine.wrap': `local function g(n) if n == 0 then return 0 end return coroutine.wrap(g)(n - 1) end return pcall(g, ${N})`,
  'load reader': `local function h(n) if n == 0 then return 0 end return load(function() h(n - 1) return nil end) end return pcall(h, ${N})`,
  '__index function': `local t = setmetatable({}, { __index = function(t, k) return t[k] end }) return pcall(function() return t.x end)`,
  '__concat': `local function c(n) if n == 0 then return 0 end return setmetatable({}, { __concat = function() return c(n - 1) end }) .. 'x' end return pcall(c, ${N})`,
  '__eq': `local function e(n) if n == 0 then return 0 end local mt = { __eq = function() return e(n - 1) end } return setmetatable({}, mt) == setmetatable({}, mt) end return pcall(e, ${N})`,
  'require loop': `package.preload.m = function() return require('m') end return pcall(require, 'm')`,
  'xpcall traceback': `local function f(n) return n == 0 and '' or 'x' .. select(2, xpcall(f, debug.traceback, n - 1)) end return #f(${N})`,
  'nested tables in source': `return load('return ' .. string.rep('{', ${N}) .. string.rep('}', ${N}))`,
  'nested functions in source': `return load(string.rep('function f() ', ${N}) .. string.rep('end ', ${N}))`,
  'nested parentheses': `return load('return ' .. string.rep('(', ${N}) .. '1' .. string.rep(')', ${N}))`,
  'nested blocks': `return load(string.rep('do ', ${N}) .. string.rep('end ', ${N}))`,
  'chained unary operators': `return load('return ' .. string.rep('- ', ${N}) .. '1')`,
  'long concatenation': `return load('local a = 1 ' .. string.rep('a = a .. ', ${N}) .. 'a')`,
};

for (const [name, src] of Object.entries(patterns)) {
  test(`C recursion through ${name} ends in a Lua error, not a trap`, async () => {
    const lua = await newLua({ heapSize: 8 << 20 });
    try {
      await lua.computeAll(src).catch((e) => assert.notEqual(e.code, 'INSTANCE_DEAD', e.message));
      assert.equal(await lua.compute('return 1 + 1'), 2);
    } finally {
      await lua.close();
    }
  });
}

test('the C-stack limit error is the one native Lua gives', async () => {
  const lua = await newLua();
  const [ok, msg] = await lua.computeAll(patterns['__index function']);
  assert.equal(ok, false);
  assert.match(msg, /stack overflow/);
  await lua.close();
});

test('Lua-to-Lua recursion exhausts the fixed heap cleanly', async () => {
  const lua = await newLua();
  await assert.rejects(lua.compute('local function f() return f() + 1 end return f()'), (e) => e.code === 'LUA_MEMORY' || /stack overflow/.test(e.message));
  assert.equal(await lua.compute('return 3'), 3);
  await lua.close();
});

test('a finalizer that loops forever is stopped by the budget (in a call, in gc, on close)', async () => {
  const lua = await newLua({ instructionLimit: 1e5 });
  const looping = 'setmetatable({}, { __gc = function() while true do end end })';
  await rejectsWith(lua.compute(looping + ' collectgarbage() return 1'), 'INSTRUCTION_LIMIT');
  await lua.compute(looping);
  await lua.gc();
  assert.equal(await lua.compute('return 1 + 1'), 2);
  await lua.compute(looping);
  await lua.close();
});
