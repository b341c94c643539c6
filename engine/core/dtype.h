// The element types vkinfer stores weights and activations in. Checkpoints
// may hold other dtypes; the safetensors reader records those but refuses to
// hand them out, so everything past the loader only ever sees these three.
#pragma once

#include <cstddef>

namespace vkinfer {

enum class DType { kF32, kF16, kBF16 };

// Bytes per element.
size_t dtype_size(DType dtype);

// The safetensors spelling ("F32", "F16", "BF16"), used in every message.
const char* dtype_name(DType dtype);

}  // namespace vkinfer
