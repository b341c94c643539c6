// Typed errors for everything that can go wrong because of input, a file or
// the device. Library code throws `vkinfer::Error`; only cli/ catches it and
// turns it into a one-line message and an exit code. We use exceptions (not
// StatusOr) so that deep parsing code stays readable; every throw site names
// the file/field/tensor involved, so the message is useful on its own.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace vkinfer {

enum class ErrorCode {
  kInvalidArgument,  // a CLI flag or API argument is out of range
  kBadFile,          // a file is missing, truncated or malformed
  kBadConfig,        // config.json is malformed or disagrees with the weights
  kMissingTensor,    // a tensor the architecture needs is absent
  kShapeMismatch,    // a tensor's shape disagrees with the config
  kUnsupported,      // an architecture/dtype/feature we do not handle
  kOutOfMemory,      // host or device memory exhausted / model does not fit
  kDeviceLost,       // VK_ERROR_DEVICE_LOST
  kNoDevice,         // no Vulkan driver / device
  kVulkan,           // any other Vulkan failure
  kComm,             // a collective failed (peer died, MPI error)
  kInternal,         // a bug in vkinfer
};

const char* error_code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, std::string message)
      : std::runtime_error(std::move(message)), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// fail(ErrorCode::kBadFile, "{}: header length {} exceeds file size {}", ...)
template <typename... Args>
[[noreturn]] void fail(ErrorCode code, fmt::format_string<Args...> format,
                       Args&&... args) {
  throw Error(code, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace vkinfer
