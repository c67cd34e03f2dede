// compat.d.ts: types of compat.js, the Cu 2.x API on top of glue.js (docs/API.md, "Cu 2.x compatibility").
import type { CuWASM, InitOptions, CuError } from './glue.js';

/** Cu 2.x's load options; every CuWASM.init option passes through too. */
export interface LoadOptions extends Omit<InitOptions, 'compression'> {
  /** URL of cu.wasm (CuWASM.init's `wasm`). */
  wasmPath?: string | URL;
  /** The Lua heap in bytes (CuWASM.init's `heapSize`). */
  memorySize?: number;
  /** Only `true`: Cu restores the stored state at load (false rejects BAD_ARGUMENT). */
  autoRestore?: true;
  /** `true` is the default level; `false` stores values uncompressed; or CuWASM.init's form. */
  compression?: boolean | InitOptions['compression'];
  /** Accepted and ignored: every chunk is validated. */
  validation?: boolean;
}

/** The Lua heap as of the last call, in bytes. */
export interface MemoryStats {
  total: number;
  used: number;
  free: number;
}

/** Loads cu.wasm and opens the storage (restoring `_home`); resolves to true. */
export function load(options?: LoadOptions): Promise<boolean>;
/** Cu 2.x's name for load. */
export function loadLuaWasm(options?: LoadOptions): Promise<boolean>;
/** Returns 0; throws CuError NOT_INITIALIZED before load. */
export function init(): number;
/** Runs Lua code; resolves to its last result. */
export function compute(code: string): Promise<unknown>;
/** Sets `_io.input` for the next compute. */
export function setInput(value: unknown): void;
/** Sets `_io.meta` for the next compute. */
export function setMetadata(value: unknown): void;
/** `_io.output` as the last compute left it (null when unset). */
export function getOutput(): unknown;
/** Clears `_io.input`, `_io.meta` and `_io.output`. */
export function clearIo(): void;
/** Waits until every change is saved; false when the storage failed (see lastError). */
export function saveState(): Promise<boolean>;
/** Reads the stored state again; false on failure (see lastError). */
export function loadState(): Promise<boolean>;
/** The Lua heap as of the last call. */
export function getMemoryStats(): MemoryStats;
/** Queues a full garbage collection; returns true. */
export function runGc(): boolean;
/** Closes the instance after pending calls; load() may be called again. */
export function close(): Promise<void>;
/** Cu 2.x README's LuaWASM.init: load + init. */
export const LuaWASM: { init(options?: LoadOptions): Promise<Compat> };

export interface Compat {
  load: typeof load;
  loadLuaWasm: typeof load;
  init: typeof init;
  compute: typeof compute;
  setInput: typeof setInput;
  setMetadata: typeof setMetadata;
  getOutput: typeof getOutput;
  clearIo: typeof clearIo;
  saveState: typeof saveState;
  loadState: typeof loadState;
  getMemoryStats: typeof getMemoryStats;
  runGc: typeof runGc;
  close: typeof close;
  LuaWASM: typeof LuaWASM;
  /** The error of the last failed saveState/loadState. */
  lastError: CuError | Error | null;
  /** The CuWASM instance (null before load): batches, indices, queries, schemas. */
  readonly instance: CuWASM | null;
}

declare const compat: Compat;
export default compat;
