// A window of fp32 rows inside a device buffer: what ops read and write.
#pragma once

#include <cstdint>

#include "engine/tensor.h"
#include "engine/vk/buffer.h"

namespace vkinfer::ops {

struct View {
  const vk::Buffer* buffer = nullptr;
  uint32_t offset = 0;  // elements
  uint32_t stride = 0;  // elements between rows
  View() = default;
  View(const vk::Buffer& b, uint32_t offset_elements, uint32_t stride_elements)
      : buffer(&b), offset(offset_elements), stride(stride_elements) {}
  View(const Tensor& t)  // NOLINT: a whole tensor is the common case
      : buffer(&t.buffer), offset(0), stride(static_cast<uint32_t>(t.cols)) {}
  // Row `row` onward, same stride.
  View at_row(int64_t row) const { return View(*buffer, offset + uint32_t(row) * stride, stride); }
  View at_col(int64_t col) const { return View(*buffer, offset + uint32_t(col), stride); }
  explicit operator bool() const { return buffer != nullptr; }
};

}  // namespace vkinfer::ops
