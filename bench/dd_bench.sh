#!/usr/bin/env bash
# `instar dd` against `qemu-img dd`, measured in the same run on the same
# file system, per sandbox backend: a 1 GiB raw input (random bytes, so
# both tools read and write real data) copied to a new qcow2 with bs=64k and
# bs=1M; hyperfine's mean of each side and their ratio (instar mean /
# qemu-img mean; below 1 is instar faster). Before each run the outputs are
# removed and the file system synced, so that each run writes a new file
# with nothing of the last one's left to write back: qemu-img truncates an
# existing target and reuses its blocks, instar writes a new file and
# renames it over the target, and on this machine's disk writing freshly
# allocated blocks costs several times what rewriting freed ones does (a
# plain `dd` shows the same), which would otherwise be most of what is
# measured. `make bench-dd` runs it; docs/instar.md has the numbers
# measured here.
#
#   bench/dd_bench.sh [BUILD_DIR]
#
# BUILD_DIR defaults to ./build (vmm/instar and its helper). Environment:
# QEMU_IMG (default: qemu-img on PATH), RUNS (default 5), WARMUP (default
# 1), BACKENDS (default: process, and kvm where instar's auto picks it),
# BENCH_DIR (where the images go; default a new directory under /var/tmp,
# a disk, not tmpfs), SIZE (of the input, default 1G). Needs hyperfine.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
instar="$build/vmm/instar"
qemu_img="${QEMU_IMG:-qemu-img}"
runs="${RUNS:-5}"
warmup="${WARMUP:-1}"
size="${SIZE:-1G}"

command -v hyperfine >/dev/null || { echo "dd_bench: hyperfine is not installed" >&2; exit 1; }
[[ -x "$instar" ]] || { echo "dd_bench: no instar at $instar (build it first)" >&2; exit 1; }

if [[ -n "${BACKENDS:-}" ]]; then
  read -r -a backends <<<"$BACKENDS"
else
  backends=(process)
  auto="$("$instar" --version | sed -n 's/^sandbox: //p')"
  if [[ "$auto" == kvm* ]]; then backends+=(kvm); else echo "kvm: not measured: $auto"; fi
fi

dir="${BENCH_DIR:-$(mktemp -d /var/tmp/instar-dd-bench.XXXXXX)}"
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT

input="$dir/in.raw"
head -c "$size" /dev/urandom >"$input"

printf '%-8s %-10s %-6s %12s %12s %7s\n' backend copy bs "qemu-img ms" "instar ms" ratio
for backend in "${backends[@]}"; do
  for bs in 64k 1M; do
    qemu_cmd="$qemu_img dd -f raw -O qcow2 bs=$bs if=$input of=$dir/q.qcow2"
    instar_cmd="$instar --sandbox=$backend dd -f raw -O qcow2 bs=$bs if=$input of=$dir/i.qcow2"
    json="$dir/result.json"
    hyperfine -N --style none --runs "$runs" --warmup "$warmup" --export-json "$json" \
      --prepare "sh -c 'rm -f $dir/q.qcow2 $dir/i.qcow2; sync'" \
      "$qemu_cmd" "$instar_cmd" >/dev/null
    # hyperfine's --prepare removed the outputs: one more of each to compare.
    $qemu_cmd && $instar_cmd
    cmp "$dir/q.qcow2" "$dir/i.qcow2" || { echo "dd_bench: the outputs differ" >&2; exit 1; }
    read -r qemu_mean instar_mean < <(python3 - "$json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
print(results[0]["mean"] * 1000, results[1]["mean"] * 1000)
PY
)
    printf '%-8s %-10s %-6s %12.1f %12.1f %7.2f\n' "$backend" "raw>qcow2" "$bs" \
      "$qemu_mean" "$instar_mean" "$(python3 -c "print($instar_mean / $qemu_mean)")"
  done
done
