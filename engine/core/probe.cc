// Format probing as qemu's block.c does it (find_image_format and
// bdrv_probe_all): the first 512 bytes of the file (BLOCK_PROBE_BUF_SIZE,
// zero-padded past EOF) are scored by every driver's probe hook in the
// table's order, the strictly highest score wins (so on a tie the driver
// asked first keeps it), and raw scores 1 so it wins only when nothing else
// matches. An empty file is raw without probing. The scores follow each
// driver's bdrv_probe in qemu 5.2 .. 10.0, which did not change in that
// range.
#include "instar/engine/format_driver.h"

namespace instar {

namespace {

constexpr size_t kProbeBufferSize = 512;

}  // namespace

Result<ImageFormat> ProbeFormat(BlockDevice& device, const char* filename, size_t filename_length) {
  if (device.Size() == 0) return ImageFormat::kRaw;
  uint8_t buffer[kProbeBufferSize];
  INSTAR_RETURN_IF_ERROR(device.Read(0, buffer, sizeof(buffer)));

  size_t count = 0;
  const FormatDriver* const* drivers = FormatDrivers(&count);
  ImageFormat best = ImageFormat::kRaw;
  int best_score = 0;
  for (size_t i = 0; i < count; ++i) {
    if (drivers[i]->probe == nullptr) continue;
    const int score = drivers[i]->probe(buffer, sizeof(buffer), filename, filename_length);
    if (score > best_score) {
      best_score = score;
      best = drivers[i]->format;
    }
  }
  return best;
}

}  // namespace instar
