// glue.js: Cu's JS side (browsers, Node): loads dist/cu.wasm, runs Lua through its I/O
// buffer, decodes replies (docs/ARCHITECTURE.md). const lua = await CuWASM.init(); the API: docs/API.md

const BUF = 65536; // the module's I/O buffer size
const OPAQUE = { 2: 'lightuserdata', 5: 'table', 6: 'function', 7: 'userdata', 8: 'thread' };
const OPAQUE_PROTO = { toString() { return this.repr; } };
const AGAIN = 'Create a new instance with CuWASM.init.';
// Codes in the order of status -1, -2, ...; then JS-side ones.
const SUGGESTIONS = {
  LUA_RUNTIME: 'Check the line in the message; details.traceback shows the calls.',
  LUA_SYNTAX: 'Check the line in the message, or the one before (a missing end, ) or then?).',
  LUA_MEMORY: 'Raise heapSize, or store large data outside the Lua heap.',
  INSTRUCTION_LIMIT: 'Raise instructionLimit, or look for an endless loop.',
  BAD_ARGUMENT: 'Check the arguments passed to Cu.',
  LUA_EXIT: 'The script called os.exit: return a value instead.',
  CONVERSION: 'Return tables nested at most 200 deep, or a string.',
  NOT_INITIALIZED: AGAIN,
  BAD_BYTECODE: 'Load only chunks from string.dump or luac 5.4.',
  NOT_SERIALIZABLE: 'Store only data, Lua functions and standard functions.',
  BAD_DATA: 'Pass bytes made by serialize(), undamaged.',
  NOT_A_FUNCTION: 'Pass code giving a function, e.g. "function(x) return x end".',
  NOT_A_TABLE: 'Check the path: a part of it is a value, not a table.',
  UNIQUE_VIOLATION: 'Another record has this value in a unique index.',
  NOT_FOUND: 'Set the record before updating it.',
  SCHEMA_VIOLATION: 'See violations: [{ path, rule, expected, got }]; the write was undone.',
  MIGRATION_FAILED: 'See record and violations; the migration was undone.',
  INSTANCE_DEAD: AGAIN,
  STORAGE_FAILED: 'The change was not saved and was undone; check the storage and retry.',
  STORAGE_QUOTA: 'The storage is full: delete data or ask the browser for more space.',
  STORAGE_UNAVAILABLE: 'Close what holds the storage, or use storage \'memory\'.',
  BATCH_FAILED: 'See failures.',
  UNSUPPORTED_ENGINE: 'Use Chrome 95, Firefox 100, Safari 15.2 or later (WebAssembly exception handling).',
  ABORTED: 'The call was undone.',
};
const CODES = Object.keys(SUGGESTIONS);
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lossy = new TextDecoder('utf-8', { ignoreBOM: true });
const encoder = new TextEncoder();
const modules = new Map(); // URL → Promise<WebAssembly.Module>

// Every failure: a stable code, details, a suggestion.
export class CuError extends Error {
  constructor(code, message, details) {
    super(message);
    this.name = 'CuError';
    this.code = code;
    this.details = { status: null, luaMessage: null, traceback: null, chunkName: null, line: null, ...details };
    this.suggestion = SUGGESTIONS[code] || '';
  }
}

const bad = (message) => new CuError('BAD_ARGUMENT', message);
const text = (v) => (v instanceof Uint8Array ? lossy.decode(v) : v == null ? null : String(v));

function failure(status, message, traceback, chunkName = null) {
  message = text(message) || '';
  const code = CODES[~status] || 'LUA_RUNTIME';
  const line = /:(\d+):/.exec(message);
  return new CuError(code, message || code, { status, luaMessage: message, traceback: text(traceback), chunkName, line: line && +line[1] });
}

// An error's extra fields from the module ({ violations, record }); violations always an array.
const extras = (e, x) => (isObject(x) && Object.assign(e, x, { violations: Array.isArray(x.violations) ? x.violations : [] }), e);
// A batch op's error: its message, or [message, extras].
const opError = (s, r) => (Array.isArray(r) ? extras(failure(s, r[0]), r[1]) : failure(s, r));

// A rolled-back atomic batch: failures [{ index, error }], results.
export class BatchError extends CuError {
  constructor(failures, results) {
    super('BATCH_FAILED', failures.length + ' ops failed, first: ' + failures[0].error.message);
    Object.assign(this, { name: 'BatchError', failures, results });
  }
}

const no = (message) => { throw bad(message); };
const ok = (c, what) => c || no('bad ' + what);

// Request writer (ARCHITECTURE.md, "External-table requests")
let wb = new Uint8Array(0), wv, wp = 0, stack; // stack: the tables being written
const need = (n, b = wb) => {
  if (wp + n > b.length) (wb = new Uint8Array(2 * wp + n + 4096)).set(b), (wv = new DataView(wb.buffer));
};
const w8 = (b) => (need(1), (wb[wp++] = b));
const w32 = (n) => (need(4), wv.setUint32(wp, n, true), (wp += 4));

function put(v) {
  switch (typeof v) {
    case 'number':
      if (!Number.isSafeInteger(v) || Object.is(v, -0)) return w8(4), need(8), wv.setFloat64(wp, v, true), (wp += 8);
      return w8(3), w32(v >>> 0), w32(Math.floor(v / 2 ** 32));
    case 'bigint':
      if (BigInt.asIntN(64, v) != v) break;
      return w8(3), need(8), wv.setBigInt64(wp, v, true), (wp += 8);
    case 'string': {
      const n = v.length;
      let p = wp + 5, i = 0, c;
      need(5 + 3 * n);
      if (n < 99) while (i < n && (c = v.charCodeAt(i)) < 128) wb[p++] = c, i++;
      if (i < n) p += encoder.encodeInto(i ? v.slice(i) : v, wb.subarray(p)).written;
      return w8(5), w32(p - wp - 4), (wp = p);
    }
    case 'boolean': return w8(v ? 2 : 1);
    case 'undefined': return w8(0);
    case 'object': return v ? table(v) : w8(0);
  }
  no('cannot store this ' + typeof v);
}

function table(v) {
  if (v instanceof Uint8Array || v instanceof ArrayBuffer) return (v = bytesOf(v)), w8(5), w32(v.length), need(v.length), wb.set(v, wp), (wp += v.length);
  ok(!stack.includes(v) && stack.push(v) <= 200, 'value: a cycle or over 200 tables deep');
  const proto = Object.getPrototypeOf(v), map = v instanceof Map, array = Array.isArray(v);
  let n = array ? v.length : 0, at;
  if (!(array || map || proto == Object.prototype || !proto)) no('cannot store a ' + proto.constructor?.name);
  w8(n ? 6 : 7);
  at = wp;
  w32(n);
  if (n) for (const x of v) put(x);
  else if (map) for (const [k, x] of v) x === undefined || (key(k), put(x), n++);
  else for (const k in v) v[k] === undefined || (put(k), put(v[k]), n++);
  wv.setUint32(at, n, true);
  stack.pop();
}

// What `write` puts in the request writer.
const bytes = (write) => ((wp = 0), (stack = []), write(), wb.slice(0, wp));
const key = (k) => put(k == null || k !== k || (isObject(k) && !(k instanceof Uint8Array)) ? no('bad key') : k);

// 'users', 'Memory.users.u1' (a leading Memory/_home dropped), or an array of keys as is.
function path(p, field) {
  if (typeof p == 'string') (p = p.split('.')), field || (p[0] != 'Memory' && p[0] != '_home') || p.shift();
  return ok(Array.isArray(p) && p.length < 256 && (!field || p.length), field || 'path') && p;
}
const wpath = (p, field) => (w8((p = path(p, field)).length), p.forEach(key));
const wt = (t, ...k) => (wpath(t), k.forEach(key));
const wfield = (t, f) => {
  const p = [...path(t), ...path(f, 'field')], k = p.pop();
  wpath(p), wpath([k]);
};

const OPS = [, '=', '!=', '<', '<=', '>', '>=', 'between', 'in', 'contains', 'startsWith'];
function wquery(q) {
  const { limit, offset = 0, orderBy, order, cursor, where = [] } = ok(isObject(q), 'query') && q;
  ok(Array.isArray(where), 'where');
  ok(limit == null || (limit >>> 0 === limit && limit < -1 >>> 0), 'limit');
  ok(offset >>> 0 === offset, 'offset');
  ok(!order || order == 'asc' || order == 'desc', 'order');
  const conds = (q.field ?? q.operator ?? q.op) != null ? [q, ...where] : where;
  w8(!!q.count | (!!q.explain << 1) | ((order == 'desc') << 2) | ((orderBy != null) << 3) | ((cursor != null) << 4));
  w32(limit ?? -1);
  w32(offset);
  if (orderBy != null) wpath(orderBy, 'orderBy');
  if (cursor != null) put(cursor);
  w8(ok(conds.length < 256, 'where') && conds.length);
  for (const c of conds) {
    const o = ok(isObject(c), 'condition') && (c.operator ?? c.op), i = OPS.indexOf(o == '==' ? '=' : o), v = c.value;
    ok(i > 0, 'operator: ' + String(o));
    ok(i < 7 || i > 8 || (Array.isArray(v) && (i > 7 || v.length == 2)), 'value for ' + o);
    wpath(c.field, 'field'), w8(i), put(v);
  }
}
// Groups of n reply values (from index i) through f.
const rows = (v, n, f, i = 0, r = []) => {
  for (; i < v.length; i += n) r.push(f(v[i], v[i + 1], v[i + 2], v[i + 3]));
  return r;
};
const first = (v) => v[0] ?? undefined;
const tick = () => new Promise((r) => setTimeout(r));

// Request `u8 flags, u16 name_len, name, prefix, body`.
function named(flags, name, body, prefix = []) {
  const n = typeof name == 'string' && encoder.encode(name);
  if (!n || n.length > 65535) throw bad('bad name (a string of < 64 KiB)');
  const request = new Uint8Array(3 + n.length + prefix.length + body.length);
  request.set([flags, n.length, n.length >> 8, ...n]);
  request.set(prefix, 3 + n.length);
  request.set(body, request.length - body.length);
  return request;
}

function bytesOf(bytes) {
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  throw bad('bad bytes (Uint8Array or ArrayBuffer)');
}
const isObject = (v) => v !== null && typeof v === 'object';
const codecFlags = (o) => (o.keepDebugInfo ? 1 : 0) | (o.compress === false ? 2 : 0);

// The `compression` option: false/'off', true, a level, or { level, threshold,
// enabled } → the SET_COMPRESSION request: u8 level (0 off, 1 fast, 2 default, 3 best),
// u32 threshold.
const LEVELS = ['off', 'fast', 'default', 'best'];
function compression(c) {
  if (typeof c != 'object' || !c) c = { level: c === false ? 'off' : c === true || c == null ? 'default' : c };
  const { level = 'default', threshold = 1024, enabled = true } = c, i = LEVELS.indexOf(level);
  ok(!Array.isArray(c) && Object.keys(c).every((k) => /^(level|threshold|enabled)$/.test(k)) && typeof enabled == 'boolean', 'compression (false, a level or { level, threshold, enabled })');
  ok(i >= 0, `compression level ${String(level)} (fast, default, best or off)`);
  ok(threshold >>> 0 === threshold, 'compression threshold (bytes: an integer from 0 to 2^32 - 1)');
  return new Uint8Array([enabled && i, threshold, threshold >> 8, threshold >> 16, threshold >>> 24]);
}

// Storage adapters: { records: Map<key, Uint8Array> (all, at open), commit(puts, deletes,
// { durability }) → Promise (atomic), close() }. Pages of the store are records "p<n>".
const memoryDBs = new Map(); // name → records: a memory database lasts as long as the page
function memoryStore(name) {
  const records = (name != null && memoryDBs.get(name)) || new Map();
  if (name != null) memoryDBs.set(name, records);
  return {
    records,
    async commit(puts, deletes) {
      for (const [k, v] of puts) records.set(k, v);
      for (const k of deletes) records.delete(k);
    },
    async close() {},
  };
}

// Instances of one process on one database share its adapter: each gets a view with a
// version and a lock, as tabs get from idb.js (so no instance works on a stale copy).
const opened = new Map(); // key → { store (a promise), version, chain, users }
async function shared(key, open) {
  let s = opened.get(key);
  if (!s) opened.set(key, (s = { store: open(), version: 0, chain: Promise.resolve(), users: 0 }));
  s.users++;
  let store;
  try {
    store = await s.store;
  } catch (e) {
    opened.delete(key);
    throw e;
  }
  return {
    get records() {
      return store.records;
    },
    at: s.version,
    commit: async (p, d, o) => (await store.commit(p, d, o), ++s.version),
    version: async () => s.version,
    lock: (fn) => {
      const r = s.chain.then(fn);
      s.chain = r.catch(() => {});
      return r;
    },
    close: async () => --s.users || (opened.delete(key), await store.close()),
  };
}

// LOAD_PAGES request: u32 n, then (u64 page, u32 length, bytes) per page record.
function pagesRequest(records) {
  const pages = [...records].filter(([k]) => /^p\d+$/.test(k));
  const size = pages.reduce((n, [, v]) => n + 12 + v.length, 4);
  const out = new Uint8Array(size), view = new DataView(out.buffer);
  let p = 4;
  view.setUint32(0, pages.length, true);
  for (const [k, v] of pages) {
    view.setBigUint64(p, BigInt(k.slice(1)), true);
    view.setUint32(p + 8, v.length, true);
    out.set(v, p + 12);
    p += 12 + v.length;
  }
  return out;
}

// Legacy wasm exception handling, as cu.wasm uses it: `try catch <tag> end`.
const supported = () => typeof WebAssembly == 'object' && WebAssembly.validate(new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 13, 3, 1, 0, 0, 10, 9, 1, 7, 0, 6, 64, 7, 0, 11, 11]));
// IndexedDB, or null (absent or refused: opaque origins throw).
const idb = () => {
  try {
    return typeof indexedDB == 'object' && indexedDB;
  } catch {
    return null;
  }
};
const isNode = () => typeof process == 'object' && !!process.versions?.node;
// QuotaExceededError as engines and Node give it.
const quota = (e) => /QUOTA/i.test(e?.name) || [22, 1014, 'ENOSPC'].includes(e?.code);

// Compiles the module, once per URL.
function load(wasm) {
  if (wasm instanceof WebAssembly.Module) return wasm;
  if (wasm instanceof ArrayBuffer || ArrayBuffer.isView(wasm)) return WebAssembly.compile(wasm);
  if (typeof wasm != 'string' && !(wasm instanceof URL)) throw bad('bad wasm (URL, string, bytes or WebAssembly.Module)');
  const node = isNode();
  let url = null;
  try { url = new URL(wasm); } catch { if (!node) url = new URL(wasm, location.href); }
  const key = String(url || wasm);
  if (!modules.has(key)) {
    const promise = (async () => {
      if (!url || url.protocol == 'file:') {
        const fs = 'node:fs/promises'; // a variable, so bundlers leave it alone
        const { readFile } = await import(/* @vite-ignore */ /* webpackIgnore: true */ fs);
        return WebAssembly.compile(await readFile(url || wasm));
      }
      const res = await fetch(url);
      if (!res.ok) throw Error('HTTP ' + res.status);
      return WebAssembly.compileStreaming && /^application\/wasm/.test(res.headers.get('content-type'))
        ? WebAssembly.compileStreaming(res)
        : WebAssembly.compile(await res.arrayBuffer());
    })();
    modules.set(key, promise);
    promise.catch(() => modules.delete(key));
  }
  return modules.get(key);
}

// Decodes `u32 count` then `count` wire values.
function decode(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const tables = [];
  let p = 0;
  const u32 = () => view.getUint32((p += 4) - 4, true);
  const take = (n) => bytes.subarray(p, (p += n));
  const list = (n, f) => { for (let i = 0; i < n; i++) f(); };
  const value = () => {
    let tag = bytes[p++], n, v;
    switch (tag) {
      case 0: return null;
      case 1: case 2: return tag == 2;
      case 3: v = view.getInt32(p + 4, true) * 2 ** 32 + u32(); return Number.isSafeInteger(v) ? (p += 4, v) : view.getBigInt64((p += 4) - 8, true);
      case 4: return view.getFloat64((p += 8) - 8, true);
      case 5:
        for (n = u32(), v = p; n < 99 && v < p + n && bytes[v] < 128; v++);
        if (v == p + n && n < 99) {
          for (n = ''; p < v; ) n += String.fromCharCode(bytes[p++]);
          return n;
        }
        v = take(n); try { return utf8.decode(v); } catch { return v.slice(); }
      case 6: n = u32(); tables.push((v = [])); list(n, () => v.push(value())); return v;
      case 7:
        n = u32(); tables.push((v = {}));
        list(n, () => {
          let k = value();
          k = k instanceof Uint8Array ? lossy.decode(k) : String(k);
          if (k != '__proto__') v[k] = value();
          else Object.defineProperty(v, k, { value: value(), writable: true, enumerable: true, configurable: true }); // an own property
        });
        return v;
      case 8: if ((v = tables[u32()])) return v; break;
      case 9: n = bytes[p++]; return Object.freeze({ __proto__: OPAQUE_PROTO, type: OPAQUE[n] || 'userdata', repr: lossy.decode(take(u32())) });
    }
    throw Error('bad wire value at byte ' + p);
  };
  const values = [];
  list(u32(), () => values.push(value()));
  if (p != bytes.length) throw Error('reply too long');
  return values;
}

// A Lua state in its own WebAssembly instance.
export class CuWASM {
  #x = {}; // the exports, wrapped: an exception marks the instance dead
  #memory;
  #u8;
  #onPrint;
  #dead = null; // why the instance is unusable
  #closed = false;
  #queue = Promise.resolve();
  #store; // the storage adapter
  #durability;
  #seen; // the storage version this instance holds (versioned adapters)

  // Warnings of init (CuError objects), e.g. storage 'auto' fell back to memory.
  warnings = [];

  // Options: heapSize, instructionLimit, onPrint(text, stream), wasm, storage, onWarning.
  static async init(options = {}) {
    if (!isObject(options)) throw bad('options must be an object');
    const {
      heapSize = 524288, instructionLimit = 1e9, onPrint = (text) => console.log(text),
      wasm = new URL('./dist/cu.wasm', import.meta.url), name, durability = 'strict',
      storage: asked, onWarning = (w) => console.warn('Cu: ' + w.message),
    } = options;
    if (!(Number.isInteger(heapSize) && heapSize > 0 && heapSize < 2 ** 32)) throw bad('bad heapSize');
    if (!(instructionLimit >= 0) || typeof instructionLimit != 'number') throw bad('bad instructionLimit');
    if (typeof onPrint != 'function') throw bad('bad onPrint');
    if (durability != 'strict' && durability != 'relaxed') throw bad('bad durability');
    const packing = options.compression == null ? null : compression(options.compression);
    if (typeof onWarning != 'function') throw bad('bad onWarning');
    if (!supported()) throw new CuError('UNSUPPORTED_ENGINE', 'this engine has no WebAssembly exception handling (try/catch), which cu.wasm needs');
    // Default: a file in Node, else IndexedDB; 'auto': the same, or memory and a warning.
    const auto = asked === 'auto', storage = asked === undefined || auto ? (isNode() ? 'file' : 'indexeddb') : asked;
    // The module compiles while the storage opens.
    const failed = (e) => {
      throw e instanceof CuError ? e : bad(`cannot load ${wasm}: ${e.message}`);
    };
    let compiling;
    try {
      compiling = Promise.resolve(load(wasm)).catch(failed);
    } catch (e) {
      failed(e);
    }
    compiling.catch(() => {});
    const open = async (storage) => {
      if (storage === 'memory') return name == null ? memoryStore() : shared('m:' + name, () => memoryStore(String(name)));
      if (storage === 'file') {
        const m = './file-store.js', dir = process.cwd(); // a variable, so bundlers leave it alone
        return shared('f:' + dir + '\0' + (name ?? 'cu'), async () => (await import(/* @vite-ignore */ m)).fileStore(dir, String(name ?? 'cu')));
      }
      if (storage === 'indexeddb') {
        if (!idb()) throw Error('no IndexedDB here');
        const m = new URL('./idb.js', import.meta.url).href;
        return (await import(/* @vite-ignore */ m)).indexedDBStore(String(name ?? 'cu'), { durability });
      }
      if (isObject(storage) && typeof storage.commit == 'function' && storage.records instanceof Map) return storage;
    };
    const warnings = [];
    let store, module;
    try {
      store = await open(storage);
    } catch (e) {
      const error = new CuError('STORAGE_UNAVAILABLE', `storage ${typeof storage == 'string' ? storage : 'adapter'}: ${e?.message || e}`);
      if (!auto) throw error;
      error.message += '; using memory: nothing is saved';
      warnings.push(error);
      store = await open('memory');
    }
    if (!store) throw bad('unknown storage: ' + storage);
    try {
      module = await compiling;
    } catch (e) {
      throw (await store.close(), e);
    }
    const { exports } = await WebAssembly.instantiate(module, {
      env: {
        cu_now: (kind) => (kind == 1 ? performance.now() : Date.now()),
        cu_local_offset: (t) => -new Date(t * 1000).getTimezoneOffset() * 60 || 0, // NaN → 0
      },
    });
    const lua = new CuWASM();
    lua.#onPrint = onPrint;
    lua.#memory = exports.memory;
    for (const name in exports) {
      const f = exports[name];
      lua.#x[name] = (...args) => {
        if (lua.#dead) throw lua.#deadError();
        try {
          return f(...args);
        } catch (e) {
          lua.#dead = `${e instanceof WebAssembly.RuntimeError ? 'WebAssembly trap' : 'exception'} in ${name}: ${e.message}`;
          throw lua.#deadError();
        }
      };
    }
    const [lo, hi] = crypto.getRandomValues(new Uint32Array(2));
    const status = lua.#x.cu_init(heapSize, instructionLimit == Infinity ? 0 : instructionLimit, lo, hi);
    if (status < 0) throw (await store.close(), lua.#error(status, lua.#pull()));
    lua.#store = store;
    lua.#seen = store.at; // the storage version the loaded records are of (versioned adapters)
    lua.#durability = durability;
    try {
      if (packing) lua.#call(28, packing);
      if (store.records.size) lua.#call(22, pagesRequest(store.records));
      for (const w of warnings) lua.warnings.push(w), onWarning(w);
    } catch (e) {
      await lua.close(); // the storage is closed too (a file store's lock released)
      throw e;
    }
    return lua;
  }

  // Runs Lua code; resolves to its first result.
  async compute(code, options) {
    return (await this.#compute(code, options, 0))[0];
  }

  // Resolves to an array of all results.
  computeAll(code, options) {
    return this.#compute(code, options, 1);
  }

  // Runs code; resolves to the bytes (docs/FORMAT.md) of its first result.
  async serialize(code, options = {}) {
    if (typeof code != 'string') throw bad('code must be a string');
    if (!isObject(options)) throw bad('options must be an object');
    const t = options.compressThreshold, u32 = t == null ? [] : [t, t >> 8, t >> 16, t >>> 24];
    if (t != null && t >>> 0 !== t) throw bad('bad compressThreshold');
    return this.#enqueue(5, named(codecFlags(options) | u32.length, options.chunkName ?? '=serialize', encoder.encode(code), u32), options.chunkName, true);
  }

  // Decodes bytes from serialize() into the global `name`.
  async deserialize(bytes, name) {
    await this.#enqueue(6, named(0, name, bytesOf(bytes)));
  }

  // Validates a Lua 5.4 binary chunk and stores its function in the global `name`.
  async loadBytecode(bytes, name) {
    await this.#enqueue(7, named(0, name, bytesOf(bytes)));
  }

  // Memory[name] = the function `code` gives, through serializer and validator.
  async persistFunction(table, name, code, options = {}) {
    if (typeof code != 'string') throw bad('code must be a string');
    if (!isObject(options)) throw bad('options must be an object');
    await this.#enqueue(8, named(codecFlags(options), table, named(0, name, encoder.encode(code)).subarray(1)), '=' + table + '.' + name);
  }

  // The report on the tables in `table` (Memory by default), the heaps and compression.
  async stats(table = []) {
    const s = first(await this.#ask(29, () => wt(table)));
    s.tables = Array.isArray(s.tables) ? s.tables : [];
    for (const t of s.tables) (t.table = ['Memory', ...t.path].join('.')), Array.isArray(t.indexes) || (t.indexes = []);
    return s;
  }

  // How values are stored from now on (the `compression` option of init).
  async setCompression(options) {
    await this.#enqueue(28, compression(options));
  }

  async gc() {
    await this.#enqueue(4);
  }

  // Globals, and modules for require.
  async setGlobal(name, value) {
    await this.#enqueue(30, named(0, name, bytes(() => put(value))));
  }

  async saveModule(name, source) {
    ok(typeof source == 'string', 'source');
    await this.#enqueue(31, named(0, name, encoder.encode(source)), '@' + name);
  }

  async deleteModule(name) {
    return first(await this.#enqueue(32, named(0, name, [])));
  }

  modules() {
    return this.#enqueue(33);
  }

  async getModule(name) {
    return first(await this.#enqueue(34, named(0, name, [])));
  }

  // External tables, batches, indices, queries.
  async getValue(table, key) {
    return first(await this.#ask(9, () => wt(table, key)));
  }

  async setValue(table, key, value) {
    await this.#ask(10, () => (wt(table, key), put(value)));
  }

  async deleteValue(table, key) {
    return first(await this.#ask(11, () => wt(table, key)));
  }

  async keys(table) {
    const [v] = await this.#ask(12, () => wt(table));
    return Array.isArray(v) ? v : [];
  }

  async count(table) {
    return first(await this.#ask(13, () => wt(table)));
  }

  async takeChanges() {
    return rows(await this.#enqueue(14), 4, (kind, path, key, value) => (
      (path = Array.isArray(path) ? path : []),
      { table: ['Memory', ...path].join('.'), path, ...(kind ? { index: key, ...(kind < 2 ? value : { dropped: true }) } : { key, value: value ?? undefined }) }));
  }

  async batchTableOperations(ops, { atomic = true, onProgress, signal, chunkSize = 2000 } = {}) {
    ok(Array.isArray(ops), 'ops');
    const total = ops.length, results = [], chunks = [];
    let idx = [], packFailed;
    const cut = () => {
      if (idx[0] != null) wv.setUint32(1, idx.length, true), chunks.push([wb.slice(0, wp), idx]);
      idx = [];
      wp = 5; // u8 flags, u32 n
    };
    cut();
    ops.forEach((op, i) => {
      const mark = wp, t = [, 'set', 'get', 'update', 'delete'].indexOf(op?.type);
      try {
        stack = [];
        ok(t > 0, 'op type: ' + String(op?.type));
        w8(t), wt(op.table, op.key), t & 1 && put(op.value), idx.push(i);
      } catch (e) {
        wp = mark;
        packFailed = results[i] = { ok: false, error: e instanceof CuError ? e : bad(String(e)) };
      }
      if (idx.length >= chunkSize || wp > 4e6) cut();
    });
    cut();
    return this.#run(async () => {
      try {
        for (let k = 0; k < chunks.length; k++) {
          if (signal?.aborted) throw new CuError('ABORTED', 'batch aborted');
          const [b, idx] = chunks[k], last = k == chunks.length - 1;
          b[0] = !!atomic | (k ? 0 : 2) | (last && !(atomic && packFailed) ? 4 : 0);
          const v = this.#call(15, b);
          idx.forEach((i, j) => (results[i] = v[2 * j] ? { ok: false, error: opError(v[2 * j], v[2 * j + 1]) } : { ok: true, value: v[2 * j + 1] ?? undefined }));
          if (!last) onProgress?.({ done: idx[idx.length - 1] + 1, total }), await tick();
        }
        if (atomic && packFailed) this.#call(16);
      } catch (e) {
        try { this.#call(16); } catch {}
        throw e;
      }
      onProgress?.({ done: total, total });
      const failures = [];
      results.forEach((r, index) => r.ok || failures.push({ index, error: r.error }));
      if (atomic && failures[0]) throw new BatchError(failures, results);
      return results;
    });
  }

  async createIndex(table, field, type = 'btree', options = {}) {
    const kind = ['btree', 'hash'].indexOf(type) + 1;
    await this.#ask(17, () => (wfield(table, field), w8(ok(kind, 'index type') && kind), w8(!!options?.unique)));
  }

  async dropIndex(table, field) {
    return first(await this.#ask(18, () => wfield(table, field)));
  }

  async indexes(table) {
    return rows(await this.#ask(20, () => wt(table)), 3, (field, type, unique) => ({ field, type, unique }));
  }

  async queryTable(table, query) {
    const v = await this.#ask(19, () => (wt(table), wquery(query)));
    return query.explain ? v[0] : query.count ? v[1] : Object.defineProperty(rows(v, 2, (key, value) => ({ key, value }), 2), 'cursor', { value: v[1] });
  }

  // Schemas and migrations.
  async defineSchema(table, schema) {
    ok(isObject(schema), 'schema');
    await this.#ask(23, () => (wt(table), put(schema)));
  }

  async dropSchema(table) {
    return first(await this.#ask(23, () => (wt(table), put(null))));
  }

  async getSchema(table) {
    return first(await this.#ask(24, () => wt(table)));
  }

  async schemaVersion(table) {
    return (await this.#ask(24, () => wt(table)))[1];
  }

  async migrations(table) {
    const h = (await this.#ask(24, () => wt(table)))[2];
    return Array.isArray(h) ? h : [];
  }

  // → the violations ([] when valid), with valid and records (checked) as properties.
  async validateTable(table) {
    const [records, v] = await this.#ask(25, () => wt(table)), violations = Array.isArray(v) ? v : [];
    return Object.defineProperties(violations, { valid: { value: !violations.length }, records: { value: records }, violations: { value: violations } });
  }

  async migrate(table, migration, options) {
    const { version, up, down, schema } = ok(isObject(migration), 'migration') && migration;
    ok(Number.isSafeInteger(version), 'version');
    ok(typeof up == 'string' && (down == null || typeof down == 'string'), 'up/down (function sources)');
    ok(schema == null || isObject(schema), 'schema');
    return this.#migrate(table, () => (put(version), put(up), put(down), put(schema)), options);
  }

  async rollbackMigration(table, options) {
    return this.#migrate(table, null, options);
  }

  // MIGRATE (op 26) in chunks of records inside one queued call, as batches go.
  #migrate(table, write, { onProgress, signal, chunkSize = 5000 } = {}) {
    ok(chunkSize >>> 0 === chunkSize && chunkSize > 0, 'chunkSize');
    wp = 0;
    stack = [];
    w8(write ? 1 : 3), w32(chunkSize), wt(table), write?.();
    const start = wb.slice(0, wp), next = start.slice(0, 5);
    next[0] = 0;
    return this.#run(async () => {
      let v;
      try {
        for (let request = start; ; request = next) {
          if (signal?.aborted) throw new CuError('ABORTED', 'migration aborted');
          if ((v = this.#call(26, request))[0] >= v[1]) break;
          onProgress?.({ done: v[0], total: v[1] });
          await tick();
        }
      } catch (e) {
        try { this.#call(27); } catch {}
        throw e;
      }
      onProgress?.({ done: v[1], total: v[1] });
      return { from: v[2], version: v[3], records: v[1] };
    });
  }

  // Resolves when every call made so far has run and been saved (saveState: the same, as
  // in Cu 2.x).
  flush() {
    return this.#run(() => {});
  }

  saveState() {
    return this.flush();
  }

  // Reads the external tables again from storage (another tab or process may have written).
  loadState() {
    return this.#run(async () => {
      await this.#store.reload?.();
      this.#call(22, pagesRequest(this.#store.records));
      this.#call(21);
    });
  }

  // Frees the state after pending calls; later calls reject with INSTANCE_DEAD.
  close() {
    if (!this.#closed) {
      this.#closed = true;
      this.#queue = this.#queue.then(async () => {
        try { this.#x.cu_close(); } catch {}
        this.#dead ||= 'closed';
        await this.#store?.close();
      });
    }
    return this.#queue;
  }

  async #compute(code, options = {}, flags) {
    if (typeof code != 'string') throw bad('code must be a string');
    if (!isObject(options)) throw bad('options must be an object');
    const { chunkName = '=compute', args } = options;
    ok(args == null || Array.isArray(args), 'args');
    return this.#enqueue(1, named(flags | (!!args << 1), chunkName, encoder.encode(code), args ? bytes(() => { w32(args.length); for (const x of args) put(x); }) : []), chunkName);
  }

  // One call at a time: they share the I/O buffer.
  #enqueue(op, request, chunkName, raw) {
    return this.#run(() => this.#call(op, request, chunkName, raw));
  }

  #run(f) {
    if (this.#dead || this.#closed) return Promise.reject(this.#deadError());
    const step = async () => {
      await this.#sync();
      const r = await f();
      await this.#save();
      return r;
    };
    // Several tabs (or processes) on one database: one call at a time across them all.
    const result = this.#queue.then(() => (this.#store.lock ? this.#store.lock(step) : step()));
    this.#queue = result.catch(() => {});
    return result;
  }

  // A request written by `write` into the shared buffer, then queued.
  #ask(op, write) {
    return this.#enqueue(op, bytes(write));
  }

  // Another tab or process committed since this instance last saw storage (its version
  // moved): read storage again first.
  async #sync() {
    const v = await this.#store.version?.();
    if (v !== this.#seen) {
      if (this.#seen !== undefined) {
        await this.#store.reload?.();
        this.#call(22, pagesRequest(this.#store.records));
        this.#call(21);
      }
      this.#seen = v;
    }
  }

  // Writes the pages the last call changed, in one storage commit. If that fails, the
  // instance goes back to what storage holds, and the call fails.
  async #save() {
    // The reply (raw: pages are bytes): u32 2n, then (int page, string bytes | nil) pairs.
    const r = this.#call(21, undefined, null, true), view = new DataView(r.buffer, r.byteOffset, r.length), puts = [], deletes = [];
    for (let i = view.getUint32(0, true) / 2, p = 4, n; i--; ) {
      const page = 'p' + view.getBigInt64(p + 1, true);
      p += 9;
      if (r[p++] != 5) deletes.push(page);
      else puts.push([page, r.slice(p + 4, (p += 4 + (n = view.getUint32(p, true))))]);
    }
    if (!puts.length && !deletes.length) return;
    try {
      const v = await this.#store.commit(puts, deletes, { durability: this.#durability });
      if (v !== undefined) this.#seen = v;
    } catch (e) {
      this.#call(22, pagesRequest(this.#store.records));
      this.#call(21);
      throw new CuError(quota(e) ? 'STORAGE_QUOTA' : 'STORAGE_FAILED', 'storage: ' + (e?.message || e?.name || e));
    }
  }

  #mem() {
    // Memory growth detaches views.
    if (this.#u8?.buffer !== this.#memory.buffer) this.#u8 = new Uint8Array(this.#memory.buffer);
    return this.#u8;
  }

  // Sends the request, runs op, reads the reply, hands out output.
  #call(op, request = new Uint8Array(0), chunkName, raw) {
    const x = this.#x;
    const buffer = x.cu_buffer() >>> 0;
    for (let at = 0; at < request.length; at += BUF) {
      const piece = request.subarray(at, at + BUF);
      this.#mem().set(piece, buffer);
      const status = x.cu_push(piece.length);
      if (status < 0) throw this.#error(status, this.#pull(), chunkName);
    }
    const status = x.cu_call(op);
    const reply = this.#pull();
    if (x.cu_output_size() >>> 0) {
      x.cu_call(2); // OUTPUT
      this.#print(this.#pull());
    }
    if (status < 0) throw this.#error(status, reply, chunkName);
    if (raw) return reply;
    try {
      return decode(reply);
    } catch (e) {
      this.#dead = 'bad reply: ' + e.message;
      throw this.#deadError();
    }
  }

  #pull() {
    const x = this.#x;
    const size = x.cu_reply_size() >>> 0;
    const buffer = x.cu_buffer() >>> 0;
    const reply = new Uint8Array(size);
    for (let at = 0, n; at < size; at += n) {
      n = x.cu_pull(at) >>> 0;
      if (!n || n > BUF || at + n > size) {
        this.#dead = `cu_pull gave ${n} bytes at ${at} of ${size}`;
        throw this.#deadError();
      }
      reply.set(this.#mem().subarray(buffer, buffer + n), at);
    }
    return reply;
  }

  // OUTPUT records (u8 stream, u32 len, bytes) → onPrint, a line at a time.
  #print(bytes) {
    const view = new DataView(bytes.buffer);
    const lines = [], text = {}, decoders = {};
    for (let p = 0; p < bytes.length; ) {
      const s = bytes[p] == 2 ? 'stderr' : 'stdout';
      const data = bytes.subarray(p + 5, (p += 5 + view.getUint32(p + 1, true)));
      const split = ((text[s] || '') + (decoders[s] ||= new TextDecoder()).decode(data, { stream: true })).split('\n');
      text[s] = split.pop();
      for (const line of split) lines.push([line, s]);
    }
    for (const s in text) if ((text[s] += decoders[s].decode())) lines.push([text[s], s]);
    for (const [line, s] of lines) this.#onPrint(line, s);
  }

  #error(status, reply, chunkName) {
    let v = [];
    try { v = decode(reply); } catch {}
    return extras(failure(status, v[0], v[1], chunkName), v[2]);
  }

  #deadError() {
    const why = this.#dead || 'closed';
    return new CuError('INSTANCE_DEAD', why == 'closed' ? 'the Cu instance is closed' : 'the Cu instance is dead: ' + why);
  }
}
