//! Helpers shared by the integration tests (`mod common;` in each test file).
#![allow(dead_code)] // each test binary uses a different part

use cu::protocol::dispatch;
use cu::runtime::{Instance, Status};

/// The pages TAKE_PAGES gives (every one holding nodes) as a LOAD_PAGES request.
pub fn take_pages_request(inst: &mut Instance) -> Vec<u8> {
    let mut reply = Vec::new();
    assert_eq!(dispatch(inst, cu::store_ops::OP_TAKE_PAGES, &[], &mut reply), Status::Ok);
    // Reply: u32 2n, then (int page, string bytes) pairs.
    let n = u32::from_le_bytes(reply[..4].try_into().unwrap()) / 2;
    let mut req = n.to_le_bytes().to_vec();
    let mut p = 4;
    for _ in 0..n {
        assert_eq!(reply[p], 3);
        req.extend_from_slice(&reply[p + 1..p + 9]);
        p += 9;
        assert_eq!(reply[p], 5, "every page holds nodes");
        let len = u32::from_le_bytes(reply[p + 1..p + 5].try_into().unwrap()) as usize;
        req.extend_from_slice(&reply[p + 1..p + 5 + len]);
        p += 5 + len;
    }
    assert_eq!(p, reply.len());
    req
}

/// A COMPUTE request for `src`, chunk name `=t`.
pub fn named(src: &str) -> Vec<u8> {
    let mut r = vec![0u8];
    r.extend_from_slice(&2u16.to_le_bytes());
    r.extend_from_slice(b"=t");
    r.extend_from_slice(src.as_bytes());
    r
}

/// Runs `src`; returns the status and the reply as lossy text.
pub fn run(inst: &mut Instance, src: &str) -> (Status, String) {
    let mut reply = Vec::new();
    let s = dispatch(inst, 1, &named(src), &mut reply);
    (s, String::from_utf8_lossy(&reply).into_owned())
}

/// Runs `src`, which must succeed (its asserts hold).
pub fn ok(inst: &mut Instance, src: &str) {
    let (s, r) = run(inst, src);
    assert_eq!(s, Status::Ok, "{src}\n{r}");
}

/// Runs `src`, which must fail with `status` and a message containing `text`; the reply.
pub fn fails(inst: &mut Instance, src: &str, status: Status, text: &str) -> String {
    let (s, r) = run(inst, src);
    assert_eq!(s, status, "{src}\n{r}");
    assert!(r.contains(text), "{src}: {r:?} lacks {text:?}");
    r
}

/// splitmix64: the tests' seeded, reproducible randomness. Test files add their own helpers
/// in `impl Rng` blocks of their own.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in 0..n (0 when n is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    /// `below` for indices and lengths.
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.index(xs.len())]
    }
}

/// Adler-32 (RFC 1950), written out plainly: what page and codec checksums must be.
pub fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + x as u32) % 65521;
        b = (b + a) % 65521;
    }
    b << 16 | a
}

/// A plain codec encoding of `body` (header as docs/FORMAT.md, checksum included; the body
/// is not decoded by the tests that use it): what the store keeps as a blob.
pub fn encoding(body: &[u8]) -> Vec<u8> {
    let mut e = vec![0x1b, b'C', b'u', b'V', 1, 0, 0x54, 0];
    e.extend_from_slice(&(body.len() as u32).to_le_bytes());
    let sum = adler32(&[&e[..], body].concat());
    e.extend_from_slice(&sum.to_le_bytes());
    e.extend_from_slice(body);
    e
}

/// Runs `op` with `request` on `inst`: the status and the reply.
pub fn call(inst: &mut cu::runtime::Instance, op: u32, request: &[u8]) -> (cu::runtime::Status, Vec<u8>) {
    let mut reply = Vec::new();
    let s = cu::protocol::dispatch(inst, op, request, &mut reply);
    (s, reply)
}

/// Runs Lua code (a COMPUTE request named `=t`), which must succeed.
pub fn lua_ok(inst: &mut cu::runtime::Instance, src: &str) {
    let req = [&[0u8, 2, 0][..], b"=t", src.as_bytes()].concat();
    let (s, r) = call(inst, 1, &req);
    assert_eq!(s, cu::runtime::Status::Ok, "{src}: {}", String::from_utf8_lossy(&r));
}
