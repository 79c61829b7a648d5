// --object as each release reads and makes it, against what the qemu-img
// of the matrix printed for `qemu-img measure --object ARG --size 1G`
// (stderr, exit 1) or `--object ARG` alone (the help, exit 0).
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

// Reads and makes every object in turn, as qemu-img does (5.2 makes them
// after reading all); returns qemu-img's stderr ("" when all were made),
// or "help:" and the help text.
struct Objects {
  std::vector<uint8_t> buffer = std::vector<uint8_t>(1 << 20);
  Arena arena{buffer.data(), buffer.size()};
  MeasureSecrets secrets;
  std::vector<MeasureObject> read;

  std::string Run(const std::vector<std::string>& args, const char* version) {
    const QemuVersion compat = Version(version);
    const bool deferred = !compat.AtLeast(6, 0);
    for (const std::string& arg : args) {
      MeasureObject object;
      MeasureError error;
      const Status status = ReadMeasureObject(arg.data(), arg.size(), compat, arena, read.data(),
                                              read.size(), &object, &error);
      if (!status.ok()) {
        return status.code() == StatusCode::kNotSupported ? "instar refuses" : ErrorText(error);
      }
      read.push_back(object);
      if (!deferred) {
        const std::string made = Make(object, compat);
        if (!made.empty()) return made;
      }
    }
    if (deferred) {
      for (const MeasureObject& object : read) {
        const std::string made = Make(object, compat);
        if (!made.empty()) return made;
      }
    }
    return "";
  }

  std::string Make(const MeasureObject& object, const QemuVersion& compat) {
    if (object.help) {
      const char* help = MeasureObjectHelp(object, compat);
      return help != nullptr ? std::string("help:") + help : "help:(none)";
    }
    MeasureError error;
    const Status made = MakeMeasureObject(object, compat, secrets, &error);
    if (!made.ok()) {
      return made.code() == StatusCode::kNotSupported ? "instar refuses" : ErrorText(error);
    }
    if (object.file.data != nullptr) return "";  // the host reads files
    const Status finished =
        FinishMeasureSecret(object, reinterpret_cast<const uint8_t*>(object.data.data),
                            object.data.length, arena, &secrets, &error);
    if (!finished.ok()) {
      return finished.code() == StatusCode::kNotSupported ? "instar refuses" : ErrorText(error);
    }
    return "";
  }
};

std::string RunObjects(const std::vector<std::string>& args, const char* version) {
  Objects objects;
  return objects.Run(args, version);
}

TEST(MeasureObjectTest, SecretsAreMade) {
  for (const char* v : {"5.2.0", "7.2.22", "10.0.2", "11.1.3"}) {
    Objects objects;
    EXPECT_EQ(objects.Run({"secret,id=sec0,data=MTIzNDU2,format=base64"}, v), "") << v;
    ASSERT_EQ(objects.secrets.count, 1u);
    EXPECT_EQ(std::string(objects.secrets.entries[0].id.data, objects.secrets.entries[0].id.length),
              "sec0");
    EXPECT_EQ(objects.secrets.entries[0].length, 6u);  // "123456"
    EXPECT_TRUE(objects.secrets.entries[0].valid_utf8);
    EXPECT_EQ(RunObjects({"qom-type=secret,id=s,data=x"}, v), "");
    EXPECT_EQ(RunObjects({"secret,id=s,data="}, v), "");
    // An IV without a key id is not looked at.
    EXPECT_EQ(RunObjects({"secret,id=s,data=x,iv=abc"}, v), "");
  }
}

TEST(MeasureObjectTest, Utf8AndBase64) {
  Objects objects;
  EXPECT_EQ(
      objects.Run({"secret,id=a,data=/w==,format=base64", "secret,id=b,data=7aCA,format=base64",
                   "secret,id=c,data=4pyTIMOgIGxhIG1vZGU=,format=base64",
                   "secret,id=d,data=wIA=,format=base64"},
                  "7.2.22"),
      "");
  ASSERT_EQ(objects.secrets.count, 4u);
  EXPECT_FALSE(objects.secrets.entries[0].valid_utf8);  // 0xff
  EXPECT_FALSE(objects.secrets.entries[1].valid_utf8);  // a surrogate, U+D800
  EXPECT_TRUE(objects.secrets.entries[2].valid_utf8);   // "✓ à la mode"
  EXPECT_FALSE(objects.secrets.entries[3].valid_utf8);  // an overlong NUL
  EXPECT_EQ(objects.secrets.entries[2].length, 14u);
}

struct Refusal {
  std::vector<std::string> args;
  const char* version;
  const char* error;
};

TEST(MeasureObjectTest, RefusalsPerVersion) {
  const Refusal cases[] = {
      {{"bogus,id=x"}, "5.2.0", "qemu-img: invalid object type: bogus\n"},
      {{"bogus,id=x"}, "7.2.22", "qemu-img: Parameter 'qom-type' does not accept value 'bogus'\n"},
      {{"memory-backend-ram,id=m,size=1M"},
       "11.1.3",
       "qemu-img: invalid object type: memory-backend-ram\n"},
      {{"iothread,id=io0"}, "7.2.18", "qemu-img: invalid object type: iothread\n"},
      {{"secret,id=sec0,data=x", "secret,id=sec0,data=y"},
       "5.2.0",
       "qemu-img: Duplicate ID 'sec0' for object\n"},
      {{"secret,id=sec0,data=x", "secret,id=sec0,data=y"},
       "10.0.13",
       "qemu-img: attempt to add duplicate property 'sec0' to object (type 'container')\n"},
      {{"secret,id=0sec,data=x"},
       "5.2.0",
       "qemu-img: Parameter 'id' expects an identifier\n"
       "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.\n"},
      {{"secret,id=0sec,data=x"},
       "11.1.2",
       "qemu-img: Parameter 'id' expects an identifier\n"
       "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.\n"},
      {{"secret,id=sec0,data=x,format=hex"}, "5.2.0", "qemu-img: Invalid parameter 'hex'\n"},
      {{"secret,id=sec0,data=x,format=hex"},
       "7.2.22",
       "qemu-img: Parameter 'format' does not accept value 'hex'\n"},
      {{"secret,id=sec0,data=!!!,format=base64"},
       "10.0.2",
       "qemu-img: Base64 data contains invalid characters\n"},
      {{"secret,id=sec0,data=x,file=/etc/hostname"},
       "7.2.22",
       "qemu-img: 'file' and 'data' are mutually exclusive\n"},
      {{"secret,id=sec0"}, "5.2.0", "qemu-img: Either 'file' or 'data' must be provided\n"},
      {{"secret,id=sec0,data=x,foo=bar"}, "5.2.0", "qemu-img: Property 'secret.foo' not found\n"},
      {{"secret,id=sec0,data=x,foo=bar"}, "7.2.18", "qemu-img: Parameter 'foo' is unexpected\n"},
      {{"secret,id=sec0,data=x,keyid=k"}, "11.1.3", "qemu-img: No secret with id 'k'\n"},
      {{"secret,id=sec0,data=x,loaded=on"},
       "5.2.0",
       "qemu-img: Either 'file' or 'data' must be provided\n"},
      {{"secret,id=sec0,data=x,loaded=on"},
       "7.2.22",
       "qemu-img: Property 'secret.loaded' is not writable\n"},
      {{"secret,id=sec0,data=x,loaded=on"},
       "10.0.2",
       "qemu-img: Parameter 'loaded' is unexpected\n"},
      {{"id=sec0,data=x"}, "5.2.0", "qemu-img: Parameter 'qom-type' is missing\n"},
      {{"id=sec0,data=x"}, "7.2.22", "qemu-img: Parameter 'qom-type' is missing\n"},
      {{""}, "11.1.3", "qemu-img: Parameter 'qom-type' is missing\n"},
      {{"secret"}, "10.0.2", "qemu-img: Parameter 'id' is missing\n"},
      {{"secret"}, "5.2.0", "qemu-img: Parameter 'id' is missing\n"},
      {{"secret,,x,id=s"}, "5.2.0", "qemu-img: invalid object type: secret,x\n"},
      {{"secret,,x,id=s"}, "7.2.22", "qemu-img: Invalid parameter ''\n"},
      {{"secret,id=s,data"}, "7.2.22", "qemu-img: Expected '=' after parameter 'data'\n"},
      {{"secret,id=s,a.b=1,a=2"}, "10.0.2", "qemu-img: Parameters 'a.*' used inconsistently\n"},
      {{"secret,id=s,data.y=1"}, "11.1.3", "qemu-img: Parameters 'data.*' are unexpected\n"},
      {{"secret,id=k,data=short", "secret,id=s,data=x,keyid=k"},
       "7.2.22",
       "qemu-img: Key should be 32 bytes in length\n"},
      {{"secret,id=k,data=0123456789abcdef0123456789abcdef", "secret,id=s,data=x,keyid=k"},
       "7.2.22",
       "qemu-img: IV is required to decrypt secret\n"},
      {{"secret,id=k,data=0123456789abcdef0123456789abcdef", "secret,id=s,data=x,keyid=k,iv=AAAA"},
       "7.2.22",
       "qemu-img: IV should be 16 bytes in length not 3\n"},
      // What instar does not make.
      {{"throttle-group,id=tg0"}, "7.2.22", "instar refuses"},
      {{"tls-creds-anon,id=t0"}, "5.2.0", "instar refuses"},
      {{"{\"qom-type\":\"secret\",\"id\":\"s\",\"data\":\"x\"}"}, "11.1.3", "instar refuses"},
  };
  for (const Refusal& c : cases) {
    Objects objects;
    const std::string error = objects.Run(c.args, c.version);
    EXPECT_EQ(error, c.error) << c.args.back() << " " << c.version;
  }
}

// qemu-img measure --object help / --object secret,help (exit 0, on stdout).
TEST(MeasureObjectTest, Help) {
  EXPECT_EQ(RunObjects({"help"}, "5.2.0"),
            "help:List of user creatable objects:\n"
            "  authz-list\n  authz-list-file\n  authz-simple\n  pr-manager-helper\n"
            "  secret\n  secret_keyring\n  throttle-group\n  tls-cipher-suites\n"
            "  tls-creds-anon\n  tls-creds-psk\n  tls-creds-x509\n");
  EXPECT_EQ(RunObjects({"?"}, "10.0.2"),
            "help:List of user creatable objects:\n"
            "  authz-list\n  authz-list-file\n  authz-simple\n  main-loop\n"
            "  pr-manager-helper\n  secret\n  secret_keyring\n  thread-context\n"
            "  throttle-group\n  tls-creds-anon\n  tls-creds-psk\n  tls-creds-x509\n");
  EXPECT_EQ(RunObjects({"secret,help"}, "5.2.0"),
            "help:secret options:\n  data=<string>\n  file=<string>\n"
            "  format=<QCryptoSecretFormat>\n  iv=<string>\n  keyid=<string>\n  loaded=<bool>\n");
  EXPECT_EQ(RunObjects({"secret,?"}, "7.2.22"),
            "help:secret options:\n  data=<string>\n  file=<string>\n"
            "  format=<QCryptoSecretFormat>\n  iv=<string>\n  keyid=<string>\n");
  // 7.2 lists the types for a type it cannot make; 5.2 tries to make it.
  EXPECT_EQ(RunObjects({"bogus,help"}, "7.2.22").substr(0, 37),
            "help:List of user creatable objects:\n");
  EXPECT_EQ(RunObjects({"bogus,help"}, "5.2.0"), "qemu-img: Parameter 'id' is missing\n");
  EXPECT_EQ(RunObjects({"throttle-group,help"}, "11.1.3"), "help:(none)");
}

}  // namespace
}  // namespace instar
