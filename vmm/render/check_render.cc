// qemu-img.c img_check(), collect_image_check(), dump_human_image_check()
// and dump_json_image_check().
#include "vmm/render/check_render.h"

#include <cinttypes>
#include <cstdio>

#include "vmm/render/qobject.h"

namespace instar::vmm {

namespace {

std::string Human(const CheckCounters& c) {
  std::string out;
  char line[256];
  if (c.corruptions == 0 && c.leaks == 0 && c.check_errors == 0) {
    out += "No errors were found on the image.\n";
  } else {
    if (c.corruptions != 0) {
      (void)std::snprintf(line, sizeof(line),
                          "\n%" PRIu64
                          " errors were found on the image.\n"
                          "Data may be corrupted, or further writes to the image may corrupt it.\n",
                          c.corruptions);
      out += line;
    }
    if (c.leaks != 0) {
      (void)std::snprintf(line, sizeof(line),
                          "\n%" PRIu64
                          " leaked clusters were found on the image.\n"
                          "This means waste of disk space, but no harm to data.\n",
                          c.leaks);
      out += line;
    }
    if (c.check_errors != 0) {
      (void)std::snprintf(line, sizeof(line),
                          "\n%" PRIu64 " internal errors have occurred during the check.\n",
                          c.check_errors);
      out += line;
    }
  }
  if (c.total_clusters != 0 && c.allocated_clusters != 0) {
    const auto allocated = static_cast<double>(c.allocated_clusters);
    (void)std::snprintf(line, sizeof(line),
                        "%" PRIu64 "/%" PRIu64
                        " = %0.2f%% allocated, %0.2f%% fragmented, %0.2f%% compressed clusters\n",
                        c.allocated_clusters, c.total_clusters,
                        allocated * 100.0 / static_cast<double>(c.total_clusters),
                        static_cast<double>(c.fragmented_clusters) * 100.0 / allocated,
                        static_cast<double>(c.compressed_clusters) * 100.0 / allocated);
    out += line;
  }
  if (c.image_end_offset != 0) {
    (void)std::snprintf(line, sizeof(line), "Image end offset: %" PRIu64 "\n", c.image_end_offset);
    out += line;
  }
  return out;
}

// The ImageCheck members in the QAPI schema's order, each optional one
// only when collect_image_check() sets has_* (when it is not zero).
std::string Json(const CheckView& view, const std::string& filename) {
  const CheckCounters& c = view.counters;
  QDict dict;
  dict.Put("filename", QObject::String(filename));
  dict.Put("format", QObject::String(view.format));
  dict.Put("check-errors", QObject::Int(static_cast<int64_t>(c.check_errors)));
  const auto optional = [&dict](const char* key, uint64_t value) {
    if (value != 0) dict.Put(key, QObject::Int(static_cast<int64_t>(value)));
  };
  optional("image-end-offset", c.image_end_offset);
  optional("corruptions", c.corruptions);
  optional("leaks", c.leaks);
  optional("total-clusters", c.total_clusters);
  optional("allocated-clusters", c.allocated_clusters);
  optional("fragmented-clusters", c.fragmented_clusters);
  optional("compressed-clusters", c.compressed_clusters);
  return ToPrettyJson(QObject(std::move(dict))) + "\n";
}

}  // namespace

CheckOutput RenderCheck(const CheckView& view, const std::string& filename, OutputFormat format,
                        bool quiet) {
  CheckOutput o;
  o.err = view.log;
  switch (view.outcome) {
    case CheckView::Outcome::kNotSupported:
      o.err += "qemu-img: This image format does not support checks\n";
      o.exit_code = kCheckExitNotSupported;
      return o;
    case CheckView::Outcome::kFailed:
      o.err += "qemu-img: Check failed: " + view.failure + "\n";
      o.exit_code = 1;
      return o;
    case CheckView::Outcome::kChecked:
      break;
  }
  const CheckCounters& c = view.counters;
  if (!quiet) o.out = format == OutputFormat::kJson ? Json(view, filename) : Human(c);
  if (c.check_errors != 0) {
    o.err += "qemu-img: Check failed\n";
    o.exit_code = 1;
  } else if (c.corruptions != 0) {
    o.exit_code = kCheckExitCorruptions;
  } else if (c.leaks != 0) {
    o.exit_code = kCheckExitLeaks;
  } else {
    o.exit_code = 0;
  }
  return o;
}

}  // namespace instar::vmm
