#!/usr/bin/env node
// bench/run.mjs: Cu against native Lua 5.4 and wasmoon, in one run, in Node.
//
// Every workload is a Lua script in bench/workloads/, the same text for every engine. It
// times its own body with os.clock() and returns "<ms>|<checksum>", so start-up, compiling
// the chunk and crossing into JS are left out alike on every engine; the checksum (computed
// outside the timed part) must match native Lua's. For Cu and wasmoon the wall-clock time
// around the whole compute/doString call is reported as well.
//
// Engines:
//   native        lua5.4 (Debian), one process per workload, chunk loaded afresh each run
//   Cu            dist/cu.wasm through glue.js, heapSize 64 MiB, the default instructionLimit
//   Cu (no limit) the same with instructionLimit: 0 (no per-call budget)
//   wasmoon       the npm devDependency
// Each engine gets a fresh state per workload, runs it --warmup times unmeasured (so V8 has
// tiered up the wasm code), then --runs times; the median is reported. The runs of a
// workload go round-robin over the engines, so background load hurts them all alike; the
// load average is printed, with a warning when the machine was busy.
//
// Usage: node bench/run.mjs [--runs N] [--warmup N] [--quick] [--only id,id]
//   Defaults: --runs 5 --warmup 1; --quick is --runs 1 (the warm-up run stays: without it
//   the wasm engines are timed on V8's baseline code). Writes bench/results.json.
//   Targets are shown, not asserted: every workload <= 1.3x native (pcall-heavy <= 2x) and
//   faster than wasmoon.

import { readFileSync, writeFileSync, readdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { tmpdir, cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

// ---------------------------------------------------------------- options
const usage = 'usage: node bench/run.mjs [--runs N] [--warmup N] [--quick] [--only id,id]';
const opts = { runs: 5, warmup: 1, only: null };
{
  const args = process.argv.slice(2);
  const int = (i) => {
    const n = Number(args[i]);
    if (!Number.isInteger(n) || n < 0) {
      console.error(`${args[i - 1]} needs a whole number\n${usage}`);
      process.exit(2);
    }
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--runs') opts.runs = int(++i);
    else if (a === '--warmup') opts.warmup = int(++i);
    else if (a === '--quick') Object.assign(opts, { runs: 1, warmup: 1 });
    else if (a === '--only') opts.only = (args[++i] || '').split(',').filter(Boolean);
    else if (a === '--help' || a === '-h') {
      console.log(usage);
      process.exit(0);
    } else {
      console.error(`unknown option ${a}\n${usage}`);
      process.exit(2);
    }
  }
  if (opts.runs < 1) opts.runs = 1;
}

// ---------------------------------------------------------------- workloads
const WORKLOADS = [
  { id: 'fib', title: 'fib(30) recursive' },
  { id: 'table', title: '200k-entry table build + sum' },
  { id: 'format', title: '100k string.format + concat' },
  { id: 'method', title: '1e6 metatable method calls' },
  { id: 'dump', title: '10k string.dump + load' },
  { id: 'pcall', title: '200k pcall + 20k errors', pcallHeavy: true },
];
{
  const files = readdirSync(join(here, 'workloads')).filter((f) => f.endsWith('.lua'));
  for (const f of files) {
    const id = f.slice(0, -4);
    if (!WORKLOADS.some((w) => w.id === id)) WORKLOADS.push({ id, title: id });
  }
}
const workloads = WORKLOADS.filter((w) => !opts.only || opts.only.includes(w.id)).map((w) => ({
  ...w,
  src: readFileSync(join(here, 'workloads', `${w.id}.lua`), 'utf8'),
}));
if (!workloads.length) {
  console.error(`no workload matches --only ${opts.only}`);
  process.exit(2);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** "<ms>|<checksum>" from a workload → { ms, checksum }. */
function parseResult(value) {
  const text = typeof value === 'string' ? value : String(value);
  const bar = text.indexOf('|');
  const ms = Number(text.slice(0, bar));
  if (bar < 0 || !Number.isFinite(ms)) throw new Error(`unexpected result ${JSON.stringify(text)}`);
  return { ms, checksum: text.slice(bar + 1) };
}

const oneLine = (e) => String((e && e.message) || e).split('\n')[0].trim();

// ---------------------------------------------------------------- engines
// An engine: { key, name, available, version | note, open(workload) -> session }, where a
// session is a fresh Lua state with { run() -> { ms, wallMs, checksum }, close() }. The runs
// of one workload go round-robin over the engines, so a noisy machine hurts all alike.

function nativeEngine() {
  const probe = spawnSync('lua5.4', ['-v'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    return { key: 'native', name: 'native', available: false, note: 'lua5.4 not found (apt-get install lua5.4)' };
  }
  const version = (probe.stdout || probe.stderr).trim().split(/\s+Copyright/)[0];
  const dir = mkdtempSync(join(tmpdir(), 'cu-bench-'));
  const driver = join(dir, 'driver.lua');
  // One process per workload: each line on stdin runs the chunk, loaded afresh as
  // compute/doString do, and answers one line.
  writeFileSync(driver, `
local path, name = arg[1], arg[2]
local f = assert(io.open(path, "rb"))
local src = f:read("a")
f:close()
for _ in io.lines() do
  local ok, r = pcall(function() return assert(load(src, "=" .. name))() end)
  io.write(ok and "OK\\t" or "ERROR\\t", (tostring(r):gsub("\\n", " ")), "\\n")
  io.flush()
end
`);
  return {
    key: 'native',
    name: 'native',
    available: true,
    version,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
    async open(w) {
      const file = join(here, 'workloads', `${w.id}.lua`);
      const child = spawn('lua5.4', [driver, file, w.id], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      return {
        async run() {
          child.stdin.write('\n');
          const { value, done } = await lines.next();
          if (done) throw new Error(`lua5.4 exited: ${stderr.trim() || 'no output'}`);
          const tab = value.indexOf('\t');
          if (value.slice(0, tab) !== 'OK') throw new Error(value.slice(tab + 1));
          return { ...parseResult(value.slice(tab + 1)), wallMs: null };
        },
        close() {
          child.stdin.end();
          child.kill();
        },
      };
    },
  };
}

async function cuEngines() {
  const wasmPath = join(root, 'dist', 'cu.wasm');
  const gluePath = join(root, 'glue.js');
  const missing = [wasmPath, gluePath].filter((p) => !existsSync(p));
  const defs = [
    { key: 'cu', name: 'Cu', extra: {} },
    { key: 'cuNoLimit', name: 'Cu (no limit)', extra: { instructionLimit: 0 } },
  ];
  if (missing.length) {
    const note = `${missing.map((p) => p.slice(root.length + 1)).join(' and ')} missing (bash scripts/build.sh)`;
    return defs.map((d) => ({ key: d.key, name: d.name, available: false, note }));
  }
  const { CuWASM } = await import(pathToFileURL(gluePath).href);
  const bytes = readFileSync(wasmPath);
  const module = await WebAssembly.compile(bytes);
  const lua = /Lua 5\.\d+\.\d+/.exec(bytes.toString('latin1'));
  const version = `dist/cu.wasm ${bytes.length.toLocaleString('en-US')} bytes${lua ? `, ${lua[0]}` : ''}`;
  return defs.map((d) => ({
    key: d.key,
    name: d.name,
    available: true,
    version,
    async open(w) {
      const lua = await CuWASM.init({
        heapSize: 64 << 20,
        onPrint: () => {},
        wasm: module,
        storage: 'memory',
        ...d.extra,
      });
      return {
        run: () => timed(() => lua.compute(w.src, { chunkName: `=${w.id}` })),
        close: () => lua.close(),
      };
    },
  }));
}

async function wasmoonEngine() {
  let mod;
  try {
    mod = await import('wasmoon');
  } catch (e) {
    return { key: 'wasmoon', name: 'wasmoon', available: false, note: `wasmoon not installed (npm ci): ${oneLine(e)}` };
  }
  let version = '?';
  try {
    version = JSON.parse(readFileSync(join(root, 'node_modules', 'wasmoon', 'package.json'), 'utf8')).version;
  } catch {}
  const factory = new mod.LuaFactory();
  return {
    key: 'wasmoon',
    name: 'wasmoon',
    available: true,
    version,
    async open(w) {
      const engine = await factory.createEngine();
      return {
        run: () => timed(() => engine.doString(w.src)),
        close: () => engine.global.close(),
      };
    },
  };
}

/** Times one call's wall clock and parses the workload's own result. */
async function timed(call) {
  const t0 = performance.now();
  const value = await call();
  const wallMs = performance.now() - t0;
  return { ...parseResult(value), wallMs };
}

// ---------------------------------------------------------------- run
const engines = [nativeEngine(), ...(await cuEngines()), await wasmoonEngine()];
const cpu = cpus();
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const load0 = load();
console.log(`# Cu benchmark\n`);
console.log(`node ${process.version}; ${cpu.length} × ${cpu[0] ? cpu[0].model.trim() : '?'}; load average ${load0}`);
for (const e of engines) {
  console.log(`${e.name}: ${e.available ? e.version : `unavailable: ${e.note}`}`);
}
console.log(`runs: ${opts.runs} measured (median) after ${opts.warmup} warm-up run(s), round-robin over the engines`);

const results = [];
for (const w of workloads) {
  const row = { id: w.id, title: w.title, engines: {} };
  const live = [];
  for (const e of engines.filter((x) => x.available)) {
    try {
      live.push({ e, session: await e.open(w), samples: [], walls: [], checksum: null });
    } catch (err) {
      row.engines[e.key] = { error: oneLine(err), code: err && err.code };
    }
  }
  const t0 = performance.now();
  for (let i = 0; i < opts.warmup + opts.runs; i++) {
    for (const x of live) {
      if (x.error) continue;
      try {
        const r = await x.session.run();
        if (i < opts.warmup) continue;
        x.samples.push(r.ms);
        if (r.wallMs !== null) x.walls.push(r.wallMs);
        x.checksum = r.checksum;
      } catch (err) {
        x.error = err;
      }
    }
  }
  for (const x of live) {
    try {
      await x.session.close();
    } catch {}
    row.engines[x.e.key] = x.error
      ? { error: oneLine(x.error), code: x.error.code }
      : {
          ms: median(x.samples),
          wallMs: x.walls.length ? median(x.walls) : null,
          samples: x.samples,
          walls: x.walls.length ? x.walls : null,
          checksum: x.checksum,
        };
  }
  process.stderr.write(`  ${w.id}: ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  results.push(row);
}
for (const e of engines) e.cleanup?.();
const loadAfter = load();

// ---------------------------------------------------------------- report
const TARGET_NATIVE = 1.3;
const TARGET_NATIVE_PCALL = 2;
/** An error for a table cell: without the repeated "chunk:line:" prefixes, at most 60 chars. */
const shortError = (e) => {
  const text = e.replace(/^(?:[^\s:]+:\d+: )+/, '');
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};
const fmtMs = (r) => (!r ? 'n/a' : r.error ? `refused: ${shortError(r.error)}` : r.ms.toFixed(1));
const fmtWall = (r) => (!r ? 'n/a' : r.error ? 'refused' : r.wallMs.toFixed(1));
const ratio = (a, b) => (a && b && !a.error && !b.error && b.ms > 0 ? a.ms / b.ms : null);
const notes = [];

const rows = results.map((row) => {
  const w = workloads.find((x) => x.id === row.id);
  const { native, cu, cuNoLimit, wasmoon } = row.engines;
  // The ratios are Cu's (default limit); when that failed, Cu (no limit)'s, marked †.
  const cuForRatio = cu && !cu.error ? cu : cuNoLimit && !cuNoLimit.error ? cuNoLimit : null;
  const dagger = cuForRatio && cuForRatio === cuNoLimit ? '†' : '';
  const rn = ratio(cuForRatio, native);
  const rw = ratio(cuForRatio, wasmoon);
  const limit = w.pcallHeavy ? TARGET_NATIVE_PCALL : TARGET_NATIVE;
  row.ratios = { cuOverNative: rn, cuOverWasmoon: rw, nativeTarget: limit };
  row.targets = {
    native: rn === null ? null : rn <= limit,
    wasmoon: rw === null ? null : rw < 1,
  };
  for (const [k, r] of Object.entries(row.engines)) {
    if (k !== 'native' && native && !native.error && r && !r.error && r.checksum !== native.checksum) {
      notes.push(`checksum mismatch: ${row.id} on ${k} gave ${r.checksum}, native ${native.checksum}`);
      row.engines[k].checksumMismatch = true;
    }
  }
  const mark = (ok) => (ok === null ? '' : ok ? ' ✓' : ' ✗');
  return [
    row.title,
    fmtMs(native),
    fmtMs(cu),
    fmtMs(cuNoLimit),
    fmtMs(wasmoon),
    rn === null ? 'n/a' : `${rn.toFixed(2)}×${dagger}${mark(row.targets.native)}`,
    rw === null ? 'n/a' : `${rw.toFixed(2)}×${dagger}${mark(row.targets.wasmoon)}`,
  ];
});

function markdown(headers, body, right) {
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((r) => String(r[i]).length)));
  const cell = (c, i) => (right.includes(i) ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]));
  const line = (r) => `| ${r.map(cell).join(' | ')} |`;
  return [
    line(headers),
    `|${widths.map((w, i) => (right.includes(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`,
    ...body.map(line),
  ].join('\n');
}

console.log('\n## body time (os.clock inside the script), median ms\n');
console.log(
  markdown(
    ['workload', 'native ms', 'Cu ms', 'Cu (no limit) ms', 'wasmoon ms', 'Cu/native', 'Cu/wasmoon'],
    rows,
    [1, 2, 3, 4, 5, 6],
  ),
);
console.log(
  `\ntargets (shown, not asserted): Cu/native ≤ ${TARGET_NATIVE}× (pcall-heavy ≤ ${TARGET_NATIVE_PCALL}×), ` +
    'Cu/wasmoon < 1×; ✓ met, ✗ missed; † ratio from Cu (no limit) because Cu failed',
);

console.log('\n## wall clock around the compute/doString call, median ms\n');
console.log(
  markdown(
    ['workload', 'Cu ms', 'Cu (no limit) ms', 'wasmoon ms'],
    results.map((row) => [row.title, fmtWall(row.engines.cu), fmtWall(row.engines.cuNoLimit), fmtWall(row.engines.wasmoon)]),
    [1, 2, 3],
  ),
);
if (loadavg()[0] > 0.5) {
  notes.push(`the machine was busy (load average ${load0} before, ${loadAfter} after): timings are noisy`);
}
if (notes.length) {
  console.log('');
  for (const n of notes) console.log(`WARNING ${n}`);
}

const json = {
  date: new Date().toISOString(),
  options: { runs: opts.runs, warmup: opts.warmup },
  machine: { cpus: cpu.length, model: cpu[0] ? cpu[0].model.trim() : null, loadBefore: load0, loadAfter },
  versions: Object.fromEntries([
    ['node', process.version],
    ...engines.map((e) => [e.key, e.available ? e.version : `unavailable: ${e.note}`]),
  ]),
  targets: { cuOverNative: TARGET_NATIVE, cuOverNativePcallHeavy: TARGET_NATIVE_PCALL, cuOverWasmoon: 1 },
  workloads: results,
  warnings: notes,
};
const out = join(here, 'results.json');
writeFileSync(out, JSON.stringify(json, null, 2) + '\n');
console.log(`\nwrote ${out.slice(root.length + 1)}`);
