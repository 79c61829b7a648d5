// The VHDX on-disk constants the reader (vhdx_image.cc) and the writer
// (vhdx_create.cc) share: offsets, sizes, signatures, flags and the GUIDs
// of the known regions and metadata items (Microsoft's "VHDX Format
// Specification" v1.00). Private to engine/vhdx.
#ifndef INSTAR_ENGINE_VHDX_VHDX_FORMAT_H_
#define INSTAR_ENGINE_VHDX_VHDX_FORMAT_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/vhdx.h"

namespace instar::vhdx {

constexpr uint64_t kHeader1Offset = 64 * 1024;
constexpr uint64_t kHeader2Offset = 128 * 1024;
constexpr uint64_t kRegionTableOffset = 192 * 1024;
constexpr uint64_t kRegionTable2Offset = 256 * 1024;
// The file identifier, headers and region tables take the first MiB; the
// log follows.
constexpr uint64_t kHeaderSectionEnd = 1 << 20;
constexpr size_t kHeaderSize = 4096;        // the CRC covers this much
constexpr size_t kHeaderFieldsSize = 80;    // the packed header struct
constexpr size_t kRegionTableSize = 65536;  // and this much
constexpr size_t kMetadataTableSize = 65536;
constexpr uint32_t kHeaderSignature = 0x64616568;               // "head"
constexpr uint32_t kRegionSignature = 0x69676572;               // "regi"
constexpr uint64_t kMetadataSignature = 0x617461646174656dull;  // "metadata"
constexpr uint32_t kMaxRegionEntries = 2047;
constexpr uint32_t kRegionRequired = 0x01;
constexpr uint32_t kMetadataVirtualDisk = 0x02;
constexpr uint32_t kMetadataRequired = 0x04;
constexpr uint32_t kParamLeaveBlocksAllocated = 0x01;
constexpr uint32_t kParamHasParent = 0x02;
constexpr uint32_t kMinBlockSize = 1u << 20;
constexpr uint32_t kMaxBlockSize = 256u << 20;
constexpr uint64_t kLogAlignment = 1u << 20;
constexpr uint64_t kBatOffsetMask = 0xfffffffffff00000ull;

// A GUID as stored: data1..3 little endian, then data4.
constexpr VhdxGuid MakeGuid(uint32_t d1, uint16_t d2, uint16_t d3, uint64_t d4) {
  VhdxGuid g;
  for (int i = 0; i < 4; ++i) g.bytes[i] = static_cast<uint8_t>(d1 >> (8 * i));
  for (int i = 0; i < 2; ++i) g.bytes[4 + i] = static_cast<uint8_t>(d2 >> (8 * i));
  for (int i = 0; i < 2; ++i) g.bytes[6 + i] = static_cast<uint8_t>(d3 >> (8 * i));
  for (int i = 0; i < 8; ++i) g.bytes[8 + i] = static_cast<uint8_t>(d4 >> (56 - 8 * i));
  return g;
}

constexpr VhdxGuid kBatGuid = MakeGuid(0x2dc27766, 0xf623, 0x4200, 0x9d64115e9bfd4a08);
constexpr VhdxGuid kMetadataGuid = MakeGuid(0x8b7ca206, 0x4790, 0x4b9a, 0xb8fe575f050f886e);
constexpr VhdxGuid kFileParametersGuid = MakeGuid(0xcaa16737, 0xfa36, 0x4d43, 0xb3b633f0aa44e76b);
constexpr VhdxGuid kVirtualDiskSizeGuid = MakeGuid(0x2fa54224, 0xcd1b, 0x4876, 0xb2115dbed83bf4b8);
constexpr VhdxGuid kPage83Guid = MakeGuid(0xbeca12ab, 0xb2e6, 0x4523, 0x93efc309e000c746);
constexpr VhdxGuid kLogicalSectorGuid = MakeGuid(0x8141bf1d, 0xa96f, 0x4709, 0xba47f233a8faab5f);
constexpr VhdxGuid kPhysicalSectorGuid = MakeGuid(0xcda348c7, 0x445d, 0x4471, 0x9cc9e9885251c556);
constexpr VhdxGuid kParentLocatorGuid = MakeGuid(0xa8d35f2d, 0xb30b, 0x454d, 0xabf7d3d84834ab0c);

}  // namespace instar::vhdx

#endif  // INSTAR_ENGINE_VHDX_VHDX_FORMAT_H_
