// file-store.d.ts: TypeScript declarations of file-store.js, Cu's Node file store (one
// append-only log per database). glue.js loads it by itself for `storage: 'file'`.
import type { Durability } from './glue.js';

/** Errors of the file store carry a code: its own below, or Node's (ENOENT, ENOSPC, ...). */
export type FileStoreErrorCode = 'ELOCKED' | 'EFORMAT' | 'ECLOSED';

/** An open database, from fileStore(dir, name). */
export interface FileStore {
  /** Everything committed; read it, do not modify it. */
  readonly records: Map<string, Uint8Array>;
  /** A torn or damaged end cut off at open, or null. */
  readonly recovered: null | { droppedBytes: number; offset: number };
  /** Compactions done since open. */
  readonly compactions: number;
  /** The last compaction failure (the commits themselves were durable), or null. */
  readonly compactionError: Error | null;
  /** Bytes of the log file (header and frames). */
  readonly logSize: number;
  /** Commits puts then deletes atomically, in call order ('strict': after fdatasync). */
  commit(puts?: Array<[string, Uint8Array]>, deletes?: string[], options?: { durability?: Durability }): Promise<void>;
  /** Rewrites the log as the live records only. */
  compact(): Promise<void>;
  /** Waits for pending commits, closes the log and removes the lock; later commits reject ECLOSED. */
  close(): Promise<void>;
}

/** Opens (creating it if needed) database `name` (letters, digits, `_`, `.`, `-`) in the existing directory `dir`; ELOCKED while another live process has it. */
export function fileStore(dir: string, name: string): Promise<FileStore>;

/** Helpers on fileStore. */
export namespace fileStore {
  /** Removes the database's files; rejects ELOCKED while a live process has it open. */
  function destroy(dir: string, name: string): Promise<void>;
}

/** CRC-32 (IEEE, as zlib) of `bytes`; `portable` forces the table version. */
export function crc32(bytes: Uint8Array, options?: { portable?: boolean }): number;
