// bench/timed.mjs: a Cu instance whose cu_call is timed per op, for the benchmarks that split
// a call's end-to-end time from the module's share (store.mjs, compression.mjs, migrate.mjs).
import { performance } from 'node:perf_hooks';
import { CuWASM } from '../glue.js';

/** Milliseconds spent in cu_call, summed per op number over every instance made here. */
export const moduleMs = {};
/** The WebAssembly memory of the last instance made here. */
export let memory;

/** `CuWASM.init(options)` with its cu_call timed into moduleMs. */
export async function timedInit(options) {
  const original = WebAssembly.instantiate;
  WebAssembly.instantiate = async (...a) => {
    const res = await original.apply(WebAssembly, a), x = (res.instance ?? res).exports;
    memory = x.memory;
    const exports = { ...x, cu_call(op) { const t = performance.now(); try { return x.cu_call(op); } finally { moduleMs[op] = (moduleMs[op] || 0) + performance.now() - t; } } };
    return { exports };
  };
  try { return await CuWASM.init(options); } finally { WebAssembly.instantiate = original; }
}
