#!/usr/bin/env bash
# Start-to-result latency of `instar measure` and `instar info` per sandbox
# backend, next to qemu-img's on the same inputs in the same run, printed as
# ratios (instar mean / qemu-img mean), over every corpus image plus a 1 TiB
# qcow2 with one written cluster; then `instar-harness conform` of measure
# and info per backend. Ends with each backend's worst ratio against its
# target (kvm 0.7x, process 0.5x qemu-img per call; conform with kvm within
# 3x of process). `make bench-instar` runs it.
#
#   bench/instar_bench.sh [BUILD_DIR]
#
# BUILD_DIR defaults to ./build (it must hold vmm/instar, its helper,
# vmm/instar-guest.bin and harness/instar-harness). Environment: QEMU_IMG and
# QEMU_IO (default: qemu-img and qemu-io on PATH), RUNS (default 20), WARMUP
# (default 3), BACKENDS (default: process emulated, and kvm where instar's
# auto picks it). Needs hyperfine and xz.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
instar="$build/vmm/instar"
harness="$build/harness/instar-harness"
qemu_img="${QEMU_IMG:-qemu-img}"
qemu_io="${QEMU_IO:-qemu-io}"
runs="${RUNS:-20}"
warmup="${WARMUP:-3}"

command -v hyperfine >/dev/null || { echo "instar_bench: hyperfine is not installed" >&2; exit 1; }
[[ -x "$instar" ]] || { echo "instar_bench: no instar at $instar (build it first)" >&2; exit 1; }

if [[ -n "${BACKENDS:-}" ]]; then
  read -r -a backends <<<"$BACKENDS"
else
  backends=(process emulated)
  auto="$("$instar" --version | sed -n 's/^sandbox: //p')"
  if [[ "$auto" == kvm* ]]; then backends+=(kvm); else echo "kvm: not measured: $auto"; fi
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The inputs: the safe tier of the corpus (compressed images unpacked; the
# caution and malicious tiers are for conformance, not speed) and the 1 TiB
# qcow2.
images=()
for image in "$root"/cases/images/*; do
  case "$image" in
    *.json | */make-corpus | */poke | */craft-malicious | */mal-* | */caution-*) ;;
    *.xz)
      out="$tmp/$(basename "${image%.xz}")"
      xz -dc "$image" >"$out"
      images+=("$out")
      ;;
    *) images+=("$image") ;;
  esac
done
big="$tmp/1T-one-cluster.qcow2"
"$qemu_img" create -q -f qcow2 "$big" 1T
"$qemu_io" -c "write 0 64k" "$big" >/dev/null
images+=("$big")

# Per row: "NAME QEMU_MS BACKEND:MS..." in $tmp/rows, for the summary.
: >"$tmp/rows"

# bench NAME QEMU_ARGS... : runs qemu-img and instar on every backend with
# the same arguments and prints mean wall times and ratios.
bench() {
  local name="$1"
  shift
  local commands=("$qemu_img $*") backend
  for backend in "${backends[@]}"; do commands+=("$instar --sandbox=$backend $*"); done
  hyperfine --style none --shell none --warmup "$warmup" --runs "$runs" -i \
    --export-csv "$tmp/run.csv" "${commands[@]}" >/dev/null 2>&1
  # CSV columns: command, mean, stddev, median, user, system, min, max (s).
  awk -F, -v name="$name" -v rows="$tmp/rows" '
    NR == 1 { next }
    NR == 2 {
      base = $2 * 1000; line = sprintf("%-44s %8.2f", name, base)
      key = name; gsub(/ /, "_", key); row = key " " base; next
    }
    {
      match($1, /--sandbox=[a-z]+/); backend = substr($1, RSTART + 10, RLENGTH - 10)
      line = line sprintf("  %8.2f x%.2f", $2 * 1000, $2 * 1000 / base)
      row = row " " backend ":" $2 * 1000
    }
    END { print line; print row >> rows }' "$tmp/run.csv"
}

echo "qemu-img: $("$qemu_img" --version | head -1)"
echo "instar:   $("$instar" --version | tr '\n' ';')"
echo "runs:     $runs (warmup $warmup), mean wall time in ms and ratio to qemu-img"
printf '\n%-44s %8s' "command" "qemu-img"
for backend in "${backends[@]}"; do printf '  %14s' "$backend"; done
echo
bench "measure --size 1G -O qcow2" measure --size 1G -O qcow2
for image in "${images[@]}"; do
  bench "measure -O qcow2 $(basename "$image")" measure -O qcow2 "$image"
  bench "info $(basename "$image")" info "$image"
done

# Conformance of measure and info per backend (the profiles' cases).
conform_ms() {
  local backend="$1" start end
  start=$(date +%s%N)
  for command in measure info; do
    "$harness" conform --command "$command" --sandbox "$backend" >"$tmp/conform.log" 2>&1 || {
      echo "instar_bench: conform $command --sandbox $backend failed:" >&2
      tail -3 "$tmp/conform.log" >&2
    }
  done
  end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}
declare -A conform
if [[ -x "$harness" ]]; then
  echo
  for backend in "${backends[@]}"; do
    conform[$backend]=$(conform_ms "$backend")
    echo "conform measure + info, --sandbox $backend: ${conform[$backend]} ms"
  done
fi

echo
echo "summary (worst ratio over every row; targets from the kvm sandbox issue):"
for backend in "${backends[@]}"; do
  awk -v backend="$backend" '
    {
      for (i = 3; i <= NF; i++) {
        split($i, kv, ":")
        if (kv[1] != backend) continue
        ratio = kv[2] / $2
        if (ratio > worst) { worst = ratio; where = $1 }
        n++
      }
    }
    END {
      target = backend == "kvm" ? 0.7 : backend == "process" ? 0.5 : 0
      verdict = target == 0 ? "(no target)" : worst <= target ? "meets " target "x" : "MISSES " target "x"
      gsub(/_/, " ", where)
      printf "  %-8s worst x%.2f over %d rows (%s) %s\n", backend, worst, n, where, verdict
    }' "$tmp/rows"
done
if [[ -n "${conform[kvm]:-}" && -n "${conform[process]:-}" ]]; then
  awk -v k="${conform[kvm]}" -v p="${conform[process]}" 'BEGIN {
    printf "  conform  kvm / process x%.2f %s\n", k / p, k <= 3 * p ? "meets 3x" : "MISSES 3x" }'
fi
