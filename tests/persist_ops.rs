//! The function-persistence ops through the protocol, on the host (feature "persistence"):
//! SERIALIZE → DESERIALIZE across instances, LOAD_BYTECODE through the validator,
//! PERSIST_FUNCTION and `Memory`, and each failure's status.
#![cfg(feature = "persistence")]

use cu::protocol::{dispatch, OP_COMPUTE, OP_DESERIALIZE, OP_LOAD_BYTECODE, OP_PERSIST_FUNCTION, OP_SERIALIZE};
use cu::runtime::{Instance, Status};

fn named(flags: u8, name: &[u8], body: &[u8]) -> Vec<u8> {
    let mut r = vec![flags];
    r.extend_from_slice(&(name.len() as u16).to_le_bytes());
    r.extend_from_slice(name);
    r.extend_from_slice(body);
    r
}

fn new() -> Box<Instance> {
    Instance::new(0, 100_000_000, [3, 4]).unwrap()
}

fn op(inst: &mut Instance, op: u32, req: &[u8]) -> (Status, Vec<u8>) {
    let mut reply = Vec::new();
    let s = dispatch(inst, op, req, &mut reply);
    (s, reply)
}

/// Runs `src` and returns its first result as an integer (tag 3), panicking otherwise.
fn int(inst: &mut Instance, src: &str) -> i64 {
    let (s, r) = op(inst, OP_COMPUTE, &named(0, b"=t", src.as_bytes()));
    assert_eq!(s, Status::Ok, "{src}: {}", String::from_utf8_lossy(&r));
    assert_eq!(r[4], 3, "{src}: not an integer");
    i64::from_le_bytes(r[5..13].try_into().unwrap())
}

#[test]
fn serialize_then_deserialize_in_another_instance() {
    let (mut a, mut b) = (new(), new());
    let (s, bytes) = op(&mut a, OP_SERIALIZE, &named(0, b"", b"local n = 10 return function() n = n + 1 return n end"));
    assert_eq!(s, Status::Ok);
    assert_eq!(op(&mut b, OP_DESERIALIZE, &named(0, b"counter", &bytes)).0, Status::Ok);
    assert_eq!(int(&mut b, "counter() return counter()"), 12);
}

#[test]
fn failures_have_their_own_status() {
    let mut a = new();
    assert_eq!(op(&mut a, OP_SERIALIZE, &named(0, b"", b"return { out = io.stdout }")).0, Status::NotSerializable);
    assert_eq!(op(&mut a, OP_SERIALIZE, &named(0, b"", b"return +")).0, Status::LuaSyntax);
    let (_, mut bytes) = op(&mut a, OP_SERIALIZE, &named(0, b"", b"return { 1, 2, 3 }"));
    *bytes.last_mut().unwrap() ^= 0xff;
    assert_eq!(op(&mut a, OP_DESERIALIZE, &named(0, b"x", &bytes)).0, Status::BadData);
    assert_eq!(op(&mut a, OP_DESERIALIZE, &named(0, b"x", b"junk")).0, Status::BadData);
    assert_eq!(op(&mut a, OP_DESERIALIZE, &named(0, b"", b"junk")).0, Status::BadArgument);
    assert_eq!(int(&mut a, "return 7"), 7);
}

#[test]
fn load_bytecode_validates() {
    let mut a = new();
    let (s, r) = op(&mut a, OP_COMPUTE, &named(0, b"=t", b"return string.dump(function(a, b) return a * b end)"));
    assert_eq!(s, Status::Ok);
    let chunk = r[9..].to_vec(); // u32 count, tag 5, u32 len, bytes
    assert_eq!(op(&mut a, OP_LOAD_BYTECODE, &named(0, b"mul", &chunk)).0, Status::Ok);
    assert_eq!(int(&mut a, "return mul(6, 7)"), 42);
    let (s, r) = op(&mut a, OP_LOAD_BYTECODE, &named(0, b"bad", &chunk[..chunk.len() - 4]));
    assert_eq!(s, Status::BadBytecode);
    assert!(String::from_utf8_lossy(&r).contains("rule"));
    assert_eq!(op(&mut a, OP_LOAD_BYTECODE, &named(0, b"src", b"return 1")).0, Status::BadBytecode);
}

#[test]
fn persist_function_and_memory() {
    let mut a = new();
    let mut rest = named(0, b"calculate", b"function(x, y) return x * y + 1 end");
    rest.remove(0);
    assert_eq!(op(&mut a, OP_PERSIST_FUNCTION, &named(0, b"Memory", &rest)).0, Status::Ok);
    assert_eq!(int(&mut a, "return Memory.calculate(5, 3)"), 16);
    assert_eq!(int(&mut a, "local k = 2 Memory.double = function(x) return x * k end return _home.double(21)"), 42);
    let (s, r) = op(&mut a, OP_COMPUTE, &named(0, b"=t", b"Memory.h = io.stdout"));
    assert_eq!(s, Status::LuaRuntime);
    assert!(String::from_utf8_lossy(&r).contains("Memory.h"));
    let mut not_fn = named(0, b"n", b"42");
    not_fn.remove(0);
    assert_eq!(op(&mut a, OP_PERSIST_FUNCTION, &named(0, b"Memory", &not_fn)).0, Status::NotAFunction);
    let mut syntax = named(0, b"s", b"function( end");
    syntax.remove(0);
    assert_eq!(op(&mut a, OP_PERSIST_FUNCTION, &named(0, b"Memory", &syntax)).0, Status::LuaSyntax);
    assert_eq!(int(&mut a, "return (Memory.n == nil and Memory.s == nil) and 1 or 0"), 1);
    // Any table path: created when missing, NOT_A_TABLE through a value.
    assert_eq!(op(&mut a, OP_PERSIST_FUNCTION, &named(0, b"Memory.fns", &rest)).0, Status::Ok);
    assert_eq!(int(&mut a, "return ext.table('fns').calculate(2, 3)"), 7);
    assert_eq!(op(&mut a, OP_PERSIST_FUNCTION, &named(0, b"calculate.x", &rest)).0, Status::NotATable);
}
