// Device weight formats apart from the file's element type: the plain
// formats' table, the row arithmetic a block format will use (checked on
// a q8_0-shaped descriptor), parsing errors, and create_weight keeping the
// format it was given (f32/f16 unchanged in bytes and layout; bf16 and
// block formats refused until a kernel reads them).
#include <gtest/gtest.h>

#include "engine/weights/tensor.h"
#include "engine/weights/weight_format.h"
#include "tests/support/expect_error.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using testing::expect_error;

TEST(WeightFormat, PlainFormatsMatchTheirElementTypes) {
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    const WeightFormat& format = weight_format(dtype);
    EXPECT_TRUE(format.plain());
    EXPECT_EQ(format.element(), dtype);
    EXPECT_EQ(format.block_bytes, static_cast<int64_t>(dtype_size(dtype)));
    EXPECT_EQ(parse_weight_format(format.name), format);
    // Rows pad to 8 elements, as they always have.
    EXPECT_EQ(format.padded_cols(53), 56);
    EXPECT_EQ(format.padded_cols(56), 56);
    EXPECT_EQ(format.row_bytes(56), 56 * dtype_size(dtype));
  }
  expect_error([] { parse_weight_format("q4_k"); }, ErrorCode::kInvalidArgument,
               {"'q4_k'", "f32, f16, bf16"});
}

TEST(WeightFormat, BlockFormatRowArithmetic) {
  // GGUF q8_0: 32 weights per block, an fp16 scale + 32 int8 in 34 bytes.
  const WeightFormat& q8 = weight_format(WeightFormatId::kQ8_0);
  EXPECT_FALSE(q8.plain());
  EXPECT_EQ(q8.padded_cols(53), 64);
  EXPECT_EQ(q8.row_bytes(64), 2u * 34u);
  expect_error([&] { q8.row_bytes(48); }, ErrorCode::kInternal, {"48", "32-weight blocks"});
  expect_error([&] { q8.element(); }, ErrorCode::kUnsupported, {"q8_0", "block-quantized"});
  // On the device each block is split into its 32 quant bytes and its
  // 2-byte scale (block_layout.h): 3 rows x 2 blocks.
  Weight weight = create_weight(testing::test_device(), q8, 3, 64,
                                [](int64_t, int64_t, void*, int64_t) {});
  ASSERT_EQ(weight.chunks.size(), 1u);
  EXPECT_EQ(weight.chunks[0].format, q8);
  EXPECT_EQ(weight.chunks[0].buffer.size(), 3u * 2u * 32u);
  EXPECT_GE(weight.chunks[0].meta.size(), 12u);  // Buffer may round small sizes up
  EXPECT_EQ(weight.bytes(), weight.chunks[0].buffer.size() + weight.chunks[0].meta.size());
  EXPECT_FALSE(weight.mixed());
}

TEST(WeightFormat, CreateWeightKeepsTheFormat) {
  vk::Device& device = testing::test_device();
  const std::vector<float> values(7 * 53, 0.5f);
  for (DType dtype : {DType::kF32, DType::kF16}) {
    Weight weight = create_weight_from_f32(device, dtype, 7, 53, values, 3);
    EXPECT_EQ(weight.format, weight_format(dtype));
    EXPECT_TRUE(weight.format == weight_format(dtype));
    EXPECT_EQ(weight.row_stride, 56);
    EXPECT_EQ(weight.bytes(), 7u * 56u * dtype_size(dtype));
    ASSERT_EQ(weight.chunks.size(), 3u);  // 3 + 3 + 1 rows
    EXPECT_EQ(weight.chunks[2].buffer.size(), 56u * dtype_size(dtype));
  }
  expect_error([&] { create_weight_from_f32(device, DType::kBF16, 7, 53, values); },
               ErrorCode::kUnsupported, {"bf16", "converted at load"});
}

}  // namespace
}  // namespace vkinfer
