#!/usr/bin/env bash
# build.sh: the release build. Compiles the crate for wasm32-unknown-unknown, then runs
# wasm-opt -Oz (features named explicitly: `strip` removes the target_features section)
# and writes dist/cu.wasm, plus target/cu.names.wasm (same code, function names kept) for
# the size report.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_PROFILE_RELEASE_STRIP=false cargo build --release --target wasm32-unknown-unknown --lib
raw=target/wasm32-unknown-unknown/release/cu.wasm
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
wasm-metadce "${features[@]}" --debuginfo --graph-file "$graph" "$raw" -o target/cu.dce.wasm > /dev/null
wasm-opt -Oz "${features[@]}" --debuginfo target/cu.dce.wasm -o target/cu.names.wasm
wasm-opt "${features[@]}" --strip-debug --strip-producers --strip-target-features target/cu.names.wasm -o dist/cu.wasm
printf 'dist/cu.wasm: %s bytes, %s gzip\n' "$(stat -c %s dist/cu.wasm)" "$(gzip -9c dist/cu.wasm | wc -c)"
