// The host reference for turning GGUF block formats (engine/io/ggml_types.h:
// a row is a run of blocks of `block_elements` weights in `block_bytes`
// bytes, scales inside; weight_format.h's table has the same numbers) back
// into fp32, and each ggml type's WeightFormat.
// The dequantizers themselves live in engine/io/ggml_dequantize.h (the GGUF
// checkpoint needs them below engine/weights); this header re-exports them.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/io/ggml_dequantize.h"  // dequantize(), re-exported
#include "engine/io/ggml_types.h"
#include "engine/weights/weight_format.h"

namespace vkinfer {

// The WeightFormat that holds tensors of `type` as they are in the file.
const WeightFormat& weight_format(GgmlType type);
// The inverse: the ggml type whose blocks `format` holds.
GgmlType ggml_type(const WeightFormat& format);

}  // namespace vkinfer
