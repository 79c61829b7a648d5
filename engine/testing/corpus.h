// The image corpus (cases/images) for engine tests.
//
// LoadCorpusImage("vhdx-dynamic.vhdx") returns a MemoryDevice with the
// image's bytes, decompressing the stored .xz copy with `xz -dc` when the
// corpus keeps the image compressed (cases/images/manifest.json, "stored").
// Images are loaded once per test binary and copied out of a cache.
#ifndef INSTAR_ENGINE_TESTING_CORPUS_H_
#define INSTAR_ENGINE_TESTING_CORPUS_H_

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "testing/memory_device.h"

#ifndef INSTAR_SOURCE_ROOT
#error "corpus.h needs INSTAR_SOURCE_ROOT (set for engine_tests)"
#endif

namespace instar::testing {

inline std::string CorpusPath(const std::string& stored_name) {
  return std::string(INSTAR_SOURCE_ROOT) + "/cases/images/" + stored_name;
}

inline bool FileExists(const std::string& path) { return std::ifstream(path).good(); }

// The bytes of image `name`; empty if the corpus lacks it.
inline const std::vector<uint8_t>& CorpusBytes(const std::string& name) {
  static std::map<std::string, std::vector<uint8_t>> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  std::vector<uint8_t> bytes;
  const std::string plain = CorpusPath(name);
  const std::string compressed = plain + ".xz";
  if (FileExists(plain)) {
    std::ifstream in(plain, std::ios::binary | std::ios::ate);
    bytes.resize(static_cast<size_t>(in.tellg()));
    in.seekg(0);
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!in) bytes.clear();
  } else if (FileExists(compressed)) {
    const std::string command = "xz -dc '" + compressed + "'";
    if (FILE* pipe = popen(command.c_str(), "r")) {
      size_t used = 0;
      while (true) {
        if (bytes.size() - used < (1u << 20)) bytes.resize(used + (4u << 20));
        const size_t n = fread(bytes.data() + used, 1, bytes.size() - used, pipe);
        if (n == 0) break;
        used += n;
      }
      bytes.resize(used);
      if (pclose(pipe) != 0) bytes.clear();
    }
  }
  return cache.emplace(name, std::move(bytes)).first->second;
}

inline MemoryDevice LoadCorpusImage(const std::string& name) {
  return MemoryDevice(CorpusBytes(name));
}

// A DeviceOpener over named MemoryDevices (the files next to an image).
class MapOpener final : public DeviceOpener {
 public:
  void Add(const std::string& name, MemoryDevice* device) { files_[name] = device; }
  Result<BlockDevice*> Open(const char* name, size_t length) override {
    opened_.emplace_back(name, length);
    auto it = files_.find(std::string(name, length));
    if (it == files_.end()) return Status::IOError("no such file");
    return static_cast<BlockDevice*>(it->second);
  }
  const std::vector<std::string>& opened() const { return opened_; }

 private:
  std::map<std::string, MemoryDevice*> files_;
  std::vector<std::string> opened_;
};

// Writes `bytes` to $INSTAR_TEST_DUMP_DIR/`name` when that variable is set,
// so an image a test builds can be shown to the real qemu-img, whose answer
// the test then cites.
inline void DumpForQemu(const std::string& name, const std::vector<uint8_t>& bytes) {
  const char* dir = std::getenv("INSTAR_TEST_DUMP_DIR");
  if (dir == nullptr) return;
  std::ofstream out(std::string(dir) + "/" + name, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

}  // namespace instar::testing

#endif  // INSTAR_ENGINE_TESTING_CORPUS_H_
