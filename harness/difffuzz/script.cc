#include "harness/difffuzz/script.h"

#include <random>

#include "harness/conform/instar_argv.h"

namespace instar::harness {

namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kGiB = 1024 * kMiB;
// Past this a script allocates nothing whole: no fixed subformat, no
// preallocation, no 512-byte qcow2 clusters (an L1 table of 256 MiB for a
// TiB), no 2 GiB extent files; the images stay sparse, on tmpfs too.
constexpr uint64_t kLargeImage = 256 * kMiB;

// Draws from the seed alone: Below() maps the engine's output with a
// remainder, so that the numbers do not depend on the standard library.
class Dice {
 public:
  explicit Dice(uint64_t seed) : engine_(seed) {}
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : engine_() % n; }
  bool OneIn(uint64_t n) { return Below(n) == 0; }
  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[Below(items.size())];
  }

 private:
  std::mt19937_64 engine_;
};

std::string Extension(const std::string& format) {
  if (format == "vpc") return "vhd";
  return format;
}

// What a format's image can take from qemu-io, as the generator uses it.
struct Target {
  std::string file;
  std::string format;
  uint64_t size = 0;
  uint64_t cluster = 0;    // qcow2: its cluster size, for compressed writes
  bool writable = true;    // a streamOptimized vmdk takes no random writes
  bool snapshots = false;  // qcow2
};

std::vector<std::string> CreateOptions(Dice& dice, const std::string& format, uint64_t size,
                                       Target& target) {
  std::vector<std::string> options;
  if (format == "qcow2") {
    target.snapshots = true;
    target.cluster = 64 * kKiB;
    if (!dice.OneIn(3)) {
      target.cluster =
          dice.Pick<uint64_t>({512, 4 * kKiB, 16 * kKiB, 32 * kKiB, 128 * kKiB, 2 * kMiB});
      if (size > kLargeImage && target.cluster < 4 * kKiB) target.cluster = 4 * kKiB;
      options.push_back("cluster_size=" + std::to_string(target.cluster));
    }
    const bool old_compat = dice.OneIn(6);
    if (old_compat) {
      options.emplace_back("compat=0.10");
    } else {
      if (dice.OneIn(5)) options.emplace_back("lazy_refcounts=on");
      if (dice.OneIn(5) && target.cluster >= 16 * kKiB) options.emplace_back("extended_l2=on");
      // Other refcount widths than 16 need compat 1.1.
      if (dice.OneIn(5)) {
        options.push_back("refcount_bits=" + std::to_string(dice.Pick<int>({1, 2, 8, 32, 64})));
      }
    }
    if (dice.OneIn(8) && size <= 16 * kMiB) options.emplace_back("preallocation=metadata");
  } else if (format == "vmdk") {
    std::string subformat =
        dice.Pick<std::string>({"monolithicSparse", "monolithicSparse", "monolithicFlat",
                                "streamOptimized", "twoGbMaxExtentSparse"});
    if (size > kLargeImage && subformat == "twoGbMaxExtentSparse") subformat = "monolithicSparse";
    if (subformat != "monolithicSparse" || dice.OneIn(2)) {
      options.push_back("subformat=" + subformat);
    }
    target.writable = subformat != "streamOptimized";
    if (dice.OneIn(6)) options.emplace_back("zeroed_grain=on");
  } else if (format == "vpc") {
    if (dice.OneIn(2)) {
      options.push_back("subformat=" + (size > kLargeImage
                                            ? "dynamic"
                                            : dice.Pick<std::string>({"dynamic", "fixed"})));
    }
    if (dice.OneIn(3)) options.emplace_back("force_size=on");
  } else if (format == "vhdx") {
    if (dice.OneIn(3)) {
      options.push_back("subformat=" + (size > kLargeImage
                                            ? "dynamic"
                                            : dice.Pick<std::string>({"dynamic", "fixed"})));
    }
    if (dice.OneIn(2)) {
      options.push_back("block_size=" +
                        std::to_string(dice.Pick<uint64_t>({1 * kMiB, 8 * kMiB, 32 * kMiB})));
    }
  }
  return options;
}

// A range inside the image, in units of 512 bytes, 64 KiB or 1 MiB.
std::pair<uint64_t, uint64_t> DrawRange(Dice& dice, uint64_t size) {
  const uint64_t unit = dice.Pick<uint64_t>({512, 4 * kKiB, 64 * kKiB, kMiB});
  const uint64_t units = size / unit;
  if (units == 0) return {0, 512};
  const uint64_t first = dice.Below(units);
  const uint64_t count = 1 + dice.Below(std::min<uint64_t>(units - first, 16));
  return {first * unit, count * unit};
}

std::string Hex(uint64_t value) {
  static const char kDigits[] = "0123456789abcdef";
  return std::string("0x") + kDigits[(value >> 4) & 15] + kDigits[value & 15];
}

ScriptStep QemuIo(const Target& target, std::string command) {
  return {ScriptTool::kQemuIo, {"-f", target.format, "-c", std::move(command), target.file}};
}

// Up to `most` qemu-io and snapshot steps on `target`.
void AddDataSteps(Dice& dice, const Target& target, uint64_t most, Script& script) {
  if (!target.writable) return;
  const uint64_t count = dice.Below(most + 1);
  int snapshot = 0;
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t kind = dice.Below(target.snapshots ? 10 : 8);
    const auto [offset, length] = DrawRange(dice, target.size);
    const std::string range = std::to_string(offset) + " " + std::to_string(length);
    if (kind < 4) {
      script.steps.push_back(QemuIo(target, "write -P " + Hex(dice.Below(256)) + " " + range));
    } else if (kind < 6) {
      script.steps.push_back(QemuIo(target, "write -z " + range));
    } else if (kind < 7) {
      script.steps.push_back(QemuIo(target, "discard " + range));
    } else if (kind < 8) {
      if (target.format == "qcow2" && target.cluster <= target.size) {
        const uint64_t cluster = dice.Below(target.size / target.cluster) * target.cluster;
        script.steps.push_back(QemuIo(target, "write -c -P " + Hex(dice.Below(256)) + " " +
                                                  std::to_string(cluster) + " " +
                                                  std::to_string(target.cluster)));
      } else {
        script.steps.push_back(QemuIo(target, "write -P " + Hex(dice.Below(256)) + " " + range));
      }
    } else {
      script.steps.push_back({ScriptTool::kQemuImg,
                              {"snapshot", "-c", "s" + std::to_string(++snapshot), target.file}});
    }
  }
}

}  // namespace

const char* ScriptToolName(ScriptTool tool) {
  return tool == ScriptTool::kQemuImg ? "qemu-img" : "qemu-io";
}

const std::vector<std::string>& ScriptFormats() {
  static const std::vector<std::string> formats = {"raw", "qcow2", "vmdk", "vpc", "vhdx"};
  return formats;
}

Script GenerateScript(uint64_t seed) {
  Dice dice(seed);
  Script script;
  script.seed = seed;

  // The first image.
  Target base;
  base.format = dice.Pick(ScriptFormats());
  base.file = std::string(kDirPlaceholder) + "/a." + Extension(base.format);
  // Mostly small images, one in five up to 2000 GiB (vpc's limit is 2040).
  base.size = dice.OneIn(5) ? (1 + dice.Below(2000)) * kGiB : (1 + dice.Below(64)) * kMiB;
  if (dice.OneIn(4)) base.size += (1 + dice.Below(127)) * 512;
  std::vector<std::string> args = {"create", "-f", base.format};
  for (auto& option : CreateOptions(dice, base.format, base.size, base)) {
    args.emplace_back("-o");
    args.push_back(std::move(option));
  }
  args.push_back(base.file);
  args.push_back(std::to_string(base.size));
  script.steps.push_back({ScriptTool::kQemuImg, std::move(args)});
  script.images.push_back({base.file, base.format});
  AddDataSteps(dice, base, 8, script);
  Target top = base;

  // An overlay over it, written in turn.
  if (dice.OneIn(3)) {
    Target overlay;
    // A vmdk overlay takes only a vmdk backing file.
    overlay.format = top.format == "vmdk" && dice.OneIn(2) ? "vmdk" : "qcow2";
    overlay.file = std::string(kDirPlaceholder) + "/b." + Extension(overlay.format);
    overlay.size = top.size;
    std::vector<std::string> words = {"create", "-f", overlay.format};
    if (overlay.format == "qcow2") {
      overlay.snapshots = true;
      overlay.cluster = 64 * kKiB;
      if (dice.OneIn(2)) {
        overlay.cluster = dice.Pick<uint64_t>({4 * kKiB, 32 * kKiB, 256 * kKiB});
        words.emplace_back("-o");
        words.push_back("cluster_size=" + std::to_string(overlay.cluster));
      }
    }
    // The backing file relative to the overlay, as the overlay records it.
    words.insert(words.end(), {"-b", top.file.substr(kDirPlaceholder.size() + 1), "-F", top.format,
                               overlay.file});
    if (overlay.format == "qcow2" && dice.OneIn(3)) {
      overlay.size = top.size + (1 + dice.Below(8)) * kMiB;
      words.push_back(std::to_string(overlay.size));
    }
    script.steps.push_back({ScriptTool::kQemuImg, std::move(words)});
    script.images.push_back({overlay.file, overlay.format});
    AddDataSteps(dice, overlay, 5, script);
    top = overlay;
  }

  // A conversion of the top image to another format.
  if (dice.OneIn(3)) {
    Target converted;
    converted.format = dice.Pick(ScriptFormats());
    converted.file = std::string(kDirPlaceholder) + "/c." + Extension(converted.format);
    converted.size = top.size;
    std::vector<std::string> words = {"convert", "-f", top.format, "-O", converted.format};
    if (converted.format == "qcow2") {
      converted.snapshots = true;
      converted.cluster = 64 * kKiB;
      if (dice.OneIn(3)) words.emplace_back("-c");
    } else if (converted.format == "vmdk" && dice.OneIn(2)) {
      words.insert(words.end(), {"-o", "subformat=streamOptimized"});
      converted.writable = false;
    } else if (converted.format == "vpc" && dice.OneIn(2) && top.size <= kLargeImage) {
      words.insert(words.end(), {"-o", "subformat=fixed"});
    }
    words.push_back(top.file);
    words.push_back(converted.file);
    script.steps.push_back({ScriptTool::kQemuImg, std::move(words)});
    script.images.push_back({converted.file, converted.format});
    AddDataSteps(dice, converted, 3, script);
  }

  script.measure_target = dice.Pick(ScriptFormats());
  return script;
}

Script KeepSteps(const Script& script, const std::vector<size_t>& kept) {
  Script out = script;
  out.steps.clear();
  for (size_t index : kept) out.steps.push_back(script.steps.at(index));
  return out;
}

std::string ResolveDir(std::string_view word, const std::string& dir) {
  std::string out;
  size_t start = 0;
  while (true) {
    const size_t at = word.find(kDirPlaceholder, start);
    out.append(word.substr(start, at - start));
    if (at == std::string_view::npos) break;
    out += dir;
    start = at + kDirPlaceholder.size();
  }
  return out;
}

std::string ScriptShellLine(const std::vector<std::string>& words) {
  const std::string prefix = std::string(kDirPlaceholder) + "/";
  std::string line;
  for (const auto& word : words) {
    if (!line.empty()) line += ' ';
    if (word.starts_with(prefix)) {
      line += "\"" + std::string(kDirPlaceholder) + "\"/" + ShellQuote(word.substr(prefix.size()));
    } else {
      line += ShellQuote(word);
    }
  }
  return line;
}

}  // namespace instar::harness
