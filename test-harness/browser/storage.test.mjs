// storage.test.mjs: what only Chromium lets a test do to storage 'indexeddb' (idb.js):
// site data cleared under an open connection (CDP), the browser killed during a 10,000-op
// batch (all of it or none is kept), two real tabs on one database; and a commit that throws
// while it is built (its transaction aborted) and a connection found closed at a commit:
// idb.js's paths the rest leave (docs/COVERAGE.md). Headless Chromium (Debian's,
// playwright-core, persistent profiles), scripts/serve.mjs on 127.0.0.1. The suite of all
// three engines: engines.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { ARGS, CHROMIUM, RUN_IN_PAGE, closeContext, coverContext, flushCoverage, launchChromium, startServer } from './browser.mjs';


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
  const context = await launchChromium(profile);
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
  page.evaluate(RUN_IN_PAGE, [body, arg]);

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
    await closeContext(context);
  }
});

test('idb.js: a commit that fails while its bundles are built (a key that is no string) aborts its transaction: nothing of it is kept, the store goes on', async () => {
  const { context, page } = await launch(newProfile());
  try {
    // A Symbol key throws as its bundle is worked out, after the commit's first put went
    // into the transaction: the transaction is aborted and the error is the commit's.
    const r = await page.evaluate(async () => {
      const { indexedDBStore } = await import('/idb.js');
      const s = await indexedDBStore('bad-key');
      await s.commit([['a', new Uint8Array([1])]], []);
      const failed = await s.commit([['b', new Uint8Array([2])], [Symbol('k'), new Uint8Array([3])]], []).then(() => 'resolved', (e) => e.name);
      const after = { version: await s.version(), keys: [...s.records.keys()].sort() };
      await s.commit([['c', new Uint8Array([4])]], []);
      await s.close();
      const again = await indexedDBStore('bad-key');
      const r = { failed, after, reopened: { version: await again.version(), keys: [...again.records.keys()].sort() } };
      await again.close();
      return r;
    });
    assert.deepEqual(r, { failed: 'TypeError', after: { version: 1, keys: ['a'] }, reopened: { version: 2, keys: ['a', 'c'] } });
    assert.deepEqual(pageErrors, []);
  } finally {
    await closeContext(context);
  }
});

test('idb.js: a connection closed before its close event is seen (transaction() throws) is opened again by the commit', async () => {
  const { context, page } = await launch(newProfile());
  try {
    // The site-data test above meets this only when its timing falls so: here the next
    // readwrite transaction() finds its connection closed (by close(), which dispatches no
    // event), as a connection the browser is closing does.
    const r = await page.evaluate(async () => {
      const { indexedDBStore } = await import('/idb.js');
      const s = await indexedDBStore('closing');
      await s.commit([['a', new Uint8Array([1])]], []);
      const transaction = IDBDatabase.prototype.transaction;
      const threw = [];
      IDBDatabase.prototype.transaction = function (...a) {
        if (a[1] == 'readwrite' && !threw.length) {
          this.close();
          try {
            return transaction.apply(this, a);
          } catch (e) {
            threw.push(e.name);
            throw e;
          }
        }
        return transaction.apply(this, a);
      };
      try {
        await s.commit([['b', new Uint8Array([2])]], []);
      } finally {
        IDBDatabase.prototype.transaction = transaction;
      }
      await s.close();
      const again = await indexedDBStore('closing');
      const r = { threw, keys: [...again.records.keys()].sort(), version: await again.version() };
      await again.close();
      return r;
    });
    assert.deepEqual(r, { threw: ['InvalidStateError'], keys: ['a', 'b'], version: 2 });
    assert.deepEqual(pageErrors, []);
  } finally {
    await closeContext(context);
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
    await coverContext(context); // coverage (CU_BROWSER_COVERAGE) is lost when it is killed
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(url);
    // Shuts the browser down as a user would (Browser.close), then waits for its processes.
    const close = async () => {
      const exited = new Promise((r) => (proc.exitCode !== null || proc.signalCode ? r() : proc.once('exit', r)));
      await flushCoverage(context);
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
    assert.deepEqual(pageErrors, []);
  } finally {
    await closeContext(context);
  }
});
