// persist.test.mjs: functions and values as bytes through the built module: serialize /
// deserialize across instances, loadBytecode through the validator, persistFunction and
// `Memory`, and every failure with its stable code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newLua } from './helpers.mjs';

test('serialize → deserialize carries a closure and its upvalues to another instance', async () => {
  const a = await newLua();
  const b = await newLua();
  const bytes = await a.serialize('local n = 10 return function() n = n + 1 return n end');
  assert.ok(bytes instanceof Uint8Array && bytes.length > 20);
  await b.deserialize(bytes, 'counter');
  assert.deepEqual(await b.computeAll('return counter(), counter()'), [11, 12]);
  a.close();
  b.close();
});

test('serialize keeps shared tables, cycles, metatables and standard C functions', async () => {
  const lua = await newLua();
  const bytes = await lua.serialize(`
    local t = { name = 'x' } t.self = t
    local shared = { 1, 2 }
    return setmetatable({ t = t, a = shared, b = shared, sin = math.sin, f = function(x) return string.format('%d', x) end },
                        { __index = function() return 'dflt' end })`);
  await lua.deserialize(bytes, 'v');
  assert.deepEqual(
    await lua.computeAll('return v.t.self == v.t, v.a == v.b, v.sin == math.sin, v.f(42), v.missing'),
    [true, true, true, '42', 'dflt'],
  );
  lua.close();
});

test('values that cannot be persisted fail with NOT_SERIALIZABLE naming the path', async () => {
  const lua = await newLua();
  await assert.rejects(lua.serialize('return { cfg = { out = io.stdout } }'), (e) => e.code === 'NOT_SERIALIZABLE' && /cfg/.test(e.message));
  await assert.rejects(lua.serialize('return coroutine.create(print)'), (e) => e.code === 'NOT_SERIALIZABLE');
  await assert.rejects(lua.serialize('return +'), (e) => e.code === 'LUA_SYNTAX');
  assert.equal(await lua.compute('return 1'), 1);
  lua.close();
});

test('deserialize rejects damaged or foreign bytes with BAD_DATA', async () => {
  const lua = await newLua();
  const bytes = await lua.serialize('return { 1, 2, 3, s = "hello" }');
  const damaged = bytes.slice();
  damaged[damaged.length - 1] ^= 0xff;
  await assert.rejects(lua.deserialize(damaged, 'x'), (e) => e.code === 'BAD_DATA');
  await assert.rejects(lua.deserialize(new TextEncoder().encode('not a Cu value'), 'x'), (e) => e.code === 'BAD_DATA');
  await assert.rejects(lua.deserialize(bytes.subarray(0, 10), 'x'), (e) => e.code === 'BAD_DATA');
  await lua.deserialize(bytes, 'x');
  assert.equal(await lua.compute('return x.s .. #x'), 'hello3');
  lua.close();
});

test('loadBytecode validates a Lua 5.4 binary chunk and refuses a crafted one', async () => {
  const lua = await newLua();
  const chunk = await lua.compute('return string.dump(function(a, b) local s = 0 for i = a, b do s = s + i end return s end)');
  assert.ok(chunk instanceof Uint8Array);
  await lua.loadBytecode(chunk, 'sum');
  assert.equal(await lua.compute('return sum(1, 10)'), 55);
  const bad = chunk.slice(0, chunk.length - 5);
  await assert.rejects(lua.loadBytecode(bad, 'sum2'), (e) => e.code === 'BAD_BYTECODE' && /rule/.test(e.message));
  await assert.rejects(lua.loadBytecode(new TextEncoder().encode('return 1'), 'src'), (e) => e.code === 'BAD_BYTECODE');
  assert.equal(await lua.compute('return sum2 == nil and src == nil'), true);
  lua.close();
});

test('persistFunction stores a function in Memory; Memory.f = function does the same', async () => {
  const lua = await newLua();
  await lua.persistFunction('Memory', 'calculate', 'function(x, y) return x * y + math.sin(x) end', { compress: true, validate: true });
  assert.equal(await lua.compute('return Memory.calculate(5, 3)'), 5 * 3 + Math.sin(5));
  await lua.compute('local k = 2 Memory.double = function(x) return x * k end');
  assert.equal(await lua.compute('return Memory.double(21) + _home.double(1)'), 44);
  await assert.rejects(lua.compute('Memory.h = io.stdout'), (e) => e.code === 'LUA_RUNTIME' && /Memory\.h/.test(e.message));
  await assert.rejects(lua.persistFunction('Memory', 'n', '42'), (e) => e.code === 'NOT_A_FUNCTION');
  await assert.rejects(lua.persistFunction('Memory', 'bad', 'function( end'), (e) => e.code === 'LUA_SYNTAX');
  // Any table path works (created when missing); a path through a value is NOT_A_TABLE.
  await lua.persistFunction('Memory.fns', 'f', 'function() return 7 end');
  assert.equal(await lua.compute('return ext.table("fns").f()'), 7);
  await assert.rejects(lua.persistFunction('calculate.x', 'f', 'function() end'), (e) => e.code === 'NOT_A_TABLE');
  assert.equal(await lua.compute('return Memory.n == nil and Memory.bad == nil'), true);
  lua.close();
});

/** Lua 5.4 stripped dump of one function: the offset of its code (after the 31-byte
 * header, the upvalue count, the source, linedefined, lastlinedefined, 3 bytes and the
 * code size; sizes are varints whose last byte has bit 7 set). */
function codeStart(dump) {
  let p = 32;
  const varint = () => { while (!(dump[p++] & 0x80)); };
  varint(); varint(); varint();
  p += 3;
  varint();
  return p;
}

/** A copy of `dump` with the first instruction of opcode `from` turned into opcode `to`. */
function patchFirst(dump, from, to) {
  const out = dump.slice();
  for (let p = codeStart(dump); p + 4 <= out.length; p += 4) {
    if ((out[p] & 0x7f) === from) {
      out[p] = (out[p] & 0x80) | to;
      return out;
    }
  }
  throw new Error('opcode not found');
}

test("Lua's own load(string.dump(f)) round trip works; a crafted chunk is refused, not run", async () => {
  const lua = await newLua();
  assert.deepEqual(
    await lua.computeAll(`
      local up = 5
      local f = function(x) return x + up end
      local g = load(string.dump(f))
      debug.setupvalue(g, 1, 7)
      return g(1), #string.dump(f, true) < #string.dump(f)`),
    [8, true],
  );
  // FORPREP turned into a jump into the loop body (the shape that escaped wasmoon).
  const dump = await lua.compute('return string.dump(function() local s = 0 for i = 1, 3 do s = s + i end return s end, true)');
  const patched = patchFirst(dump, 73 /* OP_FORPREP */, 56 /* OP_JMP */);
  const literal = Array.from(patched, (b) => '\\' + b).join('');
  const [ok, message] = await lua.computeAll(`local f, err = load("${literal}", 'x', 'b') return f == nil, err`);
  assert.equal(ok, true);
  assert.match(message, /bad bytecode: rule [a-z-]+ at main/);
  assert.equal(await lua.compute('return 1 + 1'), 2);
  lua.close();
});

test('serialize options: keepDebugInfo keeps line numbers, compress: false and compressThreshold', async () => {
  const lua = await newLua();
  const code = 'return function()\n  error("boom")\nend';
  await lua.deserialize(await lua.serialize(code, { keepDebugInfo: true }), 'withLines');
  await lua.deserialize(await lua.serialize(code), 'stripped');
  await assert.rejects(lua.compute('withLines()'), (e) => /:2: boom/.test(e.message));
  // Stripped: no line to report, so error() adds no position.
  await assert.rejects(lua.compute('stripped()'), (e) => e.message === 'boom');
  const big = 'return string.rep("compressible ", 1000)';
  const packed = await lua.serialize(big);
  const plain = await lua.serialize(big, { compress: false });
  assert.ok(packed.length < plain.length / 10, `${packed.length} vs ${plain.length}`);
  await lua.deserialize(packed, 'a');
  await lua.deserialize(plain, 'b');
  assert.equal(await lua.compute('return a == b and #a'), 13000);
  // The threshold (default 1 KiB): a 300-byte body is stored plain by default, deflated
  // with compressThreshold 100; header byte 5 bit 0 says which (docs/FORMAT.md).
  const mid = 'return string.rep("ab", 150)';
  assert.equal((await lua.serialize(mid))[5] & 1, 0);
  const small = await lua.serialize(mid, { compressThreshold: 100 });
  assert.equal(small[5] & 1, 1);
  await lua.deserialize(small, 'c');
  assert.equal(await lua.compute('return #c'), 300);
  await assert.rejects(lua.serialize(mid, { compressThreshold: -1 }), (e) => e.code === 'BAD_ARGUMENT');
  await assert.rejects(lua.serialize(mid, { compressThreshold: 1.5 }), (e) => e.code === 'BAD_ARGUMENT');
  await assert.rejects(lua.serialize(42), (e) => e.code === 'BAD_ARGUMENT');
  await assert.rejects(lua.deserialize('text', 'x'), (e) => e.code === 'BAD_ARGUMENT');
  await assert.rejects(lua.loadBytecode(new Uint8Array(4), 7), (e) => e.code === 'BAD_ARGUMENT');
  lua.close();
});
