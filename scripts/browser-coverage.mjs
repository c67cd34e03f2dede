#!/usr/bin/env node
// browser-coverage.mjs: line coverage of the JS that runs in the browser (glue.js, idb.js,
// compat.js if a page loads it, playground/*.js), measured in Chromium.
//
//   node scripts/browser-coverage.mjs [--node] [--keep] [--from DIR] [--node-from DIR]
//
// 1. Runs the browser suites (test-harness/browser/*.test.mjs) in Chromium only
//    (CU_ENGINES=chromium for engines.test.mjs; the other suites are Chromium-only), one
//    file at a time, with CU_BROWSER_COVERAGE=<a temporary directory>: every page they open
//    collects V8's precise (block) coverage, written as raw entries by
//    test-harness/browser/browser.mjs. Not seen: Web Workers (worker.test.mjs's glue.js runs
//    in workers, which playwright's page.coverage does not cover) and browsers killed on
//    purpose (storage.test.mjs's crash trials).
//    --from DIR reads the entries of an earlier run from DIR instead of running the suites.
// 2. --node also runs the Node suites (test-harness/node/*.test.mjs) with NODE_V8_COVERAGE
//    (or reads such a directory: --node-from DIR) and reports glue.js, compat.js and
//    file-store.js from Node, and glue.js from Node and the browser together.
// 3. Converts each entry to lines and merges them: a line counts if it has a non-blank
//    character; it is covered when the innermost V8 range holding its first non-blank
//    character has a count above 0 (comment lines count as the code around them, as in
//    Node's and c8's reports); across entries (pages, reloads, runs) a line is covered if
//    any entry covered it. An entry whose source differs from the file in the repository
//    is left out, and said so.
// Prints a table: file, lines, covered, %, uncovered lines. --keep keeps the raw entries
// (their directories are printed). Exits 0, or 1 if a suite failed (the table is still
// printed) or no coverage was collected.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const value = (name) => {
  const i = args.indexOf(name);
  return i < 0 ? null : args[i + 1];
};
for (const a of args) {
  if (a.startsWith('--') && !['--node', '--keep', '--from', '--node-from'].includes(a)) {
    console.error(`unknown option ${a}\nusage: node scripts/browser-coverage.mjs [--node] [--keep] [--from DIR] [--node-from DIR]`);
    process.exit(2);
  }
}

const testFiles = (dir) =>
  readdirSync(join(ROOT, dir)).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => join(dir, f));

let failed = false;
/** Runs `files` under node --test, one file at a time, with `env` added. */
function runSuites(files, env) {
  console.log(`\n# node --test --test-concurrency=1 ${files.join(' ')}  (${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')})`);
  const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], {
    cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env },
  });
  if (r.status !== 0) {
    failed = true;
    console.error(`# the suites failed (exit ${r.status ?? r.signal}): the figures below may be short`);
  }
}

const temps = [];
const temp = (prefix) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
};

// 1. and 2.: the raw coverage.
let browserDir = value('--from');
if (!browserDir) {
  browserDir = temp('cu-browser-coverage-');
  runSuites(testFiles('test-harness/browser'), { CU_BROWSER_COVERAGE: browserDir, CU_ENGINES: 'chromium' });
}
let nodeDir = value('--node-from');
if (!nodeDir && flag('--node')) {
  nodeDir = temp('cu-node-coverage-');
  runSuites(testFiles('test-harness/node'), { NODE_V8_COVERAGE: nodeDir });
}

/** Browser entries: { path, source, functions } from the JSON files browser.mjs wrote. */
function browserEntries(dir) {
  const out = [];
  for (const f of existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : []) {
    for (const e of JSON.parse(readFileSync(join(dir, f), 'utf8'))) {
      out.push({ path: new URL(e.url).pathname.slice(1), source: e.source, functions: e.functions });
    }
  }
  return out;
}

/** Node entries for the repository's own top-level modules, from NODE_V8_COVERAGE files. */
function nodeEntries(dir) {
  const out = [];
  const base = pathToFileURL(ROOT).href;
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    for (const e of JSON.parse(readFileSync(join(dir, f), 'utf8')).result ?? []) {
      if (!e.url.startsWith(base)) continue;
      const path = e.url.slice(base.length);
      if (!/^(glue|idb|compat|file-store)\.js$/.test(path)) continue;
      out.push({ path, source: null, functions: e.functions });
    }
  }
  return out;
}

/** The lines of `source` that count (1-based), each with its first non-blank offset. */
function countable(source) {
  const lines = [];
  let offset = 0;
  source.split('\n').forEach((text, i) => {
    const m = /\S/.exec(text);
    if (m) lines.push([i + 1, offset + m.index]);
    offset += text.length + 1;
  });
  return lines;
}

/** Lines of one entry covered (a Set), by the innermost range holding each line's start. */
function coveredLines(lines, functions) {
  const ranges = functions.flatMap((f) => f.ranges);
  const covered = new Set();
  for (const [line, at] of lines) {
    let best = null;
    for (const r of ranges) {
      // Ranges nest; the innermost is the shortest (a later one on a tie: a block range
      // after its function's).
      if (r.startOffset <= at && at < r.endOffset && (!best || r.endOffset - r.startOffset <= best.endOffset - best.startOffset)) best = r;
    }
    if (best && best.count > 0) covered.add(line);
  }
  return covered;
}

const sources = new Map();
const repoSource = (path) => {
  if (!sources.has(path)) sources.set(path, existsSync(join(ROOT, path)) ? readFileSync(join(ROOT, path), 'utf8') : null);
  return sources.get(path);
};

/** Merges `entries` into Map path -> { lines: [[line, offset]], covered: Set, entries }. */
function merge(entries, label) {
  const files = new Map();
  let stale = 0;
  for (const e of entries) {
    const source = repoSource(e.path);
    if (source === null || (e.source != null && e.source !== source)) {
      stale++;
      continue;
    }
    let f = files.get(e.path);
    if (!f) files.set(e.path, (f = { lines: countable(source), covered: new Set(), entries: 0 }));
    f.entries++;
    for (const l of coveredLines(f.lines, e.functions)) f.covered.add(l);
  }
  if (stale) console.log(`# ${label}: ${stale} entries left out (their source is not the repository's file)`);
  return files;
}

// "1-3, 7, 9-12"
const spans = (nums) => {
  const out = [];
  for (const n of nums) {
    const last = out[out.length - 1];
    if (last && last[1] === n - 1) last[1] = n;
    else out.push([n, n]);
  }
  return out.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(', ');
};

const rows = [];
function row(name, f) {
  const total = f.lines.length;
  const hit = f.lines.filter(([l]) => f.covered.has(l)).length;
  const missed = f.lines.map(([l]) => l).filter((l) => !f.covered.has(l));
  rows.push([name, total, hit, total ? ((100 * hit) / total).toFixed(2) + '%' : '-', spans(missed) || '-']);
  return { total, hit };
}

// 3.: the table.
const browser = merge(browserEntries(browserDir), 'browser');
const playground = readdirSync(join(ROOT, 'playground')).filter((f) => f.endsWith('.js')).sort().map((f) => `playground/${f}`);
const empty = (path) => ({ lines: countable(repoSource(path)), covered: new Set(), entries: 0 });
for (const path of ['idb.js', 'glue.js', 'compat.js']) {
  if (browser.has(path) || path != 'compat.js') row(`${path} (browser)`, browser.get(path) ?? empty(path));
}
let pgTotal = 0, pgHit = 0;
for (const path of playground) {
  const { total, hit } = row(`${path} (browser)`, browser.get(path) ?? empty(path));
  pgTotal += total;
  pgHit += hit;
}
rows.push(['playground/*.js together', pgTotal, pgHit, ((100 * pgHit) / pgTotal).toFixed(2) + '%', '']);
if (nodeDir) {
  const node = merge(nodeEntries(nodeDir), 'node');
  for (const path of ['glue.js', 'compat.js', 'file-store.js']) if (node.has(path)) row(`${path} (Node)`, node.get(path));
  const a = browser.get('glue.js'), b = node.get('glue.js');
  if (a && b) row('glue.js (Node + browser)', { lines: a.lines, covered: new Set([...a.covered, ...b.covered]) });
}

const width = rows[0].map((_, i) => Math.max(...[['file', 'lines', 'covered', '%'][i] ?? '', ...rows.map((r) => String(r[i]))].map((s) => s.length)));
const line = (r) => r.map((c, i) => (i == 4 ? String(c) : i == 0 ? String(c).padEnd(width[i]) : String(c).padStart(width[i]))).join('  ');
console.log(`\nLine coverage (${new Date().toISOString().slice(0, 10)}; browser entries from ${relative(process.cwd(), browserDir) || '.'}${nodeDir ? `, Node from ${nodeDir}` : ''}):\n`);
console.log(line(['file', 'lines', 'covered', '%', 'uncovered lines']));
for (const r of rows) console.log(line(r));

if (flag('--keep')) console.log(`\n# raw coverage kept in ${temps.join(' and ')}`);
else for (const d of temps) rmSync(d, { recursive: true, force: true });
if (!browser.size) {
  console.error('no browser coverage was collected');
  process.exit(1);
}
process.exit(failed ? 1 : 0);
