#!/usr/bin/env bash
# coverage.sh: line coverage of the Rust code in core/ from the host test suite
# (`cargo test --release --all-features`), measured with rustc's -C instrument-coverage.
#
#   bash scripts/coverage.sh
#
# 1. Finds llvm-profdata and llvm-cov whose LLVM major version is rustc's (`rustc -vV`):
#    $LLVM_PROFDATA/$LLVM_COV if set, else the rustup component llvm-tools, else Debian's
#    llvm-N (/usr/lib/llvm-N/bin). If none is there it installs one: `rustup component add
#    llvm-tools`, then, if that fails, `apt-get install llvm-N`. Nothing when present.
#    (LLVM_PROFDATA=llvm-profdata-19 LLVM_COV=llvm-cov-19 gave the same figures as LLVM 22's
#    tools on 2026-11-22 with rustc 1.95, but an older LLVM is not sure to read newer profiles.)
# 2. Builds and runs the tests instrumented, in their own target dir ($COVERAGE_TARGET_DIR,
#    default ../cov-target beside the repo; target/ is never touched), with the raw profiles
#    in a temporary directory that is removed afterwards.
# 3. Merges the profiles and prints line coverage per file of core/ and the total. Lines of
#    #[cfg(test)] items (the unit-test modules) are left out; tests/, build.rs, Lua's C
#    sources (not instrumented) and std/crates.io code are not counted either. Files that
#    are compiled only for wasm32 have no host coverage and are listed by name.
#    Also writes $COVERAGE_TARGET_DIR/coverage/lcov.info (cfg(test) modules included).
# Exits non-zero if a test fails (no table is printed then) or a tool cannot be had.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
started=$SECONDS

target_dir=${COVERAGE_TARGET_DIR:-$(cd .. && pwd)/cov-target}
out_dir=$target_dir/coverage

host=$(rustc -vV | sed -n 's/^host: //p')
llvm_version=$(rustc -vV | sed -n 's/^LLVM version: //p')
llvm_major=${llvm_version%%.*}
sysroot_bin=$(rustc --print sysroot)/lib/rustlib/$host/bin

# major_of TOOL: the LLVM major version TOOL reports, or nothing.
major_of() { "$1" --version 2>/dev/null | sed -n 's/.*LLVM version \([0-9]*\).*/\1/p' | head -1; }

# pick DIR: use DIR's llvm-profdata and llvm-cov if both are there and match rustc's LLVM.
pick() {
  [ -x "$1/llvm-profdata" ] && [ -x "$1/llvm-cov" ] || return 1
  [ "$(major_of "$1/llvm-profdata")" = "$llvm_major" ] && [ "$(major_of "$1/llvm-cov")" = "$llvm_major" ] || return 1
  profdata=$1/llvm-profdata
  llvmcov=$1/llvm-cov
}

find_tools() {
  if [ -n "${LLVM_PROFDATA:-}" ] || [ -n "${LLVM_COV:-}" ]; then
    profdata=${LLVM_PROFDATA:?set both LLVM_PROFDATA and LLVM_COV}
    llvmcov=${LLVM_COV:?set both LLVM_PROFDATA and LLVM_COV}
    return 0
  fi
  pick "$sysroot_bin" || pick "/usr/lib/llvm-$llvm_major/bin"
}

if ! find_tools; then
  echo "coverage.sh: no llvm-profdata/llvm-cov for LLVM $llvm_major; installing the rustup component llvm-tools" >&2
  if command -v rustup > /dev/null; then
    to=()
    command -v timeout > /dev/null && to=(timeout 300)
    "${to[@]}" rustup component add llvm-tools >&2 || "${to[@]}" rustup component add llvm-tools-preview >&2 || true
  fi
  if ! find_tools && command -v apt-get > /dev/null; then
    echo "coverage.sh: the rustup component is not to be had; trying Debian's llvm-$llvm_major" >&2
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq >&2 || true
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "llvm-$llvm_major" >&2 || true
  fi
  if ! find_tools; then
    echo "coverage.sh: found no llvm-profdata and llvm-cov of LLVM $llvm_major (rustc's: $llvm_version)." >&2
    echo "  Older ones cannot read this rustc's profiles. Install the rustup component llvm-tools or" >&2
    echo "  Debian's llvm-$llvm_major, or point LLVM_PROFDATA and LLVM_COV at matching tools." >&2
    exit 1
  fi
fi
echo "coverage.sh: $("$profdata" --version | sed -n 's/.*LLVM version /LLVM /p' | head -1) tools: $profdata, $llvmcov"

profiles=$(mktemp -d "${TMPDIR:-/tmp}/cu-coverage.XXXXXX")
trap 'rm -rf "$profiles"' EXIT

export CARGO_TARGET_DIR=$target_dir
export RUSTFLAGS="${RUSTFLAGS:-} -C instrument-coverage"
# The release profile strips symbols; keep them (llvm-cov reads the coverage sections).
export CARGO_PROFILE_RELEASE_STRIP=false
export CARGO_PROFILE_BENCH_STRIP=false
# Set for the build too: instrumented build scripts would otherwise drop default_*.profraw
# into the repo.
export LLVM_PROFILE_FILE=$profiles/cu-%p-%m.profraw
cargo_args=(--release --all-features)

echo "coverage.sh: building instrumented tests in $target_dir"
objects=()
while IFS= read -r exe; do
  objects+=("$exe")
done < <(cargo test "${cargo_args[@]}" --no-run --message-format=json-render-diagnostics |
  python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        print(m["executable"])')
if [ "${#objects[@]}" -eq 0 ]; then
  echo "coverage.sh: cargo built no test executable" >&2
  exit 1
fi

echo "coverage.sh: running cargo test ${cargo_args[*]} (instrumented)"
cargo test "${cargo_args[@]}"

shopt -s nullglob
raw=("$profiles"/*.profraw)
shopt -u nullglob
if [ "${#raw[@]}" -eq 0 ]; then
  echo "coverage.sh: the tests wrote no profile" >&2
  exit 1
fi
mkdir -p "$out_dir"
"$profdata" merge -sparse "${raw[@]}" -o "$profiles/cu.profdata"

# One export per test binary, united below. One llvm-cov call over all binaries would keep
# only the first binary's record of each #[no_mangle] function (the unit-test build and the
# rlib both define them under the same name) and so depend on the order of the binaries.
: > "$out_dir/llvm-cov.stderr"
for o in "${objects[@]}"; do
  "$llvmcov" export --format=lcov --instr-profile="$profiles/cu.profdata" "$o" "$repo/core" \
    > "$profiles/$(basename "$o").info" 2> "$profiles/err" || { cat "$profiles/err" >&2; exit 1; }
  sed "s|^|llvm-cov ($(basename "$o")): |" "$profiles/err" >> "$out_dir/llvm-cov.stderr"
done

echo
echo "Line coverage of core/ (cargo test ${cargo_args[*]}; #[cfg(test)] modules excluded)"
python3 - "$repo" "$out_dir/lcov.info" "$profiles"/*.info <<'PY'
import os, re, sys

repo, merged, exports = sys.argv[1], sys.argv[2], sys.argv[3:]
core = os.path.join(repo, "core")

def test_lines(path):
    """Line numbers of #[cfg(test)] items: from the attribute to the item's end (a line
    holding only `}` at the item's indentation, or its first line if that ends in `;`)."""
    lines = open(path, encoding="utf-8").read().split("\n")
    skip, i = set(), 0
    while i < len(lines):
        m = re.match(r"(\s*)#\[cfg\(test\)\]\s*$", lines[i])
        if not m:
            i += 1
            continue
        indent, start, j = m.group(1), i, i + 1
        while j < len(lines) and re.match(r"\s*(#\[|//|$)", lines[j]):
            j += 1  # further attributes, comments, blank lines
        if j < len(lines) and not lines[j].rstrip().endswith(";"):
            while j < len(lines) and lines[j].rstrip() != indent + "}":
                j += 1
        skip.update(range(start + 1, j + 2))
        i = j + 1
    return skip

# A line is covered if any binary ran it. The rlib's functions have the same counts in every
# binary that links it (the profile merges them by name and hash), so take the maximum.
files = {}
for lcov in exports:
    name = None
    for line in open(lcov, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("SF:"):
            name = line[3:]
            files.setdefault(name, {})
        elif line.startswith("DA:") and name:
            n, count = line[3:].split(",")[:2]
            files[name][int(n)] = max(files[name].get(int(n), 0), int(count))
with open(merged, "w", encoding="utf-8") as out:
    for path in sorted(files):
        da = files[path]
        out.write(f"SF:{path}\n")
        out.writelines(f"DA:{n},{c}\n" for n, c in sorted(da.items()))
        out.write(f"LF:{len(da)}\nLH:{sum(1 for c in da.values() if c > 0)}\nend_of_record\n")

rows, tot, tot_hit, all_n, all_hit = [], 0, 0, 0, 0
for path in sorted(files):
    if not path.startswith(core + os.sep):
        continue
    da, skip = files[path], test_lines(path)
    all_n += len(da)
    all_hit += sum(1 for c in da.values() if c > 0)
    kept = {n: c for n, c in da.items() if n not in skip}
    n, hit = len(kept), sum(1 for c in kept.values() if c > 0)
    if n:
        rows.append((os.path.relpath(path, core), n, n - hit, hit))
        tot, tot_hit = tot + n, tot_hit + hit

pct = lambda hit, n: f"{100.0 * hit / n:6.2f}%" if n else "     -"
w = max([len(r[0]) for r in rows] + [5])
print(f"{'file':<{w}}  {'lines':>6}  {'missed':>6}  {'cover':>7}")
print("-" * (w + 25))
for f, n, missed, hit in rows:
    print(f"{f:<{w}}  {n:>6}  {missed:>6}  {pct(hit, n):>7}")
print("-" * (w + 25))
print(f"{'TOTAL':<{w}}  {tot:>6}  {tot - tot_hit:>6}  {pct(tot_hit, tot):>7}")
print(f"(with the #[cfg(test)] modules counted: {all_hit}/{all_n} lines, {pct(all_hit, all_n).strip()})")

seen = {os.path.relpath(p, core) for p in files}
absent = sorted(os.path.relpath(os.path.join(d, f), core)
                for d, _, fs in os.walk(core) for f in fs
                if f.endswith(".rs") and os.path.relpath(os.path.join(d, f), core) not in seen)
if absent:
    print("not compiled for the host (wasm32 only, or no executable code): " + ", ".join(absent))
PY
sort -u "$out_dir/llvm-cov.stderr"
echo "lcov (all binaries united, cfg(test) modules included): $out_dir/lcov.info"
echo "coverage.sh: done in $((SECONDS - started))s"
