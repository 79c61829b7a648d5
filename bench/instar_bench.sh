#!/usr/bin/env bash
# Start-to-result latency of `instar measure` and `instar info` per sandbox
# backend, next to qemu-img's on the same inputs in the same run, printed as
# ratios (instar mean / qemu-img mean), for wall time and for CPU time
# (user + system). `make bench-instar` runs it.
#
#   bench/instar_bench.sh [BUILD_DIR]
#
# BUILD_DIR defaults to ./build (it must hold vmm/instar, its helper and
# vmm/instar-guest.bin). Environment: QEMU_IMG (default: qemu-img on PATH),
# IMAGE (default: cases/images/qcow2-v3-64k.qcow2), RUNS (default 30),
# WARMUP (default 3). The kvm backend is measured only where /dev/kvm is
# usable. Needs hyperfine.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
instar="$build/vmm/instar"
qemu_img="${QEMU_IMG:-qemu-img}"
image="${IMAGE:-$root/cases/images/qcow2-v3-64k.qcow2}"
runs="${RUNS:-30}"
warmup="${WARMUP:-3}"

command -v hyperfine >/dev/null || { echo "instar_bench: hyperfine is not installed" >&2; exit 1; }
[[ -x "$instar" ]] || { echo "instar_bench: no instar at $instar (build it first)" >&2; exit 1; }
[[ -f "$image" ]] || { echo "instar_bench: no image at $image" >&2; exit 1; }

backends=(process emulated)
if "$instar" --sandbox=kvm measure --size 1G -O qcow2 >/dev/null 2>&1; then
  backends+=(kvm)
else
  echo "kvm: not measured ($("$instar" --sandbox=kvm measure --size 1G -O qcow2 2>&1 >/dev/null | head -1))"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# bench NAME QEMU_ARGS... : runs qemu-img and instar on every backend with
# the same arguments and prints mean times and ratios.
bench() {
  local name="$1"
  shift
  local commands=("$qemu_img $*")
  local backend
  for backend in "${backends[@]}"; do
    commands+=("$instar --sandbox=$backend $*")
  done
  hyperfine --style none --shell none --warmup "$warmup" --runs "$runs" \
    --export-csv "$tmp/$name.csv" "${commands[@]}" >/dev/null 2>&1
  echo
  echo "== $name: $*"
  # CSV columns: command, mean, stddev, median, user, system, min, max (s).
  # CPU time (user + system) is printed too: it is steadier than wall time
  # on a loaded machine.
  awk -F, '
    NR == 1 { next }
    {
      command = $1; mean = $2 * 1000; stddev = $3 * 1000; cpu = ($5 + $6) * 1000
      if (NR == 2) { base = mean; base_cpu = cpu; label = "qemu-img" }
      else { match(command, /--sandbox=[a-z]+/); label = "instar " substr(command, RSTART + 10, RLENGTH - 10) }
      printf "  %-16s wall %7.2f ms +- %6.2f  x%.2f   cpu %7.2f ms  x%.2f\n", label, mean, stddev, mean / base, cpu, cpu / base_cpu
    }' "$tmp/$name.csv"
}

echo "qemu-img: $("$qemu_img" --version | head -1)"
echo "image:    $image"
echo "runs:     $runs (warmup $warmup)"
bench measure measure --size 1G -O qcow2
bench measure-image measure -O qcow2 "$image"
bench info info "$image"
bench info-json info --output=json "$image"
