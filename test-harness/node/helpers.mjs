// helpers.mjs: shared helpers for the node --test suites (test-harness/node/*.test.mjs).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CuWASM, CuError } from '../../glue.js';

export { CuWASM, CuError };
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const WASM_URL = new URL('../../dist/cu.wasm', import.meta.url);
export const WASM_PATH = fileURLToPath(WASM_URL);

if (!existsSync(WASM_PATH)) {
  throw new Error(`${WASM_PATH} is missing: build it first with \`bash scripts/build.sh\``);
}

/**
 * A fresh instance whose print output is collected in `lua.printed` as [stream, text] pairs
 * (and as plain lines in `lua.lines()`), instead of going to the console.
 */
export async function newLua(options = {}) {
  const printed = [];
  const lua = await CuWASM.init({ storage: 'memory', onPrint: (text, stream) => printed.push([stream, text]), ...options });
  lua.printed = printed;
  lua.lines = () => printed.map(([, text]) => text);
  return lua;
}

/**
 * Runs `fn` while WebAssembly.instantiate hands glue.js instances through `wrap(instance)`,
 * which returns the `{ exports }` glue.js sees. Gives tests the module's raw exports and
 * lets them substitute an export, with no test-only path in glue.js itself.
 */
export async function withInstantiateHook(wrap, fn) {
  const original = WebAssembly.instantiate;
  WebAssembly.instantiate = async (...args) => {
    const result = await original.apply(WebAssembly, args);
    return wrap(result.instance ?? result);
  };
  try {
    return await fn();
  } finally {
    WebAssembly.instantiate = original;
  }
}

/** newLua, plus the raw WebAssembly exports of its instance. */
export async function newLuaWithExports(options = {}) {
  let raw;
  const lua = await withInstantiateHook((instance) => ((raw = instance.exports), instance), () => newLua(options));
  return { lua, exports: raw };
}

/**
 * A storage adapter (README, Storage) in memory, starting with a copy of `records`: its
 * `records` are the stored page records ("p<n>") for tests and benchmarks to read.
 */
export function storeWith(records = new Map()) {
  const store = { records: new Map(records), async close() {} };
  store.commit = async (puts, deletes) => {
    for (const [k, v] of puts) store.records.set(k, v);
    for (const k of deletes) store.records.delete(k);
  };
  return store;
}

/** Asserts that `promise` rejects with a CuError of `code`; returns the error. */
export async function rejectsWith(promise, code) {
  try {
    await promise;
  } catch (e) {
    if (!(e instanceof CuError)) throw new Error(`expected CuError ${code}, got ${e?.stack ?? e}`);
    if (e.code !== code) throw new Error(`expected CuError ${code}, got ${e.code}: ${e.message}`);
    return e;
  }
  throw new Error(`expected CuError ${code}, but the call succeeded`);
}
