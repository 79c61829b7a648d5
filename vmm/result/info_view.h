// The info result, read from a decoded stream (info_result.h) into plain
// host types. The stream is untrusted: every record must have its tag's
// type, singletons must appear at most once, strings must not hold a NUL
// (the guest cuts qemu's C strings at their NUL), and the driver name must
// be a plain identifier. Device numbers are checked by the caller, which
// owns the device table.
#ifndef INSTAR_VMM_RESULT_INFO_VIEW_H_
#define INSTAR_VMM_RESULT_INFO_VIEW_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vmm/result/result_decoder.h"

namespace instar::vmm {

struct SnapshotView {
  std::string id;
  std::string name;
  uint64_t vm_state_size = 0;
  uint64_t date_sec = 0;
  uint64_t date_nsec = 0;
  uint64_t vm_clock_nsec = 0;
  std::optional<uint64_t> icount;  // absent: qemu's -1
};

struct ChildView {
  std::string name;  // "file", "extents.0" ...
  uint32_t device = 0;
};

struct Qcow2BitmapView {
  std::string name;
  uint64_t granularity = 0;
  uint64_t flags = 0;  // qcow2::kBitmapInUse | qcow2::kBitmapAuto
};

struct Qcow2View {
  std::string compat;
  std::optional<bool> lazy_refcounts;
  std::optional<bool> corrupt;
  std::optional<bool> extended_l2;
  uint64_t refcount_bits = 0;
  std::string compression_type;
  std::optional<std::string> data_file;
  std::optional<bool> data_file_raw;
  std::optional<std::string> encrypt_format;
  std::vector<Qcow2BitmapView> bitmaps;
};

struct VmdkExtentView {
  uint32_t device = 0;
  std::string format;  // the descriptor's type word; "" for none
  uint64_t virtual_size = 0;
  std::optional<uint64_t> cluster_size;
  bool compressed = false;
};

struct VmdkView {
  std::string create_type;
  uint64_t cid = 0;
  uint64_t parent_cid = 0;
  std::vector<VmdkExtentView> extents;
};

struct InfoView {
  std::string format;  // qemu's driver name
  uint64_t virtual_size = 0;
  std::optional<uint64_t> cluster_size;
  std::optional<bool> dirty_flag;  // absent when the driver's get_info failed
  bool encrypted = false;
  std::optional<std::string> backing_filename;
  std::optional<std::string> backing_format;
  std::vector<SnapshotView> snapshots;
  std::vector<ChildView> children;  // in the order qemu attaches them
  std::optional<Qcow2View> qcow2;
  std::optional<VmdkView> vmdk;
};

// False, with *error set, when a field is missing, repeated or mistyped.
bool ReadInfoView(const DecodedResult& result, InfoView* out, std::string* error);

// Whether every device the view names (children, vmdk extents) is below
// `count`, the number of files the run had open; the view is malformed
// otherwise.
bool DevicesWithin(const InfoView& view, size_t count);

}  // namespace instar::vmm

#endif  // INSTAR_VMM_RESULT_INFO_VIEW_H_
