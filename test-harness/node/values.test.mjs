// values.test.mjs: every wire value type, as it reaches JS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newLua } from './helpers.mjs';

const lua = await newLua({ heapSize: 4 << 20 });
const one = (src) => lua.compute(src);
const all = (src) => lua.computeAll(src);

test('nil, booleans', async () => {
  assert.equal(await one('return nil'), null);
  assert.equal(await one('return'), undefined);
  assert.deepEqual(await all('return nil'), [null]);
  assert.deepEqual(await all('return nil, nil'), [null, null]);
  assert.deepEqual(await all('return 1, nil, 3'), [1, null, 3]);
  assert.equal(await one('return true'), true);
  assert.equal(await one('return false'), false);
});

test('compute returns only the first value', async () => {
  assert.equal(await one('return 1, 2, 3'), 1);
  assert.deepEqual(await all('return 1, "two", 3.5, true'), [1, 'two', 3.5, true]);
});

test('integers: Number within ±(2^53−1), BigInt beyond', async () => {
  assert.equal(await one('return 0'), 0);
  assert.ok(Object.is(await one('return 0'), 0));
  assert.equal(await one('return -7'), -7);
  assert.equal(await one('return 2^53 // 1 | 0'), 2n ** 53n); // 2^53 as an integer
  assert.equal(await one('return (1 << 53) - 1'), Number.MAX_SAFE_INTEGER);
  assert.equal(await one('return -((1 << 53) - 1)'), Number.MIN_SAFE_INTEGER);
  assert.equal(await one('return 1 << 53'), 2n ** 53n);
  assert.equal(await one('return -(1 << 53)'), -(2n ** 53n));
  assert.equal(await one('return (1 << 53) + 1'), 2n ** 53n + 1n);
  assert.equal(await one('return math.maxinteger'), 2n ** 63n - 1n);
  assert.equal(await one('return math.mininteger'), -(2n ** 63n));
  assert.equal(typeof (await one('return (1 << 53) - 1')), 'number');
  assert.equal(typeof (await one('return 1 << 53')), 'bigint');
});

test('floats, including -0.0, NaN and infinities', async () => {
  assert.equal(await one('return 3.25'), 3.25);
  assert.equal(await one('return 1.0'), 1);
  assert.equal(await one('return 2^53'), 2 ** 53); // a float stays a Number
  assert.equal(typeof (await one('return 2^63')), 'number');
  assert.ok(Object.is(await one('return -0.0'), -0));
  assert.ok(Number.isNaN(await one('return 0/0')));
  assert.equal(await one('return math.huge'), Infinity);
  assert.equal(await one('return -math.huge'), -Infinity);
  assert.equal(await one('return 0.1 + 0.2'), 0.1 + 0.2);
  assert.equal(await one('return 5e-324'), 5e-324);
  assert.equal(await one('return 1.7976931348623157e308'), Number.MAX_VALUE);
});

test('strings: UTF-8 → string, invalid UTF-8 → Uint8Array copy', async () => {
  assert.equal(await one('return ""'), '');
  assert.equal(await one('return "héllo, wörld ✓ 𝄞"'), 'héllo, wörld ✓ 𝄞');
  assert.equal(await one('return "a\\0b"'), 'a\0b');
  assert.equal(await one('return "\\u{FEFF}bom"'), '\uFEFFbom'); // a leading BOM is kept
  const bad = await one('return "ab\\xff\\xfe"');
  assert.ok(bad instanceof Uint8Array);
  assert.deepEqual([...bad], [0x61, 0x62, 0xff, 0xfe]);
  assert.equal(bad.byteOffset, 0);
  assert.equal(bad.buffer.byteLength, 4); // a copy, not a view into a bigger buffer
  const surrogate = await one('return "\\xed\\xa0\\x80"'); // an encoded surrogate is not UTF-8
  assert.ok(surrogate instanceof Uint8Array);
  const bytes = await one('local t = {} for i = 0, 255 do t[#t + 1] = string.char(i) end return table.concat(t)');
  assert.ok(bytes instanceof Uint8Array);
  assert.deepEqual([...bytes], [...Array(256).keys()]);
});

test('JS strings reach Lua as UTF-8', async () => {
  assert.equal(await one('return #"é✓𝄞"'), 2 + 3 + 4);
  assert.equal(await one('return "é✓𝄞"'), 'é✓𝄞');
});

test('arrays and maps', async () => {
  assert.deepEqual(await one('return {1, 2, 3}'), [1, 2, 3]);
  assert.deepEqual(await one('return {"a", true, 1.5}'), ['a', true, 1.5]);
  assert.deepEqual(await one('return {}'), {});
  assert.deepEqual(await one('return {x = 1, y = "two"}'), { x: 1, y: 'two' });
  assert.deepEqual(await one('return {[2] = "b", [3] = "c"}'), { 2: 'b', 3: 'c' });
  assert.deepEqual(await one('return {1, 2, x = 3}'), { 1: 1, 2: 2, x: 3 });
  assert.deepEqual(await one('return {[1.5] = "f", [true] = "t", [-1] = "m"}'), { '1.5': 'f', true: 't', '-1': 'm' });
  assert.deepEqual(await one('return {[1 << 60] = 1}'), { [String(2n ** 60n)]: 1 });
  assert.deepEqual(await one('return {[0] = "z"}'), { 0: 'z' });
  const m = await one('return {a = 1}');
  assert.equal(Object.getPrototypeOf(m), Object.prototype); // a plain object
  assert.ok(Array.isArray(await one('return {1}')));
});

test('a "__proto__" key is an own property, not a prototype change', async () => {
  const m = await one('return {__proto__ = {polluted = true}, ok = 1}');
  assert.equal(Object.getPrototypeOf(m), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(m, '__proto__').value, { polluted: true });
  assert.equal({}.polluted, undefined);
});

test('nested tables', async () => {
  const v = await one(`return {
    list = {1, {2, {3, {4}}}},
    map = {a = {b = {c = "deep"}}},
    mixed = {{x = 1}, {x = 2}},
  }`);
  assert.deepEqual(v, {
    list: [1, [2, [3, [4]]]],
    map: { a: { b: { c: 'deep' } } },
    mixed: [{ x: 1 }, { x: 2 }],
  });
  const depth200 = await one('local t = {} local root = t for i = 1, 199 do t[1] = {} t = t[1] end return root');
  let d = 0;
  for (let t = depth200; Array.isArray(t) || (t && typeof t === 'object'); t = t[0]) d++;
  assert.equal(d, 200);
});

test('shared tables arrive as the same JS object', async () => {
  const v = await one('local shared = {n = 1} return {a = shared, b = shared, list = {shared, shared}}');
  assert.equal(v.a, v.b);
  assert.equal(v.list[0], v.a);
  assert.equal(v.list[1], v.a);
  assert.deepEqual(v.a, { n: 1 });
  const [x, y] = await all('local t = {1} return t, t');
  assert.equal(x, y);
});

test('cycles are preserved', async () => {
  const v = await one('local t = {name = "self"} t.self = t return t');
  assert.equal(v.self, v);
  assert.equal(v.name, 'self');
  const a = await one('local a, b = {}, {} a.b = b b.a = a a[1] = a return a');
  assert.equal(a.b.a, a);
  assert.equal(a[1], a);
  const arr = await one('local t = {} t[1] = t return t');
  assert.ok(Array.isArray(arr));
  assert.equal(arr[0], arr);
});

test('opaque values: functions, userdata, threads, light userdata', async () => {
  const f = await one('return print');
  assert.equal(f.type, 'function');
  assert.match(f.repr, /^function: /);
  assert.equal(String(f), f.repr);
  assert.equal(`${f}`, f.repr);
  assert.ok(Object.isFrozen(f));
  assert.deepEqual(Object.keys(f).sort(), ['repr', 'type']);
  const g = await one('return function() end');
  assert.equal(g.type, 'function');
  assert.match(g.repr, /^function: 0x[0-9a-f]+$/);
  const co = await one('return coroutine.create(function() end)');
  assert.equal(co.type, 'thread');
  assert.match(String(co), /^thread: /);
  const u = await one('return io.stdout');
  assert.equal(u.type, 'userdata');
  assert.match(u.repr, /^userdata: 0x[0-9a-f]+$/); // raw: no __tostring or __name
  const light = await one('local x = 1 local function f() return x end return debug.upvalueid(f, 1)');
  assert.equal(light.type, 'lightuserdata');
  assert.match(light.repr, /^userdata: 0x[0-9a-f]+$/);
  const withTostring = await one('return setmetatable({}, {__tostring = function() return "T" end})');
  assert.deepEqual(withTostring, {}); // a table, read raw: not opaque
  const list = await one('return {print, 1}');
  assert.equal(list[0].type, 'function');
  assert.equal(list[1], 1);
});

test('metamethods are not used when converting', async () => {
  const v = await one(`
    local t = setmetatable({1, 2}, {
      __index = function() return "meta" end,
      __pairs = function() error("pairs must not be called") end,
      __len = function() return 99 end,
    })
    return t`);
  assert.deepEqual(v, [1, 2]);
});

test('large values', async () => {
  const arr = await one('local t = {} for i = 1, 20000 do t[i] = i * 2 end return t');
  assert.equal(arr.length, 20000);
  assert.equal(arr[19999], 40000);
  const map = await one('local t = {} for i = 1, 5000 do t["k" .. i] = i end return t');
  assert.equal(Object.keys(map).length, 5000);
  assert.equal(map.k4321, 4321);
});
