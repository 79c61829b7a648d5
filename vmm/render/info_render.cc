#include "vmm/render/info_render.h"

#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <ctime>

#include "instar/engine/qcow2.h"

namespace instar::vmm {

namespace {

// printf into a std::string.
__attribute__((format(printf, 1, 2))) std::string Format(const char* format, ...) {
  va_list args;
  va_start(args, format);
  char small[256];
  va_list copy;
  va_copy(copy, args);
  const int n = std::vsnprintf(small, sizeof(small), format, copy);
  va_end(copy);
  std::string out;
  if (n >= 0 && static_cast<size_t>(n) < sizeof(small)) {
    out.assign(small, static_cast<size_t>(n));
  } else if (n > 0) {
    out.resize(static_cast<size_t>(n));
    (void)std::vsnprintf(out.data(), out.size() + 1, format, args);
  }
  va_end(args);
  return out;
}

// QAPI 'int' members hold what qemu assigned from its unsigned fields.
QObject Int(uint64_t value) { return QObject::Int(static_cast<int64_t>(value)); }

const InfoHostFile& FileOf(const InfoImage& image, uint32_t device) {
  return image.files.at(device);
}

// path_has_protocol(): a ':' before any '/'.
bool HasProtocol(const std::string& path) {
  const size_t p = path.find_first_of(":/");
  return p != std::string::npos && path[p] == ':';
}

QObject SnapshotObject(const SnapshotView& s) {
  QDict dict;
  dict.Put("id", QObject::String(s.id));
  dict.Put("name", QObject::String(s.name));
  dict.Put("vm-state-size", Int(s.vm_state_size));
  dict.Put("date-sec", Int(s.date_sec));
  dict.Put("date-nsec", Int(s.date_nsec));
  dict.Put("vm-clock-sec", Int(s.vm_clock_nsec / 1000000000));
  dict.Put("vm-clock-nsec", Int(s.vm_clock_nsec % 1000000000));
  if (s.icount) dict.Put("icount", Int(*s.icount));
  return dict;
}

QObject Qcow2Data(const Qcow2View& q) {
  QDict data;
  data.Put("compat", QObject::String(q.compat));
  if (q.data_file) data.Put("data-file", QObject::String(*q.data_file));
  if (q.data_file_raw) data.Put("data-file-raw", QObject::Bool(*q.data_file_raw));
  if (q.extended_l2) data.Put("extended-l2", QObject::Bool(*q.extended_l2));
  if (q.lazy_refcounts) data.Put("lazy-refcounts", QObject::Bool(*q.lazy_refcounts));
  if (q.corrupt) data.Put("corrupt", QObject::Bool(*q.corrupt));
  data.Put("refcount-bits", Int(q.refcount_bits));
  if (q.encrypt_format) {
    QDict encrypt;
    encrypt.Put("format", QObject::String(*q.encrypt_format));
    data.Put("encrypt", std::move(encrypt));
  }
  if (!q.bitmaps.empty()) {
    QList bitmaps;
    for (const Qcow2BitmapView& b : q.bitmaps) {
      QDict bitmap;
      bitmap.Put("name", QObject::String(b.name));
      bitmap.Put("granularity", QObject::Uint(b.granularity));
      QList flags;
      if ((b.flags & qcow2::kBitmapInUse) != 0) flags.Append(QObject::String("in-use"));
      if ((b.flags & qcow2::kBitmapAuto) != 0) flags.Append(QObject::String("auto"));
      bitmap.Put("flags", std::move(flags));
      bitmaps.Append(std::move(bitmap));
    }
    data.Put("bitmaps", std::move(bitmaps));
  }
  data.Put("compression-type", QObject::String(q.compression_type));
  return data;
}

QObject VmdkData(const InfoImage& image, const VmdkView& v) {
  QDict data;
  data.Put("create-type", QObject::String(v.create_type));
  data.Put("cid", Int(v.cid));
  data.Put("parent-cid", Int(v.parent_cid));
  QList extents;
  for (const VmdkExtentView& e : v.extents) {
    QDict extent;
    extent.Put("filename", QObject::String(FileOf(image, e.device).path));
    extent.Put("format", QObject::String(e.format));
    extent.Put("virtual-size", Int(e.virtual_size));
    if (e.cluster_size) extent.Put("cluster-size", Int(*e.cluster_size));
    if (e.compressed) extent.Put("compressed", QObject::Bool(true));
    extents.Append(std::move(extent));
  }
  data.Put("extents", std::move(extents));
  return data;
}

// The "format-specific" union: its "type" and its "data" wrapper.
std::optional<QObject> FormatSpecific(const InfoImage& image) {
  const InfoView& view = image.view;
  QDict spec;
  if (view.qcow2) {
    spec.Put("type", QObject::String("qcow2"));
    spec.Put("data", Qcow2Data(*view.qcow2));
  } else if (view.vmdk) {
    spec.Put("type", QObject::String("vmdk"));
    spec.Put("data", VmdkData(image, *view.vmdk));
  } else {
    return std::nullopt;
  }
  return QObject(std::move(spec));
}

// The file protocol node below a format node (10.0+).
QObject FileNodeObject(const InfoHostFile& file) {
  QDict node;
  node.Put("filename", QObject::String(file.path));
  node.Put("format", QObject::String("file"));
  // file-posix's get_info succeeds with nothing to say.
  node.Put("dirty-flag", QObject::Bool(false));
  if (file.allocated) node.Put("actual-size", Int(*file.allocated));
  node.Put("virtual-size", Int(file.length));
  QDict data;
  if (file.extent_size_hint) data.Put("extent-size-hint", QObject::Uint(*file.extent_size_hint));
  QDict spec;
  spec.Put("type", QObject::String("file"));
  spec.Put("data", std::move(data));
  node.Put("format-specific", std::move(spec));
  node.Put("children", QList());
  return node;
}

// qemu lists a node's children newest first (QLIST_INSERT_HEAD on attach);
// the guest reports them in attach order.
std::vector<const ChildView*> ChildrenInQemuOrder(const InfoView& view) {
  std::vector<const ChildView*> out;
  for (auto it = view.children.rbegin(); it != view.children.rend(); ++it) out.push_back(&*it);
  return out;
}

// The vm clock as qemu prints it: the nanoseconds go through an int64 and
// each part through an int, as in bdrv_snapshot_dump().
std::string VmClock(uint64_t vm_clock_nsec, bool four_digit_hours) {
  const auto secs = static_cast<int64_t>(vm_clock_nsec / 1000000000);
  return Format(four_digit_hours ? "%04d:%02d:%02d.%03d" : "%02d:%02d:%02d.%03d",
                static_cast<int>(secs / 3600), static_cast<int>((secs / 60) % 60),
                static_cast<int>(secs % 60), static_cast<int>((vm_clock_nsec / 1000000) % 1000));
}

std::string LocalDate(uint64_t date_sec) {
  const auto t = static_cast<time_t>(static_cast<int64_t>(date_sec));
  struct tm tm;
  if (localtime_r(&t, &tm) == nullptr) return "(null)";
  char text[64];
  (void)std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &tm);
  return text;
}

void AppendHumanNode(std::string* out, const InfoImage& image, const InfoDialect& dialect);

// bdrv_node_info_dump() of a file protocol node, as a child (10.0+).
void AppendHumanFileNode(std::string* out, const InfoHostFile& file, int indentation) {
  const std::string ind(static_cast<size_t>(indentation) * 4, ' ');
  *out += ind + "filename: " + file.path + "\n";
  *out += ind + "protocol type: file\n";
  *out += ind + "file length: " + HumanSize(file.length) + " (" + std::to_string(file.length) +
          " bytes)\n";
  *out +=
      ind + "disk size: " + (file.allocated ? HumanSize(*file.allocated) : "unavailable") + "\n";
  if (file.extent_size_hint) {
    QDict data;
    data.Put("extent-size-hint", QObject::Uint(*file.extent_size_hint));
    *out += ind + "Format specific information:\n" +
            DumpHuman(QObject(std::move(data)), indentation + 1);
  }
}

void AppendHumanNode(std::string* out, const InfoImage& image, const InfoDialect& dialect) {
  const InfoView& view = image.view;
  const std::string& filename = FileOf(image, 0).path;
  const std::optional<uint64_t> actual = ActualSize(image);
  *out += "image: " + filename + "\n";
  *out += "file format: " + view.format + "\n";
  *out += "virtual size: " + HumanSize(view.virtual_size) + " (" +
          std::to_string(static_cast<int64_t>(view.virtual_size)) + " bytes)\n";
  *out += "disk size: " + (actual ? HumanSize(*actual) : std::string("unavailable")) + "\n";
  if (view.encrypted) *out += "encrypted: yes\n";
  if (view.cluster_size) {
    *out += "cluster_size: " + std::to_string(static_cast<int64_t>(*view.cluster_size)) + "\n";
  }
  if (view.dirty_flag.value_or(false)) *out += "cleanly shut down: no\n";
  if (view.backing_filename) {
    const std::string full = FullBackingFilename(filename, *view.backing_filename);
    *out += "backing file: " + *view.backing_filename;
    if (full != *view.backing_filename) *out += " (actual path: " + full + ")";
    *out += "\n";
    if (view.backing_format) *out += "backing file format: " + *view.backing_format + "\n";
  }
  if (!view.snapshots.empty()) {
    *out += "Snapshot list:\n";
    *out += SnapshotTableHeader(dialect) + "\n";
    for (const SnapshotView& s : view.snapshots) *out += SnapshotTableRow(s, dialect) + "\n";
  }
  if (const std::optional<QObject> spec = FormatSpecific(image)) {
    const QObject& data = spec->dict().value(1);
    const bool empty = data.kind() == QObject::Kind::kDict ? data.dict().empty() : false;
    if (!dialect.hides_empty_format_specific || !empty) {
      *out += "Format specific information:\n" + DumpHuman(data, 1);
    }
  }
  if (!dialect.prints_child_nodes) return;
  for (const ChildView* child : ChildrenInQemuOrder(view)) {
    *out += "Child node '/" + child->name + "':\n";
    AppendHumanFileNode(out, FileOf(image, child->device), 1);
  }
}

}  // namespace

std::string HumanSize(uint64_t bytes) {
  static const char* const kPrefixes[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  // frexp's exponent minus one is floor(log2(bytes * 1024 / 1000)): the
  // unit switches once the number would print as 1000 or more.
  int exponent = 0;
  std::frexp(static_cast<double>(bytes) / (1000.0 / 1024.0), &exponent);
  int shift = (exponent - 1) / 10 * 10;
  if (shift < 0) shift = 0;
  if (shift > 60) shift = 60;
  const double value = static_cast<double>(bytes) / static_cast<double>(uint64_t{1} << shift);
  return Format("%0.3g %sB", value, kPrefixes[shift / 10]);
}

std::string SnapshotTableHeader(const InfoDialect& dialect) {
  switch (dialect.snapshot_table) {
    case SnapshotTableStyle::k52:
      return Format("%-10s%-18s%7s%20s%13s%11s", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK",
                    "ICOUNT");
    case SnapshotTableStyle::k72:
      return Format("%-10s%-17s%8s%20s%13s%11s", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK",
                    "ICOUNT");
    case SnapshotTableStyle::k100:
      break;
  }
  return Format("%-7s %-16s %8s %19s %15s %10s", "ID", "TAG", "VM_SIZE", "DATE", "VM_CLOCK",
                "ICOUNT");
}

std::string SnapshotTableRow(const SnapshotView& s, const InfoDialect& dialect) {
  const SnapshotTableStyle style = dialect.snapshot_table;
  const std::string size = HumanSize(s.vm_state_size);
  const std::string date = LocalDate(s.date_sec);
  const std::string clock = VmClock(s.vm_clock_nsec, style == SnapshotTableStyle::k100);
  std::string icount;
  if (s.icount) {
    icount = std::to_string(static_cast<int64_t>(*s.icount));
  } else if (style == SnapshotTableStyle::k100) {
    icount = "--";
  }
  const char* id = s.id.c_str();
  const char* name = s.name.c_str();
  switch (style) {
    case SnapshotTableStyle::k52:
      return Format("%-9s %-17s %7s%20s%13s%11s", id, name, size.c_str(), date.c_str(),
                    clock.c_str(), icount.c_str());
    case SnapshotTableStyle::k72:
      return Format("%-9s %-16s %8s%20s%13s%11s", id, name, size.c_str(), date.c_str(),
                    clock.c_str(), icount.c_str());
    case SnapshotTableStyle::k100:
      break;
  }
  return Format("%-7s %-16s %8s %19s %15s %10s", id, name, size.c_str(), date.c_str(),
                clock.c_str(), icount.c_str());
}

std::string FullBackingFilename(const std::string& filename, const std::string& backing) {
  if (backing.empty() || backing[0] == '/' || HasProtocol(backing)) return backing;
  const size_t slash = filename.rfind('/');
  if (slash == std::string::npos) return backing;
  return filename.substr(0, slash + 1) + backing;
}

std::optional<uint64_t> ActualSize(const InfoImage& image) {
  uint64_t total = 0;
  for (const ChildView& child : image.view.children) {
    const std::optional<uint64_t>& allocated = FileOf(image, child.device).allocated;
    if (!allocated) return std::nullopt;
    total += *allocated;
  }
  return total;
}

QObject InfoObject(const InfoImage& image, const InfoDialect& dialect) {
  const InfoView& view = image.view;
  const std::string& filename = FileOf(image, 0).path;
  QDict info;
  info.Put("filename", QObject::String(filename));
  info.Put("format", QObject::String(view.format));
  if (view.dirty_flag) info.Put("dirty-flag", QObject::Bool(*view.dirty_flag));
  if (const std::optional<uint64_t> actual = ActualSize(image)) {
    info.Put("actual-size", Int(*actual));
  }
  info.Put("virtual-size", Int(view.virtual_size));
  if (view.cluster_size) info.Put("cluster-size", Int(*view.cluster_size));
  if (view.encrypted) info.Put("encrypted", QObject::Bool(true));
  if (view.backing_filename) {
    info.Put("backing-filename", QObject::String(*view.backing_filename));
    info.Put("full-backing-filename",
             QObject::String(FullBackingFilename(filename, *view.backing_filename)));
    if (view.backing_format) {
      info.Put("backing-filename-format", QObject::String(*view.backing_format));
    }
  }
  if (!view.snapshots.empty()) {
    QList snapshots;
    for (const SnapshotView& s : view.snapshots) snapshots.Append(SnapshotObject(s));
    info.Put("snapshots", std::move(snapshots));
  }
  if (std::optional<QObject> spec = FormatSpecific(image)) {
    info.Put("format-specific", std::move(*spec));
  }
  if (dialect.json_has_children) {
    QList children;
    for (const ChildView* child : ChildrenInQemuOrder(view)) {
      QDict entry;
      entry.Put("name", QObject::String(child->name));
      entry.Put("info", FileNodeObject(FileOf(image, child->device)));
      children.Append(std::move(entry));
    }
    info.Put("children", std::move(children));
  }
  return info;
}

std::string RenderInfo(const std::vector<InfoImage>& images, bool as_list, OutputFormat format,
                       const InfoDialect& dialect) {
  std::string out;
  if (format == OutputFormat::kHuman) {
    for (size_t i = 0; i < images.size(); ++i) {
      if (i > 0) out += "\n";
      AppendHumanNode(&out, images[i], dialect);
    }
    return out;
  }
  if (!as_list) return ToPrettyJson(InfoObject(images.at(0), dialect)) + "\n";
  QList list;
  for (const InfoImage& image : images) list.Append(InfoObject(image, dialect));
  return ToPrettyJson(QObject(std::move(list))) + "\n";
}

}  // namespace instar::vmm
