#include "vmm/result/info_view.h"

#include "instar/engine/bytes.h"
#include "instar/guest/info_result.h"
#include "vmm/result/field_reader.h"

namespace instar::vmm {

namespace {

using namespace info_result;

bool ValidDevice(uint64_t device) { return device <= abi::kMaxDevices; }

// The bytes of `b` from `at`; the caller has checked the field lies inside.
const uint8_t* At(const std::string& b, size_t at) {
  return reinterpret_cast<const uint8_t*>(b.data()) + at;
}

// One packed snapshot record (info_result.h), appended `repeat` times.
bool ReadSnapshots(const ResultRecord& record, std::vector<SnapshotView>* out, std::string* error) {
  const std::string& b = record.bytes;
  if (b.size() < kSnapshotFixedBytes) {
    *error = "the result has a snapshot cut short";
    return false;
  }
  const size_t id_length = static_cast<unsigned char>(b[44]);
  const size_t name_length = static_cast<unsigned char>(b[45]);
  const uint64_t repeat = LoadLE32(At(b, 40));
  if (id_length > kSnapshotMaxIdBytes ||
      b.size() != kSnapshotFixedBytes + id_length + name_length || repeat == 0 ||
      repeat > kMaxSnapshots - out->size()) {
    *error = "the result has a malformed snapshot";
    return false;
  }
  SnapshotView view;
  view.vm_state_size = LoadLE64(At(b, 0));
  view.date_sec = LoadLE64(At(b, 8));
  view.date_nsec = LoadLE64(At(b, 16));
  view.vm_clock_nsec = LoadLE64(At(b, 24));
  const uint64_t icount = LoadLE64(At(b, 32));
  if (icount != UINT64_MAX) view.icount = icount;
  view.id = b.substr(kSnapshotFixedBytes, id_length);
  view.name = b.substr(kSnapshotFixedBytes + id_length, name_length);
  if (view.id.find('\0') != std::string::npos || view.name.find('\0') != std::string::npos) {
    *error = "the result has a malformed snapshot";
    return false;
  }
  out->insert(out->end(), repeat, view);
  return true;
}

bool ReadChild(const ResultRecord& record, ChildView* out, std::string* error) {
  FieldReader f(record.children, "child", error);
  uint64_t device = 0;
  f.Text(kTagChildName, "name", &out->name);
  f.U64(kTagChildDevice, "device", &device);
  if (!f.Done()) return false;
  if (!ValidDevice(device) || out->name.empty()) {
    *error = "the child has a malformed name or device";
    return false;
  }
  out->device = static_cast<uint32_t>(device);
  return true;
}

bool ReadQcow2(const ResultRecord& record, Qcow2View* out, std::string* error) {
  FieldReader f(record.children, "qcow2 information", error);
  f.Text(kTagQcow2Compat, "compat", &out->compat);
  f.Bool(kTagQcow2LazyRefcounts, "lazy refcounts", &out->lazy_refcounts);
  f.Bool(kTagQcow2Corrupt, "corrupt flag", &out->corrupt);
  f.Bool(kTagQcow2ExtendedL2, "extended l2 flag", &out->extended_l2);
  f.U64(kTagQcow2RefcountBits, "refcount bits", &out->refcount_bits);
  f.Text(kTagQcow2CompressionType, "compression type", &out->compression_type);
  f.Text(kTagQcow2DataFile, "data file", &out->data_file);
  f.Bool(kTagQcow2DataFileRaw, "data-file-raw flag", &out->data_file_raw);
  f.Text(kTagQcow2EncryptFormat, "encryption format", &out->encrypt_format);
  for (const ResultRecord* bitmap : f.Objects(kTagQcow2Bitmap, "bitmap")) {
    Qcow2BitmapView view;
    FieldReader b(bitmap->children, "bitmap", error);
    b.Text(kTagBitmapName, "name", &view.name);
    b.U64(kTagBitmapGranularity, "granularity", &view.granularity);
    b.U64(kTagBitmapFlags, "flags", &view.flags);
    if (!b.Done()) return false;
    out->bitmaps.push_back(std::move(view));
  }
  return f.Done();
}

bool ReadVmdk(const ResultRecord& record, VmdkView* out, std::string* error) {
  FieldReader f(record.children, "vmdk information", error);
  f.Text(kTagVmdkCreateType, "create type", &out->create_type);
  f.U64(kTagVmdkCid, "cid", &out->cid);
  f.U64(kTagVmdkParentCid, "parent cid", &out->parent_cid);
  for (const ResultRecord* extent : f.Objects(kTagVmdkExtent, "extent")) {
    VmdkExtentView view;
    FieldReader e(extent->children, "extent", error);
    uint64_t device = 0;
    std::optional<bool> compressed;
    e.U64(kTagExtentDevice, "device", &device);
    e.Text(kTagExtentFormat, "format", &view.format);
    e.U64(kTagExtentVirtualSize, "virtual size", &view.virtual_size);
    e.U64(kTagExtentClusterSize, "cluster size", &view.cluster_size);
    e.Bool(kTagExtentCompressed, "compressed flag", &compressed);
    if (!e.Done()) return false;
    if (!ValidDevice(device)) {
      *error = "the extent has a malformed device";
      return false;
    }
    view.device = static_cast<uint32_t>(device);
    view.compressed = compressed.value_or(false);
    out->extents.push_back(std::move(view));
  }
  return f.Done();
}

bool IsDriverName(const std::string& name) {
  if (name.empty() || name.size() > 32) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

}  // namespace

bool ReadInfoView(const DecodedResult& result, InfoView* out, std::string* error) {
  FieldReader f(result.records, "result", error);
  std::optional<bool> encrypted;
  f.Text(kTagFormat, "format", &out->format);
  f.U64(kTagVirtualSize, "virtual size", &out->virtual_size);
  f.U64(kTagClusterSize, "cluster size", &out->cluster_size);
  f.Bool(kTagDirtyFlag, "dirty flag", &out->dirty_flag);
  f.Bool(kTagEncrypted, "encrypted flag", &encrypted);
  f.Text(kTagBackingFilename, "backing file name", &out->backing_filename);
  f.Text(kTagBackingFormat, "backing format", &out->backing_format);
  if (!f.ok()) return false;
  if (!IsDriverName(out->format)) {
    *error = "the result has a malformed format";
    return false;
  }
  out->encrypted = encrypted.value_or(false);
  for (const ResultRecord* r : f.All(kTagSnapshot, abi::RecordType::kBytes, "snapshot")) {
    if (!ReadSnapshots(*r, &out->snapshots, error)) return false;
  }
  for (const ResultRecord* r : f.Objects(kTagChild, "child")) {
    ChildView view;
    if (!ReadChild(*r, &view, error)) return false;
    out->children.push_back(std::move(view));
  }
  const std::vector<const ResultRecord*> qcow2 = f.Objects(kTagQcow2, "qcow2 information");
  const std::vector<const ResultRecord*> vmdk = f.Objects(kTagVmdk, "vmdk information");
  if (!f.Done()) return false;
  if (qcow2.size() + vmdk.size() > 1) {
    *error = "the result has malformed format-specific information";
    return false;
  }
  if (out->children.empty()) {
    *error = "the result has no file child";
    return false;
  }
  if (!qcow2.empty()) {
    out->qcow2.emplace();
    if (!ReadQcow2(*qcow2[0], &*out->qcow2, error)) return false;
  }
  if (!vmdk.empty()) {
    out->vmdk.emplace();
    if (!ReadVmdk(*vmdk[0], &*out->vmdk, error)) return false;
  }
  return true;
}

bool DevicesWithin(const InfoView& view, size_t count) {
  for (const ChildView& child : view.children) {
    if (child.device >= count) return false;
  }
  if (view.vmdk) {
    for (const VmdkExtentView& extent : view.vmdk->extents) {
      if (extent.device >= count) return false;
    }
  }
  return true;
}

}  // namespace instar::vmm
