// storage.test.mjs: CuWASM with storage 'indexeddb' (idb.js) in headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core, persistent profile), served by
// scripts/serve.mjs on 127.0.0.1: data, a closure and an index survive a reload and a browser
// restart; names are isolated; a failing commit is undone; a browser killed during a
// 10,000-op batch leaves all of it or none.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { ARGS, CHROMIUM, SHOTS, startServer } from './browser.mjs';


let server, url;
const profiles = [];
const pageErrors = [];

before(async () => {
  ({ server, url } = await startServer());
});

after(async () => {
  if (server && server.exitCode === null) server.kill();
  for (const p of profiles) rmSync(p, { recursive: true, force: true });
});

function newProfile() {
  const p = mkdtempSync(join(tmpdir(), 'cu-chromium-'));
  profiles.push(p);
  return p;
}

/** A persistent context on `profile` and its page at the server's root. */
async function launch(profile) {
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
  page.on('request', (r) => {
    if (!r.url().startsWith(url) && !r.url().startsWith('data:')) pageErrors.push(`request outside the server: ${r.url()}`);
  });
  await page.goto(url);
  return { context, page };
}

// Runs `body` (a function's source, given `CuWASM` and `arg`) in the page; CuError
// rejections come back as { error: code }.
const inPage = (page, body, arg) =>
  page.evaluate(
    async ([body, arg]) => {
      const { CuWASM } = await import('/glue.js');
      try {
        return await new Function('CuWASM', 'arg', `return (async () => { ${body} })()`)(CuWASM, arg);
      } catch (e) {
        return { error: e.code || e.name, message: e.message };
      }
    },
    [body, arg],
  );

test('a closure, 500 records and an index survive a reload and a browser restart', async () => {
  const profile = newProfile();
  let { context, page } = await launch(profile);
  try {
    const first = await inPage(page, `
      const lua = await CuWASM.init({ storage: 'indexeddb', name: 't1' });
      await lua.compute('local n = 0 Memory.counter = function() n = n + 1 return n end');
      const c = await lua.compute('return Memory.counter()');
      await lua.batchTableOperations(Array.from({ length: 500 }, (_, i) => ({ type: 'set', table: 'users', key: 'u' + i, value: { age: i % 50 } })));
      await lua.createIndex('users', 'age');
      await lua.close();
      return c;`);
    assert.equal(first, 1);

    const check = `
      const lua = await CuWASM.init({ storage: 'indexeddb', name: 't1' });
      const r = {
        counter: await lua.compute('return Memory.counter()'),
        count: await lua.count('users'),
        plan: (await lua.queryTable('users', { field: 'age', operator: '=', value: 7, explain: true })).type,
        hits: (await lua.queryTable('users', { field: 'age', operator: '=', value: 7 })).length,
      };
      await lua.close();
      return r;`;
    await page.reload();
    assert.deepEqual(await inPage(page, check), { counter: 2, count: 500, plan: 'btree', hits: 10 });

    // The pages in IndexedDB itself: database 'cu:t1', object store 'pages', keys p<n>.
    const raw = await page.evaluate(async () => {
      const db = await new Promise((ok, no) => {
        const r = indexedDB.open('cu:t1');
        r.onsuccess = () => ok(r.result);
        r.onerror = () => no(r.error);
      });
      const keys = await new Promise((ok) => {
        const r = db.transaction('pages').objectStore('pages').getAllKeys();
        r.onsuccess = () => ok(r.result);
      });
      db.close();
      return { names: [...db.objectStoreNames], version: db.version, keys };
    });
    assert.deepEqual(raw.names, ['pages']);
    assert.equal(raw.version, 1);
    assert.ok(raw.keys.length > 0 && raw.keys.every((k) => /^b:\d+$/.test(k) || k == 'version'), JSON.stringify(raw.keys));

    // The whole browser closed and started again on the same profile.
    await context.close();
    ({ context, page } = await launch(profile));
    assert.deepEqual(await inPage(page, check), { counter: 3, count: 500, plan: 'btree', hits: 10 });

    // Different names are different databases.
    const other = await inPage(page, `
      const lua = await CuWASM.init({ storage: 'indexeddb', name: 't2' });
      const r = [await lua.count('users'), await lua.compute('return Memory.counter')];
      await lua.setValue('users', 'only', { age: 1 });
      await lua.close();
      const t1 = await CuWASM.init({ storage: 'indexeddb', name: 't1' });
      r.push(await t1.count('users'));
      await t1.close();
      return r;`);
    assert.deepEqual(other, [0, null, 500]);

    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'storage.png'), fullPage: true });
    assert.deepEqual(pageErrors, []);
  } finally {
    await context.close();
  }
});

test('idb.js: bad durability, serialized commits, exact-size values, reopen after versionchange', async () => {
  const { context, page } = await launch(newProfile());
  try {
    const r = await page.evaluate(async () => {
      const { indexedDBStore } = await import('/idb.js');
      const s = await indexedDBStore('raw');
      const out = {};
      out.bad = await s.commit([['a', new Uint8Array([1])]], [], { durability: 'fast' }).then(() => 'ok', (e) => e.name);
      // Started together, applied in call order; a view stores only its own bytes.
      const big = new Uint8Array(1000).fill(7);
      await Promise.all([
        s.commit([['a', new Uint8Array([1])], ['b', big.subarray(10, 13)], ['x', new Uint8Array([9])]], []),
        s.commit([['a', new Uint8Array([2])]], ['x'], { durability: 'relaxed' }),
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
      // Another connection deletes the database: ours closes itself (versionchange), and the
      // next commit opens a new one.
      await new Promise((ok, no) => {
        const q = indexedDB.deleteDatabase('cu:raw');
        q.onsuccess = ok;
        q.onerror = () => no(q.error);
        // (Chromium may fire 'blocked' even so; the deletion still waits for our close.)
      });
      const v = await s.commit([['d', new Uint8Array([4, 5])]], []).then(() => 'ok', (e) => e.name + ': ' + e.message);
      out.afterUpgrade = v;
      await s.close();
      out.closed = await s.commit([['e', new Uint8Array(1)]], []).then(() => 'ok', (e) => e.name);
      const again = await indexedDBStore('raw');
      out.reopened = Object.fromEntries([...again.records].map(([k, v]) => [k, [...v]]));
      await again.close();
      return out;
    });
    assert.equal(r.bad, 'TypeError');
    assert.deepEqual(r.records, { a: [2], b: [7, 7, 7], c: [3] });
    assert.deepEqual(r.stored, ['b', 'Uint8Array', 3]);
    assert.equal(r.afterUpgrade, 'ok');
    assert.equal(r.closed, 'InvalidStateError');
    assert.deepEqual(r.reopened, { d: [4, 5] }); // the deleted database's records are gone
  } finally {
    await context.close();
  }
});

test('idb.js: pages are stored 16 to a bundle; records stored one per value (the first layout) move into bundles when touched', async () => {
  const { context, page } = await launch(newProfile());
  try {
    const r = await page.evaluate(async () => {
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
    assert.deepEqual(r.loaded, { p3: [3], p40: [40], a: [9] });
    assert.equal(r.at, 5);
    // p3 and p4 share bundle 0, p17 is in bundle 1, p40 (bundle 2) is gone; 'p017' is not a
    // page name: it is a record of its own; 'a' was not touched and is still alone.
    assert.deepEqual(r.after, { a: [9], 'b:0': ['p3', 'p4'], 'b:1': ['p17'], 'b:p017': ['p017'], version: [6] });
    assert.deepEqual(r.last, { 'b:1': ['p17'], 'b:a': ['a'], 'b:p017': ['p017'], version: [7] });
    assert.deepEqual(r.reopened, { p17: [17], p017: [0], a: [10] });
  } finally {
    await context.close();
  }
});

test('idb.js: a connection the browser closed (site data cleared) reopens at the next commit', async () => {
  const { context, page } = await launch(newProfile());
  try {
    await page.evaluate(async () => {
      const { indexedDBStore } = await import('/idb.js');
      window.s = await indexedDBStore('fc');
      await window.s.commit([['a', new Uint8Array([1])]], []);
    });
    const cdp = await context.newCDPSession(page);
    await cdp.send('Storage.clearDataForOrigin', { origin: new URL(url).origin, storageTypes: 'indexeddb' });
    const r = await page.evaluate(async () => {
      const { indexedDBStore } = await import('/idb.js');
      // The first commit may meet the closing connection; the next one uses a new one.
      const first = await window.s.commit([['b', new Uint8Array([2])]], []).then(() => 'ok', (e) => e.name);
      await window.s.commit([['c', new Uint8Array([3])]], []);
      await window.s.close();
      const again = await indexedDBStore('fc');
      return { first, keys: [...again.records.keys()].sort() };
    });
    console.log('# after clearing site data: first commit', r.first, '; keys', r.keys.join());
    assert.ok(r.keys.includes('c'), JSON.stringify(r));
    assert.ok(!r.keys.includes('a'), 'cleared');
  } finally {
    await context.close();
  }
});

test('a failing commit (QuotaExceededError): STORAGE_QUOTA, the change undone, still working, absent after reload', async () => {
  const { context, page } = await launch(newProfile());
  try {
    const r = await page.evaluate(async () => {
      const { CuWASM } = await import('/glue.js');
      const { indexedDBStore } = await import('/idb.js');
      const store = await indexedDBStore('q');
      const commit = store.commit;
      let fail = false;
      store.commit = (...a) => {
        if (fail) return (fail = false), Promise.reject(new DOMException('quota', 'QuotaExceededError'));
        return commit(...a);
      };
      const lua = await CuWASM.init({ storage: store });
      await lua.compute('Memory.a = 1');
      await lua.setValue('t', 'k', 'kept');
      fail = true;
      const err = await lua.compute('Memory.a = 2 Memory.b = 3').then(() => null, (e) => e.code);
      const err2 = await lua.setValue('t', 'k2', 'x').then(() => null, (e) => e.code); // fails no more
      const after = await lua.computeAll('return Memory.a, Memory.b');
      await lua.compute('Memory.c = 4');
      await lua.close();
      return { err, err2, after };
    });
    assert.deepEqual(r, { err: 'STORAGE_QUOTA', err2: null, after: [1, null] });
    await page.reload();
    const back = await inPage(page, `
      const lua = await CuWASM.init({ storage: 'indexeddb', name: 'q' });
      const r = await lua.computeAll('return Memory.a, Memory.b, Memory.c');
      r.push(await lua.getValue('t', 'k'), await lua.getValue('t', 'k2'));
      await lua.close();
      return r;`);
    assert.deepEqual(back, [1, null, 4, 'kept', 'x']);
  } finally {
    await context.close();
  }
});

// Whether a process of the process group `pgid` is alive and not a zombie (Linux /proc).
function groupAlive(pgid) {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat;
    try { stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { continue; }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // state, ppid, pgrp, ...
    if (Number(f[2]) === pgid && f[0] !== 'Z') return true;
  }
  return false;
}

// Chromium started by hand (so it can be killed), driven over CDP.
async function spawnBrowser(profile) {
  const proc = spawn(CHROMIUM, [...ARGS, `--user-data-dir=${profile}`, '--remote-debugging-port=0', 'about:blank'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true, // its own process group: killed whole, like a crash
  });
  // Resolves once no process of the group is alive any more (zombies aside): a killed
  // Chromium's storage process can outlive the browser process by some milliseconds (it may
  // be inside an fsync), and a browser started on the profile meanwhile fails to open the
  // IndexedDB backing store and may lose the origin's databases. A real restart comes after
  // the old processes are gone.
  const kill = async () => {
    try { process.kill(-proc.pid, 'SIGKILL'); } catch {}
    await new Promise((r) => (proc.exitCode !== null || proc.signalCode ? r() : proc.once('exit', r)));
    for (let t = Date.now(); groupAlive(proc.pid) && Date.now() - t < 30000; ) await new Promise((r) => setTimeout(r, 5));
  };
  try {
    const ws = await new Promise((resolve, reject) => {
      let err = '';
      proc.stderr.on('data', (d) => {
        err += d;
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
        if (m) resolve(m[1]);
      });
      proc.on('exit', (code) => reject(new Error(`chromium exited with ${code}: ${err}`)));
    });
    const browser = await chromium.connectOverCDP(ws);
    const context = browser.contexts()[0];
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(url);
    // Shuts the browser down as a user would (Browser.close), then waits for its processes.
    const close = async () => {
      const exited = new Promise((r) => (proc.exitCode !== null || proc.signalCode ? r() : proc.once('exit', r)));
      await (await browser.newBrowserCDPSession()).send('Browser.close').catch(() => {});
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10000))]);
      await kill();
    };
    return { proc, browser, page, kill, close };
  } catch (e) {
    await kill();
    throw e;
  }
}

test('crash atomicity: the browser killed during a 10,000-op batch keeps all of it or none, and what was committed before', async () => {
  const profile = newProfile();
  // When to kill: as the batch starts (the Lua side is still running), as its commit starts,
  // at times after the commit started (the IndexedDB transaction in flight or done), and
  // once the batch resolved (durability 'strict': then it must all be there).
  const trials = [['start', 0], ['commit', 0], ['commit', 15], ['commit', 40], ['commit', 100], ['commit', 300], ['resolved', 0]];
  const seen = [], took = [], browserLost = [];
  for (const [when, delay] of trials) {
    // Now and then (3 of 118 kills while this was investigated, on a loaded machine)
    // Chromium cannot open its IndexedDB backing store after the kill ("Internal error
    // opening backing store") or has dropped the origin's databases altogether, whatever
    // was committed. That is the browser's loss, not a torn commit: the trial is run
    // again, up to twice. Anything else missing fails the test.
    for (let attempt = 0; ; attempt++) {
      const name = `crash-${when}-${delay}-${attempt}`;
      let b = await spawnBrowser(profile);
      try {
        const killed = new Promise((resolve) => {
          b.page.on('console', (m) => {
            if (m.text() === name + ':' + when) setTimeout(() => b.kill().then(resolve), delay);
            if (m.text().startsWith('commit took')) took.push(m.text().slice(12));
          });
        });
        await inPage(b.page, `
          const { indexedDBStore } = await import('/idb.js');
          const store = await indexedDBStore(arg);
          const commit = store.commit;
          store.commit = (...a) => (window.t0 && console.log(arg + ':commit'), (window.t0 = performance.now()), commit(...a));
          const lua = await CuWASM.init({ storage: store, heapSize: 8 << 20 });
          await lua.compute('Memory.before = "kept"');
          console.log(arg + ':start');
          window.t0 = 1; // from now on, the commit is the batch's
          window.batch = lua.batchTableOperations(Array.from({ length: 10000 }, (_, i) => ({ type: 'set', table: 'big', key: 'k' + i, value: { i, pad: 'x'.repeat(20) } })))
            .then(() => (console.log('commit took ' + Math.round(performance.now() - window.t0) + ' ms'), console.log(arg + ':resolved')));`, name).catch(() => {}); // the kill may come first
        await killed;
      } finally {
        await b.kill();
      }
      b = await spawnBrowser(profile);
      let r;
      try {
        r = await inPage(b.page, `
          if (!(await indexedDB.databases()).some((d) => d.name == 'cu:' + arg)) return { gone: true };
          const lua = await CuWASM.init({ storage: 'indexeddb', name: arg, heapSize: 8 << 20 });
          const r = { count: await lua.count('big'), before: await lua.compute('return Memory.before') };
          if (r.count) r.last = await lua.getValue('big', 'k9999');
          await lua.close();
          return r;`, name);
        await b.close(); // a normal shutdown
      } finally {
        await b.kill();
      }
      if ((r.gone || /backing store/.test(r.message)) && attempt < 2) {
        browserLost.push(`${name}: ${r.gone ? 'database gone' : r.message}`);
        continue;
      }
      assert.equal(r.before, 'kept', `${name}: a value committed before the batch is gone (${JSON.stringify(r)})`);
      assert.ok(r.count === 0 || r.count === 10000, `${name}: ${r.count} records, a part of the batch`);
      if (r.count) assert.deepEqual(r.last, { i: 9999, pad: 'x'.repeat(20) });
      if (when == 'resolved') assert.equal(r.count, 10000, 'a resolved batch is durable');
      seen.push(`${when}+${delay}ms: ${r.count}`);
      break;
    }
  }
  console.log('# crash trials (records after restart):', seen.join(', '), '; commits that completed took', took.join(', '));
  if (browserLost.length) console.log('# trials run again after Chromium lost its backing store:', browserLost.join('; '));
});

test('two tabs on one database: each sees the other\'s commits, and no update is lost', async () => {
  const profile = newProfile();
  const { context, page } = await launch(profile);
  const second = await context.newPage();
  await second.goto(url);
  try {
    // Each tab keeps an instance in window.lua and increments Memory.n, the two tabs at
    // once; Web Locks and the database's version keep them in step.
    const open = `window.lua = await CuWASM.init({ storage: 'indexeddb', name: 'tabs' }); return true;`;
    assert.equal(await inPage(page, open), true);
    assert.equal(await inPage(second, open), true);
    await inPage(page, `await window.lua.compute('Memory.n = 0'); return 0;`);
    // Each increment returns the count it made. A tab keeps the lock between its calls
    // until the other asks for it: the two tabs' increments interleave (neither waits for
    // the other to finish all of its own).
    // (Each tab starts once it has heard from the other, so that they really run at once.)
    const inc = `
      await new Promise((go) => {
        const ch = new BroadcastChannel('start'), hello = setInterval(() => ch.postMessage(0), 10);
        ch.onmessage = () => (clearInterval(hello), ch.postMessage(0), (ch.onmessage = null), setTimeout(() => ch.close(), 200), go());
      });
      const got = [];
      for (let i = 0; i < arg; i++) got.push(await window.lua.compute('Memory.n = (Memory.n or 0) + 1 return Memory.n'));
      return got;`;
    const [a, b] = await Promise.all([inPage(page, inc, 20), inPage(second, inc, 10)]);
    assert.deepEqual([...a, ...b].sort((x, y) => x - y), Array.from({ length: 30 }, (_, i) => i + 1), 'every increment saw the one before');
    assert.ok(Math.min(...b) < Math.max(...a) && Math.min(...a) < Math.max(...b), `interleaved: ${a} / ${b}`);
    assert.equal(await inPage(page, `return window.lua.compute('return Memory.n');`), 30);
    assert.equal(await inPage(second, `return window.lua.compute('return Memory.n');`), 30);
  } finally {
    await context.close();
  }
});
