#include "engine/core/error.h"

namespace vkinfer {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kBadFile: return "bad file";
    case ErrorCode::kBadConfig: return "bad config";
    case ErrorCode::kMissingTensor: return "missing tensor";
    case ErrorCode::kShapeMismatch: return "shape mismatch";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kOutOfMemory: return "out of memory";
    case ErrorCode::kDeviceLost: return "device lost";
    case ErrorCode::kNoDevice: return "no Vulkan device";
    case ErrorCode::kVulkan: return "Vulkan error";
    case ErrorCode::kComm: return "communication error";
    case ErrorCode::kInternal: return "internal error";
  }
  return "error";
}

}  // namespace vkinfer
