#!/usr/bin/env bash
# `instar convert` against `qemu-img convert`, measured in the same run on
# the same file system, per sandbox backend. The input is a 1 GiB disk of
# which half is random data and half zeros, in alternating 1 MiB pieces,
# written out in full as a raw file (so the zeros are data the sparse
# detection must find), and the same disk as the qcow2 qemu-img makes of
# it (where the zeros are unallocated). The conversions are issue 14's:
# raw > qcow2, qcow2 > raw and qcow2 > vmdk, each without and (where the
# target compresses) with -c. The two commands run in turn, qemu-img then
# instar and the other way round the next time, so both meet the machine in
# the same states (hyperfine's series of one command and then the other
# gave process raw > qcow2 1.36 where runs in turn gave 0.97-1.15); the
# median of each side and their ratio of throughputs (qemu-img median /
# instar median: at or above 1 is instar as fast or faster): the median,
# for a run now and then meets the kernel writing back the run before (a
# mean took in runs of 3 times the others, on either side). Before each
# run the outputs are removed and the file system synced (see dd_bench.sh
# for why). Every pair of outputs is then compared with qemu-img compare.
# `make bench-convert` runs it;
# docs/instar.md has the numbers measured here.
#
#   bench/convert_bench.sh [BUILD_DIR]
#
# BUILD_DIR defaults to ./build. Environment: QEMU_IMG (default: qemu-img
# on PATH), RUNS (default 3), WARMUP (default 1), BACKENDS (default:
# process, and kvm where instar's auto picks it), BENCH_DIR (default a new
# directory under /var/tmp), SIZE_MIB (default 1024), CASES (a subset of
# the case names below). Needs python3.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
instar="$build/vmm/instar"
qemu_img="${QEMU_IMG:-qemu-img}"
runs="${RUNS:-3}"
warmup="${WARMUP:-1}"
size_mib="${SIZE_MIB:-1024}"

[[ -x "$instar" ]] || { echo "convert_bench: no instar at $instar (build it first)" >&2; exit 1; }

if [[ -n "${BACKENDS:-}" ]]; then
  read -r -a backends <<<"$BACKENDS"
else
  backends=(process)
  auto="$("$instar" --version | sed -n 's/^sandbox: //p')"
  if [[ "$auto" == kvm* ]]; then backends+=(kvm); else echo "kvm: not measured: $auto"; fi
fi

dir="${BENCH_DIR:-$(mktemp -d /var/tmp/instar-convert-bench.XXXXXX)}"
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT

python3 - "$dir/in.raw" "$size_mib" <<'PY'
import os, sys
mib = 1 << 20
with open(sys.argv[1], "wb") as f:
    for i in range(int(sys.argv[2])):
        f.write(os.urandom(mib) if i % 2 == 0 else bytes(mib))
PY
"$qemu_img" convert -f raw -O qcow2 "$dir/in.raw" "$dir/in.qcow2"

# name | source | source format | target format | extra options
all_cases=(
  "raw>qcow2|in.raw|raw|qcow2|"
  "raw>qcow2-c|in.raw|raw|qcow2|-c"
  "qcow2>raw|in.qcow2|qcow2|raw|"
  "qcow2>vmdk|in.qcow2|qcow2|vmdk|"
  "qcow2>vmdk-c|in.qcow2|qcow2|vmdk|-c -o subformat=streamOptimized"
)
cases=()
for entry in "${all_cases[@]}"; do
  name="${entry%%|*}"
  if [[ -z "${CASES:-}" || " $CASES " == *" $name "* ]]; then cases+=("$entry"); fi
done

printf '%-8s %-14s %12s %12s %7s\n' backend convert "qemu-img ms" "instar ms" ratio
for backend in "${backends[@]}"; do
  for entry in "${cases[@]}"; do
    IFS='|' read -r name source from to extra <<<"$entry"
    qemu_cmd="$qemu_img convert -f $from -O $to $extra $dir/$source $dir/q.out"
    instar_cmd="$instar --sandbox=$backend convert -f $from -O $to $extra $dir/$source $dir/i.out"
    read -r qemu_median instar_median < <(python3 - "$dir" "$runs" "$warmup" "$qemu_cmd" \
      "$instar_cmd" <<'PY'
import os, shlex, statistics, subprocess, sys, time
folder, runs, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
commands = [shlex.split(sys.argv[4]), shlex.split(sys.argv[5])]
ms = [[], []]
# The two in turn, each round in the other order: both meet the machine
# in the same states (a series of one then a series of the other did not).
for round_ in range(warmup + runs):
    for which in ((0, 1) if round_ % 2 == 0 else (1, 0)):
        for name in ("q.out", "i.out"):
            try:
                os.remove(os.path.join(folder, name))
            except FileNotFoundError:
                pass
        os.sync()
        start = time.perf_counter()
        subprocess.run(commands[which], check=True, stdout=subprocess.DEVNULL)
        if round_ >= warmup:
            ms[which].append((time.perf_counter() - start) * 1000)
print(statistics.median(ms[0]), statistics.median(ms[1]))
PY
)
    # The runs removed each other's outputs: one more of each to compare.
    $qemu_cmd && $instar_cmd
    "$qemu_img" compare -q -f "$to" -F "$to" "$dir/q.out" "$dir/i.out" ||
      { echo "convert_bench: $name: the outputs differ" >&2; exit 1; }
    printf '%-8s %-14s %12.1f %12.1f %7.2f\n' "$backend" "$name" \
      "$qemu_median" "$instar_median" "$(python3 -c "print($qemu_median / $instar_median)")"
  done
done
