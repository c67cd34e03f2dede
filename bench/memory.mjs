// memory.mjs: linear memory of a Cu instance, fresh and after a typical workload (a page
// script that builds a 1,000-record table, formats and filters it, prints 200 lines and
// returns a 50 KB string and a 300-row result table), with the default 512 KiB heap.
// Prints bytes; docs/PERFORMANCE.md records them. Run: node bench/memory.mjs
import { CuWASM } from '../glue.js';

let memory;
const original = WebAssembly.instantiate;
WebAssembly.instantiate = async (...args) => {
  const result = await original.apply(WebAssembly, args);
  memory = (result.instance ?? result).exports.memory;
  return result;
};
const lua = await CuWASM.init({ onPrint: () => {}, storage: 'memory' });
WebAssembly.instantiate = original;
const fresh = memory.buffer.byteLength;

const typical = `
local users = {}
for i = 1, 1000 do users[i] = { id = i, name = 'user' .. i, age = 18 + i % 60, score = i * 1.5 } end
local adults, lines = {}, {}
for _, u in ipairs(users) do
  if u.age >= 30 then adults[#adults + 1] = u end
end
table.sort(adults, function(a, b) return a.score > b.score end)
for i = 1, 200 do print(string.format('%5d %-10s %3d %8.2f', adults[i].id, adults[i].name, adults[i].age, adults[i].score)) end
local rows = {}
for i = 1, 300 do rows[i] = { adults[i].id, adults[i].name } end
return string.rep('x', 50000), rows`;
await lua.computeAll(typical);
await lua.computeAll(typical);
const stats = await lua.stats();
const after = memory.buffer.byteLength;
console.log(JSON.stringify({ fresh, afterTypicalWorkload: after, heapPeak: stats.heapPeak, heapSize: stats.heapSize }));
lua.close();
