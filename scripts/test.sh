#!/usr/bin/env bash
# test.sh: the one command that runs every test.
#   1. cargo test --release on the host (the whole workspace: unit tests and tests/*.rs)
#   2. bash scripts/build.sh (dist/cu.wasm, target/cu.names.wasm)
#   3. node --test over test-harness/node/*.test.mjs and test-harness/browser/*.test.mjs
#   4. node size-report/report.mjs (fails when a size budget is exceeded)
#   5. tsc --noEmit on test-harness/types (the TypeScript declarations against a typed
#      example, resolved as Node and as bundlers resolve the package)
# Every step runs even when an earlier one failed, except that steps 3 and 4 need step 2.
# Exits non-zero if any step failed.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
failed=()
passed=()
header() { printf '\n==================== %s ====================\n' "$*"; }
# run NAME CMD...: runs one step, recording whether it passed.
run() {
  local name=$1 t0=$SECONDS
  shift
  header "$name"
  if "$@"; then
    passed+=("$name")
    printf -- '--- %s: ok (%ds)\n' "$name" "$((SECONDS - t0))"
  else
    local rc=$?
    failed+=("$name")
    printf -- '--- %s: FAILED with exit code %d (%ds)\n' "$name" "$rc" "$((SECONDS - t0))"
  fi
}

node_tests() {
  local files=()
  shopt -s nullglob
  files=(test-harness/node/*.test.mjs test-harness/browser/*.test.mjs)
  shopt -u nullglob
  if [ "${#files[@]}" -eq 0 ]; then
    echo "no test files found: test-harness/node/*.test.mjs, test-harness/browser/*.test.mjs" >&2
    return 1
  fi
  printf 'test files:\n'
  printf '  %s\n' "${files[@]}"
  node --test --test-reporter=spec "${files[@]}"
}

# glue.d.ts, idb.d.ts and file-store.d.ts checked by test-harness/types/example.ts, imported
# as `cu-lua` (package.json "exports"), once per module resolution.
types_check() {
  npx --no-install tsc -p test-harness/types --noEmit &&
    npx --no-install tsc -p test-harness/types/tsconfig.bundler.json --noEmit
}

run "cargo test --release (host)" cargo test --release --workspace --all-features
nfailed=${#failed[@]}
run "build (scripts/build.sh)" bash scripts/build.sh
if [ "${#failed[@]}" -eq "$nfailed" ] && [ -f dist/cu.wasm ]; then
  run "node --test" node_tests
  run "size report" node size-report/report.mjs
else
  echo "the build failed: skipping the node tests and the size report" >&2
  failed+=("node --test (skipped)" "size report (skipped)")
fi

run "tsc --noEmit (TypeScript declarations)" types_check

header "summary ($((SECONDS - started))s)"
for s in "${passed[@]+"${passed[@]}"}"; do printf '  ok      %s\n' "$s"; done
for s in "${failed[@]+"${failed[@]}"}"; do printf '  FAILED  %s\n' "$s"; done
if [ "${#failed[@]}" -gt 0 ]; then
  printf 'test.sh: %d step(s) failed\n' "${#failed[@]}"
  exit 1
fi
echo "test.sh: all steps passed"
