// glue.js: Cu's JS side (browsers, Node): loads dist/cu.wasm, runs Lua through its I/O
// buffer, decodes replies (docs/ARCHITECTURE.md). const lua = await CuWASM.init()

const BUF = 65536; // the module's I/O buffer size
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const OPAQUE = { 2: 'lightuserdata', 6: 'function', 7: 'userdata', 8: 'thread' };
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
  INSTANCE_DEAD: AGAIN,
};
const CODES = Object.keys(SUGGESTIONS);
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lossy = new TextDecoder('utf-8', { ignoreBOM: true });
const encoder = new TextEncoder();
const modules = new Map(); // URL → Promise<WebAssembly.Module>

// Every failure: a stable code, details, a suggestion (README).
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

// Request `u8 flags, u16 name_len, name, prefix, body`.
function named(flags, name, body, prefix = []) {
  const n = typeof name == 'string' && encoder.encode(name);
  if (!n || n.length > 65535) throw bad('bad name (a string of < 64 KiB)');
  const request = new Uint8Array(3 + n.length + prefix.length + body.length);
  request.set([flags, n.length, n.length >> 8, ...n, ...prefix]);
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

// Compiles the module, once per URL.
function load(wasm) {
  if (wasm instanceof WebAssembly.Module) return wasm;
  if (wasm instanceof ArrayBuffer || ArrayBuffer.isView(wasm)) return WebAssembly.compile(wasm);
  if (typeof wasm != 'string' && !(wasm instanceof URL)) throw bad('bad wasm (URL, string, bytes or WebAssembly.Module)');
  const node = typeof process == 'object' && !!process.versions?.node;
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
      case 3: v = view.getBigInt64((p += 8) - 8, true); return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v;
      case 4: return view.getFloat64((p += 8) - 8, true);
      case 5: v = take(u32()); try { return utf8.decode(v); } catch { return v.slice(); }
      case 6: n = u32(); tables.push((v = [])); list(n, () => v.push(value())); return v;
      case 7:
        n = u32(); tables.push((v = {}));
        list(n, () => {
          let k = value();
          k = k instanceof Uint8Array ? lossy.decode(k) : String(k);
          // "__proto__" stays an own property.
          Object.defineProperty(v, k, { value: value(), writable: true, enumerable: true, configurable: true });
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

// A Lua state in its own WebAssembly instance. Values from Lua: README.
export class CuWASM {
  #x = {}; // the exports, wrapped: an exception marks the instance dead
  #memory;
  #u8;
  #onPrint;
  #dead = null; // why the instance is unusable
  #closed = false;
  #queue = Promise.resolve();

  // Options: heapSize, instructionLimit, onPrint(text, stream), wasm, storage (README).
  static async init(options = {}) {
    if (!isObject(options)) throw bad('options must be an object');
    const {
      heapSize = 524288, instructionLimit = 1e9, onPrint = (text) => console.log(text),
      wasm = new URL('./dist/cu.wasm', import.meta.url), storage = 'memory',
    } = options;
    if (!(Number.isInteger(heapSize) && heapSize > 0 && heapSize < 2 ** 32)) throw bad('bad heapSize');
    if (!(instructionLimit >= 0) || typeof instructionLimit != 'number') throw bad('bad instructionLimit');
    if (typeof onPrint != 'function') throw bad('bad onPrint');
    if (storage !== 'memory') throw bad('unknown storage: ' + storage);
    let module;
    try {
      module = await load(wasm);
    } catch (e) {
      throw e instanceof CuError ? e : bad(`cannot load ${wasm}: ${e.message}`);
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
    if (status < 0) throw lua.#error(status, lua.#pull());
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

  // → { heapUsed, heapSize, heapPeak, lastInstructions, moduleHeapUsed }
  async stats() {
    const [heapUsed, heapSize, heapPeak, lastInstructions, moduleHeapUsed] = (await this.#enqueue(3)).map(Number);
    return { heapUsed, heapSize, heapPeak, lastInstructions, moduleHeapUsed };
  }

  async gc() {
    await this.#enqueue(4);
  }

  // Frees the state after pending calls; later calls reject with INSTANCE_DEAD.
  close() {
    if (!this.#closed) {
      this.#closed = true;
      this.#queue = this.#queue.then(() => {
        try { this.#x.cu_close(); } catch {}
        this.#dead ||= 'closed';
      });
    }
    return this.#queue;
  }

  async #compute(code, options = {}, flags) {
    if (typeof code != 'string') throw bad('code must be a string');
    if (!isObject(options)) throw bad('options must be an object');
    const { chunkName = '=compute' } = options;
    return this.#enqueue(1, named(flags, chunkName, encoder.encode(code)), chunkName);
  }

  // One call at a time: they share the I/O buffer.
  #enqueue(op, request = new Uint8Array(0), chunkName = null, raw = false) {
    if (this.#dead || this.#closed) return Promise.reject(this.#deadError());
    const result = this.#queue.then(() => this.#call(op, request, chunkName, raw));
    this.#queue = result.catch(() => {});
    return result;
  }

  #mem() {
    // Memory growth detaches views.
    if (this.#u8?.buffer !== this.#memory.buffer) this.#u8 = new Uint8Array(this.#memory.buffer);
    return this.#u8;
  }

  // Sends the request, runs op, reads the reply, hands out output.
  #call(op, request, chunkName, raw) {
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

  #error(status, reply, chunkName = null) {
    const text = (v) => (v instanceof Uint8Array ? lossy.decode(v) : v == null ? v : String(v));
    let message, traceback;
    try { [message, traceback] = decode(reply).map(text); } catch {}
    message ??= '';
    const code = CODES[~status] || 'LUA_RUNTIME';
    const line = /:(\d+):/.exec(message);
    return new CuError(code, message || code, { status, luaMessage: message, traceback: traceback ?? null, chunkName, line: line && +line[1] });
  }

  #deadError() {
    const why = this.#dead || 'closed';
    return new CuError('INSTANCE_DEAD', why == 'closed' ? 'the Cu instance is closed' : 'the Cu instance is dead: ' + why);
  }
}
