#include "harness/cases/manifest.h"

#include <set>

#include "harness/cases/names.h"
#include "harness/core/json_schema.h"

namespace instar::harness {

const ManifestImage* Manifest::Find(const std::string& id) const {
  for (const auto& image : images) {
    if (image.id == id) return &image;
  }
  return nullptr;
}

Manifest LoadManifest(const std::filesystem::path& path) {
  Entry top(path.string(), "");
  const boost::json::value document = ParseJsonFile(path);
  const auto& root = top.AsObject(document);
  top.CheckKeys(root, {"images"}, {"made-with", "description"});
  const auto& images = top.Array(root, "images");
  Manifest manifest;
  std::set<std::string> ids, names;
  for (size_t i = 0; i < images.size(); ++i) {
    Entry entry = top.Nested("images[" + std::to_string(i) + "]");
    const auto& object = entry.AsObject(images[i]);
    entry.CheckKeys(object, {"id", "format", "tier", "files"},
                    {"description", "recipe", "remake-differs"});
    ManifestImage image;
    image.id = entry.String(object, "id");
    entry = top.Nested("images[" + std::to_string(i) + "] \"" + image.id + "\"");
    if (!IsSafeName(image.id)) entry.Fail("id is not a plain file name");
    if (!ids.insert(image.id).second) entry.Fail("duplicate id");
    image.format = entry.String(object, "format");
    if (!IsSafeName(image.format)) entry.Fail("format is not a plain name");
    image.tier = entry.String(object, "tier");
    const auto& files = entry.Array(object, "files");
    if (files.empty()) entry.Fail("\"files\" is empty");
    for (size_t j = 0; j < files.size(); ++j) {
      Entry file_entry = entry.Nested("files[" + std::to_string(j) + "]");
      const auto& file_object = file_entry.AsObject(files[j]);
      file_entry.CheckKeys(file_object, {"name", "stored", "size", "sha256"});
      ManifestFile file;
      file.name = file_entry.String(file_object, "name");
      file.stored = file_entry.String(file_object, "stored");
      file.size = file_entry.Unsigned(file_object, "size");
      file.sha256 = file_entry.String(file_object, "sha256");
      if (!IsSafeName(file.name) || !IsSafeName(file.stored)) {
        file_entry.Fail("file names must be plain names in the corpus directory");
      }
      if (file.sha256.size() != 64 ||
          file.sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
        file_entry.Fail("sha256 is not 64 lowercase hex digits");
      }
      if (!names.insert(file.name).second) file_entry.Fail("file name used twice in the corpus");
      image.files.push_back(std::move(file));
    }
    manifest.images.push_back(std::move(image));
  }
  return manifest;
}

}  // namespace instar::harness
