#!/usr/bin/env bash
# `instar create` against `qemu-img create`, measured in the same run on the
# same file system, per sandbox backend: for each case below, hyperfine's
# mean of each side and their ratio (instar mean / qemu-img mean; below 1 is
# instar faster). Each run writes a new image over the last (both tools
# replace the file). `make bench-create` runs it; docs/instar.md has the
# numbers measured here.
#
#   bench/create_bench.sh [BUILD_DIR]
#
# BUILD_DIR defaults to ./build (vmm/instar and its helper). Environment:
# QEMU_IMG (default: qemu-img on PATH), RUNS (default 10), WARMUP (default
# 2), BACKENDS (default: process, and kvm where instar's auto picks it),
# BENCH_DIR (where the images go; default a new directory under /var/tmp,
# a disk, not tmpfs). Needs hyperfine.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
instar="$build/vmm/instar"
qemu_img="${QEMU_IMG:-qemu-img}"
runs="${RUNS:-10}"
warmup="${WARMUP:-2}"

command -v hyperfine >/dev/null || { echo "create_bench: hyperfine is not installed" >&2; exit 1; }
[[ -x "$instar" ]] || { echo "create_bench: no instar at $instar (build it first)" >&2; exit 1; }

if [[ -n "${BACKENDS:-}" ]]; then
  read -r -a backends <<<"$BACKENDS"
else
  backends=(process)
  auto="$("$instar" --version | sed -n 's/^sandbox: //p')"
  if [[ "$auto" == kvm* ]]; then backends+=(kvm); else echo "kvm: not measured: $auto"; fi
fi

dir="${BENCH_DIR:-$(mktemp -d /var/tmp/instar-create-bench.XXXXXX)}"
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT

# format  size  options (one word, "-" for none)
cases=(
  "raw   1G -"
  "raw   1G preallocation=full"
  "qcow2 1G -"
  "qcow2 1G preallocation=metadata"
  "qcow2 1G cluster_size=4k,preallocation=metadata"
  "qcow2 1G preallocation=falloc"
  "vmdk  1G -"
  "vmdk  1G subformat=streamOptimized"
  "vpc   1G -"
  "vpc   1G subformat=fixed"
  "vhdx  1G -"
)

printf '%-8s %-5s %-5s %-42s %12s %12s %7s\n' backend fmt size options "qemu-img ms" "instar ms" ratio
for backend in "${backends[@]}"; do
  for row in "${cases[@]}"; do
    read -r format size options <<<"$row"
    opt=()
    [[ "$options" != "-" ]] && opt=(-o "$options")
    qemu_cmd="$qemu_img create -q -f $format ${opt[*]} $dir/q.img $size"
    instar_cmd="$instar --sandbox=$backend create -q -f $format ${opt[*]} $dir/i.img $size"
    json="$dir/result.json"
    hyperfine -N --style none --runs "$runs" --warmup "$warmup" --export-json "$json" \
      "$qemu_cmd" "$instar_cmd" >/dev/null
    read -r qemu_mean instar_mean < <(python3 - "$json" <<'EOF'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
print(results[0]["mean"] * 1000, results[1]["mean"] * 1000)
EOF
)
    printf '%-8s %-5s %-5s %-42s %12.1f %12.1f %7.2f\n' "$backend" "$format" "$size" "$options" \
      "$qemu_mean" "$instar_mean" "$(python3 -c "print($instar_mean / $qemu_mean)")"
  done
done
