// idb.js: CuWASM's IndexedDB storage adapter (browsers; contract: file-store.js; layout:
// docs/FORMAT.md "IndexedDB store"). A commit is one readwrite transaction, in call order,
// resolved on 'complete'; pages are stored 16 to a value (a put costs the same whatever its
// size). Tabs: every commit bumps 'version'; calls run under a Web Lock, kept until another
// instance asks (BroadcastChannel) or 0.5 s idle, so while kept `version()` needs no read.
// An open still pending after `timeout` ms (blocked) fails.
const S = 'pages';
const page = (k) => /^p(0|[1-9]\d*)$/.test(k) && BigInt(k.slice(1)) / 16n;
const bundle = (k, n = page(k)) => 'b:' + (n === false ? k : n);
const members = (k, n = page(k)) => (n === false ? [k] : Array.from({ length: 16 }, (_, i) => 'p' + (n * 16n + BigInt(i))));
const bytes = (v) => (v instanceof Uint8Array ? v : new Uint8Array(v));
const req = (r) => new Promise((ok, no) => ((r.onsuccess = () => ok(r.result)), (r.onerror = () => no(r.error))));
const check = (d) => {
  if (d != 'strict' && d != 'relaxed') throw new TypeError('idb: bad durability ' + d);
  return d;
};

// Engines without the durability hint get none (feature detection).
const hints = 'durability' in (globalThis.IDBTransaction?.prototype || {});

/** @param {string} name @param {{durability?: 'strict' | 'relaxed', timeout?: number}} [options] */
export async function indexedDBStore(name, { durability = 'strict', timeout = 1e4 } = {}) {
  check(durability);
  let db, queue = Promise.resolve(), closed;
  // held: releases the lock we keep; fresh: kept since `seen` was read or written.
  let held, wanted, fresh, seen = 0, busy = 0, idle;
  const free = () => ((wanted = fresh = false), held?.(), (held = null));
  const bc = globalThis.BroadcastChannel && new BroadcastChannel('cu:' + name);
  if (bc) bc.onmessage = () => (held && !busy ? free() : (wanted = true));
  const locked = async (fn) => {
    busy++;
    clearTimeout(idle);
    try {
      return await fn();
    } finally {
      // (A page keeping a lock stays out of the back/forward cache.)
      if (!--busy) wanted ? free() : (idle = setTimeout(free, 500));
    }
  };
  const use = async () => {
    if (!db) {
      const r = indexedDB.open('cu:' + name, 1);
      r.onupgradeneeded = () => r.result.createObjectStore(S);
      const d = await new Promise((ok, no) => {
        const late = setTimeout(() => ((r.onsuccess = () => r.result.close()), no(new DOMException('idb: blocked', 'TimeoutError'))), timeout);
        req(r).then(ok, no).finally(() => clearTimeout(late));
      });
      d.onclose = d.onversionchange = () => (d.close(), db == d && (db = null), (fresh = false));
      db = d;
    }
    return db;
  };
  const records = new Map();
  const single = new Set(); // records stored alone (the first layout)
  let at = 0; // the version `records` are of
  const load = async () => {
    const os = (await use()).transaction(S).objectStore(S);
    const [keys, values] = await Promise.all([req(os.getAllKeys()), req(os.getAll())]);
    records.clear();
    single.clear();
    keys.forEach((k, i) => {
      const v = values[i];
      if (k == 'version') at = v;
      else if (Array.isArray(v)) for (let j = 0; j < v.length; j += 2) records.set(v[j], bytes(v[j + 1]));
      else records.set(k, bytes(v)), single.add(k);
    });
  };
  await load().catch((e) => (bc?.close(), Promise.reject(e)));

  const run = async (puts, deletes, options) => {
    const tx = async () => (await use()).transaction(S, 'readwrite', hints ? options : undefined);
    let t;
    try {
      t = await tx();
    } catch {
      db = null; // closed, its event not dispatched yet
      t = await tx();
    }
    const o = t.objectStore(S);
    let version;
    try {
      const vr = o.get('version');
      vr.onsuccess = () => o.put((version = (vr.result || 0) + 1), 'version');
      // Each bundle touched, written whole.
      const next = new Map(puts), done = new Set();
      for (const k of deletes) next.set(k, null);
      for (const k of next.keys()) {
        const n = page(k), b = bundle(k, n), value = [];
        if (done.has(b)) continue;
        done.add(b);
        for (const m of members(k, n)) {
          const v = next.has(m) ? next.get(m) : records.get(m);
          if (v) value.push(m, v);
          if (single.has(m)) o.delete(m);
        }
        value[0] ? o.put(value, b) : o.delete(b);
      }
    } catch (e) {
      t.abort();
      throw e;
    }
    await new Promise((ok, no) => {
      t.oncomplete = ok;
      t.onabort = () => no(t.error || new DOMException('idb: aborted', 'AbortError'));
    });
    for (const [k, v] of puts) records.set(k, v), single.delete(k);
    for (const k of deletes) records.delete(k), single.delete(k);
    return (at = seen = version);
  };

  return {
    records,
    commit(puts = [], deletes = [], o = {}) {
      let p;
      try {
        if (closed) throw new DOMException('idb: closed', 'InvalidStateError');
        // Exact-size copies (a view would store its whole buffer).
        p = [puts.map(([k, v]) => [k, new Uint8Array(v)]), [...deletes], { durability: check(o.durability ?? durability) }];
      } catch (e) {
        return Promise.reject(e);
      }
      const r = queue.then(() => run(...p));
      queue = r.catch(() => {});
      return r;
    },
    get at() {
      return at;
    },
    reload: () => (queue = queue.then(load)),
    async version() {
      if (fresh) return seen;
      seen = (await req((await use()).transaction(S).objectStore(S).get('version'))) || 0;
      fresh = !!held;
      return seen;
    },
    lock(fn) {
      if (held || !globalThis.navigator?.locks) return locked(fn);
      // Asks whoever keeps it, every 50 ms (a message may overtake our request).
      const ask = () => bc?.postMessage(0), asking = setInterval(ask, 50);
      ask();
      return new Promise((ok, no) => navigator.locks.request('cu:' + name, () => new Promise((release) => (clearInterval(asking), (held = release), locked(fn).then(ok, no)))));
    },
    close() {
      closed = true;
      bc?.close();
      return (queue = queue.then(() => (free(), db?.close(), (db = null))));
    },
  };
}
