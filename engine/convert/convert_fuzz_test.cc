// convert_fuzz's body (convert_fuzz_body.h) in the normal build: every
// corpus image small enough converted into every target with each -S and
// -c choice, and seeded mutations of them (flipped bytes in their first
// 64 KiB), must hold what the fuzzer asserts. Inputs the fuzzer found and
// kept (testdata/convert-fuzz/) are run too: a timeout of ci/fuzz, a 4 GiB
// sparse vmdk whose read-back the harness compared a byte at a time.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "convert/convert_fuzz_body.h"

namespace instar {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> ReadBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The corpus images a fuzz input can hold: small, and not compressed
// with xz (the fuzzer reads image bytes, not archives).
std::vector<fs::path> SmallCorpusImages() {
  std::vector<fs::path> images;
  for (const auto& entry : fs::directory_iterator(fs::path(INSTAR_SOURCE_ROOT) / "cases/images")) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.find(".xz") != std::string::npos ||
        name.find(".json") != std::string::npos || entry.file_size() > (2u << 20)) {
      continue;
    }
    images.push_back(entry.path());
  }
  std::sort(images.begin(), images.end());
  return images;
}

std::vector<uint8_t> Input(uint8_t version, uint8_t choice, const std::vector<uint8_t>& image) {
  std::vector<uint8_t> input(66);
  input[0] = version;
  input[1] = choice;
  for (size_t i = 2; i < input.size(); ++i) input[i] = static_cast<uint8_t>(i * 37);
  input.insert(input.end(), image.begin(), image.end());
  return input;
}

TEST(ConvertFuzzTest, CorpusImagesConvertToEveryTarget) {
  const std::vector<fs::path> images = SmallCorpusImages();
  ASSERT_GT(images.size(), 20u);
  size_t converted_count = 0;
  size_t n = 0;
  for (const fs::path& path : images) {
    const std::vector<uint8_t> image = ReadBytes(path);
    for (uint8_t target = 0; target < 9; ++target) {
      // -S and -c varied over the images, every target for each.
      const uint8_t choice = static_cast<uint8_t>((target & 7) | ((target >> 3) << 6) |
                                                  ((n % 4) << 4) | ((n % 3 == 0) << 3));
      const std::vector<uint8_t> input = Input(static_cast<uint8_t>(n % 7), choice, image);
      bool converted = false;
      EXPECT_EQ(convert_fuzz::RunConvertFuzzInput(input.data(), input.size(), &converted), "")
          << path.filename() << " target " << int{target} << " choice " << int{choice};
      converted_count += converted ? 1 : 0;
      ++n;
    }
  }
  // The safe images convert (the malicious ones mostly fail to open).
  EXPECT_GT(converted_count, images.size());
}

TEST(ConvertFuzzTest, MutatedImagesHold) {
  const std::vector<fs::path> images = SmallCorpusImages();
  uint64_t state = 0x1234567;
  auto next = [&state]() {
    state = state * 6364136223846793005u + 1442695040888963407u;
    return state >> 33;
  };
  for (size_t round = 0; round < 120; ++round) {
    std::vector<uint8_t> image = ReadBytes(images[next() % images.size()]);
    if (image.empty()) continue;
    const size_t window = image.size() < 65536 ? image.size() : 65536;
    for (int flips = 0; flips < 4; ++flips) image[next() % window] ^= static_cast<uint8_t>(next());
    const std::vector<uint8_t> input =
        Input(static_cast<uint8_t>(next() % 7), static_cast<uint8_t>(next()), image);
    EXPECT_EQ(convert_fuzz::RunConvertFuzzInput(input.data(), input.size()), "")
        << "round " << round;
  }
}

TEST(ConvertFuzzTest, KeptInputsHold) {
  const fs::path dir = fs::path(INSTAR_SOURCE_ROOT) / "engine/convert/testdata/convert-fuzz";
  size_t count = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::vector<uint8_t> input = ReadBytes(entry.path());
    EXPECT_EQ(convert_fuzz::RunConvertFuzzInput(input.data(), input.size()), "")
        << entry.path().filename();
    ++count;
  }
  EXPECT_GT(count, 0u);
}

}  // namespace
}  // namespace instar
