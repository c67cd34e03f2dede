// file-store.js: the Node file store, an atomic key → bytes store in one append-only log.
// Loaded by CuWASM.init({ storage: 'file' }), the default in Node. Node only. Format and rules: docs/FORMAT.md,
// "Node file store".
//
//   <name>.culog        header, then one frame per commit; records = all frames applied in order
//     header  8 bytes   "CuLg" (43 75 4c 67), u32 version = 1
//     frame             u32 length n, u32 crc32 of the payload (IEEE, as zlib), payload (n bytes)
//     payload           u32 puts, u32 deletes,
//                       puts × (u32 key length, UTF-8 key, u32 value length, value bytes),
//                       deletes × (u32 key length, UTF-8 key)   — puts apply first, then deletes
//   <name>.culog.tmp    a compaction or a creation in progress (removed at open)
//   <name>.lock         "pid\n" of the process that has the database open (hard-linked from
//                       <name>.lock.<pid>, so it is never seen half-written; stale ones taken over)
//
// All integers are little-endian. A truncated frame or one whose checksum fails ends the log:
// it and everything after it are dropped (a torn write), reported in `store.recovered`, and
// cut off before the next append. Compaction (log > 2 × live data + 1 MiB) writes the live
// records to the .tmp file (frames of ~8 MiB), syncs it and renames it over the log, so a
// crash leaves either the old log or the new one. One process at a time; commits in order.
import { link, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as zlib from 'node:zlib';

const MAGIC = 0x674c7543; // "CuLg" read as a little-endian u32
const VERSION = 1;
const HEADER = 8;
const FRAME_HEADER = 8;
const MAX_FRAME = 0xffffffff;
const SNAPSHOT_FRAME = 8 << 20; // compaction writes frames of about this many payload bytes
const SLACK = 1 << 20; // compact when the log exceeds 2 × live bytes + SLACK

let table;
/**
 * CRC-32 (IEEE 802.3, the one of zlib and PNG) of `bytes`. Uses zlib.crc32 when Node has it
 * (20.15+, 22.2+), else a table. Exported for tests.
 * @param {Uint8Array} bytes
 * @param {{portable?: boolean}} [options] portable: always use the table (for tests)
 * @returns {number} unsigned 32-bit checksum
 */
export function crc32(bytes, { portable = false } = {}) {
  if (zlib.crc32 && !portable) return zlib.crc32(bytes) >>> 0;
  if (!table) {
    table = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c;
    }
  }
  let c = -1;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

const keyBytes = (key) => Buffer.byteLength(key, 'utf8');
const liveSize = (key, value) => 8 + keyBytes(key) + value.length;

/** Encodes one frame (header included) of `puts` and `deletes`. */
function encodeFrame(puts, deletes) {
  let n = 8;
  for (const [key, value] of puts) n += 8 + keyBytes(key) + value.length;
  for (const key of deletes) n += 4 + keyBytes(key);
  if (n > MAX_FRAME) throw new RangeError(`file store: a commit of ${n} bytes is over the 4 GiB frame limit`);
  const frame = Buffer.allocUnsafe(FRAME_HEADER + n);
  let p = FRAME_HEADER;
  p = frame.writeUInt32LE(puts.length, p);
  p = frame.writeUInt32LE(deletes.length, p);
  for (const [key, value] of puts) {
    const k = frame.write(key, p + 4, 'utf8');
    p = frame.writeUInt32LE(k, p) + k;
    p = frame.writeUInt32LE(value.length, p);
    frame.set(value, p);
    p += value.length;
  }
  for (const key of deletes) {
    const k = frame.write(key, p + 4, 'utf8');
    p = frame.writeUInt32LE(k, p) + k;
  }
  frame.writeUInt32LE(n, 0);
  frame.writeUInt32LE(crc32(frame.subarray(FRAME_HEADER)), 4);
  return frame;
}

/**
 * Applies the payload buf[start, end) of a frame to `records` and returns the change of the
 * live byte count, or returns null without changing anything when the payload is malformed
 * (only outside damage with a matching checksum can do that). Values are views into `buf`.
 */
function applyPayload(records, buf, start, end) {
  const u32 = (p) => buf.readUInt32LE(p);
  if (end - start < 8) return null;
  const nPuts = u32(start), nDeletes = u32(start + 4);
  // First pass: every length fits and the entries fill the payload exactly.
  let p = start + 8;
  for (let i = 0, n = 2 * nPuts + nDeletes; i < n; i++) {
    if (p + 4 > end) return null;
    p += 4 + u32(p);
  }
  if (p != end) return null;
  let delta = 0;
  p = start + 8;
  for (let i = 0; i < nPuts; i++) {
    const k = u32(p), key = buf.toString('utf8', p + 4, (p += 4 + k));
    const v = u32(p), value = new Uint8Array(buf.buffer, buf.byteOffset + p + 4, v);
    p += 4 + v;
    const old = records.get(key);
    if (old) delta -= 8 + k + old.length;
    records.set(key, value);
    delta += 8 + k + v;
  }
  for (let i = 0; i < nDeletes; i++) {
    const k = u32(p), key = buf.toString('utf8', p + 4, (p += 4 + k));
    const old = records.get(key);
    if (old) (delta -= 8 + k + old.length), records.delete(key);
  }
  return delta;
}

function header() {
  const h = Buffer.alloc(HEADER);
  h.writeUInt32LE(MAGIC, 0);
  h.writeUInt32LE(VERSION, 4);
  return h;
}

function fail(message, code) {
  return Object.assign(new Error(message), { code });
}

async function writeAll(fh, bytes, position) {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/** fsync of a directory, so that a created, renamed or removed name in it is durable. */
async function syncDir(dir) {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (e) {
    if (process.platform != 'win32') throw e; // Windows cannot open or sync a directory
  } finally {
    await fh?.close();
  }
}

const paths = (dir, name) => {
  if (typeof name != 'string' || !/^[\w.-]+$/.test(name) || name.startsWith('.'))
    throw new TypeError(`file store: bad database name ${JSON.stringify(name)} (letters, digits, _ . -)`);
  const log = join(dir, `${name}.culog`);
  return { log, tmp: `${log}.tmp`, lock: join(dir, `${name}.lock`) };
};

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code == 'EPERM'; // exists, owned by someone else
  }
}

/** The pid in a lock file when that process is alive, else null (no lock or a stale one). */
async function lockHolder(lock) {
  let text;
  try {
    text = await readFile(lock, 'utf8');
  } catch (e) {
    if (e.code == 'ENOENT') return null;
    throw e;
  }
  const pid = Number.parseInt(text, 10);
  return pid > 0 && alive(pid) ? pid : null;
}

/**
 * Takes `<name>.lock`: the pid is written to `<name>.lock.<pid>` first and hard-linked to the
 * lock name, so a lock file is never seen empty. A lock whose process is gone is removed.
 */
async function takeLock(lock, dir, name) {
  const mine = `${lock}.${process.pid}`;
  await writeFile(mine, `${process.pid}\n`);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        return await link(mine, lock);
      } catch (e) {
        if (e.code != 'EEXIST' || attempt >= 2) throw e;
      }
      const holder = await lockHolder(lock);
      if (holder != null) throw fail(`file store: database "${name}" in ${dir} is open in process ${holder}`, 'ELOCKED');
      await rm(lock, { force: true }); // stale: its process is gone (kill -9, crash)
    }
  } finally {
    await rm(mine, { force: true });
  }
}

/**
 * Writes `records` as a fresh log to the .tmp file, syncs it, renames it over the log and syncs
 * the directory. Returns the open handle of the new log (at the renamed name), its size, and
 * the error of the directory sync if that alone failed (the rename is done: the new log is the
 * log, but the rename may not survive a power cut).
 */
async function writeSnapshot(p, dir, records) {
  const fh = await open(p.tmp, 'w+');
  let size = 0;
  try {
    const append = async (bytes) => {
      await writeAll(fh, bytes, size);
      size += bytes.length;
    };
    await append(header());
    let batch = [], bytes = 0;
    for (const entry of records) {
      batch.push(entry);
      bytes += liveSize(...entry);
      if (bytes >= SNAPSHOT_FRAME) {
        await append(encodeFrame(batch, []));
        (batch = []), (bytes = 0);
      }
    }
    if (batch.length) await append(encodeFrame(batch, []));
    await fh.datasync();
    await rename(p.tmp, p.log);
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(p.tmp, { force: true }).catch(() => {});
    throw e;
  }
  const syncError = await syncDir(dir).then(() => null, (e) => e);
  return { fh, size, syncError };
}

/**
 * Opens (creating it if needed) the database `name` in directory `dir`: reads the whole log,
 * cuts off a torn last frame and takes the lock file. One process at a time may have a
 * database open; a lock left by a dead process is taken over.
 *
 * @param {string} dir an existing directory
 * @param {string} name the database name: letters, digits, `_`, `.`, `-`
 * @returns {Promise<FileStore>}
 */
export async function fileStore(dir, name) {
  const p = paths(dir, name);
  await takeLock(p.lock, dir, name);
  let fh;
  try {
    await rm(p.tmp, { force: true });
    let bytes = null;
    try {
      bytes = await readFile(p.log);
    } catch (e) {
      if (e.code != 'ENOENT') throw e;
    }
    const records = new Map();
    let live = 0, end = HEADER, recovered = null, size;
    if (bytes == null || (bytes.length < HEADER && header().subarray(0, bytes.length).equals(bytes))) {
      let syncError;
      ({ fh, size, syncError } = await writeSnapshot(p, dir, records)); // new, or its creation was cut short
      if (syncError) throw syncError;
    } else {
      if (bytes.length < HEADER || bytes.readUInt32LE(0) != MAGIC)
        throw fail(`file store: ${p.log} is not a Cu file store log`, 'EFORMAT');
      if (bytes.readUInt32LE(4) != VERSION)
        throw fail(`file store: ${p.log} has format version ${bytes.readUInt32LE(4)}, this is ${VERSION}`, 'EFORMAT');
      while (end + FRAME_HEADER <= bytes.length) {
        const n = bytes.readUInt32LE(end);
        const stop = end + FRAME_HEADER + n;
        if (stop > bytes.length || crc32(bytes.subarray(end + FRAME_HEADER, stop)) != bytes.readUInt32LE(end + 4)) break;
        const delta = applyPayload(records, bytes, end + FRAME_HEADER, stop);
        if (delta == null) break;
        live += delta;
        end = stop;
      }
      fh = await open(p.log, 'r+');
      size = end;
      if (end < bytes.length) {
        recovered = { droppedBytes: bytes.length - end, offset: end };
        await fh.truncate(end);
        await fh.datasync();
      }
    }
    return new FileStore(p, dir, records, live, fh, size, recovered);
  } catch (e) {
    await fh?.close().catch(() => {});
    await rm(p.lock, { force: true }).catch(() => {});
    throw e;
  }
}

/** Applies puts then deletes to `records`; returns the change of the live byte count. */
function apply(records, puts, deletes) {
  let delta = 0;
  for (const [key, value] of puts) {
    const old = records.get(key);
    if (old) delta -= liveSize(key, old);
    records.set(key, value);
    delta += liveSize(key, value);
  }
  for (const key of deletes) {
    const old = records.get(key);
    if (old) (delta -= liveSize(key, old)), records.delete(key);
  }
  return delta;
}

/**
 * Removes the files of database `name` in `dir` (log, leftover .tmp, lock). Rejects with code
 * ELOCKED when a live process has it open.
 * @param {string} dir
 * @param {string} name
 */
fileStore.destroy = async function destroy(dir, name) {
  const p = paths(dir, name);
  const holder = await lockHolder(p.lock);
  if (holder != null) throw fail(`file store: database "${name}" in ${dir} is open in process ${holder}`, 'ELOCKED');
  await rm(p.log, { force: true });
  await rm(p.tmp, { force: true });
  await rm(p.lock, { force: true });
  await syncDir(dir);
};

/** An open database; made by `fileStore(dir, name)`. */
class FileStore {
  #p; #dir; #fh; #size; #live; #dirty = false; #closed = false; #queue = Promise.resolve();

  constructor(p, dir, records, live, fh, size, recovered) {
    (this.#p = p), (this.#dir = dir), (this.#fh = fh), (this.#size = size), (this.#live = live);
    /**
     * Everything committed; read it, do not modify it. Values read at open are views into one
     * buffer holding the log as read (mind `byteOffset`; that buffer lives while any of them
     * does: at most the log's size, ≤ 2 × live data + 1 MiB once compacted); values committed
     * since are copies with their own buffer.
     * @type {Map<string, Uint8Array>}
     */
    this.records = records;
    /** @type {null | {droppedBytes: number, offset: number}} a torn or damaged end cut off at open */
    this.recovered = recovered;
    /** @type {number} compactions done since open */
    this.compactions = 0;
    /** @type {Error | null} the last compaction failure (the commits themselves were durable) */
    this.compactionError = null;
  }

  /** Bytes of the log file (header and frames). */
  get logSize() {
    return this.#size;
  }

  /**
   * Commits `puts` and `deletes` atomically: after a crash at any point, either all of them
   * are in the log or none. Puts apply in order, then deletes. Commits run one at a time in
   * call order. `store.records` changes only once the frame is written (and, with
   * durability 'strict', synced); on an error it is unchanged and later commits still work.
   *
   * @param {Array<[string, Uint8Array]>} puts
   * @param {string[]} deletes
   * @param {{durability?: 'strict' | 'relaxed'}} [options] 'strict' (default): resolves after
   *   fdatasync of the log; 'relaxed': after the write, no sync (survives a killed process,
   *   not a power cut).
   * @returns {Promise<void>}
   */
  commit(puts = [], deletes = [], { durability = 'strict' } = {}) {
    let frame;
    try {
      if (this.#closed) throw fail('file store: commit on a closed store', 'ECLOSED');
      if (durability != 'strict' && durability != 'relaxed')
        throw new TypeError(`file store: durability must be 'strict' or 'relaxed', not ${String(durability)}`);
      if (!Array.isArray(puts) || !Array.isArray(deletes)) throw new TypeError('file store: puts and deletes must be arrays');
      const checkKey = (key, where) => {
        if (typeof key != 'string' || !key.isWellFormed())
          throw new TypeError(`file store: ${where} key must be a well-formed string, got ${typeof key == 'string' ? 'a lone surrogate' : typeof key}`);
      };
      // Copies: the caller may reuse its arrays and buffers once commit returns.
      puts = puts.map((entry, i) => {
        if (!Array.isArray(entry) || entry.length != 2) throw new TypeError(`file store: puts[${i}] must be [key, value]`);
        checkKey(entry[0], `puts[${i}]`);
        if (!(entry[1] instanceof Uint8Array)) throw new TypeError(`file store: puts[${i}] value must be a Uint8Array`);
        return [entry[0], new Uint8Array(entry[1])];
      });
      deletes = deletes.slice();
      deletes.forEach((key, i) => checkKey(key, `deletes[${i}]`));
      if (puts.length || deletes.length) frame = encodeFrame(puts, deletes);
    } catch (e) {
      return Promise.reject(e);
    }
    if (!frame) return this.#queue.then(() => {});
    const run = this.#queue.then(() => this.#append(frame, puts, deletes, durability == 'strict'));
    this.#queue = run.then(() => this.#maybeCompact(), () => {});
    return run;
  }

  async #append(frame, puts, deletes, sync) {
    if (!this.#fh) throw fail('file store: commit on a closed store', 'ECLOSED');
    const fh = this.#fh;
    if (this.#dirty) {
      await fh.truncate(this.#size); // a failed write left bytes after the last good frame
      this.#dirty = false;
    }
    try {
      await writeAll(fh, frame, this.#size);
      if (sync) await fh.datasync();
    } catch (e) {
      this.#dirty = true;
      await fh.truncate(this.#size).then(() => (this.#dirty = false), () => {});
      throw e;
    }
    this.#size += frame.length;
    this.#live += apply(this.records, puts, deletes);
  }

  async #maybeCompact() {
    if (this.#fh && this.#size > 2 * (HEADER + this.#live) + SLACK) await this.#compact().catch(() => {});
  }

  async #compact() {
    try {
      const { fh, size, syncError } = await writeSnapshot(this.#p, this.#dir, this.records);
      const old = this.#fh;
      (this.#fh = fh), (this.#size = size), (this.#dirty = false);
      this.compactions++;
      this.compactionError = syncError;
      await old.close().catch(() => {});
      if (syncError) throw syncError;
    } catch (e) {
      this.compactionError = e;
      throw e;
    }
  }

  /**
   * Rewrites the log as the live records only (also done by itself when the log grows past
   * 2 × the live data + 1 MiB). Waits for pending commits first.
   * @returns {Promise<void>}
   */
  compact() {
    if (this.#closed) return Promise.reject(fail('file store: compact on a closed store', 'ECLOSED'));
    const run = this.#queue.then(() => this.#compact());
    this.#queue = run.catch(() => {});
    return run;
  }

  /**
   * Waits for pending commits, closes the log and removes the lock file. Later commits reject
   * with code ECLOSED. Closing twice is harmless.
   * @returns {Promise<void>}
   */
  async close() {
    if (this.#closed) return this.#queue;
    this.#closed = true;
    this.#queue = this.#queue.then(async () => {
      const fh = this.#fh;
      this.#fh = null;
      try {
        await fh.close();
      } finally {
        await rm(this.#p.lock, { force: true });
      }
    });
    return this.#queue;
  }
}
