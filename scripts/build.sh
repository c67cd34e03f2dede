#!/usr/bin/env bash
# build.sh: the release build. Compiles the crate for wasm32-unknown-unknown, then runs
# wasm-opt -Oz --converge (features named explicitly: `strip` removes the target_features section)
# and writes dist/cu.wasm, plus target/cu.names.wasm (same source, function names kept) for
# the size report. CU_FEATURES=... adds cargo features (for experiments).
set -euo pipefail
cd "$(dirname "$0")/.."
# Rust's inliner at threshold 13 instead of opt-level "z"'s 5 (measured on the whole pipeline:
# 5 -> 333,267 bytes / 156,712 gzip, 10 -> 156,647, 12 to 15 -> 332,011 / 156,108, 17 to 25
# larger than 5): a few more small helpers (drops, slice splits, Store::path_of) inlined where
# that shrinks their callers. The variable is cargo's own; RUSTFLAGS, if set, replaces it.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="${CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS:--C llvm-args=-inline-threshold=13}"
CARGO_PROFILE_RELEASE_STRIP=false cargo build --release --target wasm32-unknown-unknown --lib ${CU_FEATURES:+--features "$CU_FEATURES"}
raw=target/wasm32-unknown-unknown/release/cu.wasm
# target/cu.csyms.tsv: "function<TAB>C file" for every function the C archives define, so the
# size report can charge C code to its source file (the newest build-script output is this
# build's). Without llvm-nm the file is left out and the report shows C as one group.
out=$(ls -td target/wasm32-unknown-unknown/release/build/cu-*/out | head -1)
rm -f target/cu.csyms.tsv
if command -v "${CU_NM:-llvm-nm-19}" > /dev/null; then
  for a in "$out"/*.a; do "${CU_NM:-llvm-nm-19}" --defined-only -A "$a"; done |
    awk '$(NF-1) ~ /^[tTW]$/ { n = split($1, p, ":"); f = p[n - 1]; sub(/^[0-9a-f]+-/, "", f);
                               sub(/\.o$/, "", f); print $NF "\t" f }' > target/cu.csyms.tsv
fi
features=(--enable-exception-handling --enable-bulk-memory --enable-sign-ext
          --enable-nontrapping-float-to-int --enable-mutable-globals --enable-multivalue
          --enable-reference-types)
# Every #[no_mangle] Rust function (the libc shims too) becomes an export of a cdylib;
# keep only the module's real interface (docs/ARCHITECTURE.md, "Exports") so the rest can
# be inlined or dropped.
exports=(memory cu_buffer cu_init cu_push cu_call cu_reply_size cu_pull cu_output_size
         cu_fail_alloc cu_close)
graph=target/cu.exports.json
{
  printf '['
  sep=''
  for e in "${exports[@]}"; do
    printf '%s{"name":"%s","root":true,"export":"%s"}' "$sep" "$e" "$e"
    sep=','
  done
  printf ']'
} > "$graph"
mkdir -p dist
wasm-metadce "${features[@]}" --debuginfo --graph-file "$graph" "$raw" -o target/cu.meta.wasm > /dev/null
# Rust's panic-message builders trap at once instead of filling a message nobody formats
# (scripts/stub-panics.mjs says why that changes nothing observable): -860 B gzip.
node scripts/stub-panics.mjs target/cu.meta.wasm target/cu.dce.wasm
# dist/cu.wasm: every name and DWARF section stripped BEFORE -Oz (measured: optimizing with
# names kept and stripping afterwards leaves ~11 KB more code, 2.5 KB gzip, because names
# keep binaryen from merging identical functions).
wasm-opt "${features[@]}" --strip-debug --strip-producers --strip-target-features target/cu.dce.wasm -o target/cu.stripped.wasm
# --converge repeats -Oz until the module stops shrinking (measured: 263 bytes, 167 gzip, for
# ~3 s more build time).
# --low-memory-unused lets binaryen fold `ptr + C` (C < 1024) into the load/store offset
# (measured: -1,634 bytes, -685 gzip). It assumes nothing valid lives below address 1024;
# here the shadow stack comes first (0 to 256 KiB, growing down) and the data starts at
# 256 KiB, so the two forms differ only when `ptr + C` wraps past 4 GiB, which no valid
# pointer does: such an access traps instead of touching the stack's bottom.
opt=(-Oz --converge --low-memory-unused)
wasm-opt "${opt[@]}" "${features[@]}" target/cu.stripped.wasm -o dist/cu.wasm
# target/cu.names.wasm: the same source optimized with function names kept, for the size
# report's list of the largest functions and its bytes by feature. -ocimfs=0 keeps binaryen
# from inlining functions that have one caller (which piles the op handlers into cu_call, 22 KB):
# each stays under its own name, so its bytes are charged to its module. The module is ~1%
# larger than it would be with them inlined; dist/cu.wasm is built as above.
wasm-opt "${features[@]}" --debuginfo --strip-dwarf target/cu.dce.wasm -o target/cu.named.wasm
wasm-opt "${opt[@]}" -ocimfs=0 "${features[@]}" --debuginfo target/cu.named.wasm -o target/cu.names.wasm
# Last, after every wasm-opt (which would drop it): a nop after the call_indirect that ends
# Lua's protected-call try, or WebKit's wasm interpreter lets a Lua error escape it
# (scripts/pad-call-indirect.mjs says why): +1 byte.
node scripts/pad-call-indirect.mjs dist/cu.wasm dist/cu.wasm
node scripts/pad-call-indirect.mjs target/cu.names.wasm target/cu.names.wasm
printf 'dist/cu.wasm: %s bytes, %s gzip\n' "$(stat -c %s dist/cu.wasm)" "$(gzip -9c dist/cu.wasm | wc -c)"
