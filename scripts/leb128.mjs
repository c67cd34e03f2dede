// scripts/leb128.mjs: the unsigned LEB128 encoder the wasm post-processing scripts
// (stub-panics.mjs, pad-call-indirect.mjs) share: sizes and counts in a module's sections.

/** `n` (an unsigned 32-bit integer) as unsigned LEB128 bytes. */
export const leb = (n) => {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return Buffer.from(out);
};
