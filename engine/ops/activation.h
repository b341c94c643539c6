// Activation codes shared with the shaders (shaders/params/common.h).
#pragma once

#include <cstdint>

namespace vkinfer::ops {

enum class Act : uint32_t { kNone = 0, kGeluErf = 1, kGeluTanh = 2, kRelu = 3, kSilu = 4, kTanh = 5 };

}  // namespace vkinfer::ops
