// lua-scripts.test.mjs: runs every test-harness/lua/*.lua script, each in a fresh instance
// (8 MiB heap, chunk name '@' + file name). A script passes when it runs without error;
// its print output is shown only when it fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { newLua } from './helpers.mjs';

const dir = fileURLToPath(new URL('../lua/', import.meta.url));
let files = [];
try {
  files = readdirSync(dir).filter((f) => f.endsWith('.lua')).sort();
} catch {}

test('test-harness/lua holds Lua test scripts', () => {
  assert.ok(files.length > 0, `no *.lua files in ${dir}`);
});

for (const file of files) {
  test(file, async () => {
    const lua = await newLua({ heapSize: 8 << 20 });
    try {
      await lua.compute(readFileSync(dir + file, 'utf8'), { chunkName: '@' + file });
    } catch (e) {
      const output = lua.printed.map(([stream, text]) => (stream === 'stderr' ? '[stderr] ' : '') + text).join('\n');
      const where = e.details?.traceback ? `\n${e.details.traceback}` : '';
      throw new Error(`${file}: ${e.code ?? ''} ${e.message}${where}${output ? `\n--- output ---\n${output}` : ''}`);
    } finally {
      lua.close();
    }
  });
}
