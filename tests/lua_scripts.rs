//! Runs every Lua behaviour script in test-harness/lua/ on the host build of the runtime
//! (the same scripts run in the wasm module through Node, and natively under lua5.4).
//! A script passes when it runs to the end without an error.

use cu::protocol::{dispatch, OP_COMPUTE, OP_OUTPUT};
use cu::runtime::{Instance, Status};
use std::path::Path;

#[test]
fn every_lua_script_passes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test-harness/lua");
    let mut scripts: Vec<_> = std::fs::read_dir(&dir)
        .expect("test-harness/lua")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "lua"))
        .collect();
    scripts.sort();
    assert!(scripts.len() >= 10, "expected the behaviour scripts in {}", dir.display());
    let mut failed = Vec::new();
    for path in &scripts {
        let name = format!("@{}", path.file_name().unwrap().to_string_lossy());
        let src = std::fs::read(path).unwrap();
        let mut req = vec![0u8];
        req.extend_from_slice(&(name.len() as u16).to_le_bytes());
        req.extend_from_slice(name.as_bytes());
        req.extend_from_slice(&src);
        let mut inst = Instance::new(8 << 20, 1_000_000_000, [11, 13]).unwrap();
        let mut reply = Vec::new();
        let status = dispatch(&mut inst, OP_COMPUTE, &req, &mut reply);
        if status != Status::Ok {
            let error = String::from_utf8_lossy(&reply).into_owned();
            dispatch(&mut inst, OP_OUTPUT, &[], &mut reply);
            failed.push(format!("{name}: {status:?}\n{error}\noutput: {}", String::from_utf8_lossy(&reply)));
        }
    }
    assert!(failed.is_empty(), "{} of {} scripts failed:\n{}", failed.len(), scripts.len(), failed.join("\n\n"));
}
