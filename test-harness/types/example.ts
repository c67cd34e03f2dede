// example.ts: a typed use of every export of cu-lua (glue.js, idb.js, file-store.js),
// imported by package name, for `tsc -p test-harness/types` (never run). Exact-type checks
// pin the results; each `@ts-expect-error` line is a wrong call the declarations must refuse
// (tsc fails if one of them is accepted).
import {
  BatchError,
  CuError,
  CuWASM,
  type BatchOp,
  type BatchResult,
  type Change,
  type CuErrorCode,
  type IndexInfo,
  type InitOptions,
  type LuaKey,
  type LuaOpaque,
  type LuaOpaqueType,
  type LuaValue,
  type MigrationRecord,
  type MigrationResult,
  type QueryCursor,
  type QueryPlan,
  type QueryRows,
  type Schema,
  type Stats,
  type StorageAdapter,
  type ValidationResult,
  type Violation,
} from 'cu-lua';
import { indexedDBStore, type IndexedDBStore } from 'cu-lua/idb.js';
import { crc32, fileStore, type FileStore } from 'cu-lua/file-store.js';

// Exact type equality: `assertType<Equals<A, B>>(true)` fails to compile unless A is B.
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(value: T): T {
  return value;
}

// Opaque values (functions, threads, ...) are frozen `{ type, repr }` objects.
const isOpaque = (v: LuaValue | undefined): v is LuaOpaque =>
  typeof v == 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && Object.isFrozen(v) && typeof v.repr == 'string';

// Records declared with `type` fit LuaInput as they are.
type User = { name: string; age: number; tags?: string[]; address?: { city: string } };

export async function example(): Promise<void> {
  // ---- init, every option ----
  const options: InitOptions = {
    heapSize: 512 * 1024,
    instructionLimit: 1e9,
    onPrint: (text, stream) => console.log(stream, text),
    wasm: new URL('../../dist/cu.wasm', import.meta.url),
    storage: 'auto',
    onWarning: (w) => console.warn(w.code, w.message),
    name: 'example',
    durability: 'relaxed',
    compression: { level: 'default', threshold: 1024 },
  };
  const lua = await CuWASM.init(options);
  await CuWASM.init({ storage: 'memory', compression: 'best' });
  await CuWASM.init({ storage: 'indexeddb', compression: false, wasm: new Uint8Array(8) });
  await CuWASM.init({ storage: 'file', compression: { enabled: false }, wasm: await WebAssembly.compile(new Uint8Array(8)) });
  await CuWASM.init({ wasm: 'https://example.com/cu.wasm', instructionLimit: Infinity });
  await CuWASM.init();
  assertType<Equals<typeof lua.warnings, CuError[]>>(true);

  // @ts-expect-error: a misspelt option
  await CuWASM.init({ heapsize: 1024 });
  // @ts-expect-error: not a storage
  await CuWASM.init({ storage: 'localStorage' });
  // @ts-expect-error: not a compression level
  await CuWASM.init({ compression: 'max' });
  // @ts-expect-error: not a durability
  await CuWASM.init({ durability: 'eventual' });
  // @ts-expect-error: print goes to stdout or stderr only
  await CuWASM.init({ onPrint: (_text: string, _stream: 'stdin') => {} });
  // @ts-expect-error: instances come from init
  new CuWASM();

  // ---- running Lua ----
  const four = await lua.compute('return 2 + 2');
  assertType<Equals<typeof four, LuaValue | undefined>>(true);
  const n = await lua.compute<number>('return ...', { chunkName: '=main.lua', args: [2] });
  assertType<Equals<typeof n, number>>(true);
  const all = await lua.computeAll('return 1, "two", {3}', { args: [1n, 'x', new Uint8Array([1]), { a: [1, null] }] });
  assertType<Equals<typeof all, LuaValue[]>>(true);
  const pair = await lua.computeAll<[number, string]>('return 1, "two"');
  assertType<Equals<typeof pair[1], string>>(true);
  // @ts-expect-error: code is a string
  await lua.compute(42);
  // @ts-expect-error: a misspelt compute option
  await lua.compute('return 1', { chunkname: 'x' });
  // @ts-expect-error: functions cannot go into Lua
  await lua.compute('return ...', { args: [() => 1] });

  // Values out: narrowing the union.
  const v = await lua.compute('return print');
  if (isOpaque(v)) {
    const t: LuaOpaqueType = v.type;
    console.log(t, v.repr, String(v));
  }

  // ---- values as bytes ----
  const bytes = await lua.serialize('return function() return 1 end', { keepDebugInfo: false, compress: true, compressThreshold: 1024, args: [] });
  assertType<Equals<typeof bytes, Uint8Array>>(true);
  await lua.deserialize(bytes, 'counter');
  await lua.deserialize(new Uint8Array(bytes).buffer, 'counter2');
  await lua.loadBytecode(new Uint8Array(0), 'f');
  await lua.persistFunction('Memory', 'calculate', 'function(x, y) return x * y end', { compress: true, validate: true, keepDebugInfo: false });
  // @ts-expect-error: bytes, not a string
  await lua.deserialize('bytes', 'x');

  // ---- globals and modules ----
  await lua.setGlobal('config', { debug: true, level: 3, names: ['a', 'b'], big: 2n ** 60n });
  await lua.saveModule('util', 'return { twice = function(x) return 2 * x end }');
  const removed: boolean = await lua.deleteModule('util');
  const names: string[] = await lua.modules();
  const source: string | undefined = await lua.getModule('util');
  console.log(removed, names, source);
  // @ts-expect-error: a global's value must be able to cross into Lua
  await lua.setGlobal('when', new Date());

  // ---- statistics, compression, gc ----
  const stats = await lua.stats();
  assertType<Equals<typeof stats, Stats>>(true);
  const users = await lua.stats('users');
  console.log(users.tables[0]?.indexes[0]?.entries, stats.luaHeap.peak, stats.compression.level, stats.moduleMemory.wasmMemory);
  await lua.setCompression({ level: 'fast', threshold: 256 });
  await lua.setCompression('off');
  await lua.setCompression(null);
  await lua.gc();
  // @ts-expect-error: not a compression setting key
  await lua.setCompression({ level: 'fast', minimum: 3 });

  // ---- external tables ----
  const alice: User = { name: 'Alice', age: 30, tags: ['a'], address: { city: 'Paris' } };
  await lua.setValue('users', 'u1', alice);
  await lua.setValue(['users', 7], 7, new Map<LuaKey, string>([[1, 'x']]));
  await lua.setValue('users', 'u2', null);
  const got = await lua.getValue('users', 'u1');
  assertType<Equals<typeof got, LuaValue | undefined>>(true);
  const typed = await lua.getValue<User | undefined>('users', 'u1');
  console.log(typed?.address?.city);
  const existed: boolean = await lua.deleteValue('users', 'u1');
  const keys = await lua.keys('users');
  assertType<Equals<typeof keys, LuaKey[]>>(true);
  const count: number = await lua.count('users');
  console.log(existed, count);
  // @ts-expect-error: a key is not an object
  await lua.getValue('users', { id: 1 });
  // @ts-expect-error: class instances cannot be stored
  await lua.setValue('users', 'u3', new Set([1]));
  // @ts-expect-error: symbols cannot be stored
  await lua.setValue('users', 'u3', Symbol('x'));

  const changes = await lua.takeChanges();
  assertType<Equals<typeof changes, Change[]>>(true);
  for (const c of changes) {
    if ('key' in c) console.log(c.table, c.path, c.key, c.value);
    else if ('dropped' in c) console.log(c.index, c.dropped);
    else console.log(c.index, c.type, c.unique);
  }

  // ---- batches ----
  const ops: BatchOp[] = [
    { type: 'set', table: 'users', key: 'user1', value: { name: 'Alice', age: 30 } },
    { type: 'get', table: 'users', key: 'user1' },
    { type: 'update', table: 'users', key: 'user1', value: { age: 31, nickname: null } },
    { type: 'delete', table: 'users', key: 'user2' },
  ];
  const controller = new AbortController();
  try {
    const results = await lua.batchTableOperations(ops, {
      atomic: true,
      onProgress: ({ done, total }) => console.log(done / total),
      signal: controller.signal,
      chunkSize: 2000,
    });
    assertType<Equals<typeof results, BatchResult[]>>(true);
    for (const r of results) console.log(r.ok ? r.value : r.error.code);
  } catch (e) {
    if (e instanceof BatchError) {
      const code: 'BATCH_FAILED' = e.code;
      for (const f of e.failures) console.log(code, f.index, f.error.code, f.error.violations);
      console.log(e.results.length);
    }
  }
  await lua.batchTableOperations([{ type: 'get', table: ['users'], key: 1 }], { atomic: false });
  // @ts-expect-error: not an op type
  await lua.batchTableOperations([{ type: 'upsert', table: 'users', key: 'k', value: 1 }]);
  // @ts-expect-error: update merges a table into the record
  await lua.batchTableOperations([{ type: 'update', table: 'users', key: 'k', value: 5 }]);
  // @ts-expect-error: a misspelt batch option
  await lua.batchTableOperations(ops, { atomically: true });

  // ---- indices and queries ----
  await lua.createIndex('users', 'age');
  await lua.createIndex('users', 'email', 'hash', { unique: true });
  await lua.createIndex('Memory', 'users.age', 'btree');
  const indexes = await lua.indexes('users');
  assertType<Equals<typeof indexes, IndexInfo[]>>(true);
  const dropped: boolean = await lua.dropIndex('users', 'age');
  console.log(dropped);
  // @ts-expect-error: not an index type
  await lua.createIndex('users', 'age', 'gin');

  const page = await lua.queryTable('users', {
    field: 'age', operator: '>=', value: 25,
    where: [{ field: 'address.city', op: '=', value: 'Paris' }, { field: ['tags'], operator: 'contains', value: 'a' }],
    orderBy: 'age', order: 'desc', limit: 100, offset: 0,
  });
  assertType<Equals<typeof page, QueryRows>>(true);
  const cursor = page.cursor;
  assertType<Equals<typeof cursor, QueryCursor | null>>(true);
  const next = await lua.queryTable<User>('users', { field: 'age', op: 'between', value: [25, 40], limit: 100, cursor });
  console.log(next[0]?.key, next[0]?.value.name);
  await lua.queryTable('users', { field: 'role', op: 'in', value: ['admin', 'user'] });
  await lua.queryTable('users', { where: [{ field: 'name', operator: 'startsWith', value: 'A' }] });
  await lua.queryTable('users', {});
  const total = await lua.queryTable('users', { field: 'age', operator: '>=', value: 25, count: true });
  assertType<Equals<typeof total, number>>(true);
  const plan = await lua.queryTable('users', { field: 'age', operator: '>=', value: 25, explain: true });
  assertType<Equals<typeof plan, QueryPlan>>(true);
  if (plan.type == 'scan') console.log(plan.examined, plan.sorted);
  else console.log(plan.index, plan.type, plan.examined);
  const flag = Math.random() > 0.5;
  const either = await lua.queryTable('users', { count: flag });
  assertType<Equals<typeof either, QueryRows | QueryPlan | number>>(true);
  // @ts-expect-error: not an operator
  await lua.queryTable('users', { field: 'name', operator: 'like', value: 'A%' });
  // @ts-expect-error: between takes [lo, hi]
  await lua.queryTable('users', { field: 'age', op: 'between', value: 25 });
  // @ts-expect-error: in takes an array
  await lua.queryTable('users', { field: 'age', op: 'in', value: 25 });
  // @ts-expect-error: order is asc or desc
  await lua.queryTable('users', { order: 'descending' });
  // @ts-expect-error: a condition compares with a scalar, not a table
  await lua.queryTable('users', { field: 'age', op: '=', value: { x: 1 } });

  // ---- schemas and migrations ----
  const schema: Schema = {
    type: 'table',
    fields: {
      name: { type: 'string', required: true, minLength: 1, maxLength: 100 },
      age: { type: 'integer', min: 0, max: 150 },
      email: { type: 'string', pattern: '^[%w._]+@[%w.]+$' },
      role: { type: 'string', enum: ['admin', 'user'], default: 'user' },
      tags: { type: 'array', items: { type: 'string' }, minItems: 0, maxItems: 20 },
      address: { type: 'table', fields: { city: { type: 'string', required: true } } },
      onSave: { type: 'function' },
    },
    additionalFields: false,
  };
  await lua.defineSchema('users', schema);
  // @ts-expect-error: not a schema type
  await lua.defineSchema('users', { type: 'date' });
  // @ts-expect-error: not a schema rule
  await lua.defineSchema('users', { type: 'string', format: 'email' });
  try {
    await lua.setValue('users', 'u1', { name: 'Bob', age: 200 });
  } catch (e) {
    if (e instanceof CuError && e.code === 'SCHEMA_VIOLATION') {
      const violations: Violation[] | undefined = e.violations;
      for (const x of violations ?? []) console.log(x.path, x.rule, x.expected, x.got);
    }
  }
  const current = await lua.getSchema('users');
  assertType<Equals<typeof current, Schema | undefined>>(true);
  const version: number = await lua.schemaVersion('users');
  const hadSchema: boolean = await lua.dropSchema('users');
  console.log(version, hadSchema);
  const report = await lua.validateTable('users');
  assertType<Equals<typeof report, ValidationResult>>(true);
  console.log(report.valid, report.records, report.violations.length, report[0]?.rule);
  const migrated = await lua.migrate('users', {
    version: 2,
    up: 'function(record) record.fullName = record.name; record.name = nil; return record end',
    down: 'function(record) record.name = record.fullName; record.fullName = nil; return record end',
    schema: { type: 'table' },
  }, { onProgress: ({ done, total }) => console.log(done, total), signal: controller.signal, chunkSize: 5000 });
  assertType<Equals<typeof migrated, MigrationResult>>(true);
  const back = await lua.rollbackMigration('users');
  console.log(back.from, back.version, back.records);
  const history = await lua.migrations('users');
  assertType<Equals<typeof history, MigrationRecord[]>>(true);
  console.log(history[0]?.rolledBack, history[0]?.previous, history[0]?.at);
  // @ts-expect-error: up is a Lua source, not a JS function
  await lua.migrate('users', { version: 3, up: (r: unknown) => r });

  // ---- storage, errors, lifecycle ----
  await lua.flush();
  await lua.saveState();
  await lua.loadState();
  try {
    await lua.compute('error("x")');
  } catch (e) {
    if (e instanceof CuError) {
      const code: CuErrorCode = e.code;
      if (code === 'LUA_RUNTIME' || code === 'INSTRUCTION_LIMIT' || code === 'UNSUPPORTED_ENGINE' || code === 'ABORTED') console.log(e.details.traceback);
      // @ts-expect-error: no such code
      if (e.code === 'LUA_ERROR') console.log('never');
      const line: number | null = e.details.line;
      const status: number | null = e.details.status;
      console.log(line, status, e.details.luaMessage, e.details.chunkName, e.suggestion, e.record, e.name);
    }
  }
  const own = new CuError('BAD_ARGUMENT', 'mine', { chunkName: '=x' });
  // @ts-expect-error: CuError codes are the listed ones
  new CuError('OOPS', 'mine');
  console.log(own.code);
  await lua.close();

  // ---- storage adapters ----
  const idb: IndexedDBStore = await indexedDBStore('cu', { durability: 'strict', timeout: 10000 });
  const version2: number = await idb.commit([['p0', new Uint8Array(4)]], [], { durability: 'relaxed' });
  console.log(version2, idb.at, await idb.version());
  await CuWASM.init({ storage: idb });
  const fs: FileStore = await fileStore('/tmp', 'cu');
  await fs.commit([['p0', new Uint8Array(4)]], ['p1'], { durability: 'strict' });
  console.log(fs.records.size, fs.recovered?.droppedBytes, fs.logSize, fs.compactions, fs.compactionError);
  await fs.compact();
  const asAdapter: StorageAdapter = fs; // a FileStore is an adapter as it is
  await CuWASM.init({ storage: asAdapter });
  await fs.close();
  await fileStore.destroy('/tmp', 'cu');
  console.log(crc32(new Uint8Array([1, 2, 3]), { portable: true }));
  const custom: StorageAdapter = {
    records: new Map(),
    async commit(puts, deletes, { durability }) {
      console.log(puts.length, deletes.length, durability);
    },
    close() {},
  };
  await CuWASM.init({ storage: custom });
  // @ts-expect-error: an adapter needs records and commit
  await CuWASM.init({ storage: { close() {} } });
}
