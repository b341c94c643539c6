// Runs the real `vkinfer` binary (env VKINFER_BIN) as a child process, the
// way a user or a CI script does, and captures its exit status, stdout and
// stderr. The child is started with posix_spawn (no shell, so arguments are
// passed verbatim) in its own process group, and the whole group is killed
// when it runs past the timeout, so a hang fails one test instead of the run.
#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace vkinfer::testing {

struct CliResult {
  std::vector<std::string> args;  // as passed, for failure messages
  int exit_code = -1;             // valid when exited() is true
  int signal = 0;                 // the signal that ended the child, 0 when it exited
  bool timed_out = false;         // killed by us after the timeout
  double seconds = 0;             // wall time
  std::string out;                // stdout
  std::string err;                // stderr

  bool exited() const { return !timed_out && signal == 0; }
  // The command line and everything it printed, for test failure messages.
  std::string describe() const;
};

// The binary under test: $VKINFER_BIN. Fails the current test (and returns "")
// when it is unset or not executable.
std::string vkinfer_binary();

// Runs `binary args...` with stdin from /dev/null. The environment is
// inherited, plus MESA_VK_IGNORE_CONFORMANCE_WARNING=1 so lavapipe does not
// add its "not a conformant implementation" banner to stderr.
CliResult run_process(const std::string& binary, const std::vector<std::string>& args,
                      double timeout_seconds);

// run_process(vkinfer_binary(), args, timeout_seconds).
CliResult run_vkinfer(const std::vector<std::string>& args, double timeout_seconds = 60);

// The contract for bad input: the process exited by itself (no signal, no
// timeout) with a non-zero status, stdout holds no answer, and stderr is
// exactly one line that starts with "vkinfer: error: " and contains every
// string in `needles` (the file, field or tensor it names, the value...).
::testing::AssertionResult IsCleanError(const CliResult& result,
                                        const std::vector<std::string>& needles);

}  // namespace vkinfer::testing

// EXPECT_CLEAN_ERROR(run_vkinfer({...}), {"config.json", "n_layer"});
#define EXPECT_CLEAN_ERROR(result, ...) \
  EXPECT_TRUE(::vkinfer::testing::IsCleanError((result), __VA_ARGS__))
