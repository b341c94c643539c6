// SIGINT/SIGTERM for `vkinfer serve`: blocked in every thread made after the
// waiter, and waited for on one thread of its own, so a signal never lands
// in an HTTP or GPU thread halfway through its work.
#pragma once

#include <pthread.h>

#include <atomic>
#include <csignal>
#include <ctime>
#include <functional>
#include <thread>

namespace vkinfer::cli {

// Blocks SIGINT/SIGTERM in every thread made from here on, and waits for
// them on one thread of its own, which runs `on_signal` once.
class SignalWaiter {
 public:
  explicit SignalWaiter(std::function<void()> on_signal) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    thread_ = std::thread([this, on_signal] {
      const timespec tick{0, 200'000'000};
      while (!done_) {
        if (sigtimedwait(&set_, nullptr, &tick) > 0) {
          on_signal();
          return;
        }
      }
    });
  }
  ~SignalWaiter() {
    done_ = true;
    thread_.join();
    pthread_sigmask(SIG_UNBLOCK, &set_, nullptr);
  }
  SignalWaiter(const SignalWaiter&) = delete;
  SignalWaiter& operator=(const SignalWaiter&) = delete;

 private:
  sigset_t set_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace vkinfer::cli
