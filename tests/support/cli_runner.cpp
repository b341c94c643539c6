#include "tests/support/cli_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>

extern char** environ;

namespace vkinfer::testing {
namespace {

// Both ends close on exec, so the child keeps only what posix_spawn dup2's.
struct Pipe {
  int read_end = -1, write_end = -1;
  Pipe() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) std::abort();  // test infrastructure, not user input
    read_end = fds[0], write_end = fds[1];
  }
  ~Pipe() {
    if (read_end >= 0) close(read_end);
    if (write_end >= 0) close(write_end);
  }
  void close_write() {
    close(write_end);
    write_end = -1;
  }
};

std::vector<std::string> child_environment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  env.emplace_back("MESA_VK_IGNORE_CONFORMANCE_WARNING=1");
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream stream(text);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

}  // namespace

std::string CliResult::describe() const {
  std::string cmd;
  for (const auto& a : args) cmd += (cmd.empty() ? "" : " ") + ("'" + a + "'");
  std::string status = timed_out ? "timed out"
                       : signal  ? std::string("killed by signal ") + strsignal(signal)
                                 : "exit code " + std::to_string(exit_code);
  return "command: vkinfer " + cmd + "\nstatus: " + status + " after " +
         std::to_string(seconds) + " s\n--- stdout ---\n" + out + "\n--- stderr ---\n" + err +
         "\n--------------";
}

std::string vkinfer_binary() {
  const char* bin = std::getenv("VKINFER_BIN");
  if (bin == nullptr || access(bin, X_OK) != 0) {
    ADD_FAILURE() << "VKINFER_BIN is unset or not executable (" << (bin ? bin : "unset")
                  << "); run the tests through ctest";
    return "";
  }
  return bin;
}

CliResult run_process(const std::string& binary, const std::vector<std::string>& args,
                      double timeout_seconds) {
  CliResult result;
  result.args = args;
  if (binary.empty()) {
    result.exit_code = 127;
    return result;
  }
  Pipe out, err;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out.write_end, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.write_end, STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group, so a timeout kills anything it started as well.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);

  std::vector<std::string> argv_strings{binary};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = child_environment();
  std::vector<char*> argv = c_strings(argv_strings), envp = c_strings(env_strings);

  const auto start = std::chrono::steady_clock::now();
  pid_t pid = -1;
  const int spawn_error = posix_spawn(&pid, binary.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  out.close_write();
  err.close_write();
  if (spawn_error != 0) {
    result.exit_code = 127;
    result.err = std::string("posix_spawn failed: ") + std::strerror(spawn_error);
    return result;
  }

  const auto deadline = start + std::chrono::duration<double>(timeout_seconds);
  pollfd fds[2] = {{out.read_end, POLLIN, 0}, {err.read_end, POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  char buffer[65536];
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      kill(-pid, SIGKILL);
      break;
    }
    const int ready = poll(fds, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;  // EOF: poll ignores negative fds
        --open_fds;
      }
    }
  }
  // Both pipes closed means the child is exiting; a child that closed them
  // early but keeps running still meets the deadline here.
  int status = 0;
  while (true) {
    const pid_t done = waitpid(pid, &status, result.timed_out ? 0 : WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      result.timed_out = true;
      kill(-pid, SIGKILL);
    } else if (done == 0) {
      usleep(1000);
    }
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status) && !result.timed_out) result.signal = WTERMSIG(status);
  return result;
}

CliResult run_vkinfer(const std::vector<std::string>& args, double timeout_seconds) {
  return run_process(vkinfer_binary(), args, timeout_seconds);
}

::testing::AssertionResult IsCleanError(const CliResult& result,
                                        const std::vector<std::string>& needles) {
  auto failure = [&](const std::string& why) {
    return ::testing::AssertionFailure() << why << "\n" << result.describe();
  };
  if (result.timed_out) return failure("the command hung (timed out)");
  if (result.signal != 0) return failure("the command crashed");
  if (result.exit_code == 0) return failure("the command succeeded on bad input");
  if (!result.out.empty()) return failure("the command printed to stdout before failing");
  const std::vector<std::string> lines = split_lines(result.err);
  if (lines.size() != 1) {
    return failure("expected exactly one line on stderr, got " + std::to_string(lines.size()));
  }
  const std::string prefix = "vkinfer: error: ";
  if (lines[0].rfind(prefix, 0) != 0) return failure("stderr does not start with '" + prefix + "'");
  for (const auto& needle : needles) {
    if (lines[0].find(needle) == std::string::npos) {
      return failure("the message does not mention '" + needle + "'");
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace vkinfer::testing
