// Sha256: SHA-256 of a byte stream, for checking materialised corpus files
// against the manifest. Streaming: Update() any number of times, then
// FinishHex() once.
//
// It wraps OpenSSL's libcrypto, which uses the CPU's SHA instructions where
// there are any: the corpus is some 60 MiB per run, and a portable C++
// implementation spent more of the harness's CPU on it (0.7 s) than the
// harness spends on everything else in a whole measure generation.
#ifndef INSTAR_HARNESS_CORE_SHA256_H_
#define INSTAR_HARNESS_CORE_SHA256_H_

#include <cstddef>
#include <string>

namespace instar::harness {

class Sha256 {
 public:
  Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  ~Sha256();

  void Update(const void* data, size_t length);
  // The digest as 64 lowercase hex digits. The object is spent afterwards.
  std::string FinishHex();

 private:
  struct Context;
  Context* context_;
};

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_CORE_SHA256_H_
