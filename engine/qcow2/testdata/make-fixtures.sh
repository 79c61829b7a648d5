#!/bin/sh
# Builds the small qcow2 fixtures that the corpus lacks (external data
# files, metadata preallocation) with qemu-img/qemu-io 7.2.22 and stores them
# in the compact .sparse form the tests load (testing::LoadSparseFixture):
# "ISPARSE1", the file size (u64 LE), then every 4 KiB block that is not all
# zeros as its offset (u64 LE) and its bytes (the last block may be short).
#
# Usage: engine/qcow2/testdata/make-fixtures.sh [MATRIX_DIR]
set -eu
root=$(cd "$(dirname "$0")/../../.." && pwd)
matrix=${1:-$root/qemu-img-binaries/x86_64}
bin=$matrix/7.2.22
out=$root/engine/qcow2/testdata/fixtures
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"

# A raw external data file: every cluster is mapped one to one.
"$bin/qemu-img" create -f qcow2 -o data_file=datafile.raw,data_file_raw=on,cluster_size=4k \
  datafile.qcow2 256k
"$bin/qemu-io" -f qcow2 -c "write -P 0xd5 0 8k" -c "write -P 0xd6 100k 4k" \
  -c "write -z 200k 8k" datafile.qcow2
# An external data file without data_file_raw: only written clusters map.
"$bin/qemu-img" create -f qcow2 -o data_file=datafile2.raw,cluster_size=4k datafile2.qcow2 256k
"$bin/qemu-io" -f qcow2 -c "write -P 0xd5 0 8k" -c "write -P 0xd6 100k 4k" \
  -c "write -z 200k 8k" datafile2.qcow2
# Metadata preallocation: every cluster has a refcount, few are written.
"$bin/qemu-img" create -f qcow2 -o preallocation=metadata,cluster_size=4k prealloc.qcow2 1M
"$bin/qemu-io" -f qcow2 -c "write -P 0xe1 64k 4k" prealloc.qcow2

mkdir -p "$out"
for name in datafile.qcow2 datafile.raw datafile2.qcow2 datafile2.raw prealloc.qcow2; do
  python3 - "$name" "$out/$name.sparse" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
with open(sys.argv[2], 'wb') as out:
    out.write(b'ISPARSE1' + struct.pack('<Q', len(data)))
    for offset in range(0, len(data), 4096):
        block = data[offset:offset + 4096]
        if any(block):
            out.write(struct.pack('<Q', offset) + block)
PY
done
