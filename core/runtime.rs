//! runtime.rs: one Lua state in its fixed arena: creation with the standard libraries a
//! browser can honour, the per-call instruction budget, `os.exit`, and running a chunk.
//!
//! Every entry into Lua is protected (`lua_pcall` of a C function), so a Lua error never
//! reaches `abort`. Rust code that calls Lua functions which can raise holds no owned
//! values across them: a Lua error unwinds (longjmp) past Rust frames without running drops.

use crate::arena::{lua_alloc, Arena};
use crate::lua::*;
use crate::output::Output;
use crate::wire::{Encoder, WireError};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ffi::{c_char, c_int, c_void};
use core::ptr;

/// Default Lua heap: 512 KiB.
pub const DEFAULT_HEAP: usize = 512 * 1024;
/// Smallest heap an instance accepts (a fresh state with every library needs ~30 KiB).
pub const MIN_HEAP: usize = 64 * 1024;
/// Largest heap: wasm32 addresses 4 GiB, and the module needs room of its own.
pub const MAX_HEAP: usize = 1 << 30;
/// Instructions between two budget checks (the count hook's period).
const HOOK_PERIOD: u64 = 1000;

/// The stable outcome codes of a call (docs/ARCHITECTURE.md, "Status codes").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Status {
    Ok = 0,
    LuaRuntime = -1,
    LuaSyntax = -2,
    LuaMemory = -3,
    InstructionLimit = -4,
    BadArgument = -5,
    LuaExit = -6,
    Conversion = -7,
    NotInitialized = -8,
    BadBytecode = -9,
    NotSerializable = -10,
    BadData = -11,
    NotAFunction = -12,
    NotATable = -13,
    UniqueViolation = -14,
    NotFound = -15,
    SchemaViolation = -16,
    MigrationFailed = -17,
}

/// Why the running call must stop whatever the script does (pcall cannot catch it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Abort {
    None,
    Limit,
    Exit(i32),
}

pub struct Instance {
    l: *mut lua_State,
    arena: Box<Arena>,
    /// Instruction budget per call; 0 means unlimited.
    limit: u64,
    /// Instructions counted in the current (or last) call.
    pub used: u64,
    abort: Abort,
    pub output: Output,
    seed: [u32; 2],
    /// `warn("@on")`/`warn("@off")` state, off at start as in lua.c.
    warnings_on: bool,
    /// A warning is being continued (`lua_warning` with `tocont`).
    warning_open: bool,
    /// The bytecode validator passed the chunk being loaded (core/bytecode_gate.rs).
    pub(crate) chunk_gate_open: bool,
    /// Byte buffers of C functions that are running (see `scratch_push`). A buffer left
    /// behind by a Lua error is dropped at the end of the call or by an outer owner.
    scratch: Vec<Box<Vec<u8>>>,
    /// External tables (core/store/), kept outside the Lua heap.
    #[cfg(feature = "persistence")]
    pub(crate) store: crate::store::Store,
    /// The batch whose chunks are arriving (core/store_ops.rs).
    #[cfg(feature = "persistence")]
    pub(crate) batch: Option<crate::store_ops::Batch>,
    /// Blobs decoded for Lua: (blob id, table, key), checked for changes at commit.
    #[cfg(feature = "persistence")]
    pub(crate) checked_out: Vec<(u32, crate::store::NodeId, crate::store::Key)>,
    /// Keys of query results and `ext.keys` while they are pushed, the query being built
    /// and its cursor (instance-owned, so a Lua error cannot leak them).
    #[cfg(feature = "persistence")]
    pub(crate) rows: Vec<crate::store::Key>,
    #[cfg(feature = "persistence")]
    pub(crate) query: crate::store::query::Query,
    #[cfg(feature = "persistence")]
    pub(crate) cursor: Option<Vec<u8>>,
    /// The migration whose chunks are arriving, or running in `ext.migrate` (migrate.rs).
    #[cfg(feature = "persistence")]
    pub(crate) migration: Option<crate::migrate::Migration>,
    /// Schema violations being reported (instance-owned: pushing them to Lua may raise).
    #[cfg(feature = "persistence")]
    pub(crate) violations: Vec<crate::store::schema::Violation>,
}

/// `lua_getextraspace`: the pointer-sized area before every thread, copied into new
/// threads, where Cu keeps the owning `Instance`.
unsafe fn extra_space(l: *mut lua_State) -> *mut *mut Instance {
    (l as *mut u8).sub(core::mem::size_of::<*mut c_void>()) as *mut *mut Instance
}

/// The instance a thread belongs to.
///
/// # Safety
/// `l` must be a thread of a state created by `Instance::new`.
pub(crate) unsafe fn instance_of<'a>(l: *mut lua_State) -> &'a mut Instance {
    // SAFETY: `Instance::new` stores the boxed instance there before any Lua code runs,
    // and the box outlives the state.
    &mut **extra_space(l)
}

impl Instance {
    /// Creates a state in a fresh arena of `heap` bytes with a per-call budget of `limit`
    /// instructions (0: unlimited). `seed` comes from the host's entropy.
    pub fn new(heap: usize, limit: u64, seed: [u32; 2]) -> Result<Box<Instance>, Status> {
        Self::new_failing_at(heap, limit, seed, 0)
    }

    /// `new`, with the `fail_at`th allocation of the creation failing (0: none): the
    /// allocation-failure tests use it to prove creation fails cleanly at every step.
    pub fn new_failing_at(heap: usize, limit: u64, seed: [u32; 2], fail_at: u32) -> Result<Box<Instance>, Status> {
        let heap = if heap == 0 { DEFAULT_HEAP } else { heap };
        if !(MIN_HEAP..=MAX_HEAP).contains(&heap) {
            return Err(Status::BadArgument);
        }
        let arena = Arena::new(heap).ok_or(Status::LuaMemory)?;
        let mut inst = Box::new(Instance {
            l: ptr::null_mut(),
            arena,
            limit,
            used: 0,
            abort: Abort::None,
            output: Output::default(),
            seed,
            warnings_on: false,
            warning_open: false,
            chunk_gate_open: false,
            scratch: Vec::new(),
            #[cfg(feature = "persistence")]
            store: crate::store::Store::new(),
            #[cfg(feature = "persistence")]
            batch: None,
            #[cfg(feature = "persistence")]
            checked_out: Vec::new(),
            #[cfg(feature = "persistence")]
            rows: Vec::new(),
            #[cfg(feature = "persistence")]
            query: Default::default(),
            #[cfg(feature = "persistence")]
            cursor: None,
            #[cfg(feature = "persistence")]
            migration: None,
            #[cfg(feature = "persistence")]
            violations: Vec::new(),
        });
        inst.arena.fail_countdown = fail_at;
        let _scope = inst.enter();
        // SAFETY: the arena is boxed and lives as long as the instance, which closes the
        // state in Drop before the arena goes.
        unsafe {
            let ud = &mut *inst.arena as *mut Arena as *mut c_void;
            let l = lua_newstate(lua_alloc, ud);
            if l.is_null() {
                return Err(Status::LuaMemory);
            }
            inst.l = l;
            *extra_space(l) = &mut *inst;
            lua_atpanic(l, on_panic);
            lua_setwarnf(l, Some(on_warning), &mut *inst as *mut Instance as *mut c_void);
            lua_pushcfunction(l, open_libraries);
            if lua_pcall(l, 0, 0, 0) != LUA_OK {
                return Err(Status::LuaMemory);
            }
        }
        inst.arena.fail_countdown = 0;
        Ok(inst)
    }

    /// Marks this instance as the one whose call is running (see current.rs) until the
    /// returned guard drops.
    fn enter(&mut self) -> Scope {
        let previous = crate::current::get();
        crate::current::set(self);
        Scope(previous)
    }

    /// The main thread.
    pub(crate) fn state(&self) -> *mut lua_State {
        self.l
    }

    /// Runs `f` with the instance current and its instruction budget armed, as a call does,
    /// for work outside calls that may run Lua code (schema patterns in store ops). Returns
    /// its result and Ok, or INSTRUCTION_LIMIT when the budget ran out.
    #[cfg(feature = "persistence")]
    pub(crate) fn budgeted<R>(&mut self, f: impl FnOnce(&mut Instance) -> R) -> (R, Status) {
        let _scope = self.enter();
        self.begin_call();
        let r = f(self);
        (r, self.end_call(LUA_OK))
    }

    pub fn heap_size(&self) -> usize {
        self.arena.size()
    }
    pub fn heap_used(&self) -> usize {
        self.arena.in_use
    }
    pub fn heap_peak(&self) -> usize {
        self.arena.peak
    }
    /// Test hook: the external tables' invariants (`Store::check_invariants`).
    #[doc(hidden)]
    #[cfg(feature = "persistence")]
    pub fn check_store(&self) -> Result<(), &'static str> {
        self.store.check_invariants()
    }

    /// Test hook: the `n`th Lua allocation from now, and every one after it, fails (0: off).
    pub fn fail_allocation(&mut self, n: u32) {
        self.arena.fail_countdown = n;
    }

    /// Runs `source` as a chunk named `name`; on success writes `u32 count` and the results
    /// (all of them, or the first when `all` is false) to `reply`, otherwise the error.
    pub fn compute(&mut self, source: &[u8], name: &[u8], all: bool, reply: &mut Vec<u8>) -> Status {
        self.compute_with(source, name, &[], all, reply)
    }

    /// `compute`, the chunk called with `args` (`u32 n`, n wire values checked by
    /// values_in.rs; empty: none) as its `...`.
    pub fn compute_with(&mut self, source: &[u8], name: &[u8], args: &[u8], all: bool, reply: &mut Vec<u8>) -> Status {
        let mut cname: Vec<u8> = Vec::with_capacity(name.len() + 1);
        cname.extend_from_slice(if name.is_empty() { b"=compute" } else { name });
        cname.retain(|&b| b != 0);
        cname.push(0);
        let (status, _) = self.run_call(reply, |l| {
            // SAFETY: loading is protected; the chunk runs under lua_pcall.
            unsafe {
                let loaded =
                    luaL_loadbufferx(l, source.as_ptr() as *const c_char, source.len(), cname.as_ptr() as *const c_char, c"t".as_ptr());
                if loaded != LUA_OK || args.is_empty() {
                    return if loaded == LUA_OK { lua_pcall(l, 0, LUA_MULTRET, 1) } else { loaded };
                }
                // The arguments are pushed by a protected call (they allocate), above the chunk.
                // SAFETY: `args` outlives both calls; push_args only reads through the pointer.
                lua_pushcfunction(l, crate::values_in::push_args);
                lua_pushlightuserdata(l, &args as *const &[u8] as *mut c_void);
                match lua_pcall(l, 1, LUA_MULTRET, 1) {
                    LUA_OK => lua_pcall(l, lua_gettop(l) - 2, LUA_MULTRET, 1),
                    failed => failed,
                }
            }
        });
        if status != Status::Ok {
            return status;
        }
        let l = self.l;
        // SAFETY: the results lie above the message handler; encoding only reads them.
        unsafe {
            let n = lua_gettop(l) - 1;
            let n = if all { n } else { n.min(1) };
            let mut enc = Encoder::new(reply);
            enc.put_u32(n as u32);
            let mut result = Ok(());
            for i in 0..n {
                result = enc.value(l, 2 + i);
                if result.is_err() {
                    break;
                }
            }
            lua_settop(l, 0);
            self.tidy();
            match result {
                Ok(()) => Status::Ok,
                Err(WireError::TooDeep) => {
                    reply.clear();
                    let mut enc = Encoder::new(reply);
                    enc.put_u32(2);
                    enc.put_string(b"result nested deeper than 200 tables cannot cross to JS");
                    enc.put_nil();
                    Status::Conversion
                }
            }
        }
    }

    /// A fresh byte buffer for a C function that may raise Lua errors: Rust-owned values
    /// can't live in its frame (an error skips their destructors), so the instance owns the
    /// buffer. Returns its mark and a pointer that stays valid until `scratch_pop(mark)`
    /// or the end of the call, whichever comes first.
    #[cfg(feature = "persistence")]
    pub(crate) fn scratch_push(&mut self) -> (usize, *mut Vec<u8>) {
        let mark = self.scratch.len();
        self.scratch.push(Box::new(Vec::new()));
        (mark, &mut *self.scratch[mark] as *mut Vec<u8>)
    }

    /// Drops the buffer of `mark`, and any left above it by errors caught inside.
    #[cfg(feature = "persistence")]
    pub(crate) fn scratch_pop(&mut self, mark: usize) {
        self.scratch.truncate(mark);
    }

    /// Runs `f` (a C function receiving `ctx` as a light userdata argument) as one protected
    /// call with the instance's budget, as `compute` runs a chunk. On failure the error
    /// reply is in `reply`. Returns Cu's status and Lua's.
    pub(crate) fn call_protected(&mut self, f: lua_CFunction, ctx: *mut c_void, reply: &mut Vec<u8>) -> (Status, c_int) {
        let result = self.run_call(reply, |l| {
            // SAFETY: `f` runs under lua_pcall.
            unsafe {
                lua_pushcfunction(l, f);
                lua_pushlightuserdata(l, ctx);
                lua_pcall(l, 1, 0, 1)
            }
        });
        // SAFETY: `l` is valid; nothing of the call is needed any more.
        unsafe { lua_settop(self.l, 0) };
        self.tidy();
        result
    }

    /// After a call that left the Lua heap more than half full, a full collection, so that
    /// the next call starts with its garbage gone. Otherwise that garbage is freed while
    /// the next call runs, and the holes it leaves between new live objects fragment the
    /// fixed arena: a typical page script returning a 50 KB string failed with `not enough
    /// memory` from its third run on, with half the heap free. Run as a call of its own
    /// (protected, budgeted: finalizers run here); its outcome is ignored.
    fn tidy(&mut self) {
        if self.arena.in_use * 2 > self.arena.size() {
            self.collect();
        }
    }

    /// A full garbage collection (`lua.gc()`, `tidy`): a call of its own, protected and
    /// budgeted, since finalizers run during it (one that loops forever is stopped by the
    /// instruction limit instead of hanging the instance). Its outcome is ignored, and the
    /// last call's instruction count stays as it was.
    pub fn collect(&mut self) {
        let used = self.used;
        let mut reply = Vec::new();
        self.run_call(&mut reply, |l| {
            // SAFETY: a protected call of a C function.
            unsafe {
                lua_pushcfunction(l, full_gc);
                lua_pcall(l, 0, 0, 1)
            }
        });
        // SAFETY: `l` is valid; the collection returns nothing.
        unsafe { lua_settop(self.l, 0) };
        self.used = used;
    }

    /// The frame every call shares: the budget armed and the message handler at stack index
    /// 1, then `body` runs the protected call and returns Lua's status. On failure the
    /// error reply is written and the stack emptied; on success the results stay above the
    /// handler for the caller, which empties the stack. The call is one transaction of the
    /// external tables and one unit of schema validation (schema_lua.rs), except while a
    /// migration runs over several calls (migrate.rs): it commits when it is done.
    fn run_call(&mut self, reply: &mut Vec<u8>, body: impl FnOnce(*mut lua_State) -> c_int) -> (Status, c_int) {
        let _scope = self.enter();
        reply.clear();
        let l = self.l;
        #[cfg(feature = "persistence")]
        let start = self.store.savepoint();
        self.begin_call();
        // SAFETY: `l` is this instance's state; pushing a light C function cannot raise.
        unsafe {
            lua_settop(l, 0);
            lua_pushcfunction(l, message_handler);
        }
        #[cfg_attr(not(feature = "persistence"), allow(unused_mut))]
        let mut lua_status = body(l);
        #[cfg(feature = "persistence")]
        if lua_status == LUA_OK {
            // Closures and tables read from external tables may have changed: store them.
            // SAFETY: a protected call; the body's results stay below it.
            unsafe {
                lua_pushcfunction(l, crate::store_lua::flush_blobs);
                lua_status = lua_pcall(l, 0, 0, 1);
            }
            if lua_status == LUA_OK && self.migration.is_none() {
                // SAFETY: `l` is the idle main thread; the check's Lua calls are protected.
                self.violations = unsafe { crate::schema_lua::validate_unit(self, l, start, None) };
            }
        }
        #[cfg_attr(not(feature = "persistence"), allow(unused_mut))]
        let mut status = self.end_call(lua_status);
        #[cfg(feature = "persistence")]
        if status == Status::Ok && !self.violations.is_empty() {
            status = Status::SchemaViolation;
            let v = core::mem::take(&mut self.violations);
            crate::schema_ops::violation_reply(reply, &self.store, b"", &v, None);
        }
        // Every call is one transaction of the external tables.
        #[cfg(feature = "persistence")]
        if status == Status::Ok {
            if self.migration.as_ref().is_none_or(|m| m.finished()) {
                self.migration = None;
                self.store.commit();
            }
        } else {
            crate::migrate::abandon(self);
            self.store.rollback();
            // SAFETY: only clears cache entries (no allocation).
            unsafe {
                crate::store_lua::forget_blobs(self, l)
            };
        }
        if status != Status::Ok {
            // SAFETY: the error value is on top; error_reply only reads raw values.
            unsafe {
                if !reply.is_empty() {
                } else if lua_status == LUA_OK {
                    // The call itself succeeded; its schema check ran out of budget.
                    crate::protocol::error_reply(reply, b"instruction limit exceeded");
                } else {
                    self.error_reply(reply, status, lua_status);
                }
                lua_settop(l, 0);
            }
        }
        (status, lua_status)
    }

    /// Resets the budget and installs the count hook on the main thread.
    pub(crate) fn begin_call(&mut self) {
        self.used = 0;
        self.abort = Abort::None;
        // SAFETY: a plain C setter.
        unsafe { cu_budget_set(if self.limit > 0 { self.limit.min(i64::MAX as u64) as i64 } else { i64::MAX }) };
        // SAFETY: `l` is valid; setting a hook is always allowed.
        unsafe {
            if self.limit > 0 {
                lua_sethook(self.l, Some(count_hook), LUA_MASKCOUNT, self.period() as c_int);
            }
        }
    }

    fn period(&self) -> u64 {
        self.limit.clamp(1, HOOK_PERIOD)
    }

    /// Maps Lua's status to Cu's, letting an abort (budget, os.exit) win over whatever
    /// the script turned the error into.
    pub(crate) fn end_call(&mut self, lua_status: c_int) -> Status {
        let abort = core::mem::replace(&mut self.abort, Abort::None);
        self.scratch.clear();
        // SAFETY: `l` is valid. Between calls no budget runs (an abort also left a period
        // of 1 behind). Without a budget, hooks the script set with debug.sethook stay.
        if self.limit > 0 || abort != Abort::None {
            unsafe { lua_sethook(self.l, None, 0, 0) };
        }
        match (abort, lua_status) {
            (Abort::Limit, _) => Status::InstructionLimit,
            (Abort::Exit(_), _) => Status::LuaExit,
            (_, LUA_OK) => Status::Ok,
            (_, LUA_ERRSYNTAX) => Status::LuaSyntax,
            (_, LUA_ERRMEM) => Status::LuaMemory,
            _ => Status::LuaRuntime,
        }
    }

    /// Writes the error reply: `u32 2`, the message, the traceback (or nil). Runtime errors
    /// (the budget and os.exit included) come from the message handler's record; syntax and
    /// memory errors, and a failing message handler, leave a string on the stack. Only raw
    /// reads here: nothing may allocate outside protected calls.
    unsafe fn error_reply(&mut self, reply: &mut Vec<u8>, status: Status, lua_status: c_int) {
        let l = self.l;
        reply.clear();
        let mut enc = Encoder::new(reply);
        enc.put_u32(2);
        let recorded = lua_status == LUA_ERRRUN && {
            let found = lua_rawgetp(l, LUA_REGISTRYINDEX, error_record_key()) == LUA_TTABLE;
            if !found {
                lua_pop(l, 1);
            }
            found
        };
        if recorded {
            for i in 1..=2 {
                let is_string = lua_rawgeti(l, -1, i) == LUA_TSTRING;
                if i == 1 && status == Status::InstructionLimit {
                    // Whatever error the budget surfaced as, or the script turned it into.
                    enc.put_string(b"instruction limit exceeded");
                } else if is_string {
                    enc.put_string(string_bytes(l, -1));
                } else {
                    enc.put_nil();
                }
                lua_pop(l, 1);
            }
            // Forget it: a later failure that bypasses the handler must not reuse it.
            lua_pushnil(l);
            lua_rawseti(l, -2, 1);
            lua_pushnil(l);
            lua_rawseti(l, -2, 2);
        } else {
            if lua_type(l, -1) == LUA_TSTRING {
                enc.put_string(string_bytes(l, -1));
            } else {
                enc.put_string(b"(error object is not a string)");
            }
            enc.put_nil();
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if !self.l.is_null() {
            let _scope = self.enter();
            // Finalizers run in lua_close: under the budget, so one that loops forever is
            // stopped (each error there is caught and the next finalizer runs).
            self.begin_call();
            // SAFETY: the state is ours and closed once; finalizers run protected.
            unsafe { lua_close(self.l) };
            self.l = ptr::null_mut();
        }
        if crate::current::get() == self as *mut Instance {
            crate::current::set(ptr::null_mut());
        }
    }
}

/// Restores the previously current instance.
struct Scope(*mut Instance);
impl Drop for Scope {
    fn drop(&mut self) {
        crate::current::set(self.0);
    }
}

/// Runs unprotected errors into a trap: Cu never calls Lua unprotected, so this is a bug.
unsafe extern "C" fn on_panic(_l: *mut lua_State) -> c_int {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    std::process::abort();
}

/// Lua's warning function (`warn`): as lauxlib's, "@on"/"@off" switch it, and warnings
/// go to the stderr stream prefixed "Lua warning: ".
unsafe extern "C" fn on_warning(ud: *mut c_void, msg: *const c_char, tocont: c_int) {
    // SAFETY: `ud` is the instance registered with lua_setwarnf; `msg` is NUL-terminated.
    let inst = &mut *(ud as *mut Instance);
    let text = core::ffi::CStr::from_ptr(msg).to_bytes();
    if !inst.warning_open && tocont == 0 && text.first() == Some(&b'@') {
        match text {
            b"@on" => inst.warnings_on = true,
            b"@off" => inst.warnings_on = false,
            _ => {}
        }
        return;
    }
    if inst.warnings_on {
        if !inst.warning_open {
            inst.output.write(2, b"Lua warning: ");
        }
        inst.output.write(2, text);
        if tocont == 0 {
            inst.output.write(2, b"\n");
        }
    }
    inst.warning_open = tocont != 0;
}

/// Registry key (a light userdata address) of `{ message, traceback }`, the last error
/// the message handler saw.
static ERROR_RECORD: u8 = 0;

fn error_record_key() -> *const c_void {
    &ERROR_RECORD as *const u8 as *const c_void
}

/// The message handler of every call. Lua also runs it for errors that `load` catches
/// (its reader, the chunk gate), so it returns the error value unchanged; it records the
/// message (made a string as lua.c does) and a traceback for the error reply.
unsafe extern "C" fn message_handler(l: *mut lua_State) -> c_int {
    lua_settop(l, 1);
    if lua_rawgetp(l, LUA_REGISTRYINDEX, error_record_key()) != LUA_TTABLE {
        lua_pop(l, 1);
        lua_createtable(l, 2, 0);
        lua_pushvalue(l, -1);
        lua_rawsetp(l, LUA_REGISTRYINDEX, error_record_key());
    }
    // stack: error, record
    if lua_type(l, 1) == LUA_TSTRING {
        lua_pushvalue(l, 1);
    } else if lua_type(l, 1) == LUA_TNUMBER {
        luaL_tolstring(l, 1, ptr::null_mut());
    } else if luaL_callmeta(l, 1, c"__tostring".as_ptr()) == 0 || lua_type(l, -1) != LUA_TSTRING {
        lua_settop(l, 2);
        lua_pushstring(l, c"(error object is a ".as_ptr());
        lua_pushstring(l, lua_typename(l, lua_type(l, 1)));
        lua_pushstring(l, c" value)".as_ptr());
        lua_concat(l, 3);
    }
    lua_rawseti(l, 2, 1);
    luaL_traceback(l, l, ptr::null(), 1);
    lua_rawseti(l, 2, 2);
    lua_settop(l, 1);
    1
}

/// The count hook: charges the budget and stops the call once it is spent or an abort
/// is pending. After an abort it fires on every instruction, so `pcall` can't swallow it.
/// `lua_gc(LUA_GCCOLLECT)` as a C function, for `Instance::tidy`.
unsafe extern "C" fn full_gc(l: *mut lua_State) -> c_int {
    lua_gc(l, LUA_GCCOLLECT, 0);
    0
}

unsafe extern "C" fn count_hook(l: *mut lua_State, _ar: *mut lua_Debug) {
    let inst = instance_of(l);
    let period = lua_gethookcount(l) as u64;
    inst.used += period;
    if inst.abort == Abort::None && inst.limit > 0 && inst.used > inst.limit {
        inst.abort = Abort::Limit;
    }
    match inst.abort {
        Abort::None => {
            // A thread left with another period (by an earlier call) gets the normal one.
            let want = if inst.limit > 0 { inst.period() } else { 0 };
            if want == 0 {
                lua_sethook(l, None, 0, 0);
            } else if want != period {
                lua_sethook(l, Some(count_hook), LUA_MASKCOUNT, want as c_int);
            }
        }
        Abort::Limit => {
            lua_sethook(l, Some(count_hook), LUA_MASKCOUNT, 1);
            luaL_error(l, c"instruction limit exceeded (%I instructions)".as_ptr(), inst.limit as i64);
        }
        Abort::Exit(code) => {
            lua_sethook(l, Some(count_hook), LUA_MASKCOUNT, 1);
            luaL_error(l, c"os.exit(%d) called".as_ptr(), code);
        }
    }
}

extern "C" {
    /// csrc/cu_load.c: replaces `load` with the version that validates binary chunks.
    #[cfg(feature = "persistence")]
    fn cu_wrap_load(l: *mut lua_State);
    /// csrc/cu_strlib.c: sets the work the string library may still do in this call.
    fn cu_budget_set(steps: i64);
    /// csrc/cu_strlib.c: charges C work to the budget; 1 when it is spent.
    fn cu_budget_charge(steps: i64) -> c_int;
}

/// csrc/cu_strlib.c: the string library spent the budget. Returns 1 to make the check that
/// noticed it raise a Lua error; the call then ends with INSTRUCTION_LIMIT, as for the VM.
#[no_mangle]
pub extern "C" fn cu_budget_exhausted() -> c_int {
    let inst = crate::current::get();
    // SAFETY: the current instance is live while its call runs.
    match unsafe { inst.as_mut() } {
        Some(inst) if inst.limit > 0 => {
            inst.abort = Abort::Limit;
            // SAFETY: the main thread is valid; this makes the next instruction there raise.
            unsafe { lua_sethook(inst.l, Some(count_hook), LUA_MASKCOUNT, 1) };
            1
        }
        _ => {
            // SAFETY: a plain C setter.
            unsafe { cu_budget_set(i64::MAX) };
            0
        }
    }
}

/// `os.exit` (csrc/cu_oslib.c): ends the running call with LUA_EXIT, whatever the script
/// catches.
///
/// # Safety
/// Called by Lua with a valid state of an instance.
#[no_mangle]
pub unsafe extern "C" fn cu_request_exit(l: *mut lua_State, code: c_int) -> c_int {
    let inst = instance_of(l);
    inst.abort = Abort::Exit(code);
    lua_sethook(l, Some(count_hook), LUA_MASKCOUNT, 1);
    lua_sethook(inst.l, Some(count_hook), LUA_MASKCOUNT, 1);
    luaL_error(l, c"os.exit(%d) called".as_ptr(), code)
}

/// Lua's string-hash seed (csrc/cu_config.h `luai_makeseed`), from the host's entropy.
#[no_mangle]
pub extern "C" fn cu_hash_seed() -> u32 {
    let inst = crate::current::get();
    if inst.is_null() {
        return 0x2545_f491;
    }
    // SAFETY: the current instance is live while it is being created.
    unsafe { (*inst).seed[0] ^ (*inst).seed[1].rotate_left(16) }
}

/// `debug.sethook`, refused while an instruction budget is set (its count hook is the
/// budget); otherwise the original (upvalue 1).
unsafe extern "C" fn guarded_sethook(l: *mut lua_State) -> c_int {
    if instance_of(l).limit > 0 {
        return luaL_error(
            l,
            c"debug.sethook is unavailable while an instruction limit is set (create the instance with instructionLimit: 0 to use hooks)".as_ptr(),
        );
    }
    call_original(l)
}

/// Calls upvalue 1 (the original function) with this call's arguments, returning its results.
unsafe fn call_original(l: *mut lua_State) -> c_int {
    lua_pushvalue(l, lua_upvalueindex(1));
    lua_insert(l, 1);
    lua_callk(l, lua_gettop(l) - 1, LUA_MULTRET, 0, None);
    lua_gettop(l)
}

/// `debug.setupvalue` for Lua functions only: a C function's upvalues hold state its C code
/// trusts without checking (a userdata where it expects one).
unsafe extern "C" fn lua_only_setupvalue(l: *mut lua_State) -> c_int {
    if lua_iscfunction(l, 1) != 0 {
        return luaL_error(l, c"bad argument #1 to 'setupvalue' (Lua function expected)".as_ptr());
    }
    call_original(l)
}

/// `table.move(a1, f, e, t [, a2])` with its element count charged to the budget first,
/// when the arguments pass ltablib's own checks (otherwise the original reports them).
unsafe extern "C" fn budgeted_move(l: *mut lua_State) -> c_int {
    let (mut okf, mut oke, mut okt) = (0, 0, 0);
    let f = lua_tointegerx(l, 2, &mut okf);
    let e = lua_tointegerx(l, 3, &mut oke);
    let t = lua_tointegerx(l, 4, &mut okt);
    let checked = okf != 0 && oke != 0 && okt != 0 && e >= f && (f > 0 || e < i64::MAX + f);
    if checked && t <= i64::MAX - (e - f) && cu_budget_charge((e - f).saturating_add(1)) != 0 {
        return luaL_error(l, c"instruction limit exceeded".as_ptr());
    }
    call_original(l)
}

/// Opens the standard libraries a browser can honour (run under `lua_pcall`).
unsafe extern "C" fn open_libraries(l: *mut lua_State) -> c_int {
    let libs: [(&core::ffi::CStr, lua_CFunction); 10] = [
        (c"_G", luaopen_base),
        (c"package", cu_open_package),
        (c"coroutine", luaopen_coroutine),
        (c"table", luaopen_table),
        (c"io", cu_open_io),
        (c"os", cu_open_os),
        (c"string", luaopen_string),
        (c"math", luaopen_math),
        (c"utf8", luaopen_utf8),
        (c"debug", luaopen_debug),
    ];
    for (name, open) in libs {
        luaL_requiref(l, name.as_ptr(), open, 1);
        lua_pop(l, 1);
    }
    // The error record, made now so that it sits low in the arena: created by the first
    // error of a call, it could split a large free block for good.
    lua_createtable(l, 2, 0);
    lua_rawsetp(l, LUA_REGISTRYINDEX, error_record_key());
    // Binary chunks pass the bytecode validator before `load` may run them; without the
    // validator (feature "persistence" off) the gate refuses every binary chunk.
    #[cfg(feature = "persistence")]
    cu_wrap_load(l);
    // Memory (alias _home): the persisted root table.
    #[cfg(feature = "persistence")]
    crate::store_lua::open(l);
    // No file system: the base library's file loaders are absent, not pretending.
    for name in [c"dofile", c"loadfile"] {
        lua_pushnil(l);
        lua_setglobal(l, name.as_ptr());
    }
    // The budget is a count hook; a script replacing it would escape the budget.
    lua_getglobal(l, c"debug".as_ptr());
    lua_getfield(l, -1, c"sethook".as_ptr());
    lua_pushcclosure(l, guarded_sethook, 1);
    lua_setfield(l, -2, c"sethook".as_ptr());
    // Functions that let a script forge pointers and crash the interpreter: the registry
    // (lauxlib's buffer boxes and their __gc), writing a for loop's hidden control slots,
    // and replacing the upvalues C functions trust. They are absent or refused.
    for name in [c"getregistry", c"setlocal"] {
        lua_pushnil(l);
        lua_setfield(l, -2, name.as_ptr());
    }
    lua_getfield(l, -1, c"setupvalue".as_ptr());
    lua_pushcclosure(l, lua_only_setupvalue, 1);
    lua_setfield(l, -2, c"setupvalue".as_ptr());
    lua_pop(l, 1);
    // table.move copies in a C loop the count hook never sees: charge it up front.
    lua_getglobal(l, c"table".as_ptr());
    lua_getfield(l, -1, c"move".as_ptr());
    lua_pushcclosure(l, budgeted_move, 1);
    lua_setfield(l, -2, c"move".as_ptr());
    lua_pop(l, 1);
    // math.random starts from the host's entropy (the user may reseed).
    let inst = instance_of(l);
    lua_getglobal(l, c"math".as_ptr());
    lua_getfield(l, -1, c"randomseed".as_ptr());
    lua_pushinteger(l, inst.seed[0] as i64);
    lua_pushinteger(l, inst.seed[1] as i64);
    lua_callk(l, 2, 0, 0, None);
    lua_pop(l, 1);
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(inst: &mut Instance, src: &str) -> (Status, Vec<u8>) {
        let mut reply = Vec::new();
        let s = inst.compute(src.as_bytes(), b"=test", true, &mut reply);
        (s, reply)
    }

    #[test]
    fn computes_and_reports_errors() {
        let mut inst = Instance::new(0, 1_000_000, [1, 2]).unwrap();
        let (s, r) = run(&mut inst, "return 2 + 2");
        assert_eq!(s, Status::Ok);
        assert_eq!(r, [1, 0, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(run(&mut inst, "return +").0, Status::LuaSyntax);
        assert_eq!(run(&mut inst, "error('x')").0, Status::LuaRuntime);
        assert_eq!(run(&mut inst, "while true do end").0, Status::InstructionLimit);
        assert_eq!(run(&mut inst, "while true do pcall(function() while true do end end) end").0, Status::InstructionLimit);
        let catastrophic = "return string.find(string.rep('a', 60), string.rep('a?', 60) .. string.rep('a', 60) .. 'b')";
        assert_eq!(run(&mut inst, catastrophic).0, Status::InstructionLimit);
        assert_eq!(run(&mut inst, &format!("for i = 1, 10 do pcall(function() {catastrophic} end) end")).0, Status::InstructionLimit);
        assert_eq!(run(&mut inst, "return string.find(string.rep('a', 10), string.rep('a?', 10) .. string.rep('a', 10))").0, Status::Ok);
        assert_eq!(run(&mut inst, "os.exit(3)").0, Status::LuaExit);
        assert_eq!(run(&mut inst, "pcall(os.exit, 3) return 1").0, Status::LuaExit);
        assert_eq!(run(&mut inst, "return 1").0, Status::Ok);
    }

    #[test]
    fn no_pointer_forging_and_no_unbudgeted_loops() {
        let mut inst = Instance::new(0, 1_000_000, [1, 2]).unwrap();
        assert_eq!(run(&mut inst, "return debug.getregistry == nil and debug.setlocal == nil").1[4], 2);
        assert_eq!(run(&mut inst, "debug.setupvalue(math.random, 1, 5)").0, Status::LuaRuntime);
        assert_eq!(run(&mut inst, "local x = 1 local function f() return x end debug.setupvalue(f, 1, 9) return f()").0, Status::Ok);
        assert_eq!(run(&mut inst, "table.move({}, 1, 1e12, 2)").0, Status::InstructionLimit);
        assert_eq!(run(&mut inst, "pcall(table.move, {}, 1, 1e12, 2) return 1").0, Status::InstructionLimit);
        let (s, r) = run(&mut inst, "return table.concat(table.move({1, 2, 3}, 1, 3, 2), ',')");
        assert_eq!(s, Status::Ok);
        assert!(String::from_utf8_lossy(&r).ends_with("1,1,2,3"));
    }

    #[test]
    fn the_budget_cannot_be_unhooked() {
        let mut inst = Instance::new(0, 100_000, [1, 2]).unwrap();
        assert_eq!(run(&mut inst, "debug.sethook() while true do end").0, Status::LuaRuntime);
        assert_eq!(run(&mut inst, "pcall(debug.sethook) while true do end").0, Status::InstructionLimit);
        let mut free = Instance::new(0, 0, [1, 2]).unwrap();
        let (s, _) = run(&mut free, "local n = 0 debug.sethook(function() n = n + 1 end, '', 10) for i = 1, 1000 do end debug.sethook() return n");
        assert_eq!(s, Status::Ok);
    }

    #[test]
    fn load_sees_error_values_unchanged() {
        let mut inst = Instance::new(0, 0, [1, 2]).unwrap();
        let (s, r) = run(&mut inst, "local f, e = load(function() error({}) end) assert(type(e) == 'table') \
            local d = string.dump(function(a) for i = 1, 3 do a = a + i end return a end) \
            local f, e = load(d) if f then assert(f(0) == 6) f, e = load(d:sub(1, #d - 9)) end \
            return e");
        assert_eq!(s, Status::Ok);
        let message = String::from_utf8_lossy(&r).into_owned();
        if cfg!(feature = "persistence") {
            assert!(message.contains("bad bytecode: rule"), "{message}");
        } else {
            assert!(message.contains("binary chunk refused"), "{message}");
        }
        let (s, r) = run(&mut inst, "error(setmetatable({}, { __tostring = function() return 'custom' end }))");
        assert_eq!(s, Status::LuaRuntime);
        assert!(String::from_utf8_lossy(&r).contains("custom"));
    }

    #[test]
    fn warnings_go_to_stderr_when_on() {
        let mut inst = Instance::new(0, 0, [1, 2]).unwrap();
        assert_eq!(run(&mut inst, "warn('hidden') warn('@on') warn('a', 'b') warn('@off') warn('x')").0, Status::Ok);
        assert_eq!(inst.output.take(), [&[2, 16, 0, 0, 0][..], b"Lua warning: ab\n"].concat());
    }

    #[test]
    fn a_heavy_script_runs_again_and_again_in_the_default_heap() {
        // bench/memory.mjs's "typical workload": 1,000 records, a sort, 200 formatted lines,
        // a 50 KB string and 300 rows returned. Without `tidy` the fixed arena fragmented
        // and the third run failed with `not enough memory`.
        let mut inst = Instance::new(0, 0, [1, 2]).unwrap();
        let src = r#"
            local users = {}
            for i = 1, 1000 do users[i] = { id = i, name = 'user' .. i, age = 18 + i % 60, score = i * 1.5 } end
            local adults = {}
            for _, u in ipairs(users) do if u.age >= 30 then adults[#adults + 1] = u end end
            table.sort(adults, function(a, b) return a.score > b.score end)
            for i = 1, 200 do io.write(string.format('%5d %-10s %3d %8.2f\n', adults[i].id, adults[i].name, adults[i].age, adults[i].score)) end
            local rows = {}
            for i = 1, 300 do rows[i] = { adults[i].id, adults[i].name } end
            return string.rep('x', 50000), rows"#;
        for n in 0..10 {
            let (status, reply) = run(&mut inst, src);
            assert_eq!(status, Status::Ok, "run {n}: {}", String::from_utf8_lossy(&reply));
            inst.output.take();
        }
    }

    #[test]
    fn a_finalizer_that_loops_forever_is_stopped_by_the_budget() {
        // Lua runs __gc with hooks off; the budget must still stop it: in a call, in a
        // collection of its own, and when the state closes.
        let mut inst = Instance::new(0, 100_000, [1, 2]).unwrap();
        let looping = "setmetatable({}, { __gc = function() while true do end end })";
        let (status, _) = run(&mut inst, &alloc::format!("{looping} collectgarbage() return 1"));
        assert_eq!(status, Status::InstructionLimit);
        assert_eq!(run(&mut inst, looping).0, Status::Ok);
        inst.collect();
        assert_eq!(run(&mut inst, "return 1 + 1").0, Status::Ok);
        assert_eq!(run(&mut inst, looping).0, Status::Ok);
        drop(inst);
    }

    #[test]
    fn memory_exhaustion_is_recoverable() {
        let mut inst = Instance::new(256 * 1024, 0, [1, 2]).unwrap();
        let (s, _) = run(&mut inst, "local t = {} for i = 1, 1e7 do t[i] = {} end");
        assert_eq!(s, Status::LuaMemory);
        inst.collect();
        assert_eq!(run(&mut inst, "local t = {} for i = 1, 100 do t[i] = i end return #t").0, Status::Ok);
    }
}
