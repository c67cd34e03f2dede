#!/usr/bin/env node
// scripts/stub-panics.mjs IN OUT: replaces the bodies of Rust's panic-message builders with a
// bare `unreachable`, for scripts/build.sh (between wasm-metadce and wasm-opt).
//
// Why this changes nothing observable: Cu's #[panic_handler] (core/lib.rs) traps at once and
// never formats the message, so every path into core::panicking ends in that trap; the
// builders only fill a fmt::Arguments on the shadow stack first. Stubbed, they trap at once
// (before touching the stack), wasm-opt then drops their now unused arguments at every call
// site, and the integer Display impl those messages referenced (only reachable through
// core::fmt::write, which is not in the module: checked below) is stubbed too.
// The functions are found by their (mangled) names in the module's name section, so IN
// must keep names (wasm-metadce --debuginfo does).
//
// It also zeroes the panics' source locations in the data section: every
// core::panic::Location (file &str, line, column: 16 bytes) and the `.rs` paths they name.
// Only the panic machinery reads a Location (Cu has no `file!()`, `Location::caller()` or
// #[track_caller] of its own), and the panic handler ignores its PanicInfo, so no byte of
// them is ever read; zeroed, wasm-opt's memory packing drops them from the data segments
// (measured: 284 locations and 33 paths, -5,408 bytes raw, -1,405 gzip).
import { readFileSync, writeFileSync } from 'node:fs';
import { leb } from './leb128.mjs';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node scripts/stub-panics.mjs IN.wasm OUT.wasm');
  process.exit(2);
}
const buf = readFileSync(input);

/** Which functions to stub: all of them only ever end in the panic handler's trap. */
const H = '(17h[0-9a-f]{16}E)?$'; // the hash suffix of a legacy-mangled name (v0 has none)
const STUB = [
  '4core9panicking9panic_fmt',            // core::panicking::panic_fmt
  '4core9panicking18panic_bounds_check',  // core::panicking::panic_bounds_check
  '4core9panicking5panic',                // core::panicking::panic
  '4core5slice5index16slice_index_fail',  // core::slice::index::slice_index_fail
  '5alloc5alloc18handle_alloc_error',     // alloc::alloc::handle_alloc_error (panics: no
                                          // #[alloc_error_handler] exists on stable)
  '4core3fmt3num3imp.*7Display3fmt',      // <u32 as core::fmt::Display>::fmt
].map((s) => new RegExp(s + H));
/** If any of these exists, formatting can really happen: stub nothing of core::fmt. */
const FMT_WRITERS = [/core3fmt5write/, /Formatter[0-9]+(pad|write_str|write_fmt)(?![_a-z])/];

let pos = 0;
const u32 = () => {
  let r = 0, shift = 0, b;
  do {
    b = buf[pos++];
    r |= (b & 0x7f) << shift;
    shift += 7;
  } while (b & 0x80);
  return r >>> 0;
};
const name = () => {
  const n = u32();
  const s = buf.toString('utf8', pos, pos + n);
  pos += n;
  return s;
};

// Pass 1: sections, the imported-function count and the function names.
pos = 8;
const sections = [];
let imported = 0;
const names = new Map();
while (pos < buf.length) {
  const id = buf[pos++];
  const size = u32();
  const start = pos;
  sections.push({ id, start, end: start + size });
  if (id === 2) {
    for (let n = u32(), i = 0; i < n; i++) {
      name();
      name();
      const kind = buf[pos++];
      if (kind === 0) {
        imported++;
        u32();
      } else if (kind === 1) {
        pos++;
        if (buf[pos++] & 1) u32();
        u32();
      } else if (kind === 2) {
        if (buf[pos++] & 1) u32();
        u32();
      } else if (kind === 3) {
        pos += 2;
      } else if (kind === 4) {
        pos++;
        u32();
      } else throw new Error(`unknown import kind ${kind}`);
    }
  } else if (id === 0 && name() === 'name') {
    while (pos < start + size) {
      const sub = buf[pos++];
      const len = u32();
      const end = pos + len;
      if (sub === 1) for (let n = u32(), i = 0; i < n; i++) names.set(u32(), name());
      pos = end;
    }
  }
  pos = start + size;
}
if (names.size === 0) throw new Error(`${input} has no function names`);

const all = [...names.values()];
const fmtLive = all.some((n) => FMT_WRITERS.some((re) => re.test(n)));
const stub = new Set();
for (const [idx, n] of names) {
  if (STUB.some((re) => re.test(n)) && !(fmtLive && /4core3fmt/.test(n))) stub.add(idx);
}

// Pass 2: rewrite the code section with those bodies replaced by `unreachable`.
const code = sections.find((s) => s.id === 10);
pos = code.start;
const count = u32();
const bodies = [];
let stubbed = [];
for (let i = 0; i < count; i++) {
  const len = u32();
  const idx = imported + i;
  if (stub.has(idx)) {
    bodies.push(Buffer.from([0x03, 0x00, 0x00, 0x0b])); // size 3: no locals, unreachable, end
    stubbed.push(names.get(idx));
  } else {
    bodies.push(buf.subarray(pos - leb(len).length, pos + len));
  }
  pos += len;
}
const zeroed = zeroLocations();
const content = Buffer.concat([Buffer.from(leb(count)), ...bodies]);
const out = Buffer.concat([
  buf.subarray(0, code.start - 1 - leb(code.end - code.start).length),
  Buffer.from([10, ...leb(content.length)]),
  content,
  buf.subarray(code.end),
]);
writeFileSync(output, out);
console.log(
  `stub-panics: ${stubbed.length} bodies replaced${fmtLive ? ' (core::fmt is live: its functions kept)' : ''}; ` +
    `${zeroed.locations} panic locations and ${zeroed.paths} paths zeroed (${zeroed.bytes} bytes)`,
);

/** Zeroes every panic Location record and its `.rs` path, in place in `buf` (same sizes:
 *  the data section keeps its layout). A Location is 4-aligned: a pointer to a string of
 *  4..300 bytes that is a path ending in `.rs` and its length, then a line and a column
 *  (both 1-based and small). Returns what it zeroed. */
function zeroLocations() {
  const data = sections.find((s) => s.id === 11);
  if (!data) return { locations: 0, paths: 0, bytes: 0 };
  const segs = []; // active segments: { addr, pos (in buf), len }
  pos = data.start;
  for (let n = u32(), i = 0; i < n; i++) {
    const flags = u32();
    let addr = null;
    if (flags === 2) u32(); // memory index
    if (flags !== 1) {
      if (buf[pos++] !== 0x41) throw new Error('data segment offset is not an i32.const');
      addr = u32(); // a linked module's offsets are small positive numbers: LEB = SLEB
      if (buf[pos++] !== 0x0b) throw new Error('data segment offset expression too long');
    }
    const len = u32();
    if (addr !== null) segs.push({ addr, pos, len });
    pos += len;
  }
  const where = (addr, n) => {
    for (const s of segs) if (addr >= s.addr && addr + n <= s.addr + s.len) return s.pos + addr - s.addr;
    return -1;
  };
  const word = (addr) => {
    const at = where(addr, 4);
    return at < 0 ? -1 : buf.readUInt32LE(at);
  };
  const found = []; // [position in buf, length]
  const paths = new Map(); // position -> length
  for (const s of segs) {
    for (let a = s.addr + ((4 - (s.addr % 4)) % 4); a + 16 <= s.addr + s.len; a += 4) {
      const len = word(a + 4);
      if (len < 4 || len > 300) continue;
      const at = where(word(a), len);
      if (at < 0 || !/^[\w./-]+\.rs$/.test(buf.toString('latin1', at, at + len))) continue;
      const line = word(a + 8);
      const col = word(a + 12);
      if (line < 1 || line > 100000 || col < 1 || col > 1000) continue;
      found.push([where(a, 16), 16]);
      paths.set(at, len);
      a += 12;
    }
  }
  let bytes = 0;
  for (const [at, len] of [...found, ...paths]) {
    buf.fill(0, at, at + len);
    bytes += len;
  }
  return { locations: found.length, paths: paths.size, bytes };
}
