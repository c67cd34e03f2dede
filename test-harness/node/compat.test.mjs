// compat.test.mjs: compat.js, the Cu 2.x API. Ports the examples of the original Cu's README
// (twilson63/cu, v2.0.0: Quick Start, Advanced Usage, API Reference, Best Practices) and
// its io-wrapper's _io example, run as written except where noted. A "reload" is close()
// and load() again on the same named memory store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import cu, * as named from '../../compat.js';
import { CuError } from '../../glue.js';

let n = 0;
const opts = () => ({ storage: 'memory', name: `compat-${process.pid}-${n}` });
// A fresh database for each test; reload() reopens the same one.
async function fresh() {
  await cu.close();
  n++;
  assert.equal(await cu.load(opts()), true);
  assert.equal(cu.init(), 0);
  return cu;
}
async function reload() {
  await cu.close();
  assert.equal(await cu.loadLuaWasm(opts()), true);
  assert.equal(cu.init(), 0);
}

test('Quick Start: a function in _home survives saveState and a reload', async () => {
  const lua = await fresh();
  assert.equal(await lua.compute('return 2 + 2'), 4);
  await lua.compute(`
    function _home.fibonacci(n)
        if n <= 1 then return n end
        return _home.fibonacci(n - 1) + _home.fibonacci(n - 2)
    end
  `);
  assert.equal(await lua.saveState(), true);
  await reload();
  assert.equal(await lua.compute('return _home.fibonacci(10)'), 55);
});

test('npm usage: a string result; data in _home restored after a reload', async () => {
  const lua = await fresh();
  assert.equal(await lua.compute('return "Hello from Lua!"'), 'Hello from Lua!');
  await lua.compute(`
    _home.users = _home.users or {}
    _home.users.user1 = { name = 'Alice', age = 30 }
    _home.users.user2 = { name = 'Bob', age = 25 }
  `);
  await lua.saveState();
  await reload();
  assert.deepEqual(await lua.compute('return _home.users.user1'), { name: 'Alice', age: 30 });
  assert.equal(await lua.compute('return Memory.users.user2.name'), 'Bob'); // the same table
});

test('Function Persistence: functions and a closure keep working, and keep counting after a reload', async () => {
  const lua = await fresh();
  await lua.compute(`
    function _home.taxCalculator(income, deductions)
        local taxable = income - (deductions or 0)
        local brackets = {10000, 50000, 100000}
        local rates = {0.1, 0.2, 0.3, 0.4}
        return taxable * rates[1]
    end
  `);
  await lua.compute(`
    local count = 0
    function _home.counterFactory()
        count = count + 1
        return count
    end
  `);
  await lua.saveState();
  const result = await lua.compute(`
    return {
        tax = _home.taxCalculator(75000, 5000),
        count1 = _home.counterFactory(),
        count2 = _home.counterFactory()
    }
  `);
  assert.deepEqual(result, { tax: 7000, count1: 1, count2: 2 });
  await reload();
  assert.equal(await lua.compute('return _home.counterFactory()'), 3);
});

test('Bulk Data Operations, Querying and Filtering: 1,000 users inserted by generated code, then filtered', async () => {
  const lua = await fresh();
  // The README's data used Math.random; a fixed sequence keeps the test exact.
  const users = Array.from({ length: 1000 }, (_, i) => ({
    id: i, name: `User ${i}`, email: `user${i}@example.com`, score: (i * 37) % 1000,
  }));
  await lua.compute('_home.appUsers = _home.appUsers or {}');
  let insertCode = '_home.appUsers = _home.appUsers or {}\n';
  users.forEach((user) => {
    insertCode += `_home.appUsers.user_${user.id} = {
        id = ${user.id},
        name = "${user.name}",
        email = "${user.email}",
        score = ${user.score}
    }\n`;
  });
  await lua.compute(insertCode);
  assert.equal(await lua.saveState(), true);
  await reload();

  const highScorers = await lua.compute(`
    local results = {}
    for key, user in pairs(_home.appUsers) do
        if user.score >= 800 then
            table.insert(results, user)
        end
    end
    table.sort(results, function(a, b) return a.score > b.score end)
    return results
  `);
  const expected = users.filter((u) => u.score >= 800).sort((a, b) => b.score - a.score);
  assert.equal(highScorers.length, expected.length);
  assert.deepEqual(highScorers.map((u) => u.score), expected.map((u) => u.score));

  const midRangeUsers = await lua.compute(`
    local results = {}
    for key, user in pairs(_home.appUsers) do
        if user.score >= 400 and user.score <= 600 then
            table.insert(results, user)
        end
    end
    return results
  `);
  assert.equal(midRangeUsers.length, users.filter((u) => u.score >= 400 && u.score <= 600).length);

  const emailResults = await lua.compute(`
    local results = {}
    for key, user in pairs(_home.appUsers) do
        if string.match(user.email, "example") then
            table.insert(results, user)
        end
    end
    return results
  `);
  assert.equal(emailResults.length, 1000);
});

test('Data Analysis: functions in _home used on generated data (unpack is table.unpack in Lua 5.4)', async () => {
  const lua = await fresh();
  await lua.compute(`
    function _home.average(values)
        local sum = 0
        for _, v in ipairs(values) do sum = sum + v end
        return sum / #values
    end

    function _home.median(values)
        table.sort(values)
        local n = #values
        if n % 2 == 0 then
            return (values[n/2] + values[n/2 + 1]) / 2
        else
            return values[(n + 1) / 2]
        end
    end

    function _home.stdev(values)
        local avg = _home.average(values)
        local sum = 0
        for _, v in ipairs(values) do
            sum = sum + (v - avg)^2
        end
        return math.sqrt(sum / #values)
    end
  `);
  // The original README wrote unpack(scores), a Lua 5.1 global that Lua 5.4 (its and ours)
  // does not have; table.unpack is the 5.4 name.
  const analysis = await lua.compute(`
    local scores = {}
    for i = 1, 100 do
        scores[i] = math.random(100, 1000)
    end

    return {
        average = _home.average(scores),
        median = _home.median(scores),
        stdev = _home.stdev(scores),
        min = math.min(table.unpack(scores)),
        max = math.max(table.unpack(scores))
    }
  `);
  assert.ok(analysis.min >= 100 && analysis.max <= 1000 && analysis.min <= analysis.median && analysis.median <= analysis.max);
  assert.ok(analysis.average >= analysis.min && analysis.average <= analysis.max && analysis.stdev > 0);
  await lua.compute('function _home.add(a, b) return a + b end'); // as the original's analysis functions: kept
  await lua.saveState();
  await reload();
  assert.equal(await lua.compute('return _home.median({5, 1, 3})'), 3);
});

test('Lua Table Access Patterns: direct access, iteration, filtering', async () => {
  const lua = await fresh();
  await lua.compute(`_home.users = { user1 = { name = 'Ann', status = 'active' },
                                   user2 = { name = 'Ben', status = 'away' },
                                   user3 = { name = 'Cid', status = 'active' } }`);
  assert.deepEqual(await lua.compute('return _home.users.user1'), { name: 'Ann', status: 'active' });
  const userCount = await lua.compute(`
    local count = 0
    for key, user in pairs(_home.users) do
        count = count + 1
    end
    return count
  `);
  assert.equal(userCount, 3);
  const results = await lua.compute(`
    local active = {}
    for key, user in pairs(_home.users) do
        if user.status == "active" then
            table.insert(active, user)
        end
    end
    table.sort(active, function(a, b) return a.name < b.name end)
    return active
  `);
  assert.deepEqual(results.map((u) => u.name), ['Ann', 'Cid']);
});

test('Performance Benchmarks snippets: a function, 1,000 stored strings, a query over them', async () => {
  const lua = await fresh();
  await lua.compute(`
    function _home.testFunc(x)
        return x * 2
    end
  `);
  await lua.saveState();
  let code = '_home.bench = {}\n';
  for (let i = 0; i < 1000; i++) code += `_home.bench.key${i} = "value${i}"\n`;
  await lua.compute(code);
  const results = await lua.compute(`
    local results = {}
    for key, value in pairs(_home.bench) do
        if string.match(key, "key5") then
            table.insert(results, {key = key, value = value})
        end
    end
    return results
  `);
  assert.equal(results.length, 111); // key5, key50..59, key500..599
  assert.equal(await lua.compute('return _home.testFunc(21)'), 42);
});

test('Best Practices: errors reject (try/catch), getMemoryStats, runGc, default _home tables', async () => {
  const lua = await fresh();
  await assert.rejects(lua.compute('return _home.getValue("key")'), (e) => e instanceof CuError && e.code == 'LUA_RUNTIME' && e instanceof Error);
  await assert.rejects(lua.compute('return +'), (e) => e.code == 'LUA_SYNTAX' && e.details.line == 1);
  await assert.rejects(lua.compute(''), (e) => e.code == 'BAD_ARGUMENT');
  await lua.compute(`
    _home.config = _home.config or {}
    _home.data = _home.data or {}
    _home.cache = _home.cache or {}
  `);
  assert.deepEqual(await lua.compute('local t = {} for k in pairs(_home) do t[#t + 1] = k end table.sort(t) return t'), ['cache', 'config', 'data']);
  const before = lua.getMemoryStats();
  assert.equal(before.total, 512 * 1024);
  assert.ok(before.used > 0 && before.used < before.total && before.free == before.total - before.used, JSON.stringify(before));
  await lua.compute('local junk = {} for i = 1, 2000 do junk[i] = {i} end');
  assert.ok(lua.getMemoryStats().used > before.used); // garbage not collected yet
  assert.equal(lua.runGc(), true);
  await lua.compute('return 1');
  assert.ok(lua.getMemoryStats().used < before.used + 64 * 1024, JSON.stringify(lua.getMemoryStats()));
});

test('_io (io-wrapper.js computeWithIo): structured input in, structured output out', async () => {
  const lua = await fresh();
  assert.equal(await lua.compute('return type(_io)'), 'table');
  lua.clearIo();
  lua.setInput({ user: { firstName: 'Alice', lastName: 'Smith', age: 30 } });
  lua.setMetadata({ requestId: 'r-1' });
  const value = await lua.compute(`
    local user = _io.input.user
    _io.output = {
      fullName = user.firstName .. " " .. user.lastName,
      isAdult = user.age >= 18,
      request = _io.meta.requestId
    }
    return 'done'
  `);
  assert.equal(value, 'done');
  assert.deepEqual(lua.getOutput(), { fullName: 'Alice Smith', isAdult: true, request: 'r-1' });
  // Stream processing: batches through _io.input, one output each.
  const outputs = [];
  const data = Array.from({ length: 25 }, (_, i) => ({ id: i }));
  for (let i = 0; i < data.length; i += 10) {
    lua.setInput({ batch: data.slice(i, i + 10), batchIndex: i / 10 });
    await lua.compute(`
      local results = {}
      for i, item in ipairs(_io.input.batch) do results[i] = { id = item.id, processed = true } end
      _io.output = results
    `);
    outputs.push(lua.getOutput());
  }
  assert.deepEqual(outputs.map((o) => o.length), [10, 10, 5]);
  assert.deepEqual(outputs[2][4], { id: 24, processed: true });
  // RPC style: a global handler called by name.
  await lua.compute(`
    function calculateStats(params)
      local sum = 0
      for _, v in ipairs(params.data) do sum = sum + v end
      return { sum = sum, count = #params.data }
    end
  `);
  lua.setInput({ method: 'calculateStats', params: { data: [1, 2, 3, 4, 5] } });
  await lua.compute('_io.output = _G[_io.input.method](_io.input.params)');
  assert.deepEqual(lua.getOutput(), { sum: 15, count: 5 });
  lua.clearIo();
  await lua.compute('return _io.input');
  assert.equal(lua.getOutput(), null);
  // _io is not persisted: it is per instance, like Cu 2.x's I/O table.
  lua.setInput({ a: 1 });
  await lua.compute('_io.output = _io.input.a');
  await reload();
  assert.equal(await lua.compute('return _io.input'), null); // nil as a result is null (as from computeAll)
  assert.equal(lua.getOutput(), null);
});

test('LuaWASM.init, named exports, loadState, errors before load and bad options', async () => {
  await cu.close();
  assert.throws(() => cu.init(), (e) => e instanceof CuError && e.code == 'NOT_INITIALIZED');
  await assert.rejects(cu.compute('return 1'), (e) => e.code == 'NOT_INITIALIZED');
  assert.throws(() => cu.getMemoryStats(), (e) => e.code == 'NOT_INITIALIZED');
  n++;
  await assert.rejects(named.load({ ...opts(), autoRestore: false }), (e) => e.code == 'BAD_ARGUMENT');
  await assert.rejects(named.load('cu.wasm'), (e) => e.code == 'BAD_ARGUMENT');
  await assert.rejects(named.load({ ...opts(), memorySize: -1 }), (e) => e.code == 'BAD_ARGUMENT');
  const api = await named.LuaWASM.init({ ...opts(), memorySize: 1 << 20, compression: false });
  assert.equal(api, cu);
  assert.equal(cu.getMemoryStats().total, 1 << 20);
  assert.equal(await cu.load(), true); // loaded already: the same instance
  assert.equal(named.compute, cu.compute);
  assert.equal(named.loadLuaWasm, cu.load);
  assert.equal(cu.instance.constructor.name, 'CuWASM');
  await cu.instance.setValue('users', 'u1', { name: 'Ann' }); // Cu 3's API on the same data
  assert.equal(await cu.compute('return _home.users.u1.name'), 'Ann');
  // Another instance writes; loadState reads it.
  const { CuWASM } = await import('../../glue.js');
  const other = await CuWASM.init(opts());
  await other.compute('_home.note = "from another tab"');
  await other.close();
  assert.equal(await cu.loadState(), true);
  assert.equal(await cu.compute('return _home.note'), 'from another tab');
  await cu.close();
  assert.equal(await cu.saveState(), false); // as Cu 2.x: false, the error kept
  assert.equal(cu.lastError.code, 'NOT_INITIALIZED');
});
