// file-store.test.mjs: the Node file store (file-store.js): round trips, atomicity across
// kill -9 of a writing child process and across torn writes, compaction, errors, the lock,
// and two timings. Every database lives in a temporary directory removed at the end.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileStore, crc32 } from '../../file-store.js';

const ROOT_DIR = await mkdtemp(join(tmpdir(), 'cu-file-store-'));
after(() => rm(ROOT_DIR, { recursive: true, force: true }));
let dirs = 0;
const newDir = () => mkdtemp(join(ROOT_DIR, `${dirs++}-`));

const bytes = (...b) => new Uint8Array(b);
const text = (s) => new TextEncoder().encode(s);
const u32 = (n) => new Uint8Array(new Uint32Array([n]).buffer);
const logPath = (dir, name) => join(dir, `${name}.culog`);

/** Opens, checks `store.records` deep-equals `expected` (a Map), closes. */
async function reopenEquals(dir, name, expected, check = () => {}) {
  const store = await fileStore(dir, name);
  try {
    assert.deepEqual(store.records, expected);
    check(store);
  } finally {
    await store.close();
  }
}

test('crc32: zlib and the portable table agree, standard check value', () => {
  assert.equal(crc32(text('123456789')), 0xcbf43926);
  assert.equal(crc32(text('123456789'), { portable: true }), 0xcbf43926);
  const r = new Uint8Array(70000).map((_, i) => (i * 7919) >> 3);
  assert.equal(crc32(r, { portable: true }), crc32(r));
  assert.equal(crc32(new Uint8Array(0), { portable: true }), 0);
});

test('round trips: puts, deletes, overwrite, empty and binary values, unicode keys', async () => {
  const dir = await newDir();
  const store = await fileStore(dir, 'db');
  assert.equal(store.records.size, 0);
  assert.equal(store.recovered, null);
  const every = Uint8Array.from({ length: 256 }, (_, i) => i);
  const keys = ['', 'a', 'ключ', '键', '🔑 emoji', 'e\u0301', 'nul\0inside', 'x'.repeat(1000)];
  await store.commit(keys.map((k, i) => [k, u32(i)]), []);
  await store.commit([['empty', new Uint8Array(0)], ['every', every], ['a', text('overwritten')]], ['键', 'absent']);
  await store.commit([['dup', bytes(1)], ['dup', bytes(2)], ['gone', bytes(3)]], ['gone']);
  await store.commit([], []); // nothing: resolves, writes nothing
  const view = new Uint8Array(every.buffer, 10, 5); // a view into a larger buffer
  await store.commit([['view', view], ['buffer', Buffer.from('node buffer')]], []);
  const expected = new Map(keys.map((k, i) => [k, u32(i)]));
  expected.set('empty', new Uint8Array(0)).set('every', every).set('a', text('overwritten')).delete('键');
  expected.set('dup', bytes(2)).set('view', every.slice(10, 15)).set('buffer', text('node buffer'));
  assert.deepEqual(store.records, expected);
  for (const v of store.records.values()) assert.equal(Object.getPrototypeOf(v), Uint8Array.prototype);
  every[0] = 99; // the store copied the values
  assert.equal(store.records.get('every')[0], 0);
  expected.get('every')[0] = 0;
  const size = store.logSize;
  await store.close();
  await store.close(); // twice is fine
  assert.equal((await stat(logPath(dir, 'db'))).size, size);
  assert.ok(!existsSync(join(dir, 'db.lock')), 'lock removed at close');
  await reopenEquals(dir, 'db', expected, (s) => assert.equal(s.recovered, null));
  // Different names are different databases.
  await reopenEquals(dir, 'other', new Map());
  await reopenEquals(dir, 'db', expected);
});

test('round trips: 20,000 small records and three of 1 MB, then reopen', async () => {
  const dir = await newDir();
  const store = await fileStore(dir, 'many');
  const expected = new Map();
  for (let c = 0; c < 20; c++) {
    const puts = [];
    for (let i = 0; i < 1000; i++) puts.push([`rec:${c}:${i}`, text(`value ${c * 1000 + i}`)]);
    await store.commit(puts, [], { durability: c % 2 ? 'relaxed' : 'strict' });
    for (const [k, v] of puts) expected.set(k, v);
  }
  const big = [0, 1, 2].map((j) => [`big${j}`, Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * (j + 3)) & 255)]);
  await store.commit(big, ['rec:0:0']);
  for (const [k, v] of big) expected.set(k, v);
  expected.delete('rec:0:0');
  assert.equal(store.records.size, 20002);
  assert.deepEqual(store.records, expected);
  await store.close();
  await reopenEquals(dir, 'many', expected);
});

// The child: opens `crash` in argv[1] and commits forever with durability argv[2]. Commit i
// puts k0..k999, each a value of argv[3] bytes starting with u32 i, puts d<i> and deletes
// d<i-1>; prints `ok i` once it resolved. It continues from the value it finds at open.
const CHILD = `
import { fileStore } from ${JSON.stringify(new URL('../../file-store.js', import.meta.url).href)};
const [dir, durability, size] = process.argv.slice(1);
const store = await fileStore(dir, 'crash');
const k0 = store.records.get('k0');
let i = k0 ? new DataView(k0.buffer, k0.byteOffset).getUint32(0, true) : 0;
const keys = Array.from({ length: 1000 }, (_, j) => 'k' + j);
process.stdout.write('start ' + i + '\\n');
for (;;) {
  i++;
  const v = new Uint8Array(Number(size)).fill(i & 255);
  new DataView(v.buffer).setUint32(0, i, true);
  await store.commit([...keys.map((k) => [k, v]), ['d' + i, v]], ['d' + (i - 1)], { durability });
  process.stdout.write('ok ' + i + '\\n');
}
`;

/** Checks the invariant of the child's database; returns the commit number it holds. */
function checkCrashDb(records) {
  if (records.size == 0) return 0;
  assert.equal(records.size, 1001);
  const first = records.get('k0');
  assert.equal(first[4], first[0], 'the value pattern');
  const i = new DataView(first.buffer, first.byteOffset).getUint32(0, true);
  for (let j = 0; j < 1000; j++) assert.deepEqual(records.get(`k${j}`), first, `k${j} of commit ${i}`);
  assert.deepEqual(records.get(`d${i}`), first);
  return i;
}

test('atomicity: a child committing in a loop, killed with SIGKILL at random times', async (t) => {
  const dir = await newDir();
  const rounds = 20;
  let held = 0, commitsSeen = 0, tmpLeft = 0, recovered = 0, inFlightKept = 0;
  for (let r = 0; r < rounds; r++) {
    // Frames of ~110 KB, and of ~4 MB (a kill is likelier to land inside a write) every third round.
    const durability = r % 2 ? 'relaxed' : 'strict', size = r % 3 == 2 ? 4096 : 100;
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, dir, durability, size], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '', acked = held;
    const started = new Promise((resolve) => {
      child.stdout.on('data', (d) => {
        out += d;
        for (const m of out.matchAll(/^(start|ok) (\d+)$/gm)) {
          acked = Math.max(acked, Number(m[2]));
          if (m[1] == 'start') resolve();
        }
      });
    });
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
    // Every fourth round kills during start-up (open, recovery); the others while committing.
    const early = r % 4 == 3;
    if (!early) await Promise.race([started, exited]);
    if (r == 0) await assert.rejects(fileStore(dir, 'crash'), { code: 'ELOCKED', message: new RegExp(`process ${child.pid}`) });
    await new Promise((resolve) => setTimeout(resolve, early ? 30 + Math.random() * 120 : Math.random() * 600));
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL', `child ended before the kill: ${err}`);
    if (existsSync(`${logPath(dir, 'crash')}.tmp`)) tmpLeft++;
    const store = await fileStore(dir, 'crash'); // takes over the dead child's lock
    try {
      const i = checkCrashDb(store.records);
      assert.ok(i == acked || i == acked + 1, `round ${r}: holds commit ${i}, the child acknowledged ${acked}`);
      if (i == acked + 1) inFlightKept++;
      if (store.recovered) recovered++;
      commitsSeen += i - held;
      held = i;
    } finally {
      await store.close();
    }
  }
  assert.ok(held > 0, 'the child committed something');
  t.diagnostic(`${rounds} rounds, ${rounds} kills, ${commitsSeen} commits of 1,001 puts + 1 delete; ` +
    `at reopen: ${tmpLeft} compaction .tmp left behind, ${recovered} torn frames cut off, ` +
    `${inFlightKept} unacknowledged in-flight commits found complete`);
});

/** A store with commits A and B, then C; returns the log bytes and where C starts. */
async function threeCommits(dir) {
  const store = await fileStore(dir, 'torn');
  await store.commit([['a', text('A')], ['x', text('1')]], []);
  await store.commit([['b', text('B')], ['x', text('2')]], ['a']);
  const cStart = store.logSize;
  await store.commit([['c', text('C'.repeat(100))], ['x', text('3')]], ['b']);
  await store.close();
  const log = await readFile(logPath(dir, 'torn'));
  return { log, cStart };
}
const afterB = () => new Map([['b', text('B')], ['x', text('2')]]);

test('torn writes: a cut last frame ends the log, is reported and cut off', async () => {
  const dir = await newDir();
  const { log, cStart } = await threeCommits(dir);
  const cLen = log.length - cStart;
  for (const cut of [1, 4, 7, 8, 9, 20, cLen - 1]) {
    await writeFile(logPath(dir, 'torn'), log.subarray(0, cStart + cut));
    const store = await fileStore(dir, 'torn');
    assert.deepEqual(store.records, afterB(), `cut ${cut}`);
    assert.deepEqual(store.recovered, { droppedBytes: cut, offset: cStart });
    assert.equal(store.logSize, cStart);
    assert.equal((await stat(logPath(dir, 'torn'))).size, cStart, 'truncated at open');
    await store.commit([['d', text('D')]], ['x']);
    await store.close();
    await reopenEquals(dir, 'torn', new Map([['b', text('B')], ['d', text('D')]]), (s) => assert.equal(s.recovered, null));
  }
});

test('torn writes: a flipped byte in the last frame, or zeros after it, end the log there', async () => {
  const dir = await newDir();
  const { log, cStart } = await threeCommits(dir);
  const cLen = log.length - cStart;
  // In the length, the checksum, the counts, a key, a value.
  for (const at of [0, 3, 4, 7, 8, 16, 20, cLen - 1]) {
    const damaged = Buffer.from(log);
    damaged[cStart + at] ^= 0x10;
    await writeFile(logPath(dir, 'torn'), damaged);
    const store = await fileStore(dir, 'torn');
    assert.deepEqual(store.records, afterB(), `byte ${at} flipped`);
    assert.deepEqual(store.recovered, { droppedBytes: cLen, offset: cStart });
    await store.commit([['e', text('E')]], []);
    await store.close();
    await reopenEquals(dir, 'torn', afterB().set('e', text('E')));
  }
  // Counts or lengths that do not fill the payload exactly, under a matching checksum.
  const payload = (...words) => Buffer.concat(words.map((w) => (typeof w == 'number' ? Buffer.from(u32(w)) : Buffer.from(w))));
  for (const bad of [payload(1), payload(1, 0), payload(2, 0, 1, 'k', 1, 'v'), payload(1, 0, 1, 'k', 2, 'v'),
    payload(1, 0, 1, 'k', 1, 'v', 'extra'), payload(0, 1, 5, 'k'), payload(0xffffffff, 0xffffffff, 0)]) {
    const frame = Buffer.concat([Buffer.from(u32(bad.length)), Buffer.from(u32(crc32(bad))), bad]);
    await writeFile(logPath(dir, 'torn'), Buffer.concat([log.subarray(0, cStart), frame]));
    await reopenEquals(dir, 'torn', afterB(), (s) => assert.deepEqual(s.recovered, { droppedBytes: frame.length, offset: cStart }));
  }
  const good = payload(1, 1, 1, 'k', 1, 'v', 1, 'x');
  await writeFile(logPath(dir, 'torn'), Buffer.concat([log.subarray(0, cStart), Buffer.from(u32(good.length)), Buffer.from(u32(crc32(good))), good]));
  await reopenEquals(dir, 'torn', new Map([['b', text('B')], ['k', text('v')]]), (s) => assert.equal(s.recovered, null));
  // A file system may leave zeros where a write did not land.
  await writeFile(logPath(dir, 'torn'), Buffer.concat([log, Buffer.alloc(4096)]));
  const full = new Map([['c', text('C'.repeat(100))], ['x', text('3')]]);
  await reopenEquals(dir, 'torn', full, (s) => assert.deepEqual(s.recovered, { droppedBytes: 4096, offset: log.length }));
  await reopenEquals(dir, 'torn', full, (s) => assert.equal(s.recovered, null));
});

test('open: a foreign or newer file is refused and left alone; a cut header is a new database', async () => {
  const dir = await newDir();
  const path = logPath(dir, 'f');
  await writeFile(path, 'not a log at all');
  await assert.rejects(fileStore(dir, 'f'), { code: 'EFORMAT', message: /not a Cu file store log/ });
  assert.equal(await readFile(path, 'utf8'), 'not a log at all');
  await writeFile(path, Buffer.from([0x43, 0x75, 0x4c, 0x67, 2, 0, 0, 0]));
  await assert.rejects(fileStore(dir, 'f'), { code: 'EFORMAT', message: /format version 2/ });
  assert.ok(!existsSync(join(dir, 'f.lock')), 'no lock left by a failed open');
  await writeFile(path, Buffer.from([0x43, 0x75, 0x4c])); // creation cut short
  await reopenEquals(dir, 'f', new Map());
  assert.equal((await stat(path)).size, 8);
  await assert.rejects(fileStore(join(dir, 'missing'), 'f'), { code: 'ENOENT' });
  for (const bad of ['', '.hidden', 'a/b', '../x', 'sp ace', 3])
    await assert.rejects(fileStore(dir, bad), TypeError, String(bad));
});

test('compaction: the log shrinks past 2 × live + 1 MiB, data intact; explicit compact()', async () => {
  const dir = await newDir();
  const store = await fileStore(dir, 'c');
  const expected = new Map();
  for (let i = 0; i < 100; i++) expected.set(`small${i}`, u32(i));
  await store.commit([...expected], []);
  let maxSize = 0;
  for (let i = 0; i < 30; i++) {
    const big = new Uint8Array(100_000).fill(i);
    await store.commit([['big', big]], [`small${i}`]);
    expected.set('big', big).delete(`small${i}`);
    maxSize = Math.max(maxSize, store.logSize);
  }
  await store.commit([], []); // waits for a compaction queued after the last commit
  // 3 MB written without compaction; bounded by the threshold plus one frame with it.
  assert.ok(store.compactions >= 2, `compacted ${store.compactions} times`);
  assert.ok(maxSize < 2 * 100_000 + (1 << 20) + 2 * 100_100, `log stayed bounded (${maxSize})`);
  assert.equal((await stat(logPath(dir, 'c'))).size, store.logSize);
  assert.deepEqual(store.records, expected);
  assert.ok(!existsSync(`${logPath(dir, 'c')}.tmp`));
  // Explicit, then more commits append after the compacted log.
  await store.commit([['after', text('compaction')]], []);
  expected.set('after', text('compaction'));
  const before = store.compactions;
  await store.compact();
  assert.equal(store.compactions, before + 1);
  const live = store.logSize;
  assert.ok(live < 100_000 + 100 * 20 + 100, `compacted log ${live}`);
  assert.equal((await stat(logPath(dir, 'c'))).size, live);
  await store.commit([['last', bytes(1)]], ['small99']);
  expected.set('last', bytes(1)).delete('small99');
  assert.ok(store.logSize > live);
  await store.close();
  await reopenEquals(dir, 'c', expected);
  // An empty database compacts to the header alone.
  const empty = await fileStore(dir, 'e');
  await empty.commit([['k', bytes(1)]], []);
  await empty.commit([], ['k']);
  await empty.compact();
  assert.equal(empty.logSize, 8);
  await empty.close();
  await reopenEquals(dir, 'e', new Map());
});

test('compaction: over 8 MiB of live data is written as several frames', async () => {
  const dir = await newDir();
  const store = await fileStore(dir, 'big');
  const expected = new Map(Array.from({ length: 20 }, (_, i) => [`mb${i}`, new Uint8Array(1 << 20).fill(i)]));
  await store.commit([...expected], []);
  await store.compact();
  await store.close();
  const log = await readFile(logPath(dir, 'big'));
  let frames = 0;
  for (let p = 8; p < log.length; p += 8 + log.readUInt32LE(p)) frames++;
  assert.equal(frames, 3);
  await reopenEquals(dir, 'big', expected);
});

test('compaction: a .tmp left by a crash mid-compaction is removed at open', async () => {
  const dir = await newDir();
  const store = await fileStore(dir, 't');
  await store.commit([['k', text('v')]], []);
  await store.close();
  const tmp = `${logPath(dir, 't')}.tmp`;
  // Half-written snapshot, then a complete one not yet renamed: either way the log wins.
  await writeFile(tmp, Buffer.from([0x43, 0x75, 0x4c, 0x67, 1, 0, 0, 0, 99, 0, 0]));
  await reopenEquals(dir, 't', new Map([['k', text('v')]]));
  assert.ok(!existsSync(tmp));
  const other = await fileStore(dir, 'snapshot');
  await other.commit([['k', text('other')]], []);
  await other.close();
  await writeFile(tmp, await readFile(logPath(dir, 'snapshot')));
  await reopenEquals(dir, 't', new Map([['k', text('v')]]));
  assert.ok(!existsSync(tmp));
});

test('errors: bad arguments reject with TypeError and change nothing', async () => {
  const dir = await newDir();
  const store = await fileStore(dir, 'args');
  await store.commit([['k', bytes(1)]], []);
  const size = store.logSize;
  const bad = [
    [[['k', 'a string']], []],
    [[['k', [1, 2]]], []],
    [[['k', new ArrayBuffer(2)]], []],
    [[['k', new Uint16Array(2)]], []],
    [[['ok', bytes(2)], [5, bytes(1)]], []],
    [[[Symbol('s'), bytes(1)]], []],
    [[['lone \ud800', bytes(1)]], []],
    [[['k']], []],
    [[['k', bytes(1), 'extra']], []],
    [['k'], []],
    [{ k: bytes(1) }, []],
    [[], 'k'],
    [[], [7]],
    [[['x', bytes(1)]], [null]],
  ];
  for (const [puts, deletes] of bad) {
    await assert.rejects(store.commit(puts, deletes), TypeError);
  }
  await assert.rejects(store.commit([['lone \udc00', bytes(1)]], []), { message: /puts\[0\] key must be a well-formed string, got a lone surrogate/ });
  await assert.rejects(store.commit([], ['ok', 1]), { message: /deletes\[1\] key must be a well-formed string, got number/ });
  await assert.rejects(store.commit([['x', bytes(1)]], [], { durability: 'fast' }), { name: 'TypeError', message: /durability/ });
  await assert.rejects(store.commit([['x', bytes(1)]], [], { durability: true }), TypeError);
  assert.deepEqual(store.records, new Map([['k', bytes(1)]]));
  assert.equal(store.logSize, size);
  assert.equal((await stat(logPath(dir, 'args'))).size, size);
  // Relaxed is accepted; defaults work.
  await store.commit([['r', bytes(2)]], [], { durability: 'relaxed' });
  await store.commit([['s', bytes(3)]], [], { durability: 'strict' });
  await store.commit([['t', bytes(4)]]);
  await store.commit(undefined, ['t']);
  await store.close();
  await reopenEquals(dir, 'args', new Map([['k', bytes(1)], ['r', bytes(2)], ['s', bytes(3)]]));
});

test('errors: commit and compact after close reject with ECLOSED; commits queued before close land', async () => {
  const dir = await newDir();
  const store = await fileStore(dir, 'closed');
  const pending = [1, 2, 3].map((i) => store.commit([[`k${i}`, u32(i)]], []));
  const closing = store.close();
  await assert.rejects(store.commit([['late', bytes(1)]], []), { code: 'ECLOSED' });
  await assert.rejects(store.compact(), { code: 'ECLOSED' });
  await Promise.all(pending);
  await closing;
  assert.equal(store.records.size, 3);
  await reopenEquals(dir, 'closed', new Map([1, 2, 3].map((i) => [`k${i}`, u32(i)])));
});

test('order: commits not awaited run one at a time in call order; a rejected one does not stop the rest', async () => {
  const dir = await newDir();
  const store = await fileStore(dir, 'order');
  const results = await Promise.allSettled(Array.from({ length: 200 }, (_, i) =>
    i == 100 ? store.commit([['k', 'not bytes']], []) : store.commit([['k', u32(i)], [`n${i}`, bytes()]], i % 2 ? [`n${i - 1}`] : [], { durability: i % 3 ? 'relaxed' : 'strict' })));
  assert.deepEqual(results.flatMap((r, i) => (r.status == 'rejected' ? [i] : [])), [100]);
  // Commit i puts n<i>, an odd one deletes n<i-1>: the odd ones are left (101 deletes nothing).
  const expected = new Map([['k', u32(199)]]);
  for (let i = 1; i < 200; i += 2) expected.set(`n${i}`, bytes());
  assert.deepEqual(store.records, expected);
  await store.close();
  await reopenEquals(dir, 'order', expected);
});

/** Runs `fn` while FileHandle methods are replaced by `patch` (name → function(original)). */
async function withFileHandle(patch, fn) {
  const fh = await open(join(ROOT_DIR, 'probe'), 'w');
  const proto = Object.getPrototypeOf(fh);
  await fh.close();
  const saved = {};
  for (const [name, make] of Object.entries(patch)) {
    saved[name] = proto[name];
    proto[name] = make(saved[name]);
  }
  try {
    return await fn();
  } finally {
    Object.assign(proto, saved);
  }
}
const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
// A write that lands half of its bytes and then fails, as a full disk does.
const halfWrite = (write) => async function (buf, off, len, pos) {
  await write.call(this, buf, off, len >> 1, pos);
  throw enospc();
};

test('errors: a failed write rejects with its error, changes nothing, and the store goes on', async () => {
  const dir = await newDir();
  const store = await fileStore(dir, 'w');
  await store.commit([['k', text('before')]], []);
  const size = store.logSize;
  await withFileHandle({ write: halfWrite }, () =>
    assert.rejects(store.commit([['k', text('lost')], ['n', text('new'.repeat(100))]], ['k']), { code: 'ENOSPC' }));
  assert.deepEqual(store.records, new Map([['k', text('before')]]));
  assert.equal(store.logSize, size);
  assert.equal((await stat(logPath(dir, 'w'))).size, size, 'the partial frame was cut off');
  await withFileHandle({ datasync: () => async () => { throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }); } }, () =>
    assert.rejects(store.commit([['k', text('unsynced')]], []), { code: 'EIO' }));
  assert.deepEqual(store.records, new Map([['k', text('before')]]));
  await store.commit([['k', text('after')]], []);
  await store.close();
  await reopenEquals(dir, 'w', new Map([['k', text('after')]]), (s) => assert.equal(s.recovered, null));
});

test('errors: a failed write whose cleanup fails too is cut off by the next commit or the next open', async () => {
  const dir = await newDir();
  const failTruncate = () => async () => { throw Object.assign(new Error('EIO: i/o error, ftruncate'), { code: 'EIO' }); };
  const store = await fileStore(dir, 'w2');
  await store.commit([['k', text('v1')]], []);
  const size = store.logSize;
  await withFileHandle({ write: halfWrite, truncate: failTruncate }, () =>
    assert.rejects(store.commit([['k', text('x'.repeat(1000))]], []), { code: 'ENOSPC' }));
  assert.ok((await stat(logPath(dir, 'w2'))).size > size, 'partial frame still there');
  // The next commit cuts it off first; if it cannot, it fails without writing.
  await withFileHandle({ truncate: failTruncate }, () =>
    assert.rejects(store.commit([['k', text('v2')]], []), { code: 'EIO' }));
  await store.commit([['k', text('v2')]], []);
  assert.equal((await stat(logPath(dir, 'w2'))).size, store.logSize);
  await store.close();
  await reopenEquals(dir, 'w2', new Map([['k', text('v2')]]), (s) => assert.equal(s.recovered, null));
  // Closed right after such a failure: the next open drops the partial frame.
  const again = await fileStore(dir, 'w2');
  await withFileHandle({ write: halfWrite, truncate: failTruncate }, () =>
    assert.rejects(again.commit([['k', text('y'.repeat(1000))]], []), { code: 'ENOSPC' }));
  await again.close();
  await reopenEquals(dir, 'w2', new Map([['k', text('v2')]]), (s) => assert.ok(s.recovered.droppedBytes > 0));
});

test('errors: an open that cannot cut off a torn frame fails cleanly; the next one does it', async () => {
  const dir = await newDir();
  const { log, cStart } = await threeCommits(dir);
  await writeFile(logPath(dir, 'torn'), log.subarray(0, cStart + 5));
  await withFileHandle({ truncate: () => async () => { throw Object.assign(new Error('EIO: i/o error, ftruncate'), { code: 'EIO' }); } }, () =>
    assert.rejects(fileStore(dir, 'torn'), { code: 'EIO' }));
  assert.ok(!existsSync(join(dir, 'torn.lock')), 'no lock left');
  await reopenEquals(dir, 'torn', afterB(), (s) => assert.deepEqual(s.recovered, { droppedBytes: 5, offset: cStart }));
});

test('errors: a failed compaction keeps the old log and the store working', async () => {
  const dir = await newDir();
  const store = await fileStore(dir, 'cf');
  await store.commit([['k', bytes(1)]], []);
  const size = store.logSize;
  await withFileHandle({ write: halfWrite }, () => assert.rejects(store.compact(), { code: 'ENOSPC' }));
  assert.equal(store.compactionError.code, 'ENOSPC');
  assert.equal(store.logSize, size);
  assert.ok(!existsSync(`${logPath(dir, 'cf')}.tmp`), '.tmp removed');
  await store.commit([['k2', bytes(2)]], []);
  await store.close();
  await reopenEquals(dir, 'cf', new Map([['k', bytes(1)], ['k2', bytes(2)]]));
});

test('errors: a failed directory sync after the rename: the new log is used, the error reported', async () => {
  const dir = await newDir();
  const eio = () => async () => { throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }); };
  await withFileHandle({ sync: eio }, () => assert.rejects(fileStore(dir, 'ds'), { code: 'EIO' }));
  assert.ok(!existsSync(join(dir, 'ds.lock')), 'no lock left');
  const store = await fileStore(dir, 'ds');
  await store.commit([['k', bytes(1)]], []);
  await store.commit([['k', bytes(2)]], []);
  const before = store.logSize;
  await withFileHandle({ sync: eio }, () => assert.rejects(store.compact(), { code: 'EIO' }));
  assert.equal(store.compactionError.code, 'EIO');
  assert.ok(store.logSize < before, 'switched to the compacted log');
  await store.commit([['j', bytes(3)]], []);
  assert.equal((await stat(logPath(dir, 'ds'))).size, store.logSize);
  await store.compact();
  assert.equal(store.compactionError, null);
  await store.close();
  await reopenEquals(dir, 'ds', new Map([['k', bytes(2)], ['j', bytes(3)]]));
});

test('lock: one open per database; stale locks of dead processes are taken over; destroy', async () => {
  const dir = await newDir();
  const store = await fileStore(dir, 'l');
  await store.commit([['k', bytes(1)]], []);
  assert.equal(await readFile(join(dir, 'l.lock'), 'utf8'), `${process.pid}\n`);
  await assert.rejects(fileStore(dir, 'l'), { code: 'ELOCKED', message: new RegExp(`process ${process.pid}`) });
  await assert.rejects(fileStore.destroy(dir, 'l'), { code: 'ELOCKED' });
  await store.close();
  // The lock of a process that exited (kill -9 leaves it behind).
  const dead = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => dead.on('exit', resolve));
  await writeFile(join(dir, 'l.lock'), `${dead.pid}\n`);
  await reopenEquals(dir, 'l', new Map([['k', bytes(1)]]));
  await writeFile(join(dir, 'l.lock'), 'garbage');
  await reopenEquals(dir, 'l', new Map([['k', bytes(1)]]));
  // A live other process holds it.
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  try {
    await writeFile(join(dir, 'l.lock'), `${live.pid}\n`);
    await assert.rejects(fileStore(dir, 'l'), { code: 'ELOCKED', message: new RegExp(`process ${live.pid}`) });
  } finally {
    live.kill('SIGKILL');
    await new Promise((resolve) => live.on('exit', resolve));
  }
  await fileStore.destroy(dir, 'l'); // the lock is stale now
  await writeFile(`${logPath(dir, 'l')}.tmp`, 'x');
  await fileStore.destroy(dir, 'l');
  assert.ok(!existsSync(logPath(dir, 'l')) && !existsSync(`${logPath(dir, 'l')}.tmp`) && !existsSync(join(dir, 'l.lock')));
  await fileStore.destroy(dir, 'l'); // nothing there: fine
  await reopenEquals(dir, 'l', new Map());
});

test('timings: a 1,000-record commit, a reopen of 100,000 records', async (t) => {
  const dir = await newDir();
  const store = await fileStore(dir, 'perf');
  const batch = (c) => Array.from({ length: 1000 }, (_, i) => [`user:${c}:${i}`.padEnd(16, '.'), text(`{"n":${i},"c":${c},"pad":"${'x'.repeat(10)}"}`)]);
  const times = { strict: [], relaxed: [] };
  for (let c = 0; c < 100; c++) {
    const durability = c % 2 ? 'relaxed' : 'strict';
    const puts = batch(c);
    const t0 = performance.now();
    await store.commit(puts, [], { durability });
    times[durability].push(performance.now() - t0);
  }
  assert.equal(store.records.size, 100_000);
  const bytesPerRecord = Math.round(store.logSize / 100_000);
  await store.close();
  const t0 = performance.now();
  const reopened = await fileStore(dir, 'perf');
  const openMs = performance.now() - t0;
  assert.equal(reopened.records.size, 100_000);
  await reopened.close();
  const median = (a) => a.sort((x, y) => x - y)[a.length >> 1].toFixed(2);
  t.diagnostic(`1,000-record commit (~${bytesPerRecord} B/record on disk): median ${median(times.strict)} ms strict, ` +
    `${median(times.relaxed)} ms relaxed; reopen of 100,000 records: ${openMs.toFixed(1)} ms`);
});
