//! store_lua.rs: external tables in Lua. `Memory` (alias `_home`) and every table below it
//! are proxies: empty Lua tables with one shared metatable whose `__index`, `__newindex`,
//! `__len` and `__pairs` reach the store (core/store/) in the module's Rust heap, so data
//! does not count against the fixed Lua heap. A proxy keeps its node's handle in a raw
//! field under a light-userdata key; a weak cache gives each node one proxy, so
//! `Memory.a == Memory.a`. `next` is replaced by one that also walks proxies; `ext` holds
//! `table`, `query`, `createIndex`, `dropIndex`, `indexes`, `count`, `keys` and `stats`
//! (core/stats_report.rs), and the schema and module functions (schema_lua.rs, migrate.rs,
//! modules.rs; the stored-module searcher goes into `package.searchers` here too).
//!
//! Assigning a table copies it in: plain tables become store tables; functions, tables with
//! a metatable (or with table keys) become codec blobs (docs/FORMAT.md), kept plain (the
//! storage pages deflate them). A blob read from Lua is decoded once and cached (weak); at
//! the end of each successful call every cached blob still alive is encoded again and
//! stored if it changed, so a closure's upvalues persist (`Memory.counter()` keeps
//! counting). A failed call rolls the store back and drops those cached values.
//!
//! Finalizers can run Lua code (and so write to the store) at any Lua allocation: no store
//! reference is held across a Lua call that may allocate. Conversion from Lua calls only
//! functions that cannot raise, and the codec under its own `lua_pcall`, so a Lua error
//! never skips the freeing of a half-built value.

use crate::codec::{self, EncodeOptions};
use crate::migrate::{ext_migrate, ext_rollback_migration};
use crate::modules::{ext_delete_module, ext_modules, ext_save_module, searcher};
use crate::schema_lua::{ext_define_schema, ext_migrations, ext_schema, ext_validate_table};
use crate::lua::*;
use crate::runtime::{instance_of, Instance};
use crate::stats_report::ext_stats;
use crate::store::query::{Cond, Field, Op, Query};
use crate::store::{Key, NodeId, StoreError, Value};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ffi::{c_char, c_int, c_void};

/// The rows of `ext.keys` (and `ext.modules`) in the instance's `rows` as an array.
pub(crate) unsafe fn push_rows(l: *mut lua_State) -> c_int {
    lua_createtable(l, instance_of(l).rows.len().min(1 << 20) as c_int, 0);
    let mut i = 0;
    while let Some(k) = instance_of(l).rows.get(i) {
        push_key(l, k);
        i += 1;
        lua_rawseti(l, -2, i as i64);
    }
    1
}

/// Registry and proxy keys (addresses): the metatable, the proxy cache, the blob cache,
/// the handle field of a proxy.
static KEYS: [u8; 4] = [0; 4];
const MT: usize = 0;
const PROXIES: usize = 1;
const BLOBS: usize = 2;
const HANDLE: usize = 3;

fn key(i: usize) -> *const c_void {
    &KEYS[i] as *const u8 as *const c_void
}

/// The Lua side, run once at start-up with the table of C functions.
const PRELUDE: &str = r#"
local C = ...
local ext = {}
local function path(p)
  if type(p) == 'table' then return p end
  if type(p) ~= 'string' then error('a table path is a string like "users" or "Memory.users"', 3) end
  local t = {}
  for s in p:gmatch('[^.]+') do t[#t + 1] = s end
  if t[1] == 'Memory' or t[1] == '_home' then table.remove(t, 1) end
  return C.table(table.unpack(t))
end
local ops = { ['='] = 1, ['=='] = 1, ['!='] = 2, ['~='] = 2, ['<'] = 3, ['<='] = 4, ['>'] = 5, ['>='] = 6,
  between = 7, ['in'] = 8, contains = 9, startsWith = 10 }
ext.table = path
function ext.query(t, q)
  if type(q) ~= 'table' then error('ext.query: the query must be a table', 2) end
  local conds, args = q.where or (q.field and { q } or {}), {}
  for _, c in ipairs(conds) do
    local op = ops[c.op or c.operator or '=']
    if not op then error('ext.query: unknown operator ' .. tostring(c.op or c.operator), 2) end
    args[#args + 1] = c.field
    args[#args + 1] = op
    args[#args + 1] = c.value
  end
  return C.query(path(t), q.count, q.explain, q.order == 'desc', q.limit, q.offset, q.orderBy, q.cursor, table.unpack(args))
end
function ext.createIndex(t, field, kind, opts)
  return C.createIndex(path(t), field, kind or 'btree', opts and opts.unique)
end
function ext.dropIndex(t, field) return C.dropIndex(path(t), field) end
function ext.count(t) return C.count(path(t)) end
function ext.keys(t) return C.keys(path(t)) end
for _, f in ipairs({ 'defineSchema', 'schema', 'validateTable', 'migrations', 'migrate', 'rollbackMigration',
  'saveModule', 'deleteModule', 'modules' }) do ext[f] = C[f] end
table.insert(package.searchers, 2, C.searcher)
function ext.stats(t)
  local s = C.stats(t ~= nil and path(t) or nil)
  for _, e in ipairs(s.tables) do
    local n = { 'Memory' }
    for i, k in ipairs(e.path) do n[i + 1] = tostring(k) end
    e.table = table.concat(n, '.')
  end
  return s
end
_G.ext, _G.next = ext, C.next
_G.Memory = C.table()
_G._home = Memory
"#;

macro_rules! cfns {
    ($($name:literal => $f:ident),* $(,)?) => { &[$((concat!($name, "\0"), $f as lua_CFunction)),*] };
}

/// Creates the metatable, the caches, `Memory`, `_home`, `ext` and `next` (run under the
/// start-up pcall).
///
/// # Safety
/// `l` is a state being opened by `Instance::new`, in a protected call.
pub(crate) unsafe fn open(l: *mut lua_State) {
    let mt: &[(&str, lua_CFunction)] = cfns!["__index" => mt_index, "__newindex" => mt_newindex, "__len" => mt_len, "__pairs" => mt_pairs];
    lua_createtable(l, 0, 5);
    for (name, f) in mt {
        lua_pushcfunction(l, *f);
        lua_setfield(l, -2, name.as_ptr() as *const c_char);
    }
    lua_pushstring(l, c"ext.table".as_ptr());
    lua_setfield(l, -2, c"__name".as_ptr());
    lua_rawsetp(l, LUA_REGISTRYINDEX, key(MT));
    for k in [PROXIES, BLOBS] {
        lua_createtable(l, 0, 0);
        lua_createtable(l, 0, 1);
        lua_pushstring(l, c"v".as_ptr());
        lua_setfield(l, -2, c"__mode".as_ptr());
        lua_setmetatable(l, -2);
        lua_rawsetp(l, LUA_REGISTRYINDEX, key(k));
    }
    if luaL_loadbufferx(l, PRELUDE.as_ptr() as *const c_char, PRELUDE.len(), c"=ext".as_ptr(), c"t".as_ptr()) != LUA_OK {
        lua_error(l);
    }
    let fns: &[(&str, lua_CFunction)] = cfns![
        "table" => ext_table, "query" => ext_query, "createIndex" => ext_create_index,
        "dropIndex" => ext_drop_index, "count" => ext_count, "keys" => ext_keys, "next" => ext_next,
        "defineSchema" => ext_define_schema, "schema" => ext_schema, "validateTable" => ext_validate_table,
        "migrations" => ext_migrations, "migrate" => ext_migrate, "rollbackMigration" => ext_rollback_migration,
        "stats" => ext_stats, "saveModule" => ext_save_module, "deleteModule" => ext_delete_module,
        "modules" => ext_modules, "searcher" => searcher,
    ];
    lua_createtable(l, 0, fns.len() as c_int);
    for (name, f) in fns {
        lua_pushcfunction(l, *f);
        lua_setfield(l, -2, name.as_ptr() as *const c_char);
    }
    lua_callk(l, 1, 0, 0, None);
    crate::schema_lua::open(l);
}

/// What the value at `idx` is as a proxy: None if not a proxy, Some(None) if its table
/// was deleted.
pub(crate) unsafe fn proxy_node(l: *mut lua_State, idx: c_int) -> Option<Option<NodeId>> {
    if lua_type(l, idx) != LUA_TTABLE {
        return None;
    }
    lua_rawgetp(l, idx, key(HANDLE));
    let mut isnum = 0;
    let h = lua_tointegerx(l, -1, &mut isnum);
    lua_pop(l, 1);
    (isnum != 0).then(|| instance_of(l).store.resolve(h))
}

/// The node of the proxy at `idx`, or a Lua error.
unsafe fn check_node(l: *mut lua_State, idx: c_int) -> NodeId {
    match proxy_node(l, idx) {
        Some(Some(n)) => n,
        Some(None) => raise(l, b"this external table was deleted"),
        None => raise(l, b"an external table expected"),
    }
}

pub(crate) unsafe fn raise(l: *mut lua_State, msg: &[u8]) -> ! {
    lua_pushlstring(l, msg.as_ptr() as *const c_char, msg.len());
    lua_error(l);
    unreachable!()
}

/// A store error as a Lua error.
pub(crate) unsafe fn raise_store(l: *mut lua_State, e: StoreError) -> ! {
    raise(l, crate::store_ops::message(&e))
}

/// The key at `idx`, or None for nil, NaN and non-scalars.
unsafe fn to_key(l: *mut lua_State, idx: c_int) -> Option<Key> {
    match lua_type(l, idx) {
        LUA_TBOOLEAN => Some(Key::Bool(lua_toboolean(l, idx) != 0)),
        LUA_TNUMBER if lua_isinteger(l, idx) != 0 => Some(Key::Int(lua_tointegerx(l, idx, core::ptr::null_mut()))),
        LUA_TNUMBER => Key::float(lua_tonumberx(l, idx, core::ptr::null_mut())),
        LUA_TSTRING => Some(Key::str(string_bytes(l, idx))),
        _ => None,
    }
}

pub(crate) unsafe fn push_key(l: *mut lua_State, k: &Key) {
    match k {
        Key::Bool(b) => lua_pushboolean(l, *b as c_int),
        Key::Int(i) => lua_pushinteger(l, *i),
        Key::Float(f) => lua_pushnumber(l, *f),
        Key::Str(_) | Key::Short(..) => {
            let s = k.bytes().unwrap_or_default();
            lua_pushlstring(l, s.as_ptr() as *const c_char, s.len());
        }
    }
}

/// Pushes `node[key]`: scalars as themselves, tables as proxies, blobs decoded (cached).
pub(crate) unsafe fn push_value(l: *mut lua_State, node: NodeId, k: &Key) {
    let inst = instance_of(l);
    match inst.store.get(node, k) {
        None => lua_pushnil(l),
        Some(Value::Key(v)) => push_key(l, v),
        Some(Value::Table(c)) => push_proxy(l, *c),
        Some(Value::Blob(b)) => {
            let id = b.id;
            lua_rawgetp(l, LUA_REGISTRYINDEX, key(BLOBS));
            if lua_rawgeti(l, -1, id as i64) == LUA_TNIL {
                lua_pop(l, 1);
                // Copy the bytes into Lua first: the decode allocates, and a finalizer
                // could change the store meanwhile.
                let Some(Value::Blob(b)) = instance_of(l).store.get(node, k) else {
                    // (Only a finalizer could have changed it since: read nil.)
                    lua_pop(l, 1);
                    return lua_pushnil(l);
                };
                let b = &b.bytes;
                lua_pushlstring(l, b.as_ptr() as *const c_char, b.len());
                codec::decode(l, string_bytes(l, -1));
                lua_pushvalue(l, -1);
                lua_rawseti(l, -4, id as i64);
                lua_rotate(l, -2, 1);
                lua_pop(l, 1);
                let inst = instance_of(l);
                if !inst.checked_out.iter().any(|c| c.0 == id) {
                    inst.checked_out.push((id, node, k.clone()));
                }
            }
            lua_rotate(l, -2, 1);
            lua_pop(l, 1);
        }
    }
}

/// Pushes the one proxy of `node`.
pub(crate) unsafe fn push_proxy(l: *mut lua_State, node: NodeId) {
    let h = instance_of(l).store.handle(node);
    lua_rawgetp(l, LUA_REGISTRYINDEX, key(PROXIES));
    if lua_rawgeti(l, -1, h) != LUA_TTABLE {
        lua_pop(l, 1);
        lua_createtable(l, 0, 1);
        lua_pushinteger(l, h);
        lua_rawsetp(l, -2, key(HANDLE));
        lua_rawgetp(l, LUA_REGISTRYINDEX, key(MT));
        lua_setmetatable(l, -2);
        lua_pushvalue(l, -1);
        lua_rawseti(l, -3, h);
    }
    lua_rotate(l, -2, 1);
    lua_pop(l, 1);
}

/// Why a Lua value could not be converted.
enum Fail {
    Msg(&'static [u8]),
    /// The error value of a failed codec call is on the stack top.
    Lua,
    /// A table contains itself: the whole value goes in as one blob.
    Cycle,
}

/// State of one conversion: tables on the current path (cycle check), the text path for
/// codec error messages, the codec options.
struct Conv {
    tables: Vec<*const c_void>,
    path: Vec<u8>,
    opts: EncodeOptions,
    out: Vec<u8>,
}

/// Converts the value at `idx` for storing (None: nil). Tables become fresh store tables
/// outside the tree. Never raises; on `Fail::Lua` the error value is on the stack top.
unsafe fn to_value(l: *mut lua_State, idx: c_int, cv: &mut Conv) -> Result<Option<Value>, Fail> {
    let idx = lua_absindex(l, idx);
    match lua_type(l, idx) {
        LUA_TNIL => return Ok(None),
        LUA_TTABLE => {}
        LUA_TNUMBER if lua_isinteger(l, idx) == 0 => return Ok(Some(Value::Key(Key::Float(lua_tonumberx(l, idx, core::ptr::null_mut()))))),
        LUA_TNUMBER | LUA_TBOOLEAN | LUA_TSTRING => return Ok(to_key(l, idx).map(Value::Key)),
        _ => return blob(l, idx, cv).map(Some),
    }
    match proxy_node(l, idx) {
        Some(Some(n)) => return Ok(Some(Value::Table(instance_of(l).store.copy_tree(n)))),
        Some(None) => return Err(Fail::Msg(b"cannot store a deleted external table")),
        None => {}
    }
    if lua_getmetatable(l, idx) != 0 {
        lua_pop(l, 1);
        return blob(l, idx, cv).map(Some);
    }
    let p = lua_topointer(l, idx);
    if cv.tables.contains(&p) {
        return Err(Fail::Cycle);
    }
    if cv.tables.len() >= crate::store::MAX_DEPTH || lua_checkstack(l, 4) == 0 {
        return Err(Fail::Msg(b"tables nest at most 200 deep"));
    }
    // Keys must all be scalars, else the table is a blob.
    lua_pushnil(l);
    while lua_next(l, idx) != 0 {
        let scalar = matches!(lua_type(l, -2), LUA_TBOOLEAN | LUA_TNUMBER | LUA_TSTRING);
        lua_pop(l, 1);
        if !scalar {
            lua_pop(l, 1);
            return blob(l, idx, cv).map(Some);
        }
    }
    cv.tables.push(p);
    let node = instance_of(l).store.new_node();
    let mut result = Ok(());
    lua_pushnil(l);
    while lua_next(l, idx) != 0 {
        let mark = cv.path.len();
        push_path(&mut cv.path, l, -2);
        let v = to_value(l, -1, cv);
        cv.path.truncate(mark);
        match v {
            Ok(v) => {
                lua_pop(l, 1);
                if let (Some(v), Some(k)) = (v, to_key(l, -1)) {
                    instance_of(l).store.fill(node, k, v);
                }
            }
            Err(e) => {
                if let Fail::Lua = e {
                    // key, value, error → error, key, value
                    lua_rotate(l, -3, 1);
                }
                lua_pop(l, 2);
                result = Err(e);
                break;
            }
        }
    }
    cv.tables.pop();
    match result {
        Ok(()) => Ok(Some(Value::Table(node))),
        Err(e) => {
            instance_of(l).store.free_value(Some(Value::Table(node)));
            Err(e)
        }
    }
}

/// Appends `.key` (a string key) or `[key]` to a text path.
unsafe fn push_path(path: &mut Vec<u8>, l: *mut lua_State, idx: c_int) {
    match lua_type(l, idx) {
        LUA_TSTRING => {
            path.push(b'.');
            path.extend_from_slice(string_bytes(l, idx));
        }
        LUA_TNUMBER if lua_isinteger(l, idx) != 0 => {
            path.push(b'[');
            let mut n = lua_tointegerx(l, idx, core::ptr::null_mut());
            if n < 0 {
                path.push(b'-');
            }
            let start = path.len();
            loop {
                path.push(b'0' + (n % 10).unsigned_abs() as u8);
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            path[start..].reverse();
            path.push(b']');
        }
        _ => path.extend_from_slice(b"[?]"),
    }
}

/// `encode(value, conv)`: the codec's bytes of the value in `conv.out` (protected).
unsafe extern "C" fn encode_entry(l: *mut lua_State) -> c_int {
    let cv = &mut *(lua_touserdata(l, 2) as *mut Conv);
    codec::encode_named(l, 1, &cv.path, &cv.opts, &mut cv.out);
    0
}

/// The value at `idx` as a blob, encoded under a protected call.
unsafe fn blob(l: *mut lua_State, idx: c_int, cv: &mut Conv) -> Result<Value, Fail> {
    if lua_checkstack(l, 3) == 0 {
        return Err(Fail::Msg(b"tables nest at most 200 deep"));
    }
    cv.out.clear();
    let func = lua_type(l, idx) == LUA_TFUNCTION;
    lua_pushcfunction(l, encode_entry);
    lua_pushvalue(l, idx);
    lua_pushlightuserdata(l, cv as *mut Conv as *mut c_void);
    if lua_pcall(l, 2, 0, 0) != LUA_OK {
        return Err(Fail::Lua);
    }
    let bytes: Box<[u8]> = cv.out.as_slice().into();
    Ok(instance_of(l).store.blob(bytes, func))
}

/// Converts the value at `idx` for `node[k]`, raising on failure. A value with a cycle goes
/// in as one blob.
unsafe fn convert(l: *mut lua_State, idx: c_int, node: NodeId, key_idx: c_int, opts: EncodeOptions) -> Option<Value> {
    if matches!(lua_type(l, idx), LUA_TNIL | LUA_TBOOLEAN | LUA_TNUMBER | LUA_TSTRING) {
        // A scalar never fails: no path for messages needed (most writes).
        return to_value(l, idx, &mut Conv { tables: Vec::new(), path: Vec::new(), opts, out: Vec::new() }).ok().flatten();
    }
    let mut path = Vec::new();
    path.extend_from_slice(b"Memory");
    for s in instance_of(l).store.path_of(node).unwrap_or_default().iter() {
        match s.bytes() {
            Some(s) => {
                path.push(b'.');
                path.extend_from_slice(s);
            }
            None => path.extend_from_slice(b"[...]"),
        }
    }
    push_path(&mut path, l, key_idx);
    convert_named(l, idx, path, opts)
}

/// The value at `idx` for storing, named `name` in error messages (a Lua error on failure).
pub(crate) unsafe fn value_of(l: *mut lua_State, idx: c_int, name: &[u8]) -> Option<Value> {
    convert_named(l, idx, name.to_vec(), EncodeOptions::default())
}

/// `convert` with the path for messages made.
unsafe fn convert_named(l: *mut lua_State, idx: c_int, path: Vec<u8>, opts: EncodeOptions) -> Option<Value> {
    // Blobs are kept plain: the storage pages deflate them (core/store/pages.rs).
    let mut cv = Conv { tables: Vec::new(), path, opts: EncodeOptions { compress_threshold: None, ..opts }, out: Vec::new() };
    let r = match to_value(l, idx, &mut cv) {
        Err(Fail::Cycle) => blob(l, lua_absindex(l, idx), &mut cv).map(Some),
        r => r,
    };
    match r {
        Ok(v) => v,
        Err(Fail::Msg(m)) => {
            drop(cv);
            raise(l, m)
        }
        Err(Fail::Lua) | Err(Fail::Cycle) => {
            drop(cv);
            lua_error(l);
            None
        }
    }
}

/// A table path as text: split at dots, a leading `Memory`/`_home` dropped.
pub(crate) fn path_from_text(s: &[u8]) -> Vec<Key> {
    let mut path: Vec<Key> = s.split(|&c| c == b'.').filter(|p| !p.is_empty()).map(Key::str).collect();
    if matches!(path.first().and_then(Key::bytes), Some(b"Memory" | b"_home")) {
        path.remove(0);
    }
    path
}

/// The table at `path`, created if missing; a Lua error if the path is blocked.
pub(crate) unsafe fn make_path(l: *mut lua_State, path: Vec<Key>) -> NodeId {
    let r = instance_of(l).store.make_path(&path);
    drop(path);
    r.unwrap_or_else(|e| raise_store(l, e))
}

/// `__index(proxy, key)`.
unsafe extern "C" fn mt_index(l: *mut lua_State) -> c_int {
    let (Some(Some(node)), Some(k)) = (proxy_node(l, 1), to_key(l, 2)) else {
        lua_pushnil(l);
        return 1;
    };
    push_value(l, node, &k);
    1
}

/// `__newindex(proxy, key, value)`.
unsafe extern "C" fn mt_newindex(l: *mut lua_State) -> c_int {
    let node = check_node(l, 1);
    if to_key(l, 2).is_none() {
        raise(l, BAD_KEY);
    }
    set(l, node, 2, 3, EncodeOptions::default());
    0
}

/// `node[key] =` the value at `idx`, the key at `key_idx` (already checked to be a valid
/// key). The key is made only after the conversion, which may raise: nothing is owned here
/// then.
pub(crate) unsafe fn set(l: *mut lua_State, node: NodeId, key_idx: c_int, idx: c_int, opts: EncodeOptions) {
    let v = convert(l, idx, node, key_idx, opts);
    let Some(k) = to_key(l, key_idx) else {
        instance_of(l).store.free_value(v);
        raise(l, BAD_KEY)
    };
    if let Err(e) = instance_of(l).store.set(node, k, v) {
        raise_store(l, e);
    }
}

const BAD_KEY: &[u8] = b"external table keys are booleans, numbers (not NaN) or strings";

unsafe extern "C" fn mt_len(l: *mut lua_State) -> c_int {
    let node = check_node(l, 1);
    lua_pushinteger(l, instance_of(l).store.border(node));
    1
}

unsafe extern "C" fn mt_pairs(l: *mut lua_State) -> c_int {
    lua_pushcfunction(l, ext_next);
    lua_pushvalue(l, 1);
    lua_pushnil(l);
    3
}

/// `next(t, k)` for proxies and plain tables alike.
unsafe extern "C" fn ext_next(l: *mut lua_State) -> c_int {
    lua_settop(l, 2);
    let node = match proxy_node(l, 1) {
        Some(Some(n)) => n,
        Some(None) => return 0,
        None => {
            if lua_type(l, 1) != LUA_TTABLE {
                raise(l, b"bad argument #1 to 'next' (table expected)");
            }
            if lua_next(l, 1) != 0 {
                return 2;
            }
            lua_pushnil(l);
            return 1;
        }
    };
    let prev = if lua_type(l, 2) == LUA_TNIL { None } else { Some(to_key(l, 2)) };
    let next = match &prev {
        None => instance_of(l).store.node(node).and_then(|n| n.map.next(None).ok()),
        Some(Some(k)) => instance_of(l).store.node(node).and_then(|n| n.map.next(Some(k)).ok()),
        Some(None) => None,
    };
    let Some(next) = next else {
        raise(l, b"invalid key to 'next'");
    };
    match next {
        None => {
            lua_pushnil(l);
            1
        }
        Some((k, _)) => {
            let k = k.clone();
            push_key(l, &k);
            push_value(l, node, &k);
            2
        }
    }
}

/// `C.table(k1, k2, ...)`: the proxy of `Memory.k1.k2...`, creating missing tables.
unsafe extern "C" fn ext_table(l: *mut lua_State) -> c_int {
    let n = lua_gettop(l);
    let mut path = Vec::with_capacity(n as usize);
    for i in 1..=n {
        match to_key(l, i) {
            Some(k) => path.push(k),
            None => {
                drop(path);
                raise(l, b"a table path is made of booleans, numbers or strings")
            }
        }
    }
    let r = instance_of(l).store.make_path(&path);
    drop(path);
    match r {
        Ok(node) => push_proxy(l, node),
        Err(e) => raise_store(l, e),
    }
    1
}

/// `C.count(proxy)`: number of keys.
unsafe extern "C" fn ext_count(l: *mut lua_State) -> c_int {
    let node = check_node(l, 1);
    lua_pushinteger(l, instance_of(l).store.node(node).map_or(0, |n| n.map.len()) as i64);
    1
}

/// `C.keys(proxy)`: an array of the keys in key order.
unsafe extern "C" fn ext_keys(l: *mut lua_State) -> c_int {
    let node = check_node(l, 1);
    let inst = instance_of(l);
    inst.rows = inst.store.sorted_keys(node);
    push_rows(l)
}

/// The field path of a condition or orderBy: a string split at dots.
unsafe fn field_at(l: *mut lua_State, idx: c_int) -> Option<Field> {
    match lua_type(l, idx) {
        LUA_TSTRING => Some(Field::new(string_bytes(l, idx).split(|&c| c == b'.').map(Key::str).collect())),
        _ => to_key(l, idx).map(|k| Field::new(alloc::vec![k])),
    }
}

/// `C.query(proxy, count, explain, desc, limit, offset, orderBy, cursor, field, op, value, ...)`.
unsafe extern "C" fn ext_query(l: *mut lua_State) -> c_int {
    let node = check_node(l, 1);
    let inst = instance_of(l);
    // The query lives in the instance while it is built: a Lua error cannot leak it.
    inst.query = Query::default();
    let int_arg = |i: c_int| -> Option<usize> {
        let mut ok = 0;
        let n = lua_tointegerx(l, i, &mut ok);
        (ok != 0 && n >= 0).then_some(n as usize)
    };
    let q = &mut instance_of(l).query;
    q.count = lua_toboolean(l, 2) != 0;
    let explain = lua_toboolean(l, 3) != 0;
    q.desc = lua_toboolean(l, 4) != 0;
    if lua_type(l, 5) != LUA_TNIL {
        q.limit = Some(int_arg(5).unwrap_or_else(|| raise(l, b"ext.query: limit must be an integer >= 0")));
    }
    if lua_type(l, 6) != LUA_TNIL {
        q.offset = int_arg(6).unwrap_or_else(|| raise(l, b"ext.query: offset must be an integer >= 0"));
    }
    if lua_type(l, 7) != LUA_TNIL {
        q.order_by = Some(field_at(l, 7).unwrap_or_else(|| raise(l, b"ext.query: bad orderBy")));
    }
    if lua_type(l, 8) == LUA_TSTRING {
        q.cursor = Some(string_bytes(l, 8).to_vec());
    }
    let top = lua_gettop(l);
    let mut i = 9;
    while i <= top {
        // Built without raising; the error (if any) is raised once nothing is owned here.
        if let Err(msg) = condition(l, i) {
            raise(l, msg);
        }
        i += 3;
    }
    let inst = instance_of(l);
    let count_only = inst.query.count;
    let out = match crate::store::query::run(&inst.store, Some(node), &inst.query) {
        Ok(o) => o,
        Err(e) => raise_store(l, e),
    };
    // Copy what is pushed out of the store first (pushing allocates; see the header).
    let count = out.count;
    let plan = crate::store_ops::PlanInfo::of(&out.plan);
    inst.rows = out.rows.iter().map(|r| r.0.clone()).collect();
    inst.cursor = out.cursor;
    inst.query = Query::default();
    if explain {
        plan.push(l);
        return 1;
    }
    if count_only {
        lua_pushinteger(l, count as i64);
        return 1;
    }
    lua_createtable(l, instance_of(l).rows.len().min(1 << 20) as c_int, 0);
    let mut i = 0;
    while let Some(k) = instance_of(l).rows.get(i).cloned() {
        lua_createtable(l, 0, 2);
        push_key(l, &k);
        lua_setfield(l, -2, c"key".as_ptr());
        push_value(l, node, &k);
        lua_setfield(l, -2, c"value".as_ptr());
        i += 1;
        lua_rawseti(l, -2, i as i64);
    }
    match &instance_of(l).cursor {
        Some(c) => {
            lua_pushlstring(l, c.as_ptr() as *const c_char, c.len());
        }
        None => lua_pushnil(l),
    }
    2
}

/// The condition `field, op, value` at stack index `i`, appended to the instance's query.
unsafe fn condition(l: *mut lua_State, i: c_int) -> Result<(), &'static [u8]> {
    let field = field_at(l, i).ok_or(&b"ext.query: a condition needs a field"[..])?;
    let op = Op::from_code(lua_tointegerx(l, i + 1, core::ptr::null_mut()) as u8).unwrap_or(Op::Eq);
    let mut args = Vec::new();
    let v = i + 2;
    if matches!(op, Op::Between | Op::In) && lua_type(l, v) == LUA_TTABLE {
        for j in 1..=lua_rawlen(l, v) as i64 {
            lua_rawgeti(l, v, j);
            let k = to_key(l, -1);
            lua_pop(l, 1);
            args.push(k.ok_or(&b"ext.query: operands are booleans, numbers or strings"[..])?);
        }
    } else {
        args.push(to_key(l, v).ok_or(&b"ext.query: a condition needs a value (a boolean, number or string)"[..])?);
    }
    let c = Cond::new(field, op, args).map_err(|e| crate::store_ops::message(&e))?;
    instance_of(l).query.conds.push(c);
    Ok(())
}

/// `C.createIndex(proxy, field, kind, unique)`.
unsafe extern "C" fn ext_create_index(l: *mut lua_State) -> c_int {
    let node = check_node(l, 1);
    let Some(field) = to_key(l, 2) else { raise(l, b"ext.createIndex: the field must be a string") };
    let hash = match lua_type(l, 3) {
        LUA_TSTRING if string_bytes(l, 3) == b"hash" => true,
        LUA_TSTRING if string_bytes(l, 3) == b"btree" => false,
        _ => {
            drop(field);
            raise(l, b"ext.createIndex: the type is 'btree' or 'hash'")
        }
    };
    let unique = lua_toboolean(l, 4) != 0;
    if let Err(e) = instance_of(l).store.create_index(node, field, hash, unique) {
        raise_store(l, e);
    }
    0
}

/// `C.dropIndex(proxy, field)` → whether an index existed.
unsafe extern "C" fn ext_drop_index(l: *mut lua_State) -> c_int {
    let node = check_node(l, 1);
    let Some(field) = to_key(l, 2) else { raise(l, b"ext.dropIndex: the field must be a string") };
    let dropped = instance_of(l).store.drop_index(node, &field);
    drop(field);
    lua_pushboolean(l, dropped as c_int);
    1
}

/// Encodes every cached blob still alive again and stores those that changed (the end of
/// a successful call, protected).
pub(crate) unsafe extern "C" fn flush_blobs(l: *mut lua_State) -> c_int {
    lua_settop(l, 0);
    lua_rawgetp(l, LUA_REGISTRYINDEX, key(BLOBS));
    let mut i = 0;
    loop {
        let inst = instance_of(l);
        let Some((id, node, k)) = inst.checked_out.get(i).cloned() else { break };
        let same = matches!(inst.store.get(node, &k), Some(Value::Blob(b)) if b.id == id);
        if !same || lua_rawgeti(l, 1, id as i64) == LUA_TNIL {
            if same {
                lua_pop(l, 1);
            }
            instance_of(l).checked_out.swap_remove(i);
            continue;
        }
        let (mark, out) = instance_of(l).scratch_push();
        let out = &mut *out;
        codec::encode_named(l, 2, b"Memory", &EncodeOptions { strip: true, compress_threshold: None }, out);
        lua_pop(l, 1);
        let inst = instance_of(l);
        if let Some(Value::Blob(b)) = inst.store.get(node, &k) {
            if *b.bytes != out[..] {
                let func = b.func;
                let v = Value::Blob(Box::new(crate::store::Blob { id, bytes: out.as_slice().into(), func }));
                let _ = inst.store.set(node, k, Some(v));
            }
        }
        instance_of(l).scratch_pop(mark);
        i += 1;
    }
    0
}

/// After a rollback: forgets the decoded blobs (they may hold changes that were undone).
/// Only sets existing cache entries to nil, which never allocates.
pub(crate) unsafe fn forget_blobs(inst: &mut Instance, l: *mut lua_State) {
    if inst.checked_out.is_empty() {
        return;
    }
    lua_rawgetp(l, LUA_REGISTRYINDEX, key(BLOBS));
    for (id, _, _) in inst.checked_out.drain(..) {
        if lua_rawgeti(l, -1, id as i64) != LUA_TNIL {
            lua_pop(l, 1);
            lua_pushnil(l);
            lua_rawseti(l, -2, id as i64);
        } else {
            lua_pop(l, 1);
        }
    }
    lua_pop(l, 1);
}

