//! migrate.rs: migrations of a table's records from one schema version to the next (issue
//! 6): ops 26 MIGRATE and 27 MIGRATE_ABORT, and `ext.migrate`/`ext.rollbackMigration`.
//!
//! A migration compiles its Lua function (`up`, or for a rollback the `down` kept in the
//! history) once, records itself in the table's catalog entry (catalog.rs: new schema and
//! version, a history record), takes the table's keys in key order, and calls the function
//! on each record: the record goes in as its external table (a proxy), and what comes back
//! is the migrated record (the same proxy, changed in place, or a new table, copied in). The
//! records migrated by each chunk are validated against the new schema (with whatever else
//! the function wrote: schema.rs `Migrating`). From JS the records go in chunks, one call
//! each, all in one transaction that commits with the last chunk (runtime.rs keeps it open
//! in between), so storage sees all of it or nothing; from Lua they go at once, inside the
//! calling script's transaction. The first failing record stops it, and everything is
//! undone: the error names the record (`MIGRATION_FAILED`).

use crate::lua::*;
use crate::runtime::{instance_of, Instance, Status};
use crate::schema_lua::{lua_find, path_arg};
use crate::store::catalog::FIRST_VERSION;
use crate::store::schema::{Migrating, Validator, Violation};
use crate::store::violation::{key_text, message, path_text, put_violations};
use crate::store::wire::{put_key, put_str, put_u32, Reader};
use crate::store::{Key, NodeId, Savepoint, Value};
use crate::store_lua::{proxy_node, push_proxy, push_value, raise};
use crate::wire::{TAG_INT, TAG_MAP, TAG_NIL, TAG_STRING};
use alloc::vec::Vec;
use core::ffi::{c_char, c_int, c_void};

pub const OP_MIGRATE: u32 = 26;
pub const OP_MIGRATE_ABORT: u32 = 27;
/// MIGRATE flags: the first chunk (a definition follows), a rollback (`down`).
pub const MIGRATE_FIRST: u8 = 1;
pub const MIGRATE_DOWN: u8 = 2;

/// Registry key (its address) of the running migration's function.
static FUNCTION: u8 = 0;

fn function_key() -> *const c_void {
    &FUNCTION as *const u8 as *const c_void
}

/// A migration between its first and last chunk (or inside `ext.migrate`).
pub struct Migration {
    path: Vec<Key>,
    /// The table's keys when it began, in key order.
    keys: Vec<Key>,
    /// Records migrated (during a chunk: the index of the record being migrated).
    done: usize,
    from: i64,
    to: i64,
    finished: bool,
}

impl Migration {
    /// Every record is migrated and checked: the transaction may commit.
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// What schema checks need to know of it: the records after `from` up to `done` were
    /// migrated by the writes being checked.
    pub fn scope(&self, from: usize) -> Migrating<'_> {
        Migrating { table: &self.path, keys: &self.keys, from, done: self.done }
    }
}

/// Where a failure happened, for its status: a bad request (BAD_ARGUMENT), a function
/// that does not compile (LUA_SYNTAX), a record (MIGRATION_FAILED).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Checking,
    Compiling,
    Running,
}

/// One MIGRATE request or `ext.migrate` call: what it asks, and how it went. Owned below the
/// protected calls that use it.
struct Job {
    first: bool,
    down: bool,
    path: Vec<Key>,
    version: i64,
    up: Vec<u8>,
    down_source: Option<Vec<u8>>,
    /// The new schema: a table outside the tree until the migration takes it.
    schema: Option<Value>,
    /// Records to migrate in this chunk.
    count: usize,
    stage: Stage,
    /// On failure: the message, and the reply's extras `{ violations, record }`.
    message: Vec<u8>,
    extras: Vec<u8>,
    /// After a chunk: records done, records in all, versions from and to.
    outcome: [i64; 4],
}

impl Job {
    fn new(path: Vec<Key>, down: bool) -> Job {
        Job {
            first: true,
            down,
            path,
            version: 0,
            up: Vec::new(),
            down_source: None,
            schema: None,
            count: usize::MAX,
            stage: Stage::Checking,
            message: Vec::new(),
            extras: Vec::new(),
            outcome: [0; 4],
        }
    }
}

/// The history record a rollback undoes: the last one not rolled back.
fn last_applied(inst: &Instance, entry: NodeId) -> Option<NodeId> {
    let h = inst.store.entry_table(entry, b"history")?;
    (1..=inst.store.border(h)).rev().find_map(|i| match inst.store.get(h, &Key::Int(i)) {
        Some(Value::Table(r)) if inst.store.get(*r, &Key::str(b"rolledBack")).is_none() => Some(*r),
        _ => None,
    })
}

fn int(n: i64) -> Option<Value> {
    Some(Value::Key(Key::Int(n)))
}

/// A copy (outside the tree) of the table `node`, if any.
fn copy(inst: &mut Instance, node: Option<NodeId>) -> Option<Value> {
    node.map(|n| Value::Table(inst.store.copy_tree(n)))
}

/// Starts the migration of `job` (protected: raises on a bad request): its function, the
/// catalog entry, the keys. `job` is a raw pointer, not a `&mut` parameter: what this writes
/// to it before raising (the stage) must reach memory, which a `noalias` parameter does not
/// promise when the raise unwinds past the function.
unsafe fn begin(l: *mut lua_State, job: *mut Job) {
    let job = &mut *job;
    let inst = instance_of(l);
    if inst.migration.is_some() {
        raise(l, b"a migration is already running");
    }
    let from = inst.store.version_of(&job.path);
    let entry = inst.store.entry(&job.path);
    let undone = if job.down { entry.and_then(|e| last_applied(inst, e)) } else { None };
    // The function's source, and its chunk name, in buffers the instance owns.
    let (mark, code) = inst.scratch_push();
    let (_, name) = inst.scratch_push();
    let code = &mut *code;
    code.extend_from_slice(b"return ");
    let to = match undone {
        Some(r) => match (inst.store.get(r, &Key::str(b"from")), inst.store.get(r, &Key::str(b"down"))) {
            (Some(Value::Key(Key::Int(v))), Some(Value::Key(k))) => {
                code.extend_from_slice(k.bytes().unwrap_or_default());
                *v
            }
            _ => raise(l, b"the last migration has no down function: it cannot be rolled back"),
        },
        None if job.down => raise(l, b"no migration to roll back"),
        None if job.version <= from => {
            luaL_error(l, c"the table is at version %I: a migration goes to a higher version".as_ptr(), from);
            0
        }
        None => {
            code.extend_from_slice(&job.up);
            job.version
        }
    };
    // Compiled once. `down`, kept for a rollback, is compiled now, to be refused now.
    job.stage = Stage::Compiling;
    let name = &mut *name;
    if let Some(d) = &job.down_source {
        name.push(b'=');
        path_text(name, &job.path);
        name.extend_from_slice(b".down\0");
        let at = code.len();
        code.extend_from_slice(b"return ");
        code.extend_from_slice(d);
        load(l, &code[at..], name);
        lua_pop(l, 1);
        code.truncate(at);
        name.clear();
    }
    name.push(b'=');
    path_text(name, &job.path);
    name.extend_from_slice(if job.down { b".down\0" } else { b".up\0" });
    load(l, code, name);
    instance_of(l).scratch_pop(mark);
    // Running the chunk gives the function (an error there is the request's).
    job.stage = Stage::Checking;
    lua_callk(l, 0, 1, 0, None);
    if lua_type(l, -1) != LUA_TFUNCTION {
        raise(l, b"a migration is a function expression: 'function(record) ... return record end'");
    }
    lua_rawsetp(l, LUA_REGISTRYINDEX, function_key());
    // The new schema: a rollback's is the one its migration replaced (maybe none); a
    // migration given none keeps the table's.
    job.stage = Stage::Checking;
    let inst = instance_of(l);
    let previous = inst.store.schema_of(&job.path);
    let schema: Option<Option<Value>> = match undone {
        Some(r) => {
            let old = inst.store.entry_table(r, b"previous");
            Some(copy(inst, old))
        }
        None => job.schema.take().map(Some),
    };
    if let Some(Some(Value::Table(s))) = schema {
        let mut find = |a: &[u8], p: &[u8]| lua_find(l, a, p);
        if Validator::new(&mut inst.store, &mut find).definition(s).is_err() {
            inst.store.free_value(schema.flatten());
            raise(l, b"bad schema for the new version (defineSchema says where)");
        }
    }
    // The catalog: the history, then the schema and the version.
    job.stage = Stage::Running;
    let now = crate::host::now_ms(crate::host::Clock::Wall) as i64;
    let Some(entry) = inst.store.make_entry(&job.path) else {
        inst.store.free_value(schema.flatten());
        raise(l, b"cannot keep the migration")
    };
    let table = inst.store.find(&job.path).ok().flatten();
    let keys = table.map_or(Vec::new(), |t| inst.store.sorted_keys(t));
    if let Some(r) = undone {
        let _ = inst.store.set(r, Key::str(b"rolledBack"), int(now));
    } else {
        let r = inst.store.new_node();
        let new = match &schema {
            Some(Some(Value::Table(s))) => Some(*s),
            Some(_) => None,
            None => previous,
        };
        let new = copy(inst, new);
        let fields = [
            ("version", int(to)),
            ("from", int(from)),
            ("up", Some(Value::Key(Key::str(&job.up)))),
            ("down", job.down_source.as_deref().map(|d| Value::Key(Key::str(d)))),
            ("records", int(keys.len() as i64)),
            ("at", int(now)),
            ("schema", new),
            ("previous", copy(inst, previous)),
        ];
        for (k, v) in fields.into_iter() {
            if let Some(v) = v {
                inst.store.fill(r, Key::str(k.as_bytes()), v);
            }
        }
        let history = match inst.store.entry_table(entry, b"history") {
            Some(h) => h,
            None => {
                let h = inst.store.new_node();
                let _ = inst.store.set(entry, Key::str(b"history"), Some(Value::Table(h)));
                h
            }
        };
        let n = inst.store.border(history) + 1;
        let _ = inst.store.set(history, Key::Int(n), Some(Value::Table(r)));
    }
    if let Some(schema) = schema {
        let _ = inst.store.set(entry, Key::str(b"schema"), schema);
    }
    let _ = inst.store.set(entry, Key::str(b"version"), if to == FIRST_VERSION { None } else { int(to) });
    inst.migration = Some(Migration { path: core::mem::take(&mut job.path), keys, done: 0, from, to, finished: false });
}

/// Compiles `code` (text only) named `name` (NUL-terminated): the chunk is on the stack.
/// Raises on a syntax error.
unsafe fn load(l: *mut lua_State, code: &[u8], name: &[u8]) {
    if luaL_loadbufferx(l, code.as_ptr() as *const c_char, code.len(), name.as_ptr() as *const c_char, c"t".as_ptr()) != LUA_OK {
        lua_error(l);
    }
}

/// Migrates up to `count` (argument 1) more records (protected; raises the first record's
/// failure, with `done` at that record).
unsafe extern "C" fn run_records(l: *mut lua_State) -> c_int {
    let count = lua_tointegerx(l, 1, core::ptr::null_mut()) as usize;
    let Some(m) = instance_of(l).migration.as_ref() else { return 0 };
    let end = m.keys.len().min(m.done.saturating_add(count));
    loop {
        let inst = instance_of(l);
        let Some(m) = inst.migration.as_ref().filter(|m| m.done < end) else { return 0 };
        let Ok(Some(table)) = inst.store.find(&m.path) else { return 0 };
        let key = &m.keys[m.done];
        let record = match inst.store.get(table, key) {
            None => None,
            Some(Value::Table(n)) => Some(Some(*n)),
            Some(_) => Some(None),
        };
        if let Some(record) = record {
            lua_rawgetp(l, LUA_REGISTRYINDEX, function_key());
            match record {
                Some(n) => push_proxy(l, n),
                None => push_value(l, table, key),
            }
            lua_callk(l, 1, 1, 0, None);
            match proxy_node(l, -1) {
                Some(Some(n)) if Some(n) == record => {}
                _ if lua_type(l, -1) != LUA_TTABLE => {
                    lua_pushfstring(l, c"the migration returned %s, not the record (a table)".as_ptr(), lua_typename(l, lua_type(l, -1)));
                    lua_error(l);
                }
                _ => {
                    // A new table: copied in as the record.
                    let Some(m) = instance_of(l).migration.as_ref() else { return 0 };
                    crate::store_lua::push_key(l, &m.keys[m.done]);
                    let top = lua_gettop(l);
                    crate::store_lua::set(l, table, top, top - 1, Default::default());
                    lua_pop(l, 1);
                }
            }
            lua_pop(l, 1);
        }
        if let Some(m) = instance_of(l).migration.as_mut() {
            m.done += 1;
        }
    }
}

/// Runs `begin` (first chunk) and the chunk's records (protected).
unsafe extern "C" fn drive(l: *mut lua_State) -> c_int {
    // SAFETY: `advance` passes its job, alive during this call.
    let job = &mut *(lua_touserdata(l, 1) as *mut Job);
    if job.first {
        begin(l, job as *mut Job);
        job.first = false;
    }
    lua_pushcfunction(l, run_records);
    lua_pushinteger(l, job.count.min(i64::MAX as usize) as i64);
    lua_callk(l, 1, 0, 0, None);
    0
}

/// Begins (first chunk) and runs one chunk, then checks what it wrote. On failure returns
/// Err with `job.message` and `job.extras` made; the store is left for the caller to undo.
unsafe fn advance(l: *mut lua_State, job: &mut Job) -> Result<(), ()> {
    let sp = instance_of(l).store.savepoint();
    let from = instance_of(l).migration.as_ref().map_or(0, |m| m.done);
    lua_pushcfunction(l, drive);
    lua_pushlightuserdata(l, job as *mut Job as *mut c_void);
    if lua_pcall(l, 1, 0, 0) != LUA_OK {
        let record = instance_of(l).migration.as_ref().and_then(|m| m.keys.get(m.done)).cloned();
        failure(l, job, record.as_ref(), &[]);
        let msg = if lua_type(l, -1) == LUA_TSTRING { string_bytes(l, -1) } else { b"(error object is not a string)" };
        job.message.extend_from_slice(msg);
        lua_pop(l, 1);
        return Err(());
    }
    let inst = instance_of(l);
    let Some(m) = inst.migration.as_ref() else { return Ok(()) };
    let mut find = |s: &[u8], p: &[u8]| lua_find(l, s, p);
    let v = inst.store.validate_since(sp, &mut find, Some(&m.scope(from)));
    if !v.is_empty() {
        let depth = m.path.len();
        let mine = v.iter().find(|x| x.path.len() > depth && x.path[..depth] == m.path[..]);
        let record = mine.and_then(|x| x.path.get(depth)).cloned();
        failure(l, job, record.as_ref(), &v);
        job.message.append(&mut message(&instance_of(l).store, &v));
        return Err(());
    }
    let inst = instance_of(l);
    if let Some(m) = inst.migration.as_mut() {
        m.finished = m.done == m.keys.len();
        job.outcome = [m.done as i64, m.keys.len() as i64, m.from, m.to];
    }
    Ok(())
}

/// Starts the failure message (`migration of users to version 2 failed at record u5: `) and
/// makes the reply's extras `{ violations, record }`.
unsafe fn failure(l: *mut lua_State, job: &mut Job, record: Option<&Key>, violations: &[Violation]) {
    let inst = instance_of(l);
    job.message.clear();
    if let (Stage::Running, Some(m)) = (job.stage, &inst.migration) {
        job.message.extend_from_slice(b"migration of ");
        path_text(&mut job.message, &m.path);
        job.message.extend_from_slice(b" to version ");
        key_text(&mut job.message, &Key::Int(m.to));
        job.message.extend_from_slice(b" failed");
        if let Some(k) = record {
            job.message.extend_from_slice(b" at record ");
            key_text(&mut job.message, k);
        }
        job.message.extend_from_slice(b": ");
    }
    let e = &mut job.extras;
    e.clear();
    e.push(TAG_MAP);
    put_u32(e, 1 + record.is_some() as u32);
    put_str(e, b"violations");
    put_violations(e, &inst.store, violations);
    if let Some(k) = record {
        put_str(e, b"record");
        put_key(e, k);
    }
}

/// Undoes the open migration (an error, an abort, another op arriving).
pub fn abandon(inst: &mut Instance) {
    if inst.migration.take().is_some() {
        inst.store.rollback();
        let l = inst.state();
        // SAFETY: setting an existing registry entry to nil and clearing cache entries
        // never allocate.
        unsafe {
            lua_pushnil(l);
            lua_rawsetp(l, LUA_REGISTRYINDEX, function_key());
            crate::store_lua::forget_blobs(inst, l);
        }
    }
}

/// MIGRATE (op 26) and MIGRATE_ABORT (op 27): see docs/ARCHITECTURE.md.
pub fn dispatch(inst: &mut Instance, op: u32, request: &[u8], reply: &mut Vec<u8>) -> Status {
    if op == OP_MIGRATE_ABORT {
        abandon(inst);
        reply.clear();
        put_u32(reply, 0);
        return Status::Ok;
    }
    let mut job = match read_job(inst, request) {
        Ok(j) => j,
        Err(e) => {
            abandon(inst);
            return crate::store_ops::fail(reply, e);
        }
    };
    if job.first {
        abandon(inst);
    } else if inst.migration.is_none() {
        return crate::store_ops::fail(reply, crate::store::StoreError::Bad("no migration is running (it was undone by an error or another call)"));
    }
    let (status, _) = inst.call_protected(step, &mut job as *mut Job as *mut c_void, reply);
    inst.store.free_value(job.schema.take());
    match status {
        Status::Ok => {
            reply.clear();
            put_u32(reply, 4);
            for n in job.outcome {
                reply.push(TAG_INT);
                reply.extend_from_slice(&n.to_le_bytes());
            }
            status
        }
        Status::LuaRuntime if !job.extras.is_empty() || job.stage != Stage::Running => {
            let status = match job.stage {
                Stage::Checking => Status::BadArgument,
                Stage::Compiling => Status::LuaSyntax,
                Stage::Running => Status::MigrationFailed,
            };
            if status == Status::MigrationFailed {
                reply.clear();
                put_u32(reply, 3);
                put_str(reply, &job.message);
                reply.push(TAG_NIL);
                reply.extend_from_slice(&job.extras);
            }
            status
        }
        s => s,
    }
}

/// MIGRATE's request: `u8 flags`, `u32 count`, then on the first chunk the path, and for
/// `up` the version (an integer), `up` (a string), `down` (a string or nil) and the schema
/// (a wire value or nil).
fn read_job(inst: &mut Instance, request: &[u8]) -> Result<Job, crate::store::StoreError> {
    use crate::store::StoreError::Bad;
    let mut r = Reader::new(request);
    let flags = r.u8()?;
    let count = r.u32()? as usize;
    let mut job = Job::new(Vec::new(), flags & MIGRATE_DOWN != 0);
    job.first = flags & MIGRATE_FIRST != 0;
    job.count = count;
    if !job.first {
        job.stage = Stage::Running;
    }
    if job.first {
        job.path = r.path()?;
        if !job.down {
            job.version = match r.key()? {
                Key::Int(v) => v,
                _ => return Err(Bad("the version is an integer")),
            };
            job.up = r.key()?.bytes().ok_or(Bad("up is the source of a function"))?.to_vec();
            job.down_source = match r.u8()? {
                TAG_NIL => None,
                TAG_STRING => {
                    let n = r.u32()? as usize;
                    Some(r.take(n)?.to_vec())
                }
                _ => return Err(Bad("down is the source of a function")),
            };
            job.schema = r.value(&mut inst.store)?;
        }
    }
    if !r.done() {
        inst.store.free_value(job.schema.take());
        return Err(Bad("request has trailing bytes"));
    }
    Ok(job)
}

/// One MIGRATE call's protected step.
unsafe extern "C" fn step(l: *mut lua_State) -> c_int {
    // SAFETY: `dispatch` passes its job, alive during this call.
    let job = &mut *(lua_touserdata(l, 1) as *mut Job);
    if advance(l, job).is_err() {
        lua_pushlstring(l, job.message.as_ptr() as *const c_char, job.message.len());
        lua_error(l);
    }
    if instance_of(l).migration.as_ref().is_some_and(Migration::finished) {
        lua_pushnil(l);
        lua_rawsetp(l, LUA_REGISTRYINDEX, function_key());
    }
    0
}

/// `ext.migrate(t, { version =, up =, down =, schema = })`: migrates every record now, in
/// the running call's transaction; returns the new version. Raises on failure, with every
/// change of the migration undone.
pub(crate) unsafe extern "C" fn ext_migrate(l: *mut lua_State) -> c_int {
    migrate_from_lua(l, false)
}

/// `ext.rollbackMigration(t)`: runs the last migration's `down`; returns the version now.
pub(crate) unsafe extern "C" fn ext_rollback_migration(l: *mut lua_State) -> c_int {
    migrate_from_lua(l, true)
}

unsafe fn migrate_from_lua(l: *mut lua_State, down: bool) -> c_int {
    path_arg(l, 1);
    if !down {
        if lua_type(l, 2) != LUA_TTABLE {
            raise(l, b"ext.migrate: the migration is a table { version =, up =, down =, schema = }");
        }
        lua_settop(l, 2);
        for f in [c"version", c"up", c"down", c"schema"] {
            lua_getfield(l, 2, f.as_ptr());
        }
        // 3 version, 4 up, 5 down, 6 schema
        if lua_isinteger(l, 3) == 0 || lua_type(l, 4) != LUA_TSTRING || !matches!(lua_type(l, 5), LUA_TNIL | LUA_TSTRING) {
            raise(l, b"ext.migrate: version is an integer, up and down the sources of functions");
        }
    }
    let schema = if !down && lua_type(l, 6) != LUA_TNIL { crate::store_lua::value_of(l, 6, b"schema") } else { None };
    let inst = instance_of(l);
    let mut job = Job::new(core::mem::take(&mut inst.rows), down);
    if !down {
        job.version = lua_tointegerx(l, 3, core::ptr::null_mut());
        job.up = string_bytes(l, 4).to_vec();
        job.down_source = (lua_type(l, 5) == LUA_TSTRING).then(|| string_bytes(l, 5).to_vec());
        job.schema = schema;
    }
    let sp: Savepoint = inst.store.savepoint();
    let r = advance(l, &mut job);
    let inst = instance_of(l);
    let version = inst.migration.take().map(|m| m.to);
    inst.store.free_value(job.schema.take());
    if r.is_err() {
        inst.store.rollback_to(sp);
        let (mark, buf) = inst.scratch_push();
        *buf = core::mem::take(&mut job.message);
        drop(job);
        lua_pushlstring(l, (*buf).as_ptr() as *const c_char, (*buf).len());
        instance_of(l).scratch_pop(mark);
        lua_error(l);
        return 0;
    }
    drop(job);
    lua_pushnil(l);
    lua_rawsetp(l, LUA_REGISTRYINDEX, function_key());
    lua_pushinteger(l, version.unwrap_or(0));
    1
}
