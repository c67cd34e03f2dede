// glue.d.ts: TypeScript declarations of glue.js, Cu's JS API (README, "JS API"). Every
// shape here is the one glue.js builds or accepts; checked by `tsc -p test-harness/types`.

// ---------------------------------------------------------------------------------------
// Values crossing between JS and Lua
// ---------------------------------------------------------------------------------------

/** A table key: a string (a Uint8Array when not UTF-8), a number (not NaN; a bigint beyond ±2^53−1) or a boolean. */
export type LuaKey = string | number | bigint | boolean | Uint8Array;

/** A value going into Lua: nil, booleans, numbers, 64-bit BigInts, strings, bytes, arrays, Maps and plain objects (no functions, class instances or cycles; at most 200 tables deep). */
export type LuaInput =
  | null
  | undefined
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | ArrayBuffer
  | readonly LuaInput[]
  | ReadonlyMap<LuaKey, LuaInput>
  | LuaInputTable;

/** A plain object going into Lua: own enumerable string keys (`undefined` values skipped). Declare your record shapes with `type`, not `interface`, to fit it. */
export interface LuaInputTable {
  readonly [key: string]: LuaInput;
}

/** A value coming out of Lua: nil is `null` (inside tables), a big integer a bigint, a non-UTF-8 string a Uint8Array, tables with keys 1..n arrays, other tables objects, the rest opaque. */
export type LuaValue = null | boolean | number | bigint | string | Uint8Array | LuaOpaque | LuaValue[] | LuaTable;

/** A Lua table that is not a sequence, as a JS object (keys converted to strings; shared tables and cycles stay shared). */
export interface LuaTable {
  [key: string]: LuaValue;
}

/** The kinds of Lua values that cannot cross to JS. */
export type LuaOpaqueType = 'function' | 'table' | 'userdata' | 'lightuserdata' | 'thread';

/** A function, userdata, thread (or a table kept as serialized bytes) from Lua: a frozen `{ type, repr }`. */
export interface LuaOpaque {
  /** What kind of Lua value it was. */
  readonly type: LuaOpaqueType;
  /** Lua's `tostring` of it, e.g. `function: 0x7a`. */
  readonly repr: string;
  /** The same as `repr`. */
  toString(): string;
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/** Every `code` a CuError can have (glue.js SUGGESTIONS, plus ABORTED). */
export type CuErrorCode =
  | 'LUA_RUNTIME'
  | 'LUA_SYNTAX'
  | 'LUA_MEMORY'
  | 'INSTRUCTION_LIMIT'
  | 'BAD_ARGUMENT'
  | 'LUA_EXIT'
  | 'CONVERSION'
  | 'NOT_INITIALIZED'
  | 'BAD_BYTECODE'
  | 'NOT_SERIALIZABLE'
  | 'BAD_DATA'
  | 'NOT_A_FUNCTION'
  | 'NOT_A_TABLE'
  | 'UNIQUE_VIOLATION'
  | 'NOT_FOUND'
  | 'SCHEMA_VIOLATION'
  | 'MIGRATION_FAILED'
  | 'INSTANCE_DEAD'
  | 'STORAGE_FAILED'
  | 'STORAGE_QUOTA'
  | 'STORAGE_UNAVAILABLE'
  | 'BATCH_FAILED'
  | 'UNSUPPORTED_ENGINE'
  | 'ABORTED';

/** Where an error came from; fields not known are `null`. */
export interface CuErrorDetails {
  /** The module's status (negative), or null for errors found in JS. */
  status: number | null;
  /** Lua's error message as Lua gave it. */
  luaMessage: string | null;
  /** Lua's stack traceback (runtime errors). */
  traceback: string | null;
  /** The chunk name of the code that failed, e.g. `=compute`. */
  chunkName: string | null;
  /** The line number found in the message (`:12:`). */
  line: number | null;
}

/** The schema rules a violation can name. */
export type ViolationRule =
  | 'type'
  | 'required'
  | 'min'
  | 'max'
  | 'minLength'
  | 'maxLength'
  | 'pattern'
  | 'enum'
  | 'additionalFields'
  | 'minItems'
  | 'maxItems';

/** One schema problem: the record path, the rule, the rule's value and what was found (`null` for nil). */
export interface Violation {
  /** The place, e.g. `users.u1.address.city`. */
  path: string;
  /** The rule broken. */
  rule: ViolationRule;
  /** The rule's value (e.g. 150 for `max`, the type name for `type`). */
  expected: LuaValue;
  /** The value found, or its length/count (length and item rules), or its type (`type`). */
  got: LuaValue;
}

/** Every failure of Cu: a stable code, details and a suggestion. */
export class CuError extends Error {
  /** Makes an error; `suggestion` is filled in from the code. */
  constructor(code: CuErrorCode, message: string, details?: Partial<CuErrorDetails>);
  /** Always `'CuError'` (`'BatchError'` for a BatchError). */
  name: string;
  /** The error's stable code. */
  code: CuErrorCode;
  /** Status, Lua message, traceback, chunk name and line. */
  details: CuErrorDetails;
  /** What to do about it ('' for codes without one). */
  suggestion: string;
  /** SCHEMA_VIOLATION and MIGRATION_FAILED (and failed batch ops that broke a schema): every problem (`[]` for an error in a migration's `up`). */
  violations?: Violation[];
  /** MIGRATION_FAILED: the key of the first record that failed. */
  record?: LuaKey;
}

/** One failed op of an atomic batch. */
export interface BatchFailure {
  /** The op's index in the batch. */
  index: number;
  /** Why it failed. */
  error: CuError;
}

/** An atomic batch that was rolled back because some of its ops failed. */
export class BatchError extends CuError {
  /** Made by batchTableOperations. */
  constructor(failures: BatchFailure[], results: BatchResult[]);
  /** Always `'BATCH_FAILED'`. */
  code: 'BATCH_FAILED';
  /** The failed ops, in order. */
  failures: BatchFailure[];
  /** Every op's result as it ran, before the rollback. */
  results: BatchResult[];
}

// ---------------------------------------------------------------------------------------
// init options, storage and compression
// ---------------------------------------------------------------------------------------

/** How a commit waits: `'strict'` (durable) or `'relaxed'`. */
export type Durability = 'strict' | 'relaxed';

/** How hard DEFLATE looks for repeats, or `'off'`. */
export type CompressionLevel = 'off' | 'fast' | 'default' | 'best';

/** The compression setting in object form. */
export interface CompressionSettings {
  /** Level (default `'default'`). */
  level?: CompressionLevel;
  /** Values of more than this many bytes are deflated (an integer 0..2^32−1; default 1024). */
  threshold?: number;
  /** `false` is `'off'` (default true). */
  enabled?: boolean;
}

/** `false`/`'off'`: everything raw; `true`/`null`: the default; a level; or the settings. */
export type CompressionOption = boolean | null | CompressionLevel | CompressionSettings;

/** A storage backend (idb.js and file-store.js are two): pages as records `p<n>` → bytes. */
export interface StorageAdapter {
  /** Every record, all of them read at open and kept up to date by commit. */
  readonly records: Map<string, Uint8Array>;
  /** Writes puts and deletes atomically, then updates `records`; may resolve to the new storage version. */
  commit(puts: Array<[string, Uint8Array]>, deletes: string[], options: { durability: Durability }): Promise<number | void>;
  /** Closes the storage (a lock, a file, a connection). */
  close(): Promise<void> | void;
  /** Reads every record again (another tab or process may have committed). */
  reload?(): Promise<void> | void;
  /** The storage's version now; a change since the instance last saw it makes it reload before its next call. */
  version?(): Promise<number> | number;
  /** Runs `fn` alone across every user of the storage (tabs, workers, instances). */
  lock?<T>(fn: () => Promise<T>): Promise<T>;
  /** The version `records` are of, at open. */
  readonly at?: number;
}

/** Where external tables are saved: see README, "Storage". */
export type StorageOption = 'indexeddb' | 'file' | 'memory' | 'auto' | StorageAdapter;

/** The output streams of print/io.write. */
export type PrintStream = 'stdout' | 'stderr';

/** Options of CuWASM.init. */
export interface InitOptions {
  /** Bytes of Lua heap, fixed for the instance's life (default 512 KiB). */
  heapSize?: number;
  /** Instructions per call; 0 or Infinity = unlimited (default 1e9). */
  instructionLimit?: number;
  /** Receives print/io.write output, a line at a time (default console.log). */
  onPrint?: (text: string, stream: PrintStream) => void;
  /** The module: a URL, its bytes or a compiled module (default `new URL('./dist/cu.wasm', import.meta.url)`). */
  wasm?: string | URL | ArrayBuffer | ArrayBufferView | WebAssembly.Module;
  /** Where external tables are saved (default 'indexeddb' in browsers, 'file' in Node). */
  storage?: StorageOption;
  /** Receives init's warnings (default console.warn); one that throws fails init. */
  onWarning?: (warning: CuError) => void;
  /** The database name (default 'cu'; memory stores are shared only when named). */
  name?: string;
  /** How commits wait (default 'strict'). */
  durability?: Durability;
  /** How long values are stored (default `{ level: 'default', threshold: 1024 }`). */
  compression?: CompressionOption;
}

// ---------------------------------------------------------------------------------------
// Calls that run Lua
// ---------------------------------------------------------------------------------------

/** Options of compute and computeAll. */
export interface ComputeOptions {
  /** The chunk's name in errors and tracebacks (default `'=compute'`). */
  chunkName?: string;
  /** Values the chunk receives as `...`. */
  args?: readonly LuaInput[];
}

/** Options of serialize. */
export interface SerializeOptions extends ComputeOptions {
  /** Keep line information in bytecode (default false). */
  keepDebugInfo?: boolean;
  /** Deflate encodings over `compressThreshold` when smaller (default true). */
  compress?: boolean;
  /** Bytes above which an encoding is deflated (an integer 0..2^32−1; default 1024). */
  compressThreshold?: number;
}

/** Options of persistFunction. */
export interface PersistOptions {
  /** Keep line information in the function's bytecode (default false). */
  keepDebugInfo?: boolean;
  /** Accepted for Cu 2.x: storage follows the instance's `compression`. */
  compress?: boolean;
  /** Accepted for Cu 2.x: always true, no chunk is loaded unchecked. */
  validate?: boolean;
}

// ---------------------------------------------------------------------------------------
// External tables
// ---------------------------------------------------------------------------------------

/** A table: a dotted path (`'users'`, `'Memory.users'`, `'users.u1'`; `'Memory'` is the root) or an array of keys taken as is. */
export type TablePath = string | readonly LuaKey[];

/** A field inside records: a dotted path (`'address.city'`) or an array of keys. */
export type FieldPath = string | readonly LuaKey[];

/** A write to a record, from takeChanges: `value` is undefined for a delete. */
export interface ValueChange {
  /** The table's dotted name, e.g. `Memory.users`. */
  table: string;
  /** The table's keys below Memory. */
  path: LuaKey[];
  /** The record's key. */
  key: LuaKey;
  /** The new value; undefined when deleted. */
  value: LuaValue | undefined;
}

/** An index created, from takeChanges. */
export interface IndexCreatedChange {
  /** The table's dotted name. */
  table: string;
  /** The table's keys below Memory. */
  path: LuaKey[];
  /** The indexed field. */
  index: LuaKey;
  /** The index kind. */
  type: IndexType;
  /** Whether it is unique. */
  unique: boolean;
}

/** An index dropped, from takeChanges. */
export interface IndexDroppedChange {
  /** The table's dotted name. */
  table: string;
  /** The table's keys below Memory. */
  path: LuaKey[];
  /** The field that was indexed. */
  index: LuaKey;
  /** Always true. */
  dropped: true;
}

/** One entry of the change set. */
export type Change = ValueChange | IndexCreatedChange | IndexDroppedChange;

/** What every batch op names: the table and the record's key. */
export interface BatchOpTarget {
  /** The table (created by set and update if missing). */
  table: TablePath;
  /** The record's key. */
  key: LuaKey;
}

/** Writes a record. */
export interface BatchSetOp extends BatchOpTarget {
  /** The op. */
  type: 'set';
  /** The new value (null deletes). */
  value: LuaInput;
}

/** Reads a record (its result's value; undefined when absent). */
export interface BatchGetOp extends BatchOpTarget {
  /** The op. */
  type: 'get';
}

/** Merges fields into an existing record (NOT_FOUND when missing). */
export interface BatchUpdateOp extends BatchOpTarget {
  /** The op. */
  type: 'update';
  /** The fields to set, shallowly; a null field is deleted. */
  value: LuaInputTable | ReadonlyMap<LuaKey, LuaInput>;
}

/** Deletes a record (its result's value: whether it existed). */
export interface BatchDeleteOp extends BatchOpTarget {
  /** The op. */
  type: 'delete';
}

/** A batch op: set, get, update or delete. */
export type BatchOp = BatchSetOp | BatchGetOp | BatchUpdateOp | BatchDeleteOp;

/** An op's result: `value` is get's value, delete's "existed", undefined for set and update. */
export type BatchResult = BatchSuccess | BatchFailed;

/** An op that ran. */
export interface BatchSuccess {
  /** It ran. */
  ok: true;
  /** get: the value; delete: whether the key existed; set and update: undefined. */
  value: LuaValue | undefined;
}

/** An op that failed (NOT_FOUND, UNIQUE_VIOLATION, NOT_A_TABLE, SCHEMA_VIOLATION, BAD_ARGUMENT, ...). */
export interface BatchFailed {
  /** It failed. */
  ok: false;
  /** Why. */
  error: CuError;
}

/** Progress of a long batch or migration. */
export interface Progress {
  /** Ops or records done. */
  done: number;
  /** Ops or records in all. */
  total: number;
}

/** Options of batchTableOperations. */
export interface BatchOptions {
  /** All or nothing: a failure rolls back every op and rejects with BatchError (default true). */
  atomic?: boolean;
  /** Called between chunks and once at the end; one that throws aborts the batch. */
  onProgress?: (progress: Progress) => void;
  /** Checked before each chunk: aborted rolls the batch back (ABORTED). */
  signal?: AbortSignal;
  /** Ops per chunk sent to the module (default 2000). */
  chunkSize?: number;
}

/** The index kinds: B-tree (every operator but `!=` and `contains`) or hash (equality). */
export type IndexType = 'btree' | 'hash';

/** Options of createIndex. */
export interface IndexOptions {
  /** Refuse two records with the same value (default false). */
  unique?: boolean;
}

/** An index of a table, from indexes(). */
export interface IndexInfo {
  /** The indexed field. */
  field: LuaKey;
  /** Its kind. */
  type: IndexType;
  /** Whether it is unique. */
  unique: boolean;
}

/** The operators of queries (`==` is `=`). */
export type QueryOperator = '=' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'between' | 'in' | 'contains' | 'startsWith';

/** A value a condition compares with. */
export type QueryScalar = boolean | number | bigint | string;

/** `operator` (or its alias `op`), one of them. */
export type WithOperator<O extends QueryOperator> =
  | {
      /** The comparison. */
      operator: O;
      /** Use `operator` or `op`, not both. */
      op?: undefined;
    }
  | {
      /** The comparison (alias of `operator`). */
      op: O;
      /** Use `operator` or `op`, not both. */
      operator?: undefined;
    };

/** The part of a condition every operator has. */
export interface QueryField {
  /** The field compared (dots go into nested tables; a missing step is nil). */
  field: FieldPath;
}

/** One condition: `field operator value`; `between` takes `[lo, hi]` (inclusive), `in` an array. */
export type QueryCondition = QueryField &
  (
    | ({ /** The value compared with. */ value: QueryScalar } & WithOperator<'=' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'contains' | 'startsWith'>)
    | ({ /** `[lo, hi]`, inclusive. */ value: readonly [QueryScalar, QueryScalar] } & WithOperator<'between'>)
    | ({ /** The values, any of which matches (`[]` matches nothing). */ value: readonly QueryScalar[] } & WithOperator<'in'>)
  );

/** Continues a query after a page (from the last page's `cursor`). */
export type QueryCursor = string | Uint8Array;

/** What every query may say besides its first condition. */
export interface QueryOptions {
  /** More conditions (AND). */
  where?: readonly QueryCondition[];
  /** The field results are sorted by (default: the first condition's, else the key). */
  orderBy?: FieldPath;
  /** Ascending (default) or descending. */
  order?: 'asc' | 'desc';
  /** At most this many results (an integer ≥ 0). */
  limit?: number;
  /** Skip this many results first (an integer ≥ 0). */
  offset?: number;
  /** Continue after the page that gave this cursor (same query). */
  cursor?: QueryCursor | null;
  /** Resolve to the number of matches. */
  count?: boolean;
  /** Resolve to the plan. */
  explain?: boolean;
}

/** A query without a condition at its top (then every record matches `where`, or all of them). */
export interface NoCondition {
  /** No field at the top. */
  field?: undefined;
  /** No operator at the top. */
  operator?: undefined;
  /** No operator at the top. */
  op?: undefined;
  /** No value at the top. */
  value?: undefined;
}

/** A query: an optional first condition at the top, `where`, order, paging, count or explain. */
export type Query = QueryOptions & (QueryCondition | NoCondition);

/** One result row. */
export interface QueryRow<T = LuaValue> {
  /** The record's key. */
  key: LuaKey;
  /** The record. */
  value: T;
}

/** A page of results; `cursor` (not enumerable) continues after it, null when the page was not full or there was no limit. */
export type QueryRows<T = LuaValue> = QueryRow<T>[] & { readonly cursor: QueryCursor | null };

/** How a query ran: through an index, or a scan. */
export type QueryPlan = IndexPlan | ScanPlan;

/** A query answered through an index. */
export interface IndexPlan {
  /** The indexed field used. */
  index: LuaKey;
  /** The index's kind. */
  type: IndexType;
  /** Records looked at. */
  examined: number;
  /** Whether the results needed a sort. */
  sorted: boolean;
}

/** A query answered by reading every record. */
export interface ScanPlan {
  /** No index. */
  type: 'scan';
  /** Records looked at. */
  examined: number;
  /** Whether the results needed a sort. */
  sorted: boolean;
}

// ---------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------

/** An index in the statistics. */
export interface IndexStats extends IndexInfo {
  /** Values indexed. */
  entries: number;
  /** Module heap bytes it holds. */
  bytes: number;
}

/** One table directly in the reported table. */
export interface TableStats {
  /** Its keys below Memory. */
  path: LuaKey[];
  /** Its dotted name, e.g. `Memory.users`. */
  table: string;
  /** Its own keys. */
  records: number;
  /** Bytes of it and everything below, uncompressed. */
  rawBytes: number;
  /** The same, as stored. */
  storedBytes: number;
  /** rawBytes / storedBytes (1 when empty). */
  ratio: number;
  /** Module heap bytes of its indices and those below. */
  indexBytes: number;
  /** Its own indices. */
  indexes: IndexStats[];
}

/** The report of stats(): heaps, records, bytes, indices, compression. */
export interface Stats {
  /** Lua heap bytes in use (= luaHeap.used). */
  heapUsed: number;
  /** Lua heap size (= luaHeap.limit). */
  heapSize: number;
  /** Lua heap high-water mark (= luaHeap.peak). */
  heapPeak: number;
  /** Instructions of the last call that ran Lua, in steps of 1,000. */
  lastInstructions: number;
  /** The module heap in use (= moduleMemory.heapUsed). */
  moduleHeapUsed: number;
  /** Records of the listed tables. */
  records: number;
  /** Everything in the table, uncompressed. */
  rawBytes: number;
  /** The same, as stored. */
  storedBytes: number;
  /** rawBytes / storedBytes (1 when empty). */
  compressionRatio: number;
  /** Module heap bytes of the indices. */
  indexBytes: number;
  /** One per table directly in the reported table, in key order. */
  tables: TableStats[];
  /** The fixed Lua heap. */
  luaHeap: {
    /** Bytes in use. */
    used: number;
    /** Its size. */
    limit: number;
    /** High-water mark. */
    peak: number;
  };
  /** The module's memory. */
  moduleMemory: {
    /** Bytes of WebAssembly memory. */
    wasmMemory: number;
    /** The module's heap in use. */
    heapUsed: number;
  };
  /** The instance's compression setting. */
  compression: {
    /** The level ('off' when disabled). */
    level: CompressionLevel;
    /** The threshold in bytes. */
    threshold: number;
  };
}

// ---------------------------------------------------------------------------------------
// Schemas and migrations
// ---------------------------------------------------------------------------------------

/** The types a schema rule can ask for. */
export type SchemaType = 'string' | 'number' | 'integer' | 'boolean' | 'table' | 'array' | 'function' | 'any';

/** A schema rule (the schema of a table's records is one, usually `{ type: 'table', fields }`). */
export interface Schema {
  /** The value's type (absent: any). */
  type?: SchemaType;
  /** The field must be present (in `fields`). */
  required?: boolean;
  /** Filled in when the field is missing (must pass the rule). */
  default?: LuaInput;
  /** Smallest number. */
  min?: number;
  /** Largest number. */
  max?: number;
  /** Fewest UTF-8 characters of a string. */
  minLength?: number;
  /** Most UTF-8 characters of a string. */
  maxLength?: number;
  /** A Lua pattern the string must contain (anchor it with ^ and $). */
  pattern?: string;
  /** The allowed values. */
  enum?: readonly (boolean | number | string)[];
  /** A rule per field, nested to any depth. */
  fields?: { readonly [field: string]: Schema };
  /** `false`: no fields other than `fields`. */
  additionalFields?: boolean;
  /** The rule of every element of an array. */
  items?: Schema;
  /** Fewest elements of an array. */
  minItems?: number;
  /** Most elements of an array. */
  maxItems?: number;
}

/** A migration: the new version, `up` (and `down`) as Lua function sources, the new schema. */
export interface Migration {
  /** The new version, higher than the table's. */
  version: number;
  /** Source of `function(record) ... return record end`. */
  up: string;
  /** Source of the reverse, for rollbackMigration. */
  down?: string | null;
  /** The schema from this version on (default: the current one). */
  schema?: Schema | null;
}

/** Options of migrate and rollbackMigration. */
export interface MigrateOptions {
  /** Called between chunks and once at the end; one that throws aborts it. */
  onProgress?: (progress: Progress) => void;
  /** Checked before each chunk: aborted undoes it (ABORTED). */
  signal?: AbortSignal;
  /** Records per chunk (a positive integer; default 5000). */
  chunkSize?: number;
}

/** The outcome of migrate or rollbackMigration. */
export interface MigrationResult {
  /** The version before. */
  from: number;
  /** The version now. */
  version: number;
  /** Records migrated. */
  records: number;
}

/** An entry of a table's migration history. */
export interface MigrationRecord {
  /** The version it migrated to. */
  version: number;
  /** The version it migrated from. */
  from: number;
  /** Its `up` source. */
  up: string;
  /** Its `down` source, if it had one. */
  down?: string;
  /** The schema it set, if any. */
  schema?: Schema;
  /** The schema before it, if any. */
  previous?: Schema;
  /** Records migrated. */
  records: number;
  /** When it ran (ms since 1970). */
  at: number;
  /** When it was rolled back (ms since 1970), if it was. */
  rolledBack?: number;
}

/** validateTable's answer: the violations (empty when valid), with `valid`, `records` and `violations` as properties. */
export type ValidationResult = Violation[] & {
  /** No violations. */
  readonly valid: boolean;
  /** Records checked. */
  readonly records: number;
  /** The array itself. */
  readonly violations: Violation[];
};

// ---------------------------------------------------------------------------------------
// The instance
// ---------------------------------------------------------------------------------------

/** A Lua 5.4 state in its own WebAssembly instance, with persistent external tables. */
export class CuWASM {
  /** Instances come from CuWASM.init. */
  private constructor();

  /** Loads the module, opens storage and restores the external tables. */
  static init(options?: InitOptions): Promise<CuWASM>;

  /** init's warnings (CuError objects), e.g. 'auto' storage fell back to memory. */
  warnings: CuError[];

  /** Runs Lua code; resolves to its first result (undefined when none; T is an unchecked assertion). */
  compute<T = LuaValue | undefined>(code: string, options?: ComputeOptions): Promise<T>;
  /** Runs Lua code; resolves to all its results. */
  computeAll<T extends unknown[] = LuaValue[]>(code: string, options?: ComputeOptions): Promise<T>;

  /** Runs code; resolves to the bytes of its first result (docs/FORMAT.md). */
  serialize(code: string, options?: SerializeOptions): Promise<Uint8Array>;
  /** Decodes bytes from serialize() into the global `name`. */
  deserialize(bytes: ArrayBuffer | ArrayBufferView, name: string): Promise<void>;
  /** Validates a Lua 5.4 binary chunk and stores its function in the global `name`. */
  loadBytecode(bytes: ArrayBuffer | ArrayBufferView, name: string): Promise<void>;
  /** Stores the function `code` gives at `table.name` (table a path, created if missing). */
  persistFunction(table: string, name: string, code: string, options?: PersistOptions): Promise<void>;

  /** Sets the Lua global `name` to a copy of `value`. */
  setGlobal(name: string, value: LuaInput): Promise<void>;

  /** Stores a Lua module's source; Lua's `require(name)` then loads it from the database (a syntax error rejects LUA_SYNTAX). */
  saveModule(name: string, source: string): Promise<void>;
  /** Removes a stored module; true if there was one. */
  deleteModule(name: string): Promise<boolean>;
  /** The names of the stored modules, sorted. */
  modules(): Promise<string[]>;
  /** A stored module's source (undefined when absent). */
  getModule(name: string): Promise<string | undefined>;

  /** The report on the tables in `table` (default Memory), the heaps and compression. */
  stats(table?: TablePath): Promise<Stats>;
  /** How values are stored from now on. */
  setCompression(options: CompressionOption): Promise<void>;
  /** Runs a full Lua garbage collection. */
  gc(): Promise<void>;

  /** A record of an external table (undefined when absent; T is an unchecked assertion). */
  getValue<T = LuaValue | undefined>(table: TablePath, key: LuaKey): Promise<T>;
  /** Writes a record (creating the table); null/undefined deletes it. */
  setValue(table: TablePath, key: LuaKey, value: LuaInput): Promise<void>;
  /** Deletes a record; true if it existed. */
  deleteValue(table: TablePath, key: LuaKey): Promise<boolean>;
  /** The table's keys in key order ([] for a missing table). */
  keys(table: TablePath): Promise<LuaKey[]>;
  /** The number of keys (0 for a missing table). */
  count(table: TablePath): Promise<number>;
  /** The change set since the last call (then emptied). */
  takeChanges(): Promise<Change[]>;

  /** Runs ops in the module as one transaction (atomic by default: then a failure rejects with BatchError). */
  batchTableOperations(ops: readonly BatchOp[], options?: BatchOptions): Promise<BatchResult[]>;

  /** Creates an index on `field` of the table's records (btree by default). */
  createIndex(table: TablePath, field: FieldPath, type?: IndexType, options?: IndexOptions): Promise<void>;
  /** Drops an index; true if there was one. */
  dropIndex(table: TablePath, field: FieldPath): Promise<boolean>;
  /** The table's indices. */
  indexes(table: TablePath): Promise<IndexInfo[]>;

  /** The plan the query would run with. */
  queryTable(table: TablePath, query: Query & { explain: true }): Promise<QueryPlan>;
  /** The number of matches (limit, offset and cursor ignored). */
  queryTable(table: TablePath, query: Query & { count: true; explain?: false }): Promise<number>;
  /** A page of matching records, `[{ key, value }]` with a `cursor` (T is an unchecked assertion). */
  queryTable<T = LuaValue>(table: TablePath, query: Query & { count?: false; explain?: false }): Promise<QueryRows<T>>;
  /** Any of the three, when `count`/`explain` are not literal. */
  queryTable(table: TablePath, query: Query): Promise<QueryRows | QueryPlan | number>;

  /** Sets the schema of the table's records (checked on every write). */
  defineSchema(table: TablePath, schema: Schema): Promise<void>;
  /** Removes the schema; true if there was one. */
  dropSchema(table: TablePath): Promise<boolean>;
  /** The schema as defined (undefined without one). */
  getSchema(table: TablePath): Promise<Schema | undefined>;
  /** The schema version (1 until a migration). */
  schemaVersion(table: TablePath): Promise<number>;
  /** The migration history. */
  migrations(table: TablePath): Promise<MigrationRecord[]>;
  /** Checks the records there now against the schema. */
  validateTable(table: TablePath): Promise<ValidationResult>;
  /** Migrates every record to a new version in one transaction (MIGRATION_FAILED undoes it). */
  migrate(table: TablePath, migration: Migration, options?: MigrateOptions): Promise<MigrationResult>;
  /** Runs the last migration's `down`, back to its version and schema. */
  rollbackMigration(table: TablePath, options?: MigrateOptions): Promise<MigrationResult>;

  /** Resolves when every call made so far has run and been saved. */
  flush(): Promise<void>;
  /** The same as flush (Cu 2.x). */
  saveState(): Promise<void>;
  /** Reads the external tables again from storage. */
  loadState(): Promise<void>;
  /** Frees the instance after pending calls and closes its storage; later calls reject INSTANCE_DEAD. */
  close(): Promise<void>;
}
