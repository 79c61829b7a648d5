// The LUKS header measure adds (luks targets, qcow2's encrypt.format=luks)
// and the refusals of qemu's dry run of a LUKS header, against what the
// qemu-img of the matrix printed. Each case names the command; "--object
// secret,id=s,data=pw" was given unless the case says otherwise.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "instar/engine/measure.h"
#include "measure/measure_test_support.h"

namespace instar {
namespace {

using measure_test::ErrorText;
using measure_test::Version;

struct Outcome {
  bool ok = false;
  MeasureResult result;
  std::string error;  // qemu-img's stderr
  StatusCode code = StatusCode::kOk;
};

// `qemu-img measure --object secret,id=s,data=pw -O TARGET -o OPTIONS --size SIZE`.
Outcome MeasureWithSecret(const char* target, const std::string& options, uint64_t size,
                          const char* version, bool utf8 = true) {
  const QemuVersion compat = Version(version);
  static std::vector<uint8_t> buffer(1 << 20);
  Arena arena(buffer.data(), buffer.size());
  MeasureError error;
  ImageFormat format = ImageFormat::kUnknown;
  Outcome out;
  if (!LookUpMeasureTarget(target, std::strlen(target), compat, &format, &error).ok()) {
    out.error = ErrorText(error);
    return out;
  }
  ParsedMeasureOptions parsed;
  if (!ParseMeasureOptions(format, options.data(), options.size(), compat, arena, &parsed, &error)
           .ok()) {
    out.error = ErrorText(error);
    return out;
  }
  MeasureSecrets secrets;
  secrets.entries[0].id = MeasureText{"s", 1};
  secrets.entries[0].length = 2;
  secrets.entries[0].valid_utf8 = utf8;
  secrets.count = 1;
  MeasureRequest request;
  request.options = &parsed;
  request.has_size = true;
  request.size = size;
  request.secrets = &secrets;
  request.refuse_like_qemu = true;
  Result<MeasureResult> result = Measure(request, nullptr, compat, &error);
  out.ok = result.ok();
  if (result.ok()) {
    out.result = *result;
  } else {
    out.code = result.status().code();
    out.error = ErrorText(error);
  }
  return out;
}

constexpr uint64_t kGiB = uint64_t{1} << 30;

// qemu-img measure ... -O luks -o key-secret=s,iter-time=10 --size 1G and
// --size 1000 / 0 (every version): the header is added to the size as it is.
TEST(LuksMeasureTest, LuksTargetAddsTheHeader) {
  for (const char* v : {"5.2.0", "7.2.22", "10.0.2", "11.1.3"}) {
    Outcome o = MeasureWithSecret("luks", "key-secret=s,iter-time=10", kGiB, v);
    ASSERT_TRUE(o.ok) << o.error;
    EXPECT_EQ(o.result.required, 1075810304u) << v;
    EXPECT_EQ(o.result.fully_allocated, 1075810304u);
    EXPECT_FALSE(o.result.has_bitmaps);
    EXPECT_EQ(MeasureWithSecret("luks", "key-secret=s", 1000, v).result.required, 2069480u);
    EXPECT_EQ(MeasureWithSecret("luks", "key-secret=s", 0, v).result.required, 2068480u);
    // preallocation is taken and ignored, even a bad one; --size wins
    // over -o size.
    EXPECT_EQ(MeasureWithSecret("luks", "key-secret=s,preallocation=foo,size=2G", kGiB, v)
                  .result.required,
              1075810304u);
  }
}

// qemu-img measure ... -O luks -o key-secret=s,cipher-alg=A,cipher-mode=M --size 1G
TEST(LuksMeasureTest, HeaderFollowsTheMasterKeyLength) {
  struct Case {
    const char* options;
    uint64_t required;
  };
  const Case cases[] = {
      {"cipher-alg=aes-128", 1074794496u},                  // 32-byte XTS key
      {"cipher-alg=aes-192", 1075286016u},                  // 48
      {"cipher-alg=aes-128,cipher-mode=cbc", 1074270208u},  // 16
      {"cipher-alg=aes-256,cipher-mode=ecb", 1074794496u},  // 32
      {"cipher-alg=serpent-192,cipher-mode=xts", 1075286016u},
      {"cipher-alg=twofish-256,cipher-mode=ctr", 1074794496u},
      {"cipher-alg=cast5-128,cipher-mode=cbc", 1074270208u},
      {"ivgen-alg=essiv", 1075810304u},
      {"cipher-alg=aes-128,cipher-mode=cbc,ivgen-alg=essiv,ivgen-hash-alg=md5", 1074270208u},
      {"hash-alg=sha512,iter-time=0", 1075810304u},
  };
  for (const Case& c : cases) {
    Outcome o = MeasureWithSecret("luks", std::string("key-secret=s,") + c.options, kGiB, "7.2.22");
    ASSERT_TRUE(o.ok) << c.options << ": " << o.error;
    EXPECT_EQ(o.result.required, c.required) << c.options;
  }
}

// qemu-img measure ... -O qcow2 -o encrypt.format=luks,encrypt.key-secret=s
//   [,cluster_size=512|2M] --size 1G: the header in whole clusters.
TEST(LuksMeasureTest, Qcow2RoundsTheHeaderToClusters) {
  Outcome o =
      MeasureWithSecret("qcow2", "encrypt.format=luks,encrypt.key-secret=s", kGiB, "11.1.3");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.result.required, 2490368u);
  EXPECT_EQ(o.result.fully_allocated, 1076232192u);
  o = MeasureWithSecret("qcow2", "encrypt.format=luks,encrypt.key-secret=s,cluster_size=512", kGiB,
                        "5.2.0");
  EXPECT_EQ(o.result.required, 23453696u);
  EXPECT_EQ(o.result.fully_allocated, 1097195520u);
  o = MeasureWithSecret("qcow2", "encrypt.format=luks,encrypt.key-secret=s,cluster_size=2M", kGiB,
                        "10.0.2");
  EXPECT_EQ(o.result.required, 12582912u);
  EXPECT_EQ(o.result.fully_allocated, 1086324736u);
  // compat=0.10 and the legacy "encryption" are not looked at.
  o = MeasureWithSecret("qcow2",
                        "encrypt.format=luks,encrypt.key-secret=s,encryption=on,compat=0.10", kGiB,
                        "7.2.22");
  EXPECT_EQ(o.result.required, 2490368u);
  // Anything but "luks" adds nothing.
  o = MeasureWithSecret("qcow2", "encrypt.format=aes,encrypt.key-secret=s", kGiB, "7.2.22");
  EXPECT_EQ(o.result.required, 393216u);
}

struct Refusal {
  const char* target;
  const char* options;
  const char* version;
  const char* error;
};

// Each `qemu-img measure [--object secret,id=s,data=pw] -O TARGET -o
// OPTIONS --size 1G` of the matrix version named.
TEST(LuksMeasureTest, RefusalsInQemusOrder) {
  const Refusal cases[] = {
      {"qcow2", "encrypt.format=luks", "7.2.22",
       "qemu-img: Parameter 'encrypt.key-secret' is required for cipher\n"},
      {"luks", "iter-time=1", "7.2.22",
       "qemu-img: Parameter 'key-secret' is required for cipher\n"},
      {"qcow2", "encrypt.format=luks,encrypt.key-secret=t", "5.2.0",
       "qemu-img: No secret with id 't'\n"},
      {"luks", "key-secret=s,cipher-alg=foo", "5.2.0", "qemu-img: Invalid parameter 'foo'\n"},
      {"luks", "key-secret=s,cipher-alg=foo", "7.2.22",
       "qemu-img: Parameter 'cipher-alg' does not accept value 'foo'\n"},
      {"qcow2", "encrypt.format=luks,encrypt.key-secret=s,encrypt.cipher-alg=foo", "11.1.3",
       "qemu-img: Parameter 'cipher-alg' does not accept value 'foo'\n"},
      {"luks", "key-secret=s,cipher-mode=bar,cipher-alg=foo", "7.2.22",
       "qemu-img: Parameter 'cipher-alg' does not accept value 'foo'\n"},
      {"luks", "key-secret=s,ivgen-alg=foo", "7.2.22",
       "qemu-img: Parameter 'ivgen-alg' does not accept value 'foo'\n"},
      {"luks", "key-secret=s,hash-alg=sm3", "7.2.22",
       "qemu-img: Parameter 'hash-alg' does not accept value 'sm3'\n"},
      {"luks", "key-secret=s,iter-time=18446744073709551615", "7.2.22",
       "qemu-img: Parameter 'iter-time' expects integer\n"},
      {"luks", "key-secret=s,cipher-alg=des", "7.2.22",
       "qemu-img: Algorithm 'des' not supported\n"},
      {"luks", "key-secret=s,cipher-alg=des-rfb", "5.2.0",
       "qemu-img: Algorithm 'des-rfb' not supported\n"},
      {"luks", "key-secret=s,cipher-alg=des", "5.2.0", "qemu-img: Invalid parameter 'des'\n"},
      {"luks", "key-secret=s,cipher-alg=3des,cipher-mode=cbc", "11.1.3",
       "qemu-img: Algorithm '3des' not supported\n"},
      {"luks", "key-secret=s,cipher-alg=sm4", "7.2.22",
       "qemu-img: Parameter 'cipher-alg' does not accept value 'sm4'\n"},
      {"luks", "key-secret=s,cipher-alg=sm4", "10.0.2",
       "qemu-img: Algorithm 'sm4' not supported\n"},
      {"luks", "key-secret=s,cipher-alg=sm4,cipher-mode=cbc", "10.0.13",
       "qemu-img: Unsupported cipher mode cbc\n"},
      {"luks", "key-secret=s,cipher-alg=cast5-128", "5.2.0",
       "qemu-img: Unsupported cipher mode xts\n"},
      {"luks", "key-secret=s,ivgen-alg=essiv,ivgen-hash-alg=sha1", "7.2.22",
       "qemu-img: No AES cipher with key size 20 available\n"},
      {"luks", "key-secret=s,cipher-alg=cast5-128,cipher-mode=cbc,ivgen-alg=essiv", "10.0.2",
       "qemu-img: Cipher cast5-128 not supported with essiv\n"},
      {"luks", "key-secret=s,detached-header=on", "10.0.2",
       "qemu-img: Parameter 'detached-header' is unexpected\n"},
      {"luks", "key-secret=s,detached-header=on,hash-alg=bar", "11.1.3",
       "qemu-img: Parameter 'hash-alg' does not accept value 'bar'\n"},
  };
  for (const Refusal& c : cases) {
    const Outcome o = MeasureWithSecret(c.target, c.options, kGiB, c.version);
    EXPECT_FALSE(o.ok) << c.options;
    EXPECT_EQ(o.error, c.error) << c.target << " " << c.options << " " << c.version;
  }
}

// qemu-img measure --object secret,id=s,data=/w==,format=base64 -O luks
//   -o key-secret=s --size 1G
TEST(LuksMeasureTest, SecretMustBeUtf8) {
  const Outcome o = MeasureWithSecret("luks", "key-secret=s", kGiB, "7.2.22", /*utf8=*/false);
  EXPECT_EQ(o.error, "qemu-img: Data from secret s is not valid UTF-8\n");
}

// qemu-img measure ... -O luks -o key-secret=s,cipher-alg=aes-192,cipher-mode=cbc
// aborts every version (SIGABRT: "Assertion `QEMU_IS_ALIGNED(len,
// sectorsize)' failed"); a negative iter-time fails once the PBKDF was
// timed ("PBKDF iterations N too large to scale").
TEST(LuksMeasureTest, WhatQemuFailsLate) {
  Outcome o =
      MeasureWithSecret("luks", "key-secret=s,cipher-alg=aes-192,cipher-mode=cbc", kGiB, "11.1.3");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.code, StatusCode::kNotSupported);
  o = MeasureWithSecret("luks", "key-secret=s,iter-time=-1", kGiB, "7.2.22");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.error,
            "qemu-img: PBKDF iterations too large to scale: Numerical result out of range\n");
}

}  // namespace
}  // namespace instar
