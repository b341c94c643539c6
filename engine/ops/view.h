// A window of fp32 rows inside a device buffer: what ops read and write.
#pragma once

#include <cstdint>

#include "engine/weights/tensor.h"
#include "engine/vk/buffer.h"
#include "engine/vk/device_info.h"

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

// Whether a kernel may read `view` as vec4 texels: its rows start at
// multiples of 4 elements and its buffer fits one texel view. An absent
// (optional) view qualifies.
inline bool vec4_texel_readable(const vk::DeviceInfo& info, const View& view) {
  return !view || (view.offset % 4 == 0 && view.stride % 4 == 0 &&
                   view.buffer->size() <= info.max_vec4_texel_view_bytes());
}

}  // namespace vkinfer::ops
