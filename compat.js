// compat.js: the Cu 2.x API (the original Cu's cu-api.js / lua-api.js) on top of glue.js, so
// code written for it keeps working: import cu from 'cu-lua/compat'; await cu.load(); cu.init().
// One instance per page, as in Cu 2.x. docs/API.md, "Cu 2.x compatibility", lists the differences.
import { CuWASM, CuError } from './glue.js';

let lua = null; // the CuWASM instance of load()
let loading = null; // load()'s promise while it runs
let heap = 0; // the heap size the instance was made with
let used = 0; // Lua heap bytes in use after the last call
let input, meta; // _io.input and _io.meta, sent with the next compute
let ioChanged = false;
let output; // _io.output after the last compute

const notLoaded = () => new CuError('NOT_INITIALIZED', 'WASM not loaded. Call load() (or loadLuaWasm()) first');

// Loads cu.wasm and opens the storage (restoring _home); resolves to true. Cu 2.x options:
// wasmPath (a URL of cu.wasm), memorySize (the Lua heap, bytes), compression (boolean),
// autoRestore (only true: Cu always restores; use storage 'memory' for a fresh instance),
// validation (always on); any CuWASM.init option passes through.
export async function load(options = {}) {
  if (lua) return true;
  if (loading) return loading;
  if (options === null || typeof options != 'object') throw new CuError('BAD_ARGUMENT', 'options must be an object');
  const { wasmPath, memorySize, autoRestore = true, validation, compression, ...rest } = options;
  if (autoRestore !== true) {
    throw new CuError('BAD_ARGUMENT', 'autoRestore: false is not supported: Cu restores the stored state at load; pass storage: \'memory\' for an empty instance that saves nothing');
  }
  const init = { ...rest };
  if (wasmPath !== undefined) init.wasm = wasmPath;
  if (memorySize !== undefined) init.heapSize = memorySize;
  if (compression !== undefined) init.compression = compression === true ? 'default' : compression;
  loading = (async () => {
    try {
      const made = await CuWASM.init(init);
      heap = init.heapSize ?? 524288;
      // _io exists from the start, as Cu 2.x's _io external table did.
      await made.setGlobal('_io', {}).catch((e) => {
        made.close();
        throw e;
      });
      lua = made;
      await sample();
      return true;
    } finally {
      loading = null;
    }
  })();
  return loading;
}

// Cu 2.x's init(): the Lua state is made by load(); returns 0 (success).
export function init() {
  loaded();
  return 0;
}

function loaded() {
  if (!lua) throw notLoaded();
  return lua;
}

// After every call: the Lua heap in use and _io.output (one small call).
async function sample() {
  const [count, out] = await lua.computeAll("local io = rawget(_G, '_io') return collectgarbage('count'), type(io) == 'table' and io.output or nil");
  used = Math.round(count * 1024);
  output = out ?? null;
}

// Runs Lua code; resolves to its last result (undefined when it returns nothing). Errors
// reject with a CuError (code, message, details.line).
export async function compute(code) {
  const vm = loaded();
  if (typeof code != 'string' || !code) throw new CuError('BAD_ARGUMENT', 'Code must be a non-empty string');
  if (ioChanged) {
    await vm.setGlobal('_io', { input, meta });
    ioChanged = false;
  }
  let results;
  try {
    results = await vm.computeAll(code);
  } finally {
    await sample().catch(() => {});
  }
  return results.length ? results[results.length - 1] : undefined;
}

// _io: structured data in and out of Lua (Lua reads _io.input and _io.meta, sets _io.output).
export function setInput(value) {
  input = value;
  ioChanged = true;
}

export function setMetadata(value) {
  meta = value;
  ioChanged = true;
}

// _io.output as the last compute left it (null when unset).
export function getOutput() {
  return output ?? null;
}

export function clearIo() {
  input = meta = undefined;
  output = null;
  ioChanged = true;
}

// true when `step` (a call of the instance) succeeds, else false with the error in
// lastError, as Cu 2.x logged it.
async function settle(step) {
  try {
    await step(loaded());
    return true;
  } catch (e) {
    compat.lastError = e;
    return false;
  }
}

// Every change is saved before its call resolves; saveState waits for that.
export const saveState = () => settle((vm) => vm.saveState());

// Reads the stored state again (another tab may have written).
export const loadState = () => settle((vm) => vm.loadState());

// The Lua heap as of the last call: { total, used, free } in bytes.
export function getMemoryStats() {
  loaded();
  return { total: heap, used, free: heap - used };
}

// A full garbage collection, run before the next call; returns true.
export function runGc() {
  const vm = loaded();
  vm.gc().then(sample).catch(() => {});
  return true;
}

// Closes the instance (pending calls run and are saved first); load() may be called again.
export async function close() {
  const vm = lua;
  lua = null;
  input = meta = output = undefined;
  ioChanged = false;
  await vm?.close();
}

// LuaWASM.init(options) of Cu 2.x's README: load + init, resolves to this API.
export const LuaWASM = {
  async init(options) {
    await load(options);
    init();
    return compat;
  },
};

const compat = {
  load, loadLuaWasm: load, init, compute, setInput, setMetadata, getOutput, clearIo,
  saveState, loadState, getMemoryStats, runGc, close, LuaWASM,
  lastError: null,
  // The CuWASM instance, for everything Cu 3 adds (batches, indices, queries, schemas).
  get instance() {
    return lua;
  },
};

export { load as loadLuaWasm };
export default compat;
