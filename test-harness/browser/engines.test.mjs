// engines.test.mjs: the real-browser suite, written once and run in Chromium, Firefox ESR and
// WebKitGTK (engines.mjs drives each; every test name and assertion names the engine).
// Persistence across a reload and a browser restart (restart.html), batches, indexed
// queries, schema errors and a migration across reloads, the playground page, idb.js's
// engine handling (durability hints, versionchange from another document, a blocked
// database, QuotaExceededError where the quota can be lowered) and two instances sharing
// one database.
// Chromium-only tests (CDP: site data cleared, SIGKILL crashes, real tabs): storage.test.mjs.
// CU_ENGINES=chromium,firefox (a comma-separated subset) runs only those engines; all three
// by default.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENGINES, open, visit, within } from './engines.mjs';
import { RUN_IN_PAGE, SHOTS, startServer } from './browser.mjs';

// Firefox's storage limit for this suite's profile (KiB; the quota test fills it).
const FIREFOX_LIMIT_KIB = 8192;

const CHOSEN = process.env.CU_ENGINES ? process.env.CU_ENGINES.split(',').map((e) => e.trim()).filter(Boolean) : ENGINES;
for (const e of CHOSEN) if (!ENGINES.includes(e)) throw new Error(`CU_ENGINES: unknown engine ${e} (one of ${ENGINES.join(', ')})`);

let server, url;
before(async () => ({ server, url } = await startServer()));
after(() => server?.kill());

// Runs `body` (an async function body given `CuWASM`, `CuError` and `arg`) in the page;
// a CuError (or any error) comes back as { error: code or name, message }.
const cu = (b, body, arg, ms) =>
  b.eval(RUN_IN_PAGE, [body, arg], ms);

// A receiver on 127.0.0.1 for pages that post their results (restart.html): `next()`
// resolves to the next body posted, parsed.
async function receiver() {
  const waiting = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      res.end();
      waiting.shift()?.(JSON.parse(body));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { port: server.address().port, next: () => new Promise((r) => waiting.push(r)), close: () => server.close() };
}

for (const engine of CHOSEN) {
  describe(engine, () => {
    let b, profile;
    const prefs = { 'dom.quotaManager.temporaryStorage.fixedLimit': FIREFOX_LIMIT_KIB };
    const launch = async () => {
      b = await open(engine, { profile, prefs });
      await b.goto(url);
    };
    before(async () => {
      profile = mkdtempSync(join(tmpdir(), `cu-${engine}-`));
      await launch();
      console.log(`# ${b.name}`);
    });
    after(async () => {
      await b?.close();
      if (profile) rmSync(profile, { recursive: true, force: true });
    });
    const is = (actual, expected, what) => assert.deepEqual(actual, expected, `${engine}: ${what}`);

    test(`${engine}: the playground page runs Lua`, async () => {
      // In the page: waits for the status to be ready, then runs the editor's code or an
      // example (by its button), and reports status, output and the error's line and violations.
      const play = (steps) => b.eval(async (steps) => {
        const $ = (id) => document.getElementById(id);
        const until = async (ok) => {
          for (let t = Date.now(); !ok(); await new Promise((r) => setTimeout(r, 20))) if (Date.now() - t > 30000) return false;
          return true;
        };
        if (!(await until(() => $('status').textContent == 'ready'))) return [{ status: $('status').textContent }];
        const results = [];
        for (const step of steps) {
          if (step.example) $('examples').querySelector(`[data-example="${step.example}"]`).click();
          else $('code').value = step.code;
          $('run').click();
          await until(() => ['done', 'error'].includes($('status').textContent));
          results.push({
            status: $('status').textContent,
            output: $('output').textContent,
            line: document.querySelector('#gutter-lines .gutter-error')?.textContent ?? null,
            violations: [...document.querySelectorAll('[data-testid="violation"]')].map((r) => r.cells[0].textContent + ' ' + r.cells[1].textContent),
            functions: [...document.querySelectorAll('[data-testid="function"]')].map((f) => f.dataset.path),
          });
        }
        return results;
      }, steps);
      const [hello, error, counter, users, schema, migration, errorAgain] = await play([
        { code: 'print("hi") return 40 + 2' }, { code: 'local t\nreturn t.x' },
        { example: 'counter' }, { example: 'users' }, { example: 'schema' }, { example: 'migration' },
        { code: 'local t\nreturn t.x' },
      ]);
      is(hello.status, 'done', `playground status (${hello.output})`);
      assert.match(hello.output, /hi\s*→ 42/, `${engine}: playground output`);
      is([error.status, error.line], ['error', '2'], `an error and its line (${error.output})`);
      assert.match(error.output, /LUA_RUNTIME: input:2: attempt to index a nil value/, `${engine}: the error`);
      is(counter.status, 'done', `the counter example (${counter.output})`);
      const n = Number(/counter: (\d+)/.exec(counter.output)?.[1]);
      assert.ok(n >= 1, `${engine}: the counter: ${counter.output}`);
      assert.ok(counter.functions.includes('Memory.counter'), `${engine}: stored functions ${counter.functions}`);
      is(users.status, 'done', `the users example (${users.output})`);
      assert.match(users.output, /matches: 33.*plan: btree index on age, 5 records examined/s, `${engine}: the users example`);
      is([schema.status, schema.violations], ['error', ['accounts.bob.age max', 'accounts.bob.email pattern', 'accounts.bob.name minLength']], 'the schema example');
      assert.match(schema.output, /SCHEMA_VIOLATION: schema violation: accounts\.bob\.age/, `${engine}: the schema example`);
      is(migration.status, 'done', `the migration example (${migration.output})`);
      assert.match(migration.output, /migrated: from 1 to version 2, 3 records.*rolled back to version 1/s, `${engine}: the migration example`);
      is([errorAgain.status, errorAgain.line], ['error', '2'], `an error and its line, after the examples (${errorAgain.output})`);
      assert.match(errorAgain.output, /LUA_RUNTIME: input:2: attempt to index a nil value/, `${engine}: the error after the examples`);
      mkdirSync(SHOTS, { recursive: true });
      await b.screenshot(join(SHOTS, `playground-${engine}.png`)); // for people to look at
      await b.reload();
      const [again] = await play([{ example: 'counter' }]);
      is([again.status, again.output.match(/counter: \d+/)?.[0]], ['done', `counter: ${n + 1}`], 'the counter after a reload');
    });

    // WebKit's wasm interpreter (IPInt, its first tier) once let these escape cu_call and
    // kill the instance, until JavaScriptCore had compiled Lua's protected call with its JIT
    // (scripts/pad-call-indirect.mjs): each case on a freshly loaded page.
    test(`${engine}: a fresh page's first Lua error is a Lua error, and the instance works on`, async () => {
      for (const first of ['error("boom")', 'return {pcall(error, "x")}', 'local t return t.x']) {
        await b.goto(url);
        const r = await cu(b, `
          const lua = await CuWASM.init({ storage: 'memory' });
          const run = (code) => lua.compute(code).then((v) => v, (e) => e.code + ': ' + e.message);
          const r = [await run(arg), await run('return {pcall(error, "y")}'), await run('error("again")'), await run('return 6 * 7')];
          await lua.close();
          return r;`, first);
        const results = { 'error("boom")': 'LUA_RUNTIME: compute:1: boom', 'return {pcall(error, "x")}': [false, 'x'],
          'local t return t.x': "LUA_RUNTIME: compute:1: attempt to index a nil value (local 't')" };
        is(r, [results[first], [false, 'y'], 'LUA_RUNTIME: compute:1: again', 42], `after ${first} first`);
      }
    });

    // First, on a fresh profile: Chromium's quota checks use a cached usage, which lags far
    // behind once other databases were written and deleted (50 calls instead of 6).
    test(`${engine}: storage full (QuotaExceededError): STORAGE_QUOTA, the call undone, the data before it kept`, async (t) => {
      let cdp;
      if (engine == 'chromium') {
        cdp = await b.raw.context().newCDPSession(b.raw);
        await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(url).origin, quotaSize: 3 << 20 });
      } else if (engine == 'webkit') {
        return t.skip('no way to lower WebKitGTK\'s quota from WebDriver (the error shapes: test-harness/node/storage.test.mjs)');
      }
      const r = await cu(b, `
        const lua = await CuWASM.init({ storage: 'indexeddb', name: 'full', heapSize: 4 << 20 });
        // 256 KiB of random base-36 text a call (~170 KiB deflated), until the storage refuses one.
        const random = () => Array.from(crypto.getRandomValues(new Uint32Array(16384)), (x) => x.toString(36).padStart(7, '0').slice(0, 4)).join('');
        const chunk = () => random() + random() + random() + random();
        let saved = 0, error = null;
        for (let i = 0; i < 200 && !error; i++) {
          error = await lua.setValue('blobs', i, chunk()).then(() => (saved++, null), (e) => [e.code, e.message]);
        }
        const after = { count: await lua.count('blobs'), missing: (await lua.getValue('blobs', saved)) ?? 'absent' };
        await lua.close();
        // What storage holds, read by a new instance; deleting may need room too (Chromium).
        const again = await CuWASM.init({ storage: 'indexeddb', name: 'full', heapSize: 4 << 20 });
        const stored = await again.count('blobs');
        const cleared = await again.batchTableOperations(Array.from({ length: saved }, (_, i) => ({ type: 'delete', table: 'blobs', key: i }))).then(() => 'ok', (e) => e.code);
        return { error, saved, after, stored, cleared };`, null, 120000);
      if (engine == 'chromium') await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(url).origin }); // the default quota again
      // Room made (or given): the instance works on.
      is(await cu(b, `
        const lua = await CuWASM.init({ storage: 'indexeddb', name: 'full', heapSize: 4 << 20 });
        if (await lua.count('blobs')) await lua.batchTableOperations((await lua.keys('blobs')).map((key) => ({ type: 'delete', table: 'blobs', key })));
        await lua.setValue('small', 'k', 1);
        const r = [await lua.count('blobs'), await lua.getValue('small', 'k')];
        await lua.close();
        return r;`), [0, 1], 'after room was made');
      assert.ok(Array.isArray(r.error), `${engine}: ${JSON.stringify(r)}`);
      is(r.error[0], 'STORAGE_QUOTA', `the code (${r.error[1]})`);
      assert.ok(r.saved > 0, `${engine}: ${r.saved} calls saved before the quota`);
      is(r.after, { count: r.saved, missing: 'absent' }, 'the refused call undone');
      is(r.stored, r.saved, 'what storage holds');
      console.log(`# ${engine}: full after ${r.saved} calls of 256 KiB; the error: ${r.error[1]}; deleting them while full: ${r.cleared}`);
    });

    const check = `
      const lua = await CuWASM.init({ storage: 'indexeddb', name: 'persist' });
      const r = {
        counter: await lua.compute('return Memory.counter()'),
        count: await lua.count('users'),
        plan: (await lua.queryTable('users', { field: 'age', operator: '=', value: 7, explain: true })).type,
        hits: (await lua.queryTable('users', { field: 'age', operator: '=', value: 7 })).length,
        warnings: lua.warnings,
      };
      await lua.close();
      return r;`;

    test(`${engine}: a closure with upvalues, 500 records and a B-tree index survive a reload`, async () => {
      const first = await cu(b, `
        const lua = await CuWASM.init({ storage: 'indexeddb', name: 'persist' });
        await lua.compute('local n = 0 Memory.counter = function() n = n + 1 return n end');
        const c = await lua.compute('return Memory.counter()');
        await lua.batchTableOperations(Array.from({ length: 500 }, (_, i) => ({ type: 'set', table: 'users', key: 'u' + i, value: { age: i % 50 } })));
        await lua.createIndex('users', 'age');
        await lua.close();
        return c;`);
      is(first, 1, 'first counter value');
      await b.reload();
      is(await cu(b, check), { counter: 2, count: 500, plan: 'btree', hits: 10, warnings: [] }, 'after a reload');
      // IndexedDB itself: database 'cu:persist', version 1, object store 'pages', keys
      // 'version' and bundles b:<n> (docs/FORMAT.md).
      const raw = await b.eval(async () => {
        const db = await new Promise((ok, no) => Object.assign(indexedDB.open('cu:persist'), { onsuccess: (e) => ok(e.target.result), onerror: (e) => no(e.target.error) }));
        const keys = await new Promise((ok) => (db.transaction('pages').objectStore('pages').getAllKeys().onsuccess = (e) => ok(e.target.result)));
        db.close();
        return { names: [...db.objectStoreNames], version: db.version, keys };
      });
      is([raw.names, raw.version], [['pages'], 1], 'database layout');
      assert.ok(raw.keys.length > 1 && raw.keys.every((k) => /^b:\d+$/.test(k) || k == 'version'), `${engine}: keys ${raw.keys}`);
      // Another name is another database.
      is(await cu(b, `
        const lua = await CuWASM.init({ storage: 'indexeddb', name: 'persist-other' });
        const r = [await lua.count('users'), await lua.compute('return Memory.counter')];
        await lua.close();
        return r;`), [0, null], 'another name');
    });

    test(`${engine}: batches: an atomic batch with a failing op leaves nothing, a non-atomic one keeps the rest; both as saved after a reload`, async () => {
      const r = await cu(b, `
        const lua = await CuWASM.init({ storage: 'indexeddb', name: 'batches' });
        await lua.setValue('t', 'a', { n: 1 });
        const ops = [
          { type: 'set', table: 't', key: 'b', value: { n: 2 } },
          { type: 'update', table: 't', key: 'missing', value: { n: 0 } },
          { type: 'update', table: 't', key: 'a', value: { n: 10, m: true } },
          { type: 'delete', table: 't', key: 'nope' },
        ];
        const atomic = await lua.batchTableOperations(ops).then(() => 'resolved', (e) => [e.code, e.failures.map((f) => [f.index, f.error.code])]);
        const progress = [];
        const loose = await lua.batchTableOperations(ops, { atomic: false, chunkSize: 2, onProgress: (p) => progress.push(p.done) });
        await lua.close();
        return { atomic, loose: loose.map((x) => (x.ok ? x.value ?? 'ok' : x.error.code)), progress };`);
      is(r, { atomic: ['BATCH_FAILED', [[1, 'NOT_FOUND']]], loose: ['ok', 'NOT_FOUND', 'ok', false], progress: [2, 4] }, 'batch results');
      await b.reload();
      is(await cu(b, `
        const lua = await CuWASM.init({ storage: 'indexeddb', name: 'batches' });
        const r = [await lua.getValue('t', 'a'), await lua.getValue('t', 'b'), await lua.count('t')];
        await lua.close();
        return r;`), [{ n: 10, m: true }, { n: 2 }, 2], 'batch data after a reload');
    });

    test(`${engine}: an indexed range query (B-tree, ordered, paged by cursor) after a reload`, async () => {
      await cu(b, `
        const lua = await CuWASM.init({ storage: 'indexeddb', name: 'query' });
        await lua.batchTableOperations(Array.from({ length: 2000 }, (_, i) => ({ type: 'set', table: 'p', key: i, value: { price: (i * 7919) % 1000, name: 'item' + i } })));
        await lua.createIndex('p', 'price');
        await lua.close();
        return 0;`);
      await b.reload();
      const r = await cu(b, `
        const lua = await CuWASM.init({ storage: 'indexeddb', name: 'query' });
        const q = { field: 'price', operator: 'between', value: [100, 199], orderBy: 'price', limit: 150 };
        const plan = await lua.queryTable('p', { ...q, explain: true });
        const page1 = await lua.queryTable('p', q);
        const page2 = await lua.queryTable('p', { ...q, cursor: page1.cursor });
        const count = await lua.queryTable('p', { ...q, count: true });
        await lua.close();
        const prices = [...page1, ...page2].map((r) => r.value.price);
        return { plan: [plan.type, plan.sorted], count, pages: [page1.length, page2.length], ordered: prices.every((p, i) => i == 0 || prices[i - 1] <= p), inRange: prices.every((p) => p >= 100 && p <= 199), first: page1[0] };`);
      is(r, { plan: ['btree', false], count: 200, pages: [150, 50], ordered: true, inRange: true, first: { key: 900, value: { price: 100, name: 'item900' } } }, 'range query');
    });

    test(`${engine}: idb.js: commits in call order, exact-size values, none after close, durability hints used where the engine has them`, async () => {
      const r = await b.eval(async () => {
        const seen = [];
        const transaction = IDBDatabase.prototype.transaction;
        IDBDatabase.prototype.transaction = function (...a) {
          if (a[1] == 'readwrite') seen.push(a[2]?.durability ?? 'none');
          return transaction.apply(this, a);
        };
        try {
          const { indexedDBStore } = await import('/idb.js');
          const s = await indexedDBStore('raw', { durability: 'relaxed' });
          const out = {};
          out.bad = await s.commit([['a', new Uint8Array([1])]], [], { durability: 'fast' }).then(() => 'ok', (e) => e.name);
          const big = new Uint8Array(1000).fill(7);
          await Promise.all([
            s.commit([['a', new Uint8Array([1])], ['b', big.subarray(10, 13)], ['x', new Uint8Array([9])]], []),
            s.commit([['a', new Uint8Array([2])]], ['x'], { durability: 'strict' }),
            s.commit([['c', new Uint8Array([3])]], []),
          ]);
          out.records = Object.fromEntries([...s.records].map(([k, v]) => [k, [...v]]));
          const raw = await new Promise((ok, no) => {
            const q = indexedDB.open('cu:raw');
            q.onerror = () => no(q.error);
            q.onsuccess = () => {
              const g = q.result.transaction('pages').objectStore('pages').get('b:b');
              g.onsuccess = () => (q.result.close(), ok(g.result));
            };
          });
          out.stored = [raw[0], raw[1].constructor.name, raw[1].buffer.byteLength];
          await s.close();
          out.closed = await s.commit([['e', new Uint8Array(1)]], []).then(() => 'ok', (e) => e.name);
          const again = await indexedDBStore('raw');
          out.reopened = Object.fromEntries([...again.records].map(([k, v]) => [k, [...v]]));
          await again.close();
          out.hinted = seen.splice(0);
          // An engine without the hint (removed here): idb.js passes none, and commits work.
          const d = Object.getOwnPropertyDescriptor(IDBTransaction.prototype, 'durability');
          delete IDBTransaction.prototype.durability;
          try {
            const { indexedDBStore: bare } = await import('/idb.js?no-durability');
            const n = await bare('raw');
            await n.commit([['d', new Uint8Array([4])]], []);
            out.bare = [...n.records.keys()].sort();
            await n.close();
          } finally {
            Object.defineProperty(IDBTransaction.prototype, 'durability', d);
          }
          out.unhinted = seen;
          return out;
        } finally {
          IDBDatabase.prototype.transaction = transaction;
        }
      });
      is(r.bad, 'TypeError', 'a bad durability');
      is(r.records, { a: [2], b: [7, 7, 7], c: [3] }, 'records after ordered commits');
      is(r.stored, ['b', 'Uint8Array', 3], 'a view stored as its own bytes');
      is(r.closed, 'InvalidStateError', 'a commit after close');
      is(r.reopened, r.records, 'records reopened');
      is(r.hinted, ['relaxed', 'strict', 'relaxed'], 'durability hints passed');
      is(r.bare, ['a', 'b', 'c', 'd'], 'commits without hints');
      is(r.unhinted, ['none'], 'no hint where the engine has none');
    });

    test(`${engine}: idb.js: pages are stored 16 to a bundle; records of the first layout (one per value) move into bundles when touched`, async () => {
      const r = await b.eval(async () => {
        const { indexedDBStore } = await import('/idb.js');
        const raw = (f) => new Promise((ok, no) => {
          const q = indexedDB.open('cu:bundles', 1);
          q.onupgradeneeded = () => q.result.createObjectStore('pages');
          q.onerror = () => no(q.error);
          q.onsuccess = () => {
            const t = q.result.transaction('pages', 'readwrite'), os = t.objectStore('pages'), got = {};
            f(os, got);
            t.oncomplete = () => (q.result.close(), ok(got));
            t.onabort = () => no(t.error);
          };
        });
        const layout = () => raw((os, got) => {
          const c = os.openCursor();
          c.onsuccess = () => {
            if (!c.result) return;
            const v = c.result.value;
            got[c.result.key] = Array.isArray(v) ? v.filter((_, i) => i % 2 == 0) : typeof v == 'number' ? [v] : [...v];
            c.result.continue();
          };
        });
        // The first layout: one record per value.
        await raw((os) => {
          os.put(new Uint8Array([3]), 'p3');
          os.put(new Uint8Array([40]), 'p40');
          os.put(new Uint8Array([9]), 'a');
          os.put(5, 'version');
        });
        const s = await indexedDBStore('bundles');
        const out = { loaded: Object.fromEntries([...s.records].map(([k, v]) => [k, [...v]])), at: s.at };
        await s.commit([['p4', new Uint8Array([4])], ['p17', new Uint8Array([17])], ['p017', new Uint8Array([0])]], ['p40']);
        out.after = await layout();
        await s.commit([['a', new Uint8Array([10])]], ['p3', 'p4']);
        out.last = await layout();
        await s.close();
        const again = await indexedDBStore('bundles');
        out.reopened = Object.fromEntries([...again.records].map(([k, v]) => [k, [...v]]));
        await again.close();
        return out;
      });
      is(r.loaded, { p3: [3], p40: [40], a: [9] }, 'the first layout loaded');
      is(r.at, 5, 'its version');
      // p3 and p4 share bundle 0, p17 is in bundle 1, p40 (bundle 2) is gone; 'p017' is not a
      // page name: it is a record of its own; 'a' was not touched and is still alone.
      is(r.after, { a: [9], 'b:0': ['p3', 'p4'], 'b:1': ['p17'], 'b:p017': ['p017'], version: [6] }, 'bundles after a commit');
      is(r.last, { 'b:1': ['p17'], 'b:a': ['a'], 'b:p017': ['p017'], version: [7] }, 'bundles after a second commit');
      is(r.reopened, { p17: [17], p017: [0], a: [10] }, 'reopened');
    });

    test(`${engine}: versionchange from another document (a deleted database) closes ours; the next commit reopens it`, async () => {
      const r = await b.eval(async () => {
        const { indexedDBStore } = await import('/idb.js');
        const s = await indexedDBStore('vc');
        await s.commit([['a', new Uint8Array([1])]], []);
        // Another document of the origin (as another tab would) deletes the database: ours
        // closes itself on versionchange, or the deletion would be blocked.
        const frame = document.body.appendChild(document.createElement('iframe'));
        let blocked = false;
        await new Promise((ok, no) => {
          const q = frame.contentWindow.indexedDB.deleteDatabase('cu:vc');
          q.onsuccess = ok;
          q.onerror = () => no(q.error);
          q.onblocked = () => (blocked = true);
        });
        frame.remove();
        const after = await s.commit([['b', new Uint8Array([2])]], []).then(() => 'ok', (e) => e.name + ': ' + e.message);
        await s.close();
        const again = await indexedDBStore('vc');
        const keys = [...again.records.keys()];
        await again.close();
        return { after, keys, blocked };
      });
      is(r.after, 'ok', 'commit after versionchange');
      is(r.keys, ['b'], 'records after the deletion and the commit');
      if (r.blocked) console.log(`# ${engine}: 'blocked' fired for the deletion, which went through when ours closed`);
    });

    test(`${engine}: a blocked database: init is STORAGE_UNAVAILABLE, and with storage 'auto' a memory store and a warning`, async () => {
      const r = await cu(b, `
        // A connection that never closes, and a deletion waiting for it: the next open waits
        // behind the deletion for as long as that connection lives.
        const req = (r) => new Promise((ok, no) => ((r.onsuccess = () => ok(r.result)), (r.onerror = () => no(r.error))));
        const open = indexedDB.open('cu:blocked', 1);
        open.onupgradeneeded = () => open.result.createObjectStore('pages');
        const holder = await req(open);
        indexedDB.deleteDatabase('cu:blocked');
        const t = performance.now(), warned = [];
        const [strict, auto] = await Promise.all([
          CuWASM.init({ storage: 'indexeddb', name: 'blocked' }).then(() => 'opened', (e) => [e.code, e.message]),
          CuWASM.init({ storage: 'auto', name: 'blocked', onWarning: (w) => warned.push(w.message) }),
        ]);
        const waited = performance.now() - t;
        const r = { strict, warned, warnings: auto.warnings.map((w) => w.code), works: await auto.compute('Memory.x = 1 return Memory.x') };
        await auto.close();
        holder.close();
        r.waitedSeconds = Math.round(waited / 1000);
        return r;`, null, 60000);
      is(r.strict, ['STORAGE_UNAVAILABLE', 'storage indexeddb: idb: blocked'], 'blocked init');
      is(r.warnings, ['STORAGE_UNAVAILABLE'], "'auto' warnings");
      is(r.warned, ['storage indexeddb: idb: blocked; using memory: nothing is saved'], 'onWarning');
      is(r.works, 1, "'auto' memory store");
      assert.ok(r.waitedSeconds >= 9 && r.waitedSeconds < 30, `${engine}: waited ${r.waitedSeconds} s (idb.js gives up after 10 s)`);
    });

    test(`${engine}: schema errors: a violation is refused; a migration survives a reload and rolls back there`, async () => {
      const OPEN = "const lua = await CuWASM.init({ storage: 'indexeddb', name: 'schema' });";
      const first = await cu(b, `${OPEN}
        await lua.defineSchema('users', { type: 'table', fields: {
          name: { type: 'string', required: true, minLength: 1 },
          age: { type: 'integer', min: 0, max: 150 } }, additionalFields: false });
        const bad = await lua.setValue('users', 'x', { name: '', age: 151, extra: 1 }).then(() => 'stored', (e) => [e.code, e.violations.map((v) => v.path + ' ' + v.rule)]);
        await lua.batchTableOperations(Array.from({ length: 300 }, (_, i) => ({ type: 'set', table: 'users', key: 'u' + i, value: { name: 'user ' + i, age: i % 100 } })));
        const progress = [];
        const m = await lua.migrate('users', { version: 2,
          up: 'function(record) record.fullName = record.name; record.name = nil; return record end',
          down: 'function(record) record.name = record.fullName; record.fullName = nil; return record end',
          schema: { type: 'table', fields: { fullName: { type: 'string', required: true }, age: { type: 'integer' } }, additionalFields: false } },
          { chunkSize: 100, onProgress: (p) => progress.push(p.done) });
        await lua.close();
        return { bad, m, progress };`);
      is(first, {
        bad: ['SCHEMA_VIOLATION', ['users.x.age max', 'users.x.extra additionalFields', 'users.x.name minLength']],
        m: { from: 1, version: 2, records: 300 },
        progress: [100, 200, 300],
      }, 'schema and migration');
      await b.reload();
      is(await cu(b, `${OPEN}
        const bad = await lua.setValue('users', 'x', { name: 'old style', age: 200 }).then(() => 'stored', (e) => ({ code: e.code, rules: e.violations.map((v) => v.path + ' ' + v.rule) }));
        const r = {
          bad,
          version: await lua.schemaVersion('users'),
          u7: await lua.getValue('users', 'u7'),
          history: (await lua.migrations('users')).map((h) => [h.version, h.from, h.records]),
          lua: await lua.computeAll('local s, v = ext.schema("users") return s.fields.fullName.type, v'),
        };
        r.back = await lua.rollbackMigration('users');
        await lua.close();
        return r;`), {
        bad: { code: 'SCHEMA_VIOLATION', rules: ['users.x.fullName required', 'users.x.name additionalFields'] },
        version: 2,
        u7: { fullName: 'user 7', age: 7 },
        history: [[2, 1, 300]],
        lua: ['string', 2],
        back: { from: 2, version: 1, records: 300 },
      }, 'after a reload');
      await b.reload();
      is(await cu(b, `${OPEN}
        const r = [await lua.schemaVersion('users'), await lua.getValue('users', 'u7'), (await lua.validateTable('users')).valid];
        await lua.close();
        return r;`), [1, { name: 'user 7', age: 7 }, true], 'rolled back, after a reload');
    });

    test(`${engine}: two instances on one database (as two tabs) take turns: no increment is lost`, async () => {
      const r = await cu(b, `
        const a = await CuWASM.init({ storage: 'indexeddb', name: 'shared' });
        const c = await CuWASM.init({ storage: 'indexeddb', name: 'shared' });
        await a.compute('Memory.n = 0');
        const inc = async (lua, n) => {
          const got = [];
          for (let i = 0; i < n; i++) got.push(await lua.compute('Memory.n = Memory.n + 1 return Memory.n'));
          return got;
        };
        const [x, y] = await Promise.all([inc(a, 15), inc(c, 10)]);
        const r = { all: [...x, ...y].sort((p, q) => p - q), last: [await a.compute('return Memory.n'), await c.compute('return Memory.n')] };
        await a.close();
        await c.close();
        return r;`);
      is(r.all, Array.from({ length: 25 }, (_, i) => i + 1), 'every increment saw the one before');
      is(r.last, [25, 25], 'both see the last');
    });

    test(`${engine}: a closure, 500 records and an index survive closing the browser and starting it again on its profile`, async () => {
      // restart.html runs each step by itself and posts its result here: WebKitGTK keeps site
      // data across starts only without a driver (outside automation mode).
      const dir = mkdtempSync(join(tmpdir(), `cu-${engine}-restart-`));
      const reports = await receiver();
      try {
        for (const [step, counter] of [['write', 1], ['read', 2]]) {
          const got = reports.next();
          const v = await visit(engine, `${url}test-harness/browser/restart.html?step=${step}&report=${reports.port}`, { profile: dir, prefs });
          try {
            is(await within(engine, step, 60000, got), { counter, count: 500, plan: 'btree', hits: 10 }, `restart.html ${step}`);
          } finally {
            await v.close();
          }
        }
      } finally {
        reports.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
