// docs.test.mjs: the documentation against the code, both ways.
//
// code → docs: every wasm export (scripts/build.sh's list, and dist/cu.wasm's exports) and
// every op and status of the module are in docs/ARCHITECTURE.md's tables; every error code
// (glue.js's SUGGESTIONS, the codes glue.js throws, file-store.js's error codes), every
// public member of CuWASM, every named export of glue.js, idb.js, file-store.js and
// compat.js, every `ext.*` function and every member of compat.js's default export is in
// docs/API.md.
// docs → code: every `lua.x`, `CuWASM.x`, `ext.x` and `cu.x` heading, every error-code row,
// every export row and every op/export/status row names something that exists.
// Then the ```js examples of docs/API.md run, in order, on one instance (storage 'memory';
// a block whose info string says `norun` is skipped; `compat` blocks run when compat.js
// exists). compat.js is skipped with a message while it does not exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CuWASM, CuError, ROOT, WASM_PATH } from './helpers.mjs';
import * as glue from '../../glue.js';

const read = (p) => readFileSync(join(ROOT, p), 'utf8');
const API = read('docs/API.md');
const ARCH = read('docs/ARCHITECTURE.md');
const GLUE = read('glue.js');
const COMPAT = join(ROOT, 'compat.js');
const hasCompat = existsSync(COMPAT);
const NO_COMPAT = 'compat.js does not exist yet: its checks are skipped';

const sorted = (xs) => [...new Set(xs)].sort();
// Both directions at once: names missing from the docs, and names the docs have that the
// code does not.
function same(inCode, inDocs, what) {
  const code = new Set(inCode), docs = new Set(inDocs);
  const undocumented = sorted([...code].filter((x) => !docs.has(x)));
  const removed = sorted([...docs].filter((x) => !code.has(x)));
  assert.deepEqual({ undocumented, removed }, { undocumented: [], removed: [] },
    `${what}: "undocumented" are in the code but not in the docs, "removed" are in the docs but not in the code`);
}
const all = (re, text, group = 1) => [...text.matchAll(re)].map((m) => m[group]);
// The lines of the markdown section that starts with `heading` (up to the next heading of
// its level or higher).
function section(text, heading) {
  const lines = text.split('\n'), i = lines.findIndex((l) => l.trim() == heading);
  assert.ok(i >= 0, `no section "${heading}"`);
  const level = heading.match(/^#+/)[0].length;
  const end = lines.findIndex((l, j) => j > i && /^#+ /.test(l) && l.match(/^#+/)[0].length <= level);
  return lines.slice(i + 1, end < 0 ? undefined : end).join('\n');
}
// `### \`prefix.name(...)\`` and `### \`prefix.name\`` headings.
const headings = (prefix) => all(new RegExp('^###\\s+`' + prefix.replace('.', '\\.') + '(\\w+)[(`]', 'gm'), API);

// SUGGESTIONS of glue.js, in order (not exported: read from the source).
const SUGGESTIONS = (() => {
  const body = GLUE.slice(GLUE.indexOf('const SUGGESTIONS = {'));
  return all(/^\s+([A-Z][A-Z0-9_]*):/gm, body.slice(0, body.indexOf('\n};')));
})();

test('wasm exports: scripts/build.sh and dist/cu.wasm ↔ docs/ARCHITECTURE.md "Exports"', () => {
  const list = read('scripts/build.sh').match(/^exports=\(([^)]*)\)/m);
  assert.ok(list, 'scripts/build.sh has no exports=(...) list');
  const kept = list[1].trim().split(/\s+/);
  const documented = all(/^\| `(\w+)` \|/gm, section(ARCH, '## Exports'));
  same(kept, documented, 'exports kept by scripts/build.sh');
  if (existsSync(WASM_PATH)) {
    const names = WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(WASM_PATH))).map((e) => e.name);
    same(names, documented, 'exports of dist/cu.wasm');
  }
});

test('ops dispatched by the module ↔ docs/ARCHITECTURE.md "Ops"', () => {
  const ops = new Map();
  const walk = (dir) => {
    for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.rs'))
        for (const [, name, n] of read(p).matchAll(/pub const OP_([A-Z_]+): u32 = (\d+);/g)) ops.set(`${n} ${name}`, p);
    }
  };
  walk('core');
  assert.ok(ops.size > 20, 'no ops found in core/');
  const documented = all(/^\| (\d+) \| `([A-Z_]+)` \|/gm, section(ARCH, '### Ops (`cu_call`)'), 0).map((r) => r.replace(/^\| (\d+) \| `([A-Z_]+)` \|$/, '$1 $2'));
  same([...ops.keys()], documented, 'ops (number and name)');
});

test('status codes: core/runtime.rs and glue.js ↔ docs/ARCHITECTURE.md "Status codes"', () => {
  const rs = read('core/runtime.rs');
  const statuses = all(/^\s+\w+ = (-\d+),/gm, rs.slice(rs.indexOf('pub enum Status')));
  assert.ok(statuses.length > 10, 'no statuses found in core/runtime.rs');
  // glue.js maps status -n to the nth code of SUGGESTIONS.
  const code = statuses.map((s) => `${s} ${SUGGESTIONS[-s - 1]}`);
  const documented = all(/^\| (-\d+) \| `([A-Z_]+)` \|/gm, section(ARCH, '### Status codes'), 0).map((r) => r.replace(/^\| (-\d+) \| `([A-Z_]+)` \|$/, '$1 $2'));
  same(code, documented, 'statuses (number and CuError code)');
});

test('error codes: glue.js and file-store.js ↔ docs/API.md tables', () => {
  const thrown = [];
  for (const m of GLUE.matchAll(/(?:new CuError|super)\(([^,]*'[A-Z][A-Z0-9_]*'[^,]*)/g)) thrown.push(...all(/'([A-Z][A-Z0-9_]*)'/g, m[1]));
  assert.ok(thrown.includes('ABORTED'), 'the scan of glue.js found no thrown codes');
  const fileCodes = all(/,\s*'(E[A-Z]+)'\)/g, read('file-store.js'));
  const rows = all(/^\| `([A-Z][A-Z0-9_]*)` \|.*$/gm, API, 0);
  const documented = rows.map((r) => r.match(/^\| `(\w+)`/)[1]);
  same([...SUGGESTIONS, ...thrown, ...fileCodes], documented, 'error codes');
  // The CuError codes' table follows SUGGESTIONS' order and gives each its suggestion.
  assert.deepEqual(documented.filter((c) => SUGGESTIONS.includes(c)), SUGGESTIONS, 'error-code rows out of the order of SUGGESTIONS in glue.js');
  for (const c of SUGGESTIONS) {
    const row = rows.find((r) => r.startsWith('| `' + c + '`'));
    assert.ok(row.includes(new CuError(c, '').suggestion), `the row of ${c} lacks its suggestion: ${new CuError(c, '').suggestion}`);
  }
});

test('CuWASM: public methods and members ↔ `lua.x` / `CuWASM.x` headings of docs/API.md', async () => {
  const methods = Object.getOwnPropertyNames(CuWASM.prototype).filter((n) => n != 'constructor');
  const statics = Object.getOwnPropertyNames(CuWASM).filter((n) => !['length', 'name', 'prototype'].includes(n));
  const lua = await CuWASM.init({ storage: 'memory', onPrint: () => {} });
  const fields = Object.keys(lua);
  await lua.close();
  same([...methods, ...fields], headings('lua.'), 'instance methods and fields of CuWASM');
  same(statics, headings('CuWASM.'), 'static methods of CuWASM');
});

test('named exports of glue.js, idb.js, file-store.js, compat.js ↔ docs/API.md "Package and modules"', async (t) => {
  const rows = all(/^\| `([\w.-]+\.js)` \| `(\w+)` \|/gm, section(API, '## Package and modules'), 0).map((r) => r.match(/`([\w.-]+\.js)` \| `(\w+)`/).slice(1));
  const files = ['glue.js', 'idb.js', 'file-store.js', 'compat.js'];
  same(rows.map(([f]) => f), files, 'modules with exports');
  for (const file of files) {
    const documented = rows.filter(([f]) => f == file).map(([, n]) => n);
    if (file == 'compat.js' && !hasCompat) {
      t.diagnostic(NO_COMPAT);
      continue;
    }
    const names = Object.keys(await import(pathToFileURL(join(ROOT, file)).href));
    same(names, documented, 'exports of ' + file);
  }
});

test('the ext library in Lua ↔ `ext.x` headings of docs/API.md', async () => {
  const lua = await CuWASM.init({ storage: 'memory', onPrint: () => {} });
  const names = await lua.compute('local t = {} for k in pairs(ext) do t[#t+1] = k end table.sort(t) return t');
  await lua.close();
  assert.ok(names.includes('table'));
  same(names, headings('ext.'), 'ext functions');
});

test('compat.js: the default export ↔ `cu.x` headings of docs/API.md', { skip: !hasCompat && NO_COMPAT }, async () => {
  const { default: cu } = await import(pathToFileURL(COMPAT).href);
  assert.ok(cu && typeof cu == 'object', 'compat.js has no default export object');
  const members = new Set(Object.keys(cu));
  for (let o = Object.getPrototypeOf(cu); o && o != Object.prototype; o = Object.getPrototypeOf(o))
    Object.getOwnPropertyNames(o).forEach((n) => n != 'constructor' && !n.startsWith('_') && members.add(n));
  same([...members], headings('cu.'), 'members of compat.js\'s default export');
});

test('README keeps the two commands; relative links in README and docs/ lead to files and headings', () => {
  const readme = read('README.md');
  const two = section(readme, readme.split('\n').find((l) => /^## The two commands/.test(l)));
  assert.ok(two.includes('```sh\nbash .ci/setup && npm run build && npm run serve\n```'), 'README: the build-and-serve command');
  assert.ok(two.includes('```sh\nbash .ci/run\n```'), 'README: the test command');
  // GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
  const slug = (h) => h.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
  const anchors = (file) => new Set(all(/^#+ (.*)$/gm, read(file).replace(/^```[\s\S]*?^```$/gm, '')).map(slug));
  const broken = [];
  for (const file of ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => 'docs/' + f)]) {
    const dir = file.includes('/') ? 'docs' : '.';
    for (const [, target, anchor] of read(file).matchAll(/\]\(([^)#\s]*)(?:#([^)\s]*))?\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      const to = target ? join(dir, target) : file;
      if (!existsSync(join(ROOT, to))) broken.push(`${file} → ${target}`);
      else if (anchor && to.endsWith('.md') && !anchors(to).has(anchor)) broken.push(`${file} → ${target}#${anchor}`);
    }
  }
  assert.deepEqual(broken, [], 'links to missing files or headings');
});

test('every benchmark is in docs/PERFORMANCE.md "How to re-run"', () => {
  const rerun = section(read('docs/PERFORMANCE.md'), '## How to re-run');
  const { scripts } = JSON.parse(read('package.json'));
  const missing = [
    ...Object.keys(scripts).filter((k) => /^bench/.test(k) && !rerun.includes('npm run ' + k + '`') && !rerun.includes('npm run ' + k + ' ')).map((k) => 'npm run ' + k),
    ...readdirSync(join(ROOT, 'bench')).filter((f) => f.endsWith('.mjs') && !rerun.includes('bench/' + f)
      && !Object.entries(scripts).some(([k, v]) => v.includes('bench/' + f) && rerun.includes('npm run ' + k))).map((f) => 'bench/' + f),
  ];
  assert.deepEqual(missing, [], 'benchmarks missing from "How to re-run"');
});

// The examples of docs/API.md: ```js blocks (not `norun`), run in order as async function
// bodies with `lua` (one shared instance, storage 'memory'), CuWASM, CuError, BatchError.
// `import ... from './x.js'` / 'cu-lua...' / 'node:...' lines become dynamic imports. A line
// `expression; // value` whose comment is a JS literal is checked: the expression must give
// that value (deepStrictEqual); other comments are prose.
const SPEC = { 'cu-lua': 'glue.js', 'cu-lua/compat': 'compat.js', 'cu-lua/idb.js': 'idb.js', 'cu-lua/file-store.js': 'file-store.js' };
const AsyncFunction = (async () => {}).constructor;
const parses = (expr) => {
  try {
    new AsyncFunction('return (' + expr + ')');
    return true;
  } catch {
    return false;
  }
};
function runnable(code) {
  const checks = [];
  const source = code.replace(/^import\s+(.+?)\s+from\s+'([^']+)';/gm, (_, what, spec) => {
    const url = spec.startsWith('node:') ? spec : pathToFileURL(join(ROOT, SPEC[spec] ?? spec)).href;
    return what.startsWith('{') ? `const ${what.replace(/ as /g, ': ')} = await import(${JSON.stringify(url)});`
      : `const ${what} = (await import(${JSON.stringify(url)})).default;`;
  }).replace(/^(\s*)(.+?);[ \t]*\/\/ (.+)$/gm, (line, indent, expr, comment) => {
    if (/^(const|let|var) /.test(expr) || !parses(expr)) return line;
    let expected;
    try {
      expected = new Function('return (' + comment + ')')();
    } catch {
      return line; // prose
    }
    checks.push([line.trim(), expected]);
    return `${indent}__check(${checks.length - 1}, ${expr});`;
  });
  return { source, checks };
}

// Runs the ```js blocks of `text` as subtests of `t`, in order, on `lua`.
async function examples(t, text, lua) {
  let heading = '', n = 0, checked = 0;
  for (const m of text.matchAll(/^(#+ .*)$|^```(\w*)([^\n]*)\n([\s\S]*?)^```$/gm)) {
    if (m[1]) {
      heading = m[1].replace(/^#+ /, '');
      continue;
    }
    const [, , lang, info, code] = m;
    if (lang != 'js' || /\bnorun\b/.test(info)) continue;
    n++;
    const compat = /\bcompat\b/.test(info);
    await t.test(`example ${n} (${heading})`, { skip: compat && !hasCompat && NO_COMPAT }, async () => {
      const { source, checks } = runnable(code);
      const check = (i, actual) => (checked++, assert.deepStrictEqual(actual, checks[i][1], checks[i][0]));
      await new AsyncFunction('lua', 'CuWASM', 'CuError', 'BatchError', '__check', source)(lua, CuWASM, CuError, glue.BatchError, check);
    });
  }
  t.diagnostic(`${n} examples, ${checked} values checked`);
  return n;
}

test('the quick start of README.md runs', async (t) => {
  const lua = await CuWASM.init({ storage: 'memory', onPrint: () => {} });
  const log = console.log;
  console.log = () => {}; // the examples print
  try {
    assert.ok((await examples(t, read('README.md'), lua)) >= 4, 'README has no quick start examples');
  } finally {
    console.log = log;
    await lua.close();
  }
});

test('the examples of docs/API.md run and give the values their comments say', async (t) => {
  const cwd = process.cwd(), dir = mkdtempSync(join(tmpdir(), 'cu-docs-'));
  process.chdir(dir); // storage 'auto'/'file' examples write here
  const lua = await CuWASM.init({ storage: 'memory', onPrint: () => {} });
  try {
    const n = await examples(t, API, lua);
    assert.ok(n > 40, `only ${n} examples found in docs/API.md`);
  } finally {
    await lua.close();
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  }
});
