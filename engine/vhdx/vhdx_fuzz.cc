// libFuzzer target: vhdx images from arbitrary bytes.
//
// A vhdx file spreads its structures over megabytes, beyond what a fuzzer
// mutates well, so the input is laid out in pieces at the offsets where
// qemu-made images keep them: the file identifier at 0, the headers at 64
// and 128 KiB, the region table at 192 KiB, the log at 1 MiB, the BAT at
// 2 MiB, the metadata table at 3 MiB and its items at 3 MiB + 64 KiB, the
// rest at 4 MiB; everything else reads as zeros. The first byte is a
// control byte: bit 0 repairs the header and region table checksums (so
// inputs get past them), bit 7 takes the input as the whole file instead.
// Build with clang and -DINSTAR_FUZZ=ON; run as vhdx_fuzz [corpus dir].
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "instar/engine/bytes.h"
#include "instar/engine/vhdx.h"
#include "vhdx/crc32c.h"

namespace {

struct Piece {
  uint64_t offset;
  size_t capacity;
  const uint8_t* data = nullptr;
  size_t length = 0;
};

constexpr uint64_t kRestOffset = 4 << 20;

// A file made of pieces at fixed offsets, zeros between them, without
// allocating the megabytes in between.
class PieceDevice final : public instar::BlockDevice {
 public:
  PieceDevice(const Piece* pieces, size_t count, uint64_t size)
      : pieces_(pieces), count_(count), size_(size) {}

  instar::Status Read(uint64_t offset, void* buffer, size_t length) override {
    uint64_t end;
    if (__builtin_add_overflow(offset, length, &end)) {
      return instar::Status::IOError("read range overflows");
    }
    auto* out = static_cast<uint8_t*>(buffer);
    std::memset(out, 0, length);
    for (size_t i = 0; i < count_; ++i) {
      const Piece& p = pieces_[i];
      const uint64_t start = offset > p.offset ? offset : p.offset;
      const uint64_t stop = end < p.offset + p.length ? end : p.offset + p.length;
      if (start < stop)
        std::memcpy(out + (start - offset), p.data + (start - p.offset), stop - start);
    }
    return instar::Status::Ok();
  }
  uint64_t Size() const override { return size_; }
  instar::Result<uint64_t> SeekData(uint64_t offset) override {
    return offset < size_ ? offset : kNoData;
  }
  instar::Result<uint64_t> SeekHole(uint64_t) override { return size_; }

 private:
  const Piece* pieces_;
  size_t count_;
  uint64_t size_;
};

class NoFiles final : public instar::DeviceOpener {
 public:
  instar::Result<instar::BlockDevice*> Open(const char*, size_t) override {
    return instar::Status::IOError("no other files");
  }
};

// The checksum of `length` bytes whose first `piece.length` are the piece
// and the rest zeros, stored at byte 4 with that field counted as zero.
void RepairCrc(uint8_t* piece, size_t piece_length, size_t length) {
  if (piece_length < 8) return;
  instar::StoreLE32(piece + 4, 0);
  uint32_t state = instar::vhdx::Crc32cUpdate(instar::vhdx::kCrc32cInit, piece, piece_length);
  static const std::vector<uint8_t> zeros(65536);
  state = instar::vhdx::Crc32cUpdate(state, zeros.data(), length - piece_length);
  instar::StoreLE32(piece + 4, instar::vhdx::Crc32cFinish(state));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t control = data[0];
  ++data;
  --size;
  Piece pieces[] = {
      {0, 1024},        {64 << 10, 4096}, {128 << 10, 4096}, {192 << 10, 4096},
      {1 << 20, 4096},  {2 << 20, 4096},  {3 << 20, 4096},   {(3 << 20) + (64 << 10), 4096},
      {kRestOffset, 0},
  };
  constexpr size_t kCount = sizeof(pieces) / sizeof(pieces[0]);
  uint64_t file_size;
  static uint8_t headers[3][4096];
  if ((control & 0x80) != 0) {
    pieces[0] = Piece{0, size, data, size};
    file_size = size;
  } else {
    for (size_t i = 0; i + 1 < kCount; ++i) {
      pieces[i].length = size < pieces[i].capacity ? size : pieces[i].capacity;
      pieces[i].data = data;
      data += pieces[i].length;
      size -= pieces[i].length;
    }
    pieces[kCount - 1].data = data;
    pieces[kCount - 1].length = size;
    file_size = kRestOffset + size;
    if ((control & 1) != 0) {
      for (int h = 0; h < 3; ++h) {
        Piece& p = pieces[1 + h];
        std::memcpy(headers[h], p.data, p.length);
        RepairCrc(headers[h], p.length, h < 2 ? 4096 : 65536);
        p.data = headers[h];
      }
    }
  }
  PieceDevice device(pieces, (control & 0x80) != 0 ? 1 : kCount, file_size);
  (void)instar::ProbeFormat(device, "input.vhdx", 10);

  static std::vector<uint8_t> buffer(1 << 20);
  instar::Arena arena(buffer.data(), buffer.size());
  NoFiles opener;
  auto image = instar::OpenImage(instar::ImageFormat::kVhdx, device, opener, arena,
                                 instar::OpenOptions{{10, 0, 13}});
  if (!image.ok()) return 0;
  auto& vhdx = *static_cast<instar::VhdxImage*>(*image);
  const uint64_t step = vhdx.block_size();
  for (uint64_t offset = 0, i = 0; offset < vhdx.VirtualSize() && i < 4096; offset += step, ++i) {
    (void)vhdx.PayloadBlock(offset);
  }
  (void)vhdx.DriverBlockStatus(true, 0, 512);
  return 0;
}
