// idb.d.ts: TypeScript declarations of idb.js, Cu's IndexedDB storage adapter (browsers and
// Web Workers). glue.js loads it by itself for `storage: 'indexeddb'`; import it to pass
// your own options (`timeout`) as a `storage` adapter.
import type { Durability, StorageAdapter } from './glue.js';

/** Options of indexedDBStore. */
export interface IndexedDBStoreOptions {
  /** The default durability of commits (default 'strict'). */
  durability?: Durability;
  /** Milliseconds an open may stay blocked before it fails (default 10000). */
  timeout?: number;
}

/** An open IndexedDB database `cu:<name>` as a storage adapter. */
export interface IndexedDBStore extends StorageAdapter {
  /** Every record, read at open and kept up to date by commit and reload. */
  readonly records: Map<string, Uint8Array>;
  /** One readwrite transaction, in call order, resolved on 'complete' with the new version. */
  commit(puts?: Array<[string, Uint8Array]>, deletes?: string[], options?: { durability?: Durability }): Promise<number>;
  /** The version `records` are of. */
  readonly at: number;
  /** Reads every record again. */
  reload(): Promise<void>;
  /** The database's version now (no read while the lock is kept). */
  version(): Promise<number>;
  /** Runs `fn` under the Web Lock `cu:<name>` (kept until asked for or 0.5 s idle). */
  lock<T>(fn: () => T | Promise<T>): Promise<T>;
  /** Waits for pending commits, releases the lock and closes the connection. */
  close(): Promise<void>;
}

/** Opens (creating it if needed) the IndexedDB database `cu:<name>` and reads it whole. */
export function indexedDBStore(name: string, options?: IndexedDBStoreOptions): Promise<IndexedDBStore>;
