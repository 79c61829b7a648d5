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
  uint64_t cluster = 0;       // qcow2: its cluster size, for compressed writes
  bool writable = true;       // a streamOptimized vmdk takes no random writes
  bool snapshots = false;     // qcow2
  bool resizable = false;     // qcow2 and raw
  bool compressible = false;  // qcow2 without an external data file
};

std::vector<std::string> CreateOptions(Dice& dice, const std::string& format, uint64_t size,
                                       Target& target) {
  std::vector<std::string> options;
  if (format == "qcow2") {
    target.snapshots = true;
    target.resizable = true;
    target.compressible = true;
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
      if (dice.OneIn(8)) options.emplace_back("compression_type=zstd");
      // An external data file: no snapshots, no compressed clusters.
      if (dice.OneIn(10)) {
        options.push_back("data_file=" + target.file + ".data");
        if (dice.OneIn(2)) options.emplace_back("data_file_raw=on");
        target.snapshots = false;
        target.compressible = false;
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
    // Zeroed grains are a sparse extent's (a flat one refuses them).
    if (dice.OneIn(6) && subformat != "monolithicFlat") options.emplace_back("zeroed_grain=on");
    if (dice.OneIn(6)) {
      options.push_back("adapter_type=" + dice.Pick<std::string>({"ide", "lsilogic", "buslogic"}));
    }
  } else if (format == "raw") {
    target.resizable = true;
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

// A qemu-img step that changes a qcow2 or raw image's size: grow it, or
// shrink it (--shrink) to no less than 1 MiB. `target.size` follows.
ScriptStep ResizeStep(Dice& dice, Target& target) {
  std::vector<std::string> words = {"resize", "-f", target.format};
  if (dice.OneIn(3) && target.size > 2 * kMiB) {
    target.size = kMiB + dice.Below((target.size - kMiB) / kMiB) * kMiB;
    words.emplace_back("--shrink");
  } else {
    target.size += (1 + dice.Below(64)) * kMiB;
  }
  words.push_back(target.file);
  words.push_back(std::to_string(target.size));
  return {ScriptTool::kQemuImg, std::move(words)};
}

// A qcow2 amend of one option; one that the image cannot take (a refcount
// width on compat 0.10, a downgrade past a feature) fails and changes
// nothing.
ScriptStep AmendStep(Dice& dice, const Target& target) {
  const std::string option = dice.Pick<std::string>(
      {"compat=0.10", "compat=1.1", "lazy_refcounts=on", "lazy_refcounts=off",
       "refcount_bits=" + std::to_string(dice.Pick<int>({1, 4, 16, 64}))});
  return {ScriptTool::kQemuImg, {"amend", "-f", "qcow2", "-o", option, target.file}};
}

// Up to `most` qemu-io, snapshot, resize and amend steps on `target`.
void AddDataSteps(Dice& dice, Target& target, uint64_t most, Script& script) {
  if (!target.writable) return;
  const uint64_t count = dice.Below(most + 1);
  int snapshot = 0;
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t kind = dice.Below(target.snapshots ? 12 : 9);
    const auto [offset, length] = DrawRange(dice, target.size);
    const std::string range = std::to_string(offset) + " " + std::to_string(length);
    if (kind < 4) {
      script.steps.push_back(QemuIo(target, "write -P " + Hex(dice.Below(256)) + " " + range));
    } else if (kind < 6) {
      script.steps.push_back(QemuIo(target, "write -z " + range));
    } else if (kind < 7) {
      script.steps.push_back(QemuIo(target, "discard " + range));
    } else if (kind < 8) {
      if (target.compressible && target.cluster <= target.size) {
        const uint64_t cluster = dice.Below(target.size / target.cluster) * target.cluster;
        script.steps.push_back(QemuIo(target, "write -c -P " + Hex(dice.Below(256)) + " " +
                                                  std::to_string(cluster) + " " +
                                                  std::to_string(target.cluster)));
      } else {
        script.steps.push_back(QemuIo(target, "write -P " + Hex(dice.Below(256)) + " " + range));
      }
    } else if (kind < 9) {
      if (target.resizable) {
        script.steps.push_back(ResizeStep(dice, target));
      } else {
        script.steps.push_back(QemuIo(target, "write -z " + range));
      }
    } else if (kind < 10) {
      script.steps.push_back(AmendStep(dice, target));
    } else if (snapshot == 0 || !dice.OneIn(3)) {
      script.steps.push_back({ScriptTool::kQemuImg,
                              {"snapshot", "-c", "s" + std::to_string(++snapshot), target.file}});
    } else {
      // Back to, or away with, a snapshot taken before.
      const std::string name = "s" + std::to_string(1 + dice.Below(snapshot));
      script.steps.push_back(
          {ScriptTool::kQemuImg, {"snapshot", dice.OneIn(2) ? "-a" : "-d", name, target.file}});
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
  // Mostly small images, one in five up to 64 GiB, and one in four of those
  // up to 2000 GiB (vpc's limit is 2040), but a vmdk: its grain tables are
  // all there from the start, 100 MB and seconds for each map of 700 GiB.
  if (dice.OneIn(5)) {
    const bool huge = dice.OneIn(4) && base.format != "vmdk";
    base.size = (1 + dice.Below(huge ? 2000 : 64)) * kGiB;
  } else {
    base.size = (1 + dice.Below(64)) * kMiB;
  }
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
  std::string orphan;

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
    if (overlay.format == "qcow2") overlay.resizable = overlay.compressible = true;
    AddDataSteps(dice, overlay, 5, script);
    top = overlay;

    // A second overlay, over the first.
    if (dice.OneIn(4)) {
      Target second = overlay;
      second.format = "qcow2";
      second.file = std::string(kDirPlaceholder) + "/d.qcow2";
      second.cluster = 64 * kKiB;
      second.snapshots = second.resizable = second.compressible = true;
      script.steps.push_back(
          {ScriptTool::kQemuImg,
           {"create", "-f", "qcow2", "-b", top.file.substr(kDirPlaceholder.size() + 1), "-F",
            top.format, second.file}});
      script.images.push_back({second.file, second.format});
      AddDataSteps(dice, second, 3, script);
      top = second;
    }
    if (top.format == "qcow2" && dice.OneIn(8)) {
      // Its data into its backing file (which it then no longer needs).
      script.steps.push_back({ScriptTool::kQemuImg, {"commit", "-f", "qcow2", top.file}});
    }
    // A backing file that is not there (info still opens the image), made
    // at the end, so that a conversion of the chain still reads it.
    if (top.format == "qcow2" && dice.OneIn(8)) orphan = top.file;
  }

  // A conversion of the top image to another format.
  if (dice.OneIn(3)) {
    Target converted;
    converted.format = dice.Pick(ScriptFormats());
    if (converted.format == "vmdk" && top.size > 64 * kGiB) converted.format = "qcow2";
    converted.file = std::string(kDirPlaceholder) + "/c." + Extension(converted.format);
    converted.size = top.size;
    std::vector<std::string> words = {"convert", "-f", top.format, "-O", converted.format};
    if (converted.format == "qcow2") {
      converted.snapshots = converted.resizable = converted.compressible = true;
      converted.cluster = 64 * kKiB;
      if (dice.OneIn(3)) words.emplace_back("-c");
    } else if (converted.format == "vmdk" && dice.OneIn(2)) {
      words.insert(words.end(), {"-o", "subformat=streamOptimized"});
      converted.writable = false;
    } else if (converted.format == "vpc" && dice.OneIn(2) && top.size <= kLargeImage) {
      words.insert(words.end(), {"-o", "subformat=fixed"});
    } else if (converted.format == "raw") {
      converted.resizable = true;
    }
    words.push_back(top.file);
    words.push_back(converted.file);
    script.steps.push_back({ScriptTool::kQemuImg, std::move(words)});
    script.images.push_back({converted.file, converted.format});
    AddDataSteps(dice, converted, 3, script);
  }

  if (!orphan.empty()) {
    script.steps.push_back(
        {ScriptTool::kQemuImg,
         {"rebase", "-u", "-f", "qcow2", "-b", "missing.qcow2", "-F", "qcow2", orphan}});
  }
  // The targets qemu-img measures (the others "do not support size
  // measurement", which both sides would agree on every time).
  script.measure_target = dice.Pick<std::string>({"raw", "qcow2"});
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
  std::string line;
  for (const auto& word : words) {
    if (!line.empty()) line += ' ';
    // Each "$DIR" of the word stays the variable, quoted; the pieces
    // around it are quoted as words of their own.
    std::string_view rest = word;
    while (true) {
      const size_t at = rest.find(kDirPlaceholder);
      if (at == std::string_view::npos) break;
      if (at > 0) line += ShellQuote(rest.substr(0, at));
      line += "\"" + std::string(kDirPlaceholder) + "\"";
      rest.remove_prefix(at + kDirPlaceholder.size());
    }
    if (!rest.empty() || word.empty()) line += ShellQuote(rest);
  }
  return line;
}

}  // namespace instar::harness
