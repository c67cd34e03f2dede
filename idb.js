// idb.js: CuWASM's IndexedDB storage adapter (browsers; contract: file-store.js). Database
// 'cu:' + name, store 'pages'. commit: one readwrite transaction, in call order, resolved on
// 'complete'; a connection closed by the browser or another tab's upgrade reopens lazily.
// Tabs: every commit bumps the record 'version' in its transaction; `version()` reads it,
// `at` is the version `records` hold, `reload()` reads every record again, `lock(fn)` runs fn
// under a Web Lock of the database.
const S = 'pages';
const req = (r) => new Promise((ok, no) => ((r.onsuccess = () => ok(r.result)), (r.onerror = () => no(r.error))));
const check = (d) => {
  if (d != 'strict' && d != 'relaxed') throw new TypeError('idb: bad durability ' + d);
  return d;
};

/** @param {string} name @param {{durability?: 'strict' | 'relaxed'}} [options] */
export async function indexedDBStore(name, { durability = 'strict' } = {}) {
  check(durability);
  let db, queue = Promise.resolve(), closed;
  const use = async () => {
    if (!db) {
      const r = indexedDB.open('cu:' + name, 1);
      r.onupgradeneeded = () => r.result.createObjectStore(S);
      const d = await req(r);
      d.onclose = d.onversionchange = () => (d.close(), db == d && (db = null));
      db = d;
    }
    return db;
  };
  const records = new Map();
  let at = 0; // the version `records` are of
  const load = async () => {
    const os = (await use()).transaction(S).objectStore(S);
    const [keys, values] = await Promise.all([req(os.getAllKeys()), req(os.getAll())]);
    records.clear();
    keys.forEach((k, i) => (k == 'version' ? (at = values[i]) : records.set(k, values[i] instanceof Uint8Array ? values[i] : new Uint8Array(values[i]))));
  };
  await load();

  const run = async (puts, deletes, options) => {
    const tx = async () => (await use()).transaction(S, 'readwrite', options);
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
      for (const [k, v] of puts) o.put(v, k);
      for (const k of deletes) o.delete(k);
    } catch (e) {
      t.abort();
      throw e;
    }
    await new Promise((ok, no) => {
      t.oncomplete = ok;
      t.onabort = () => no(t.error || new DOMException('idb: aborted', 'AbortError'));
    });
    for (const [k, v] of puts) records.set(k, v);
    for (const k of deletes) records.delete(k);
    return (at = version);
  };

  return {
    records,
    commit(puts = [], deletes = [], o = {}) {
      let p;
      try {
        if (closed) throw new DOMException('idb: closed', 'InvalidStateError');
        // Exact-size copies: a view would store its whole buffer; the caller may reuse it.
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
    version: async () => (await req((await use()).transaction(S).objectStore(S).get('version'))) || 0,
    lock: (fn) => (globalThis.navigator?.locks ? navigator.locks.request('cu:' + name, fn) : fn()),
    close() {
      closed = true;
      return (queue = queue.then(() => (db?.close(), (db = null))));
    },
  };
}
