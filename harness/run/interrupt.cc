#include "harness/run/interrupt.h"

#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <ctime>

namespace instar::harness {

void Interrupt::Stop(int signal_number) {
  int expected = 0;
  signal_.compare_exchange_strong(expected, signal_number, std::memory_order_acq_rel);
  std::lock_guard<std::mutex> lock(mutex_);
  for (pid_t group : groups_) ::kill(-group, SIGKILL);
}

void Interrupt::AddGroup(pid_t group) {
  std::lock_guard<std::mutex> lock(mutex_);
  groups_.insert(group);
  if (stopping()) ::kill(-group, SIGKILL);
}

void Interrupt::RemoveGroup(pid_t group) {
  std::lock_guard<std::mutex> lock(mutex_);
  groups_.erase(group);
}

namespace {

sigset_t WatchedSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

SignalWatcher::SignalWatcher(Interrupt* interrupt) : interrupt_(interrupt) {
  sigset_t set = WatchedSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  thread_ = std::thread([this] {
    sigset_t watched = WatchedSignals();
    // A short time-out instead of a wake-up signal: the watcher costs a few
    // wake-ups a second and needs no signal of its own.
    const timespec period = {0, 100 * 1000 * 1000};
    while (!done_.load(std::memory_order_acquire)) {
      int signal_number = sigtimedwait(&watched, nullptr, &period);
      if (signal_number > 0) interrupt_->Stop(signal_number);
    }
  });
}

SignalWatcher::~SignalWatcher() {
  done_.store(true, std::memory_order_release);
  thread_.join();
  // A signal that arrived after the last wait stays pending; unblocking would
  // deliver it with its default action, so it is only unblocked when none is.
  sigset_t pending;
  sigpending(&pending);
  if (sigismember(&pending, SIGINT) != 1 && sigismember(&pending, SIGTERM) != 1) {
    sigset_t set = WatchedSignals();
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  }
}

}  // namespace instar::harness
