// What `qemu-img info` prints on stdout, per qemu-img version, from the
// guest's InfoView and the host's facts about the files it opened.
//
// What each version prints differently (the snapshot table, BlockGraphInfo's
// children from 10.0, when "Format specific information" is printed) is the
// version's InfoDialect (info_dialect.h); nothing here compares versions.
//
// JSON goes through QObject (qobject.h), so keys come out in qemu's QDict
// order; the human form is block/qapi.c's bdrv_image_info_dump() /
// bdrv_node_info_dump() with dump_qobject() for the format-specific part.
#ifndef INSTAR_VMM_RENDER_INFO_RENDER_H_
#define INSTAR_VMM_RENDER_INFO_RENDER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vmm/render/info_dialect.h"
#include "vmm/render/output_format.h"
#include "vmm/render/qobject.h"
#include "vmm/result/info_view.h"

namespace instar::vmm {

// What the host knows of one file a sandbox run had open (host metadata,
// never image bytes).
struct InfoHostFile {
  std::string path;                          // as opened; device 0: as the user named it
  uint64_t length = 0;                       // bdrv_getlength(): size rounded up to 512
  std::optional<uint64_t> allocated;         // st_blocks * 512; unset when unknown
  std::optional<uint64_t> extent_size_hint;  // FS_IOC_FSGETXATTR, when non-zero
};

// One image of the output: the guest's answer and the run's files by device
// number. Every device the view names must be in `files`.
struct InfoImage {
  InfoView view;
  std::vector<InfoHostFile> files;
};

// `images` holds one image, or the whole chain for --backing-chain
// (`as_list`: JSON prints an array, human output separates images with a
// blank line).
std::string RenderInfo(const std::vector<InfoImage>& images, bool as_list, OutputFormat format,
                       const InfoDialect& dialect);

// The ImageInfo (5.2, 7.2) or BlockGraphInfo (10.0+) object of one image.
QObject InfoObject(const InfoImage& image, const InfoDialect& dialect);

// qemu's bdrv_get_full_backing_filename() for an image opened as `filename`:
// `backing` as it is when absolute or naming a protocol, else relative to
// the directory of `filename`.
std::string FullBackingFilename(const std::string& filename, const std::string& backing);

// The disk size of an image: the allocated size of its file and of every
// other file it reads (vmdk extents), unset when one is unknown.
std::optional<uint64_t> ActualSize(const InfoImage& image);

// qemu's size_to_str(): "3 MiB", "1.5 GiB", "416 KiB", "512 B".
std::string HumanSize(uint64_t bytes);

// The "Snapshot list:" table's header line and one row, without the
// newline, as `dialect` prints them (date_sec in local time, as qemu).
std::string SnapshotTableHeader(const InfoDialect& dialect);
std::string SnapshotTableRow(const SnapshotView& snapshot, const InfoDialect& dialect);

}  // namespace instar::vmm

#endif  // INSTAR_VMM_RENDER_INFO_RENDER_H_
