// build.rs: compiles Lua 5.4.9's C sources (from the `lua-src` crate, never copied into this
// repo) and Cu's C pieces in csrc/. For wasm32-unknown-unknown it uses Debian's clang-19
// freestanding against csrc/include, with setjmp/longjmp lowered to wasm exception handling;
// for the host it uses the system cc and libc so that `cargo test` runs Lua natively.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Lua's core and the libraries that need no operating system. liolib, loslib, loadlib and
/// linit are replaced by csrc/cu_iolib.c, csrc/cu_oslib.c and core/runtime.rs.
const LUA_CORE: &[&str] = &[
    "lapi", "lcode", "lctype", "ldump", "lfunc", "lgc", "llex", "lmem", "lobject",
    "lopcodes", "lparser", "lstate", "lstring", "ltable", "ltm", "lundump", "lzio",
];
const LUA_LIBS: &[&str] = &[
    "lauxlib", "lbaselib", "lcorolib", "ldblib", "lmathlib", "ltablib", "lutf8lib",
];
/// The call machinery (luaD_precall & co.), not built -Oz like the rest: -Os on wasm (measured
/// as fast as -O2 on fib, method calls and pcall, 1 KB smaller; -Oz cost fib ~10%), -O2 on
/// the host. csrc/cu_vm.c: see main.
const LUA_HOT: &[&str] = &["ldo"];
/// Cu's own C (both targets): Lua-facing io/os libraries, the stderr formatter, and Lua's
/// string library with its pattern matching charged to the instruction budget.
const CU_C: &[&str] = &["cu_iolib", "cu_oslib", "cu_output", "cu_strlib"];
/// With the "persistence" feature: `load` with binary chunks checked by the validator.
const CU_PERSISTENCE_C: &[&str] = &["cu_load"];
/// The freestanding libc pieces only the wasm build needs (the host has glibc).
const CU_WASM_C: &[&str] = &["cu_printf", "cu_stdio"];

fn main() {
    let target = env::var("TARGET").unwrap();
    let wasm = target.starts_with("wasm32");
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let csrc = manifest.join("csrc");
    let lua = lua_source_dir();

    println!("cargo:rerun-if-changed=csrc");
    println!("cargo:rerun-if-env-changed=CU_CLANG");
    println!("cargo:rerun-if-env-changed=CU_HOT_OPT");
    println!("cargo:rerun-if-env-changed=CU_VM_OPT");

    let hot_opt = env::var("CU_HOT_OPT").unwrap_or_else(|_| if wasm { "s" } else { "2" }.into());
    let files = |names: &[&str], dir: &Path| -> Vec<PathBuf> {
        names.iter().map(|n| dir.join(format!("{n}.c"))).collect()
    };
    let mut main_files = files(LUA_CORE, &lua);
    main_files.extend(files(LUA_LIBS, &lua));
    main_files.extend(files(CU_C, &csrc));
    if wasm {
        main_files.extend(files(CU_WASM_C, &csrc));
    }
    if env::var_os("CARGO_FEATURE_PERSISTENCE").is_some() {
        main_files.extend(files(CU_PERSISTENCE_C, &csrc));
    }

    compile("cu_lua", &main_files, None, wasm, &lua, &csrc, true);
    compile("cu_lua_hot", &files(LUA_HOT, &lua), Some(&hot_opt), wasm, &lua, &csrc, true);
    // csrc/cu_vm.c (the interpreter loop with ldebug.c): -Oz on wasm. With its switch
    // dispatch, V8 ran it as fast at -Oz as at -O2 (fib, method calls: within the noise of
    // node bench/run.mjs, and faster than the old computed-goto -O2 build) for 5 KB (1.8 KB
    // gzip) less. The host keeps -O2.
    let vm_opt = env::var("CU_VM_OPT").unwrap_or_else(|_| if wasm { "z" } else { "2" }.into());
    compile("cu_lua_vm", &[csrc.join("cu_vm.c")], Some(&vm_opt), wasm, &lua, &csrc, true);
    if wasm {
        // The setjmp runtime throws the C longjmp tag itself: plain exception handling,
        // not the sjlj lowering.
        compile("cu_setjmp", &[csrc.join("cu_setjmp.c")], None, true, &lua, &csrc, false);
        // A fresh instance must fit in 1 MiB of linear memory: Lua's C recursion is bounded
        // by LUAI_MAXCCALLS (200). The deepest known patterns (gsub or string.format
        // callbacks recursing 200 C levels) need between 128 and 192 KiB of shadow stack;
        // 256 KiB leaves a third in reserve (test-harness/node/limits.test.mjs runs them).
        // The stack comes first in memory, so an overflow would trap, never corrupt data.
        println!("cargo:rustc-link-arg-cdylib=-zstack-size=262144");
    }
}

fn compile(
    name: &str,
    files: &[PathBuf],
    opt: Option<&str>,
    wasm: bool,
    lua: &Path,
    csrc: &Path,
    sjlj: bool,
) {
    let mut b = cc::Build::new();
    b.files(files)
        .include(lua)
        .include(csrc)
        .define("LUA_USER_H", "\"cu_config.h\"")
        .define("LUA_COMPAT_5_3", None)
        .warnings(false);
    if let Some(o) = opt {
        b.opt_level_str(o);
    }
    if wasm {
        let clang = env::var("CU_CLANG").unwrap_or_else(|_| "clang-19".into());
        let ar = clang.replace("clang", "llvm-ar");
        b.compiler(&clang).archiver(&ar).flag("--target=wasm32-unknown-unknown");
        b.flag("-ffreestanding").flag("-nostdlibinc");
        b.flag("-isystem").flag(csrc.join("include").to_str().unwrap());
        for f in ["-mbulk-memory", "-mnontrapping-fptoint", "-msign-ext", "-mmutable-globals"] {
            b.flag(f);
        }
        b.flag("-mexception-handling");
        if sjlj {
            b.flag("-mllvm").flag("-wasm-enable-sjlj");
        }
    }
    b.compile(name);
}

/// Where the `lua-src` build-dependency keeps Lua 5.4.9: asked of `cargo metadata`.
fn lua_source_dir() -> PathBuf {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = env::var("CARGO_MANIFEST_DIR").unwrap();
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline", "--manifest-path"])
        .arg(Path::new(&manifest).join("Cargo.toml"))
        .output()
        .expect("cargo metadata");
    let json = String::from_utf8_lossy(&out.stdout);
    let key = "\"manifest_path\":\"";
    for (i, _) in json.match_indices(key) {
        let rest = &json[i + key.len()..];
        let path = &rest[..rest.find('"').unwrap()];
        if path.contains("lua-src-") {
            let dir = Path::new(path).parent().unwrap().join("lua-5.4.9");
            println!("cargo:rerun-if-changed={}", dir.display());
            return dir;
        }
    }
    panic!("lua-src not found in `cargo metadata` output: {}", String::from_utf8_lossy(&out.stderr));
}
