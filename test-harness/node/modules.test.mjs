// modules.test.mjs: Lua modules stored in the database (issue 7) and JS values into Lua,
// through dist/cu.wasm: saveModule/require/modules/getModule/deleteModule, nested requires,
// package.loaded caching and replacement, errors (syntax at save, runtime in a module with
// its line, a missing module, bad names), transactions, persistence across reopen (file
// store, named memory store); setGlobal for every value kind and its refusals; compute and
// computeAll with args.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newLua, rejectsWith } from './helpers.mjs';
import { fileStore } from '../../file-store.js';

test('saveModule, require, modules, getModule and deleteModule', async () => {
  const lua = await newLua();
  assert.deepEqual(await lua.modules(), []);
  assert.equal(await lua.getModule('util'), undefined);
  const util = 'local M = {}\nfunction M.double(x) return 2 * x end\nMemory.loads = (Memory.loads or 0) + 1\nreturn M';
  assert.equal(await lua.saveModule('util', util), undefined);
  await lua.saveModule('app.main', "local u = require('util') return { run = function(x) return u.double(x) end, name = ... }");
  await lua.saveModule('été', 'return "unicode"');
  assert.deepEqual(await lua.modules(), ['app.main', 'util', 'été']);
  assert.equal(await lua.getModule('util'), util);
  // Nested requires; the module runs with the globals and Memory.
  assert.deepEqual(await lua.computeAll("local m, extra = require('app.main') return m.run(21), m.name, extra, Memory.loads"), [42, 'app.main', ':stored:', 1]);
  assert.equal(await lua.compute("return require('été')"), 'unicode');
  // package.loaded caches a module within the instance ...
  assert.equal(await lua.compute("return require('util') == package.loaded.util and Memory.loads"), 1);
  // ... and saveModule of a loaded name clears it: the next require runs the new source.
  await lua.saveModule('util', 'return { double = function(x) return 3 * x end }');
  assert.deepEqual(await lua.computeAll("return package.loaded.util == nil, require('util').double(2)"), [true, 6]);
  // A module that required the old one keeps what it got.
  assert.equal(await lua.compute("return require('app.main').run(1)"), 2);
  assert.equal(await lua.deleteModule('été'), true);
  assert.equal(await lua.deleteModule('été'), false);
  assert.deepEqual(await lua.modules(), ['app.main', 'util']);
  // Modules are not data: no trace in Memory, keys() or the change set.
  assert.deepEqual(await lua.keys('Memory'), ['loads']);
  assert.ok((await lua.takeChanges()).every((c) => c.table == 'Memory'));
  lua.close();
});

test('errors: syntax at save, runtime in a module with its line, a missing module, bad names', async () => {
  const lua = await newLua();
  const syntax = await rejectsWith(lua.saveModule('broken', 'local x = 1\nreturn +'), 'LUA_SYNTAX');
  assert.match(syntax.message, /^broken:2: /);
  assert.equal(syntax.details.line, 2);
  assert.equal(syntax.details.chunkName, '@broken');
  assert.deepEqual(await lua.modules(), []);
  await lua.saveModule('boom', "local M = {}\n\nerror('exploded')\nreturn M");
  const runtime = await rejectsWith(lua.compute("require('boom')"), 'LUA_RUNTIME');
  assert.match(runtime.message, /^boom:3: exploded/);
  assert.equal(runtime.details.line, 3);
  assert.match(runtime.details.traceback, /in function 'require'/);
  const missing = await rejectsWith(lua.compute("require('nowhere')"), 'LUA_RUNTIME');
  assert.match(missing.message, /module 'nowhere' not found:\n\tno field package.preload\['nowhere'\]\n\tno stored module 'nowhere'/);
  for (const name of ['', 'x'.repeat(256), 'a\0b']) await rejectsWith(lua.saveModule(name, 'return 1'), 'BAD_ARGUMENT');
  for (const name of [5, null, undefined, {}]) {
    await rejectsWith(lua.saveModule(name, 'return 1'), 'BAD_ARGUMENT');
    await rejectsWith(lua.getModule(name), 'BAD_ARGUMENT');
    await rejectsWith(lua.deleteModule(name), 'BAD_ARGUMENT');
  }
  await rejectsWith(lua.getModule(''), 'BAD_ARGUMENT');
  await rejectsWith(lua.deleteModule('x'.repeat(256)), 'BAD_ARGUMENT');
  for (const source of [5, null, new Uint8Array(2)]) await rejectsWith(lua.saveModule('m', source), 'BAD_ARGUMENT');
  // 255 bytes is the longest name (UTF-8 bytes: 127 two-byte letters and one more byte).
  const longest = 'é'.repeat(127) + 'x';
  await lua.saveModule(longest, 'return 255');
  assert.equal(await lua.compute(`return require('${longest}')`), 255);
  await rejectsWith(lua.saveModule('é'.repeat(128), 'return 1'), 'BAD_ARGUMENT');
  // A large module travels through the buffer in pieces like any request.
  const big = 'local t = {}\n' + 't[#t + 1] = "a line of a long module"\n'.repeat(5000) + 'return #t';
  await lua.saveModule('big', big);
  assert.equal(await lua.getModule('big'), big);
  assert.equal(await lua.compute("return require('big')"), 5000);
  // After all of that the instance works and kept what was committed.
  assert.deepEqual(await lua.modules(), ['big', 'boom', longest]);
  lua.close();
});

test('circular requires behave as in Lua', async () => {
  const lua = await newLua();
  await lua.saveModule('a', "return require('b')");
  await lua.saveModule('b', "return require('a')");
  const e = await lua.compute("require('a')").catch((e) => e);
  assert.ok(['LUA_RUNTIME', 'LUA_MEMORY'].includes(e.code), e.message);
  await lua.saveModule('a', "local M = { name = 'a' } package.loaded.a = M M.b = require('b') return M");
  await lua.saveModule('b', "return { a = require('a') }");
  assert.equal(await lua.compute("local a = require('a') return a.b.a == a"), true);
  lua.close();
});

test('ext.saveModule in a failing compute leaves nothing; ext functions from Lua', async () => {
  const lua = await newLua();
  await lua.compute("ext.saveModule('kept', 'return 1')");
  await rejectsWith(lua.compute("ext.saveModule('lost', 'return 2') ext.deleteModule('kept') error('undo')"), 'LUA_RUNTIME');
  assert.deepEqual(await lua.modules(), ['kept']);
  assert.deepEqual(await lua.computeAll("local n = ext.modules() return n, require('kept')"), [['kept'], 1, ':stored:']);
  const syntax = await rejectsWith(lua.compute("ext.saveModule('bad', 'return +')"), 'LUA_RUNTIME');
  assert.match(syntax.message, /bad:1:/);
  await rejectsWith(lua.compute("ext.saveModule('', 'return 1')"), 'LUA_RUNTIME');
  assert.equal(await lua.compute("return ext.deleteModule('kept')"), true);
  assert.deepEqual(await lua.modules(), []);
  lua.close();
});

test('modules survive reopening: the file store and a named memory store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cu-modules-'));
  try {
    const a = await newLua({ storage: await fileStore(dir, 'db') });
    await a.saveModule('greet', "return function(n) return 'hello ' .. n end");
    await a.saveModule('gone', 'return 0');
    await a.deleteModule('gone');
    await a.close();
    const b = await newLua({ storage: await fileStore(dir, 'db') });
    assert.deepEqual(await b.modules(), ['greet']);
    assert.equal(await b.compute("return require('greet')('file')"), 'hello file');
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const m = await newLua({ storage: 'memory', name: 'modules-mem' });
  await m.saveModule('greet', "return function(n) return 'hi ' .. n end");
  await m.close();
  const n = await newLua({ storage: 'memory', name: 'modules-mem' });
  assert.equal(await n.compute("return require('greet')('memory')"), 'hi memory');
  assert.equal(await n.getModule('greet'), "return function(n) return 'hi ' .. n end");
  n.close();
});

test('setGlobal takes every value kind as setValue does', async () => {
  const lua = await newLua();
  const shared = { x: 1 };
  const kinds = [
    [undefined, 'v == nil'],
    [null, 'v == nil'],
    [true, 'v == true'],
    [false, 'v == false'],
    [42, "math.type(v) == 'integer' and v == 42"],
    [1.5, "math.type(v) == 'float' and v == 1.5"],
    [-0, "math.type(v) == 'float' and 1 / v < 0"],
    [2 ** 53, "math.type(v) == 'float'"],
    [-(2n ** 63n), 'v == math.mininteger'],
    ['héllo', "v == 'h\\u{e9}llo'"],
    [new Uint8Array([0, 255]), "v == '\\0\\xff'"],
    [new Uint8Array([1, 2]).buffer, "v == '\\1\\2'"],
    [[1, , 'three', undefined], "#v == 3 and v[1] == 1 and v[2] == nil and v[3] == 'three'"],
    [[], 'next(v) == nil'],
    [{ a: { b: [true] }, '1': 'string key', u: undefined }, "v.a.b[1] == true and v['1'] == 'string key' and v[1] == nil"],
    [new Map([[1, 'int key'], [2.5, 'float key'], [true, 'bool key'], ['s', null]]), "v[1] == 'int key' and v[2.5] == 'float key' and v[true] == 'bool key'"],
    [[shared, shared], 'v[1] ~= v[2] and v[1].x == 1 and v[2].x == 1'],
  ];
  for (const [value, check] of kinds) {
    await lua.setGlobal('v', value);
    assert.equal(await lua.compute(`return ${check}`), true, check);
  }
  // Globals with any name but Memory and _home; _G's __newindex runs as for `name = value`.
  await lua.setGlobal('with space', 7);
  assert.equal(await lua.compute("return _G['with space']"), 7);
  await lua.compute("setmetatable(_G, { __newindex = function(t, k, v) rawset(t, k, { v }) end })");
  await lua.setGlobal('wrapped', 5);
  assert.equal(await lua.compute('return wrapped[1]'), 5);
  lua.close();
});

test('setGlobal refuses Memory, _home, bad names and values that cannot cross', async () => {
  const lua = await newLua();
  for (const name of ['Memory', '_home', '', 5, null]) await rejectsWith(lua.setGlobal(name, 1), 'BAD_ARGUMENT');
  const cyclic = {};
  cyclic.self = cyclic;
  let deep = 1;
  for (let i = 0; i < 201; i++) deep = [deep];
  for (const value of [() => 1, Symbol('s'), new Date(), new Set(), new Float64Array(1), cyclic, deep, 2n ** 64n, new Map([[null, 1]]), new Map([[NaN, 1]])]) {
    await rejectsWith(lua.setGlobal('x', value), 'BAD_ARGUMENT');
  }
  assert.equal(await lua.compute('return Memory ~= nil and _home == Memory and x == nil'), true);
  lua.close();
});

test('compute and computeAll pass args as the chunk\'s ...', async () => {
  const lua = await newLua();
  assert.deepEqual(await lua.computeAll('return select("#", ...), ...', { args: [1, null, 'two', undefined] }), [4, 1, null, 'two', null]);
  assert.equal(await lua.compute('local t, n = ... return t.list[3] + n', { args: [{ list: [1, 2, 3] }, 2n ** 40n] }), 3 + 2 ** 40);
  assert.equal(await lua.compute('local big = ... return math.type(big) .. big', { args: [2n ** 62n] }), 'integer' + 2n ** 62n);
  assert.equal(await lua.compute('return select("#", ...)', { args: [] }), 0);
  assert.equal(await lua.compute('return select("#", ...)', { args: [, , ,] }), 3);
  assert.equal(await lua.compute('return select("#", ...)'), 0);
  assert.equal(await lua.compute('local s = ... return #s', { args: [new Uint8Array(200000)] }), 200000);
  assert.equal(await lua.compute('return select("#", ...)', { args: Array(4096).fill(1) }), 4096);
  await rejectsWith(lua.compute('return 1', { args: Array(4097).fill(1) }), 'BAD_ARGUMENT');
  // chunkName and args together; errors keep their codes.
  const e = await rejectsWith(lua.compute('local a = ...\nerror(a)', { args: ['from arg'], chunkName: '=named' }), 'LUA_RUNTIME');
  assert.match(e.message, /^named:2: from arg/);
  await rejectsWith(lua.compute('return +', { args: [1] }), 'LUA_SYNTAX');
  for (const args of ['x', 5, { 0: 1 }, [() => 1], [Symbol('s')], [new Set()]]) await rejectsWith(lua.compute('return 1', { args }), 'BAD_ARGUMENT');
  assert.equal(await lua.compute('return 1 + 1'), 2);
  lua.close();
});
