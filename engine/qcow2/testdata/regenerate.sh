#!/bin/sh
# Regenerates the expected `qemu-img map --output=json` outputs the qcow2
# block-status tests compare against. Each corpus qcow2 image (and each
# fixture of make-fixtures.sh) is copied twice
# into a scratch directory: fully allocated (cp --sparse=never, what a git
# checkout gives) and with every all-zero 4 KiB block a hole (cp
# --sparse=always, what MemoryDevice::PunchZeroBlocks(4096) reproduces).
# qemu-img's answers differ between the two because qcow2 asks the file for
# holes once it believes the image is metadata-preallocated
# (qcow2_detect_metadata_preallocation compares refcounts with st_blocks).
#
# Usage: engine/qcow2/testdata/regenerate.sh [MATRIX_DIR]
set -eu
root=$(cd "$(dirname "$0")/../../.." && pwd)
matrix=${1:-$root/qemu-img-binaries/x86_64}
out=$root/engine/qcow2/testdata/map
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$out" "$scratch/dense" "$scratch/sparse"
for image in "$root"/cases/images/*.qcow2; do
  name=$(basename "$image")
  cp --sparse=never "$image" "$scratch/dense/$name"
  cp --sparse=always "$image" "$scratch/sparse/$name"
done
# The fixtures of make-fixtures.sh, unpacked from their .sparse form.
for fixture in "$root"/engine/qcow2/testdata/fixtures/*.sparse; do
  name=$(basename "$fixture" .sparse)
  python3 - "$fixture" "$scratch/dense/$name" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'ISPARSE1'
size, = struct.unpack_from('<Q', data, 8)
image = bytearray(size)
at = 16
while at < len(data):
    offset, = struct.unpack_from('<Q', data, at)
    length = min(4096, size - offset)
    image[offset:offset + length] = data[at + 8:at + 8 + length]
    at += 8 + length
open(sys.argv[2], 'wb').write(image)
PY
  cp --sparse=always "$scratch/dense/$name" "$scratch/sparse/$name"
done
for layout in dense sparse; do
  cd "$scratch/$layout"
  for name in *.qcow2; do
    for version in 5.2.0 7.2.22 10.0.13; do
      target=$out/${name%.qcow2}.$layout.$version.json
      if [ "$name" = qcow2-backing.qcow2 ]; then
        # The overlay alone, as the engine opens it: no backing node below.
        spec='json:{"driver":"qcow2","file":{"driver":"file","filename":"'$name'"},"backing":null}'
        "$matrix/$version/qemu-img" map --output=json "$spec" >"$target" 2>&1 || true
      else
        "$matrix/$version/qemu-img" map -f qcow2 --output=json "$name" >"$target" 2>&1 || true
      fi
    done
  done
done
