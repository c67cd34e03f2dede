// output.test.mjs: print, io.write and io.stderr reaching onPrint, line by line, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newLua, rejectsWith } from './helpers.mjs';

test('print delivers whole lines without the newline', async () => {
  const lua = await newLua();
  await lua.compute("print('a'); print('b')");
  assert.deepEqual(lua.printed, [['stdout', 'a'], ['stdout', 'b']]);
  lua.close();
});

test('print formats its arguments with tabs; empty lines are kept', async () => {
  const lua = await newLua();
  await lua.compute("print(1, 'x', nil, true, 2.5) print() print('')");
  assert.deepEqual(lua.lines(), ['1\tx\tnil\ttrue\t2.5', '', '']);
  lua.close();
});

test('io.write: partial lines are joined; the remainder is flushed at the end of the call', async () => {
  const lua = await newLua();
  await lua.compute("io.write('x')");
  assert.deepEqual(lua.printed, [['stdout', 'x']]);
  lua.printed.length = 0;
  await lua.compute("io.write('a', 'b') io.write('c\\nd') io.write('\\n\\ne\\n')");
  assert.deepEqual(lua.lines(), ['abc', 'd', '', 'e']);
  lua.printed.length = 0;
  await lua.compute("io.write('one') io.write(' two') io.stdout:write(' three')");
  assert.deepEqual(lua.lines(), ['one two three']);
  lua.close();
});

test('partial lines do not carry over to the next call', async () => {
  const lua = await newLua();
  await lua.compute("io.write('first')");
  await lua.compute("io.write('second\\n')");
  assert.deepEqual(lua.lines(), ['first', 'second']);
  lua.close();
});

test('stderr is a separate stream', async () => {
  const lua = await newLua();
  await lua.compute("print('out 1') io.stderr:write('err 1\\n') print('out 2') io.stderr:write('err 2')");
  assert.deepEqual(lua.printed, [
    ['stdout', 'out 1'],
    ['stderr', 'err 1'],
    ['stdout', 'out 2'],
    ['stderr', 'err 2'],
  ]);
  lua.close();
});

test('output arrives before the promise settles, also when the call fails', async () => {
  const lua = await newLua({ instructionLimit: 100000 });
  let settled = false;
  const p = lua.compute("print('before error') error('boom')").catch((e) => e);
  p.then(() => (settled = true));
  const e = await p;
  assert.equal(e.code, 'LUA_RUNTIME');
  assert.deepEqual(lua.lines(), ['before error']);
  lua.printed.length = 0;
  await rejectsWith(lua.compute("print('looping') while true do end"), 'INSTRUCTION_LIMIT');
  assert.deepEqual(lua.lines(), ['looping']);
  lua.printed.length = 0;
  await rejectsWith(lua.compute("io.write('bye') os.exit(1)"), 'LUA_EXIT');
  assert.deepEqual(lua.lines(), ['bye']);
  lua.printed.length = 0;
  const v = await lua.compute("print('with result') return 5");
  assert.equal(v, 5);
  assert.deepEqual(lua.lines(), ['with result']);
  assert.ok(settled);
  lua.close();
});

test('onPrint is called before compute resolves', async () => {
  const events = [];
  const lua = await newLua({ onPrint: (text) => events.push('print ' + text) });
  await lua.compute("print('hi')").then(() => events.push('resolved'));
  assert.deepEqual(events, ['print hi', 'resolved']);
  lua.close();
});

test('output of concurrent computes stays in call order', async () => {
  const lua = await newLua();
  const calls = [];
  for (let i = 0; i < 10; i++) calls.push(lua.compute(`for j = 1, 3 do print(${i} .. ":" .. j) end`));
  await Promise.all(calls);
  const expected = [];
  for (let i = 0; i < 10; i++) for (let j = 1; j <= 3; j++) expected.push(`${i}:${j}`);
  assert.deepEqual(lua.lines(), expected);
  lua.close();
});

test('invalid UTF-8 in output is decoded with replacement characters', async () => {
  const lua = await newLua();
  await lua.compute("print('ok \\xff end') print('é✓')");
  assert.deepEqual(lua.lines(), ['ok \uFFFD end', 'é✓']);
  lua.close();
});

test('lots of output in one call', async () => {
  const lua = await newLua({ heapSize: 4 << 20 });
  await lua.compute("for i = 1, 20000 do print('line ' .. i) end");
  assert.equal(lua.printed.length, 20000);
  assert.deepEqual(lua.printed[19999], ['stdout', 'line 20000']);
  lua.printed.length = 0;
  await lua.compute("io.write(('z'):rep(300000))");
  assert.deepEqual(lua.lines(), ['z'.repeat(300000)]);
  lua.close();
});

test('warnings go to stderr', async () => {
  const lua = await newLua();
  await lua.compute("warn('@on') warn('careful')");
  const err = lua.printed.filter(([s]) => s === 'stderr').map(([, t]) => t).join('\n');
  assert.match(err, /careful/);
  lua.close();
});
