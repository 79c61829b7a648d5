// The image corpus manifest (cases/images/manifest.json), as the harness
// needs it: each image's id, format, tier and files.
//
// A file's "name" is what it is called when materialised (images refer to
// siblings by these names: the backing overlay, the flat vmdk's extent);
// "stored" is the committed file, possibly "<name>.xz". Keys the harness does
// not use (description, recipe, remake-differs, made-with) are allowed;
// everything it uses is checked. (cases/images/check-recipes reads the
// recipes.)
#ifndef INSTAR_HARNESS_CASES_MANIFEST_H_
#define INSTAR_HARNESS_CASES_MANIFEST_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace instar::harness {

struct ManifestFile {
  std::string name;
  std::string stored;
  uint64_t size = 0;
  std::string sha256;
};

struct ManifestImage {
  std::string id;
  std::string format;
  std::string tier;
  std::vector<ManifestFile> files;  // files[0] is the image itself
};

struct Manifest {
  std::vector<ManifestImage> images;

  // The image with this id, or null.
  const ManifestImage* Find(const std::string& id) const;
};

Manifest LoadManifest(const std::filesystem::path& path);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_CASES_MANIFEST_H_
