#!/usr/bin/env node
// scripts/pad-call-indirect.mjs IN OUT: puts a `nop` after every `call_indirect` that a try
// boundary follows, in the functions that hold a `try`, for scripts/build.sh (the very last
// step: wasm-opt would remove the nop again). `--check IN` only counts the unpadded ones
// (exit 1 if any).
//
// Why: WebKit's wasm in-place interpreter (IPInt, JavaScriptCore's first tier; seen in
// WebKitGTK 2.50.6) records, for a `call_indirect`, the offset of the instruction AFTER the
// call as the frame's call site (its call_indirect advances the pc past the instruction,
// then calls a slow path through operationCallMayThrow, which saves the call site again).
// An exception thrown in the callee is then matched against the try blocks as if it came
// from that next instruction. When a `catch`/`end`/`delegate` closes the try right after the
// call, no handler matches and the exception leaves the function: in Cu, luaD_rawrunprotected
// calls the protected function with call_indirect as the last instruction of the try that
// clang's setjmp lowering emits, so a Lua error escaped cu_call as a JS exception until
// JavaScriptCore had compiled that function with its BBQ JIT (~300 calls). A `nop` right
// after the call is inside the same try, so IPInt's off-by-one-instruction call site lands
// in the right handler. Direct `call` saves the right offset; only call_indirect needs it.
// Small modules that show the behaviour: docs/ARCHITECTURE.md, "WebKit's wasm interpreter
// and exceptions".
//
// The code section is decoded instruction by instruction (the features build.sh enables:
// MVP, legacy exception handling, bulk memory, sign extension, non-trapping conversions,
// reference types, multi-value); an opcode outside them stops the build, rather than a
// guess. Only function bodies change (their sizes and the section's size re-encoded), so
// nothing else in the module refers to a moved byte.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { leb } from './leb128.mjs';

// Opcodes after which the instruction that follows a call_indirect may belong to another
// try (or none): else, try, catch, end, delegate, catch_all. (`end` of a plain block inside
// a try also fails in IPInt: checked.)
const BOUNDARY = new Set([0x05, 0x06, 0x07, 0x0b, 0x18, 0x19]);

/** The offsets (into `buf`) just after each call_indirect to pad, per function body. */
function scan(buf) {
  let pos = 8;
  const u32 = () => {
    let r = 0, shift = 0, b;
    do {
      b = buf[pos++];
      r += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return r;
  };
  const skipLeb = () => {
    while (buf[pos++] & 0x80);
  };
  let code = null;
  while (pos < buf.length) {
    const id = buf[pos++];
    const size = u32();
    if (id === 10) code = { start: pos, end: pos + size };
    pos += size;
  }
  if (!code) return { code: null, bodies: [] };
  pos = code.start;
  const bodies = [];
  for (let n = u32(), f = 0; f < n; f++) {
    const sizeAt = pos;
    const len = u32();
    const start = pos;
    const end = pos + len;
    for (let l = u32(), i = 0; i < l; i++) {
      u32();
      pos++; // one valtype byte (no GC types with these features)
    }
    let hasTry = false;
    const pads = [];
    while (pos < end) {
      const at = pos;
      const op = buf[pos++];
      if (op === 0x11) { // call_indirect typeidx tableidx
        skipLeb();
        skipLeb();
        if (BOUNDARY.has(buf[pos])) pads.push(pos);
        continue;
      }
      if (op === 0x06 || op === 0x18) hasTry = true;
      if (op <= 0x01 || op === 0x05 || op === 0x0b || op === 0x0f || op === 0x19 || op === 0x1a || op === 0x1b || op === 0xd1 ||
          (op >= 0x45 && op <= 0xc4)) continue; // no immediate
      if ((op >= 0x02 && op <= 0x04) || op === 0x06) skipLeb(); // block type (s33)
      else if ([0x07, 0x08, 0x09, 0x0c, 0x0d, 0x10, 0x12, 0x18, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x3f, 0x40, 0x41, 0x42, 0xd0, 0xd2].includes(op)) skipLeb();
      else if (op === 0x13) { skipLeb(); skipLeb(); } // return_call_indirect
      else if (op === 0x0e) { for (let k = u32(); k >= 0; k--) skipLeb(); } // br_table: targets + default
      else if (op === 0x1c) { for (let k = u32(); k > 0; k--) pos++; } // select t*
      else if (op >= 0x28 && op <= 0x3e) { skipLeb(); skipLeb(); } // memarg
      else if (op === 0x43) pos += 4;
      else if (op === 0x44) pos += 8;
      else if (op === 0xfc) {
        const sub = u32();
        if (sub <= 7 || sub === 9 || sub === 11 || sub === 13 || (sub >= 15 && sub <= 17)) { if (sub > 7) skipLeb(); }
        else if (sub === 8 || sub === 10 || sub === 12 || sub === 14) { skipLeb(); skipLeb(); }
        else throw new Error(`pad-call-indirect: unknown opcode 0xfc ${sub} at byte ${at}`);
      } else throw new Error(`pad-call-indirect: unknown opcode 0x${op.toString(16)} at byte ${at}`);
    }
    if (pos !== end) throw new Error(`pad-call-indirect: function ${f} decodes past its end`);
    bodies.push({ sizeAt, start, end, pads: hasTry ? pads : [] });
  }
  return { code, bodies };
}

/** `buf` with the nops in, and how many were added. */
export function pad(buf) {
  const { code, bodies } = scan(buf);
  const added = bodies.reduce((s, b) => s + b.pads.length, 0);
  if (!added) return { out: buf, added };
  const parts = [leb(bodies.length)];
  for (const b of bodies) {
    const pieces = [];
    let from = b.start;
    for (const p of b.pads) {
      pieces.push(buf.subarray(from, p), Buffer.from([0x01]));
      from = p;
    }
    pieces.push(buf.subarray(from, b.end));
    const body = Buffer.concat(pieces);
    parts.push(leb(body.length), body);
  }
  const content = Buffer.concat(parts);
  // The section id byte, then its size: find where that size LEB starts.
  let idAt = code.start - 1;
  while (buf[idAt - 1] & 0x80) idAt--;
  idAt--;
  const out = Buffer.concat([buf.subarray(0, idAt), Buffer.from([10]), leb(content.length), content, buf.subarray(code.end)]);
  return { out, added };
}

/** How many call_indirects in functions with a try still have a boundary right after them. */
export const unpadded = (buf) => scan(buf).bodies.reduce((s, b) => s + b.pads.length, 0);

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  if (args[0] === '--check' && args.length === 2) {
    const n = unpadded(readFileSync(args[1]));
    console.log(`pad-call-indirect: ${n} unpadded call_indirect in ${args[1]}`);
    process.exit(n ? 1 : 0);
  }
  if (args.length !== 2) {
    console.error('usage: node scripts/pad-call-indirect.mjs IN.wasm OUT.wasm | --check IN.wasm');
    process.exit(2);
  }
  const { out, added } = pad(readFileSync(args[0]));
  if (!WebAssembly.validate(out)) throw new Error('pad-call-indirect: the padded module does not validate');
  if (unpadded(out)) throw new Error('pad-call-indirect: padding left a call_indirect unpadded');
  writeFileSync(args[1], out);
  console.log(`pad-call-indirect: ${added} nop${added === 1 ? '' : 's'} added`);
}
