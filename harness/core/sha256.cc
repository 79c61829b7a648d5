#include "harness/core/sha256.h"

#include <openssl/evp.h>

#include "harness/core/error.h"

namespace instar::harness {

struct Sha256::Context {
  EVP_MD_CTX* md;
};

Sha256::Sha256() : context_(new Context{EVP_MD_CTX_new()}) {
  if (context_->md == nullptr || EVP_DigestInit_ex(context_->md, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(context_->md);
    delete context_;
    throw HarnessError("OpenSSL cannot compute SHA-256");
  }
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(context_->md);
  delete context_;
}

void Sha256::Update(const void* data, size_t length) {
  if (EVP_DigestUpdate(context_->md, data, length) != 1) {
    throw HarnessError("OpenSSL SHA-256 update failed");
  }
}

std::string Sha256::FinishHex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context_->md, digest, &length) != 1) {
    throw HarnessError("OpenSSL SHA-256 final failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

}  // namespace instar::harness
