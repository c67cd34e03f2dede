// compat-example.ts: a typed use of cu-lua/compat (compat.d.ts, the Cu 2.x API), imported by
// package name, for `tsc -p test-harness/types` (never run). Each `@ts-expect-error` line is
// a wrong call the declarations must refuse.
import cu, { LuaWASM, loadLuaWasm, type LoadOptions, type MemoryStats } from 'cu-lua/compat';
import type { CuWASM } from 'cu-lua';

export async function compatExample(): Promise<void> {
  const options: LoadOptions = { wasmPath: '/cu.wasm', memorySize: 1 << 20, compression: true, storage: 'memory' };
  const loaded: boolean = await cu.load(options);
  await loadLuaWasm();
  const status: number = cu.init();
  const value: unknown = await cu.compute('return 2 + 2');
  cu.setInput({ user: { name: 'Ann' } });
  cu.setMetadata({ requestId: 'r1' });
  const output: unknown = cu.getOutput();
  cu.clearIo();
  const saved: boolean = await cu.saveState();
  const restored: boolean = await cu.loadState();
  const stats: MemoryStats = cu.getMemoryStats();
  const freed: boolean = cu.runGc();
  const instance: CuWASM | null = cu.instance;
  await instance?.setValue('users', 'u1', { name: 'Ann' });
  const api = await LuaWASM.init({ storage: 'memory' });
  await api.close();
  console.log(loaded, status, value, output, saved, restored, stats.total + stats.used + stats.free, freed, cu.lastError?.message);
  // @ts-expect-error: autoRestore can only be true (Cu always restores)
  await cu.load({ autoRestore: false });
  // @ts-expect-error: compute takes code, not options
  await cu.compute({ code: 'return 1' });
  // @ts-expect-error: instance is read-only
  cu.instance = null;
}
