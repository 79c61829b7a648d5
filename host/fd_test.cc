// Fd and MakePipe: descriptors closed exactly once, by their last owner.
#include "host/fd.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include <gtest/gtest.h>

namespace instar::host {
namespace {

bool IsOpen(int fd) { return ::fcntl(fd, F_GETFD) >= 0; }

TEST(FdTest, ClosesWhatItHoldsWhenItGoes) {
  int raw = -1;
  {
    Fd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(fd.valid());
    raw = fd.get();
    EXPECT_TRUE(IsOpen(raw));
  }
  EXPECT_FALSE(IsOpen(raw));
  EXPECT_EQ(errno, EBADF);
}

TEST(FdTest, ResetClosesTheOldAndReleaseKeepsItOpen) {
  Fd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const int first = fd.get();
  fd.Reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  EXPECT_FALSE(IsOpen(first));
  const int second = fd.Release();
  EXPECT_FALSE(fd.valid());
  EXPECT_EQ(fd.get(), -1);
  EXPECT_TRUE(IsOpen(second));
  fd.Reset();  // holds nothing: closes nothing
  EXPECT_TRUE(IsOpen(second));
  ::close(second);
}

TEST(FdTest, MovesHandTheDescriptorOn) {
  Fd a(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const int raw = a.get();
  Fd b(std::move(a));
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(b.get(), raw);
  Fd c;
  c = std::move(b);
  EXPECT_EQ(c.get(), raw);
  EXPECT_TRUE(IsOpen(raw));
}

TEST(FdTest, MakePipeGivesTwoCloseOnExecEnds) {
  Fd read_end, write_end;
  ASSERT_TRUE(MakePipe(&read_end, &write_end));
  EXPECT_NE(::fcntl(read_end.get(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_NE(::fcntl(write_end.get(), F_GETFD) & FD_CLOEXEC, 0);
  ASSERT_EQ(::write(write_end.get(), "x", 1), 1);
  write_end.Reset();
  char c = 0;
  EXPECT_EQ(::read(read_end.get(), &c, 1), 1);
  EXPECT_EQ(c, 'x');
  EXPECT_EQ(::read(read_end.get(), &c, 1), 0);  // the write end is closed
}

}  // namespace
}  // namespace instar::host
