// Format probing as qemu's block.c does it (find_image_format and
// bdrv_probe_all): the first 512 bytes of the file (BLOCK_PROBE_BUF_SIZE,
// zero-padded past EOF) are scored by every driver's probe, the strictly
// highest score wins (so on a tie the driver asked first keeps it), and raw
// scores 1 so it wins only when nothing else matches. An empty file is raw
// without probing. The scores below follow each driver's bdrv_probe in
// qemu 5.2 .. 10.0, which did not change in that range.
#include "instar/engine/bytes.h"
#include "instar/engine/image.h"

namespace instar {

namespace {

constexpr size_t kProbeBufferSize = 512;

bool HasPrefix(const uint8_t* buffer, const char* text, size_t length) {
  return BytesEqual(buffer, text, length);
}

// A fixed-width C string field equal to `text` (strcmp semantics: the field
// holds `text` followed by a NUL).
bool FieldIsString(const uint8_t* field, const char* text, size_t length) {
  return BytesEqual(field, text, length) && field[length] == 0;
}

int ScoreQcow2(const uint8_t* b) {
  return LoadBE32(b) == 0x514649fb && LoadBE32(b + 4) >= 2 ? 100 : 0;
}

int ScoreQcow(const uint8_t* b) {
  return LoadBE32(b) == 0x514649fb && LoadBE32(b + 4) == 1 ? 100 : 0;
}

int ScoreVpc(const uint8_t* b) { return HasPrefix(b, "conectix", 8) ? 100 : 0; }

int ScoreVhdx(const uint8_t* b) { return HasPrefix(b, "vhdxfile", 8) ? 100 : 0; }

int ScoreQed(const uint8_t* b) { return LoadLE32(b) == 0x00444551 ? 100 : 0; }

int ScoreVdi(const uint8_t* b) { return LoadLE32(b + 64) == 0xbeda107f ? 100 : 0; }

int ScoreLuks(const uint8_t* b) {
  static constexpr uint8_t kMagic[6] = {'L', 'U', 'K', 'S', 0xba, 0xbe};
  return BytesEqual(b, kMagic, 6) && LoadBE16(b + 6) == 1 ? 100 : 0;
}

int ScoreBochs(const uint8_t* b) {
  const uint32_t version = LoadLE32(b + 64);
  return FieldIsString(b, "Bochs Virtual HD Image", 22) && FieldIsString(b + 32, "Redolog", 7) &&
                 FieldIsString(b + 48, "Growing", 7) &&
                 (version == 0x00020000 || version == 0x00010000)
             ? 100
             : 0;
}

int ScoreParallels(const uint8_t* b) {
  return (HasPrefix(b, "WithoutFreeSpace", 16) || HasPrefix(b, "WithouFreSpacExt", 16)) &&
                 LoadLE32(b + 16) == 2
             ? 100
             : 0;
}

int ScoreCloop(const uint8_t* b) {
  static constexpr char kMagic[] =
      "#!/bin/sh\n"
      "#V2.0 Format\n"
      "modprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n";
  return HasPrefix(b, kMagic, sizeof(kMagic) - 1) ? 2 : 0;
}

int ScoreDmg(const char* filename, size_t length) {
  // qemu compares the C string, so the name ends at its first NUL.
  for (size_t i = 0; i < length; ++i) {
    if (filename[i] == '\0') {
      length = i;
      break;
    }
  }
  return length > 4 && BytesEqual(filename + length - 4, ".dmg", 4) ? 2 : 0;
}

// vmdk: a binary sparse header, or a text descriptor whose first line that
// is neither a comment nor blank (blank lines must start with a space) is
// "version=1|2|3".
int ScoreVmdk(const uint8_t* b, size_t size) {
  const uint32_t magic = LoadBE32(b);
  if (magic == 0x434f5744 || magic == 0x4b444d56) return 100;  // "COWD", "KDMV"
  size_t p = 0;
  while (p < size) {
    if (b[p] == '#') {
      while (p < size && b[p] != '\n') ++p;
      ++p;
      continue;
    }
    if (b[p] == ' ') {
      while (p < size && b[p] == ' ') ++p;
      if (p < size && b[p] == '\r') ++p;
      if (p == size || b[p] != '\n') return 0;
      ++p;
      continue;
    }
    static constexpr char kDigits[] = {'1', '2', '3'};
    for (char digit : kDigits) {
      const char unix_line[] = {'v', 'e', 'r', 's', 'i', 'o', 'n', '=', digit, '\n'};
      const char dos_line[] = {'v', 'e', 'r', 's', 'i', 'o', 'n', '=', digit, '\r', '\n'};
      if (size - p >= sizeof(unix_line) && BytesEqual(b + p, unix_line, sizeof(unix_line))) {
        return 100;
      }
      if (size - p >= sizeof(dos_line) && BytesEqual(b + p, dos_line, sizeof(dos_line))) {
        return 100;
      }
    }
    return 0;
  }
  return 0;
}

}  // namespace

Result<ImageFormat> ProbeFormat(BlockDevice& device, const char* filename, size_t filename_length) {
  if (device.Size() == 0) return ImageFormat::kRaw;
  uint8_t buffer[kProbeBufferSize];
  INSTAR_RETURN_IF_ERROR(device.Read(0, buffer, sizeof(buffer)));

  // Scores in the order of asking; on equal scores the earlier one wins.
  // Only dmg (by name) and cloop can tie (2 each); qemu picks dmg.
  const struct {
    ImageFormat format;
    int score;
  } candidates[] = {
      {ImageFormat::kQcow2, ScoreQcow2(buffer)},
      {ImageFormat::kQcow, ScoreQcow(buffer)},
      {ImageFormat::kVmdk, ScoreVmdk(buffer, sizeof(buffer))},
      {ImageFormat::kVpc, ScoreVpc(buffer)},
      {ImageFormat::kVhdx, ScoreVhdx(buffer)},
      {ImageFormat::kQed, ScoreQed(buffer)},
      {ImageFormat::kVdi, ScoreVdi(buffer)},
      {ImageFormat::kLuks, ScoreLuks(buffer)},
      {ImageFormat::kBochs, ScoreBochs(buffer)},
      {ImageFormat::kParallels, ScoreParallels(buffer)},
      {ImageFormat::kDmg, filename != nullptr ? ScoreDmg(filename, filename_length) : 0},
      {ImageFormat::kCloop, ScoreCloop(buffer)},
      {ImageFormat::kRaw, 1},
  };
  ImageFormat best = ImageFormat::kRaw;
  int best_score = 0;
  for (const auto& candidate : candidates) {
    if (candidate.score > best_score) {
      best_score = candidate.score;
      best = candidate.format;
    }
  }
  return best;
}

}  // namespace instar
