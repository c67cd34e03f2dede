// persist.mjs: the serializer and the bytecode validator through the built module, on a
// function whose stripped bytecode is about 10 KB (the yardstick). Median times of
// each JS call, beside an empty call (`compute('return 1')`, the cost of crossing to the
// module), and the validator's throughput (bytes of chunk / time of loadBytecode minus the
// empty call). docs/PERFORMANCE.md records the results. Run: node bench/persist.mjs
import { CuWASM } from '../glue.js';

const ROUNDS = Number(process.env.ROUNDS || 300);
const lua = await CuWASM.init({ onPrint: () => {}, storage: 'memory' });

// One statement is ~5 instructions and a constant or two: 135 of them give ~10 KB stripped.
const body = Array.from({ length: 135 }, (_, i) => `  t[${i + 1}] = (x * ${i + 3} + y) % ${i + 7} + math.sin(x + ${i}.5)`).join('\n');
const source = `function(x, y)\n  local t = {}\n${body}\n  return t\nend`;
await lua.compute(`f = ${source}`);
const chunk = await lua.compute('return string.dump(f, true)');
const serialized = await lua.serialize('return f');

async function median(fn) {
  for (let i = 0; i < 20; i++) await fn(); // warm up
  const times = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

const empty = await median(() => lua.compute('return 1'));
const rows = {
  'empty call (compute "return 1")': empty,
  'serialize (encode f, 1st result)': await median(() => lua.serialize('return f')),
  'persistFunction (compile, encode, decode, validate, store)': await median(() => lua.persistFunction('Memory', 'g', source)),
  'deserialize (decode, validate, load)': await median(() => lua.deserialize(serialized, 'h')),
  'loadBytecode (validate, load)': await median(() => lua.loadBytecode(chunk, 'k')),
};
const check = await lua.compute('local a, b = f(2, 3), Memory.g(2, 3) local c, d = h(2, 3), k(2, 3) return a[135] == b[135] and a[135] == c[135] and a[135] == d[135]');
if (check !== true) throw new Error('the loaded functions disagree');
const validate = rows['loadBytecode (validate, load)'] - empty;
console.log(`bytecode: ${chunk.length} bytes stripped; serialized: ${serialized.length} bytes; ${ROUNDS} rounds, medians`);
for (const [name, ms] of Object.entries(rows)) {
  console.log(`${name.padEnd(60)} ${ms.toFixed(3).padStart(8)} ms   (${(ms - empty).toFixed(3)} ms over the empty call)`);
}
console.log(`validator + lua_load throughput: ${(chunk.length / 1e6 / (validate / 1e3)).toFixed(1)} MB/s`);
lua.close();
