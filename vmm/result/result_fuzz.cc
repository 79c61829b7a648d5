// libFuzzer target: the host's side of a sandbox run, from the guest's
// result stream to the text instar prints. The stream is what a hostile
// guest controls entirely, so every path through the decoder, the views'
// checks and the renderers must end in a printed result or a malformed-result
// error, never a crash, a hang or an unbounded allocation.
//
// Input: byte 0 picks the operation, byte 1 the qemu-img version and the
// output format; the rest are the records after a well-formed ResultHeader
// (so the fuzzer spends its time on records), or, when bit 7 of byte 0 is
// set, the whole stream, header included.
//
// Build with clang and -DINSTAR_FUZZ=ON; run as result_fuzz [corpus dir]
// (ci/fuzz).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "instar/engine/map_dialect.h"
#include "instar/engine/measure_dialect.h"
#include "instar/guest/abi.h"
#include "vmm/render/info_dialect.h"
#include "vmm/render/info_render.h"
#include "vmm/render/map_render.h"
#include "vmm/render/measure_render.h"
#include "vmm/result/info_view.h"
#include "vmm/result/map_view.h"
#include "vmm/result/measure_view.h"
#include "vmm/result/result_decoder.h"

namespace {

using instar::QemuVersion;
using instar::abi::Operation;
using instar::vmm::OutputFormat;

// One version of each dialect the matrix has.
constexpr QemuVersion kVersions[] = {{5, 2, 0}, {7, 2, 22}, {10, 0, 13}, {11, 1, 3}};

// The files a run had open, as the host knows them: the guest may name
// devices 0 .. kFiles - 1 and no other.
constexpr size_t kFiles = 3;

void Render(Operation operation, const instar::vmm::DecodedResult& result,
            const QemuVersion& version, OutputFormat format) {
  std::string error;
  if (operation == Operation::kInfo) {
    instar::vmm::InfoImage image;
    if (!instar::vmm::ReadInfoView(result, &image.view, &error) ||
        !instar::vmm::DevicesWithin(image.view, kFiles)) {
      return;
    }
    for (size_t i = 0; i < kFiles; ++i) {
      image.files.push_back({"file" + std::to_string(i), 512u << i, 4096u * i, std::nullopt});
    }
    (void)instar::vmm::RenderInfo({image}, false, format, instar::vmm::InfoDialectFor(version));
  } else if (operation == Operation::kMap) {
    instar::vmm::MapView view;
    if (!instar::vmm::ReadMapView(result, &view, &error) ||
        !instar::vmm::DevicesWithin(view, kFiles)) {
      return;
    }
    const std::vector<std::string> files = {"a.qcow2", "b.qcow2", "c.raw"};
    (void)instar::vmm::RenderMap(view, files, format, instar::MapDialectFor(version));
  } else if (operation == Operation::kMeasure) {
    instar::vmm::MeasureView view;
    if (!instar::vmm::ReadMeasureView(result, &view, &error)) return;
    (void)instar::vmm::RenderMeasure(view, format, instar::MeasureDialectFor(version));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  constexpr Operation kOperations[] = {Operation::kInfo, Operation::kMap, Operation::kMeasure};
  const Operation operation = kOperations[(data[0] & 0x7f) % std::size(kOperations)];
  const bool whole_stream = (data[0] & 0x80) != 0;
  const QemuVersion& version = kVersions[data[1] % std::size(kVersions)];
  const OutputFormat format = (data[1] & 0x80) != 0 ? OutputFormat::kJson : OutputFormat::kHuman;
  data += 2;
  size -= 2;

  std::vector<uint8_t> stream;
  if (!whole_stream) {
    const instar::abi::ResultHeader header = {instar::abi::kResultMagic,
                                              static_cast<uint32_t>(operation),
                                              static_cast<uint32_t>(size), 0};
    stream.resize(sizeof(header));
    std::memcpy(stream.data(), &header, sizeof(header));
  }
  stream.insert(stream.end(), data, data + size);

  instar::vmm::DecodedResult result;
  std::string error;
  if (!instar::vmm::DecodeResult(stream, static_cast<uint32_t>(operation), &result, &error)) {
    return 0;
  }
  bool malformed = false;
  if (const auto guest_error = instar::vmm::FindGuestError(result, &malformed)) {
    (void)instar::vmm::PrintableText(guest_error->message);
    return 0;
  }
  if (malformed) return 0;
  Render(operation, result, version, format);
  return 0;
}
