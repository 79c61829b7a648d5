#include "harness/run/child.h"

#include <signal.h>

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "harness/core/error.h"

namespace instar::harness {
namespace {

ChildResult RunShell(const std::string& script,
                     std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  ChildRunner runner;
  return runner.Run({"/bin/sh", {"-c", script}, MinimalEnvironment(), timeout});
}

TEST(ChildRunnerTest, CapturesStreamsApart) {
  ChildResult result = RunShell("printf out; printf err >&2; printf more");
  EXPECT_EQ(result.out, "outmore");
  EXPECT_EQ(result.err, "err");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_FALSE(result.timed_out);
}

TEST(ChildRunnerTest, ExitCodesAndSignals) {
  EXPECT_EQ(RunShell("exit 3").exit_code, 3);
  EXPECT_EQ(RunShell("kill -TERM $$").exit_code, 128 + SIGTERM);
  EXPECT_EQ(RunShell("kill -KILL $$").exit_code, 128 + SIGKILL);
}

TEST(ChildRunnerTest, StdinIsDevNullAndEnvironmentIsExact) {
  ChildResult result = RunShell("cat; echo \"[$LC_ALL] [$TZ] [$PATH] [${HOME-unset}]\"");
  EXPECT_EQ(result.out, "[C] [UTC] [/usr/bin:/bin] [unset]\n");
}

TEST(ChildRunnerTest, OwnProcessGroup) {
  ChildResult result = RunShell("ps -o pid=,pgid= -p $$");
  std::istringstream fields(result.out);
  long pid = 0, pgid = 0;
  fields >> pid >> pgid;
  EXPECT_NE(pid, 0);
  EXPECT_EQ(pid, pgid);
  EXPECT_NE(pgid, static_cast<long>(getpgrp()));
}

TEST(ChildRunnerTest, NoStrayDescriptors) {
  ChildResult result = RunShell("ls /proc/self/fd | sort -n | tr '\\n' ' '");
  // ls itself holds one more, for the directory it lists.
  EXPECT_EQ(result.out, "0 1 2 3 ");
}

bool GoneOrZombie(long pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return true;
  size_t close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'Z';
}

TEST(ChildRunnerTest, TimeOutKillsTheWholeGroup) {
  // The shell starts a grandchild and waits for it; both must die at the
  // time-out, not only the shell.
  ChildResult result = RunShell("sleep 30 & echo $!; wait", std::chrono::seconds(1));
  EXPECT_TRUE(result.timed_out);
  EXPECT_EQ(result.exit_code, 128 + SIGKILL);
  long grandchild = std::stol(result.out);
  ASSERT_GT(grandchild, 0);
  // The orphan is reaped by init at its own pace; what matters is that it
  // no longer runs. Poll for that instead of asserting on timing.
  for (int i = 0; i < 500 && !GoneOrZombie(grandchild); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(GoneOrZombie(grandchild));
}

TEST(ChildRunnerTest, StragglersAreKilledWhenTheChildExits) {
  // A background process holding stdout would otherwise keep us reading.
  ChildResult result = RunShell("sleep 30 & echo started", std::chrono::seconds(20));
  EXPECT_FALSE(result.timed_out);
  EXPECT_EQ(result.out, "started\n");
  EXPECT_EQ(result.exit_code, 0);
}

TEST(ChildRunnerTest, InterruptKillsRunningChildren) {
  Interrupt interrupt;
  ChildRunner runner(&interrupt);
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    interrupt.Stop(SIGINT);
  });
  ChildResult result =
      runner.Run({"/bin/sleep", {"30"}, MinimalEnvironment(), std::chrono::seconds(60)});
  stopper.join();
  EXPECT_EQ(result.exit_code, 128 + SIGKILL);
  EXPECT_FALSE(result.timed_out);
  // Once stopped, a new child is killed as soon as it starts.
  result = runner.Run({"/bin/sleep", {"30"}, MinimalEnvironment(), std::chrono::seconds(60)});
  EXPECT_EQ(result.exit_code, 128 + SIGKILL);
}

TEST(ChildRunnerTest, StreamsStdoutWhenAsked) {
  std::string streamed;
  ChildRequest request{"/bin/sh", {"-c", "head -c 200000 /dev/zero"}, MinimalEnvironment()};
  request.stdout_sink = [&](const char* data, size_t length) { streamed.append(data, length); };
  ChildRunner runner;
  ChildResult result = runner.Run(request);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(streamed, std::string(200000, '\0'));
  EXPECT_TRUE(result.out.empty());
}

TEST(ChildRunnerTest, MissingProgramIsAnError) {
  ChildRunner runner;
  EXPECT_THROW(runner.Run({"/nonexistent/qemu-img", {}, MinimalEnvironment()}), HarnessError);
}

}  // namespace
}  // namespace instar::harness
