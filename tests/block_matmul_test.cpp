// GGUF block formats on the device: the embedding gather (the GPU's
// dequantization, row by row) must equal the host reference bit for bit
// (engine/weights/block_formats.cpp, itself bit-identical to
// gguf.quants.dequantize: block_formats_test), and every matmul variant with
// block weights must equal the double-precision reference on the
// dequantized weights, over odd shapes, GLU, row subranges, chunking, a
// stacked weight of mixed formats and a tensor-parallel K split.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

#include "engine/core/half.h"
#include "engine/ops/embedding.h"
#include "engine/ops/matmul.h"
#include "engine/io/ggml_dequantize.h"
#include "engine/weights/block_formats.h"
#include "tests/reference/matmul_ref.h"
#include "tests/support/compare.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using testing::test_device;

constexpr GgmlType kBlockTypes[] = {GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0,
                                    GgmlType::kQ5_1, GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K};

void put_half(uint8_t* at, float value) {
  const uint16_t h = f32_to_f16(value);
  std::memcpy(at, &h, 2);
}

// Random blocks: random quant bytes, and fp16 scales drawn so the weights
// are O(0.05) (finite; the products below stay well inside fp32's range).
std::vector<uint8_t> random_blocks(GgmlType type, int64_t blocks, uint32_t seed) {
  const BlockFormat& format = block_format(type);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(0.0002f, 0.001f), sign(-1.0f, 1.0f);
  std::vector<uint8_t> bytes(blocks * format.block_bytes);
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(byte(rng));
  for (int64_t i = 0; i < blocks; ++i) {
    uint8_t* block = bytes.data() + i * format.block_bytes;
    const float s = sign(rng) < 0 ? -1.0f : 1.0f;
    switch (type) {
      case GgmlType::kQ8_0: put_half(block, s * scale(rng)); break;
      case GgmlType::kQ4_0: case GgmlType::kQ5_0: put_half(block, s * 8 * scale(rng)); break;
      case GgmlType::kQ4_1: case GgmlType::kQ5_1:
        put_half(block, 4 * scale(rng));
        put_half(block + 2, -40 * scale(rng));
        break;
      case GgmlType::kQ4_K:  // d * 6-bit scale * nibble - dmin * 6-bit min
      case GgmlType::kQ5_K:
        put_half(block, scale(rng) / 8);
        put_half(block + 2, scale(rng) / 8);
        break;
      case GgmlType::kQ6_K: put_half(block + 208, s * scale(rng) / 16); break;  // d * int8 * 6-bit
      default: ADD_FAILURE() << "no generator for " << format.name;
    }
  }
  return bytes;
}

struct BlockMatrix {
  GgmlType type;
  int64_t rows, cols;
  std::vector<uint8_t> bytes;  // GGUF blocks, row after row
  std::vector<float> values;   // the host reference's dequantization
};

BlockMatrix random_matrix(GgmlType type, int64_t rows, int64_t cols, uint32_t seed) {
  BlockMatrix m{type, rows, cols};
  m.bytes = random_blocks(type, rows * cols / block_format(type).block_elements, seed);
  m.values = dequantize(type, m.bytes, rows * cols);
  return m;
}

uint64_t row_bytes(const BlockMatrix& m) {
  return uint64_t(m.cols / block_format(m.type).block_elements) * block_format(m.type).block_bytes;
}

RowWriter block_rows(const BlockMatrix& m) {
  return [&m](int64_t begin, int64_t count, void* dst, int64_t stride) {
    const uint64_t dst_row = weight_format(m.type).row_bytes(stride);
    for (int64_t r = 0; r < count; ++r)
      std::memcpy(static_cast<uint8_t*>(dst) + r * dst_row, m.bytes.data() + (begin + r) * row_bytes(m),
                  row_bytes(m));
  };
}

Weight upload(const BlockMatrix& m, int64_t max_chunk_rows = 0) {
  return create_weight(test_device(), weight_format(m.type), m.rows, m.cols, block_rows(m), max_chunk_rows);
}

// Every row through the embedding gather, unscaled.
std::vector<float> gather_all(const Weight& table) {
  vk::Device& device = test_device();
  std::vector<uint32_t> ids(table.rows);
  for (int64_t i = 0; i < table.rows; ++i) ids[i] = uint32_t(table.rows - 1 - i);  // reversed
  vk::Buffer ids_dev = vk::Buffer::create(device, ids.size() * 4, vk::MemoryKind::kDevice);
  device.upload(ids_dev, 0, ids.data(), ids.size() * 4);
  Tensor y = Tensor::create(device, table.rows, table.cols);
  ops::EmbeddingArgs args;
  args.table = &table;
  args.ids = ops::View(ids_dev, 0, 1);
  args.M = table.rows;
  args.y = y;
  vk::CommandStream stream(device);
  ops::embedding(stream, args);
  stream.finish();
  std::vector<float> got = y.download(device), ordered(got.size());
  for (int64_t i = 0; i < table.rows; ++i)
    std::memcpy(&ordered[ids[i] * table.cols], &got[i * table.cols], table.cols * 4);
  return ordered;
}

TEST(BlockWeights, GpuDequantizationIsBitIdenticalToTheReference) {
  for (GgmlType type : kBlockTypes) {
    const int64_t block = block_format(type).block_elements;
    for (int64_t max_chunk_rows : {int64_t(0), int64_t(5)}) {
      BlockMatrix m = random_matrix(type, 13, 3 * block, 100 + uint32_t(type));
      Weight w = upload(m, max_chunk_rows);
      std::vector<float> got = gather_all(w);
      ASSERT_EQ(got.size(), m.values.size());
      int64_t differing = 0;
      for (size_t i = 0; i < got.size(); ++i)
        if (std::memcmp(&got[i], &m.values[i], 4) != 0 && differing++ < 3)
          ADD_FAILURE() << block_format(type).name << " element " << i << ": GPU " << got[i]
                        << ", reference " << m.values[i];
      EXPECT_EQ(differing, 0) << block_format(type).name;
    }
  }
}

// Products of O(1) activations and O(0.05) weights over K <= 512 terms: the
// sum of |terms| is at most ~25, and fp32 accumulation in at least 8 partial
// sums errs by about sqrt(K) * 6e-8 of it (~3e-5); 1e-4 absolute plus 1e-4
// relative leaves margin and still catches one wrong weight (>= 1e-3).
constexpr double kAtol = 1e-4, kRtol = 1e-4;

struct Case {
  int64_t M, N, blocks;
  bool glu = false, bias = false;
  int64_t n_begin = 0, n_end = 0;
  int64_t max_chunk_rows = 0;
};

void run_case(GgmlType type, const Case& c, const ops::KernelPolicy& policy, ops::MatmulKind kind) {
  vk::Device& device = test_device();
  const int64_t K = c.blocks * block_format(type).block_elements;
  BlockMatrix w = random_matrix(type, c.N, K, 7 + uint32_t(c.N));
  BlockMatrix w_up = random_matrix(type, c.N, K, 11 + uint32_t(c.N));
  Weight w_dev = upload(w, c.max_chunk_rows), w_up_dev = upload(w_up, c.max_chunk_rows);
  auto x = testing::random_vector(c.M * K, 3);
  auto bias = testing::random_vector(c.N, 4);
  Tensor x_dev = Tensor::create(device, c.M, K);
  x_dev.upload(device, x);
  Tensor b_dev = Tensor::create(device, 1, c.N);
  b_dev.upload(device, bias);
  Tensor y_dev = Tensor::create(device, c.M, c.N);
  y_dev.upload(device, std::vector<float>(c.M * c.N, 0.0f));
  ops::MatmulArgs args;
  args.x = x_dev;
  args.M = c.M;
  args.weight = &w_dev;
  args.weight_up = c.glu ? &w_up_dev : nullptr;
  if (c.bias) args.bias = b_dev;
  args.y = y_dev;
  args.act = c.glu ? ops::Act::kSilu : ops::Act::kNone;
  args.n_begin = c.n_begin;
  args.n_end = c.n_end;
  vk::CommandStream stream(device);
  ops::matmul(stream, args, policy.matmul, kind);
  stream.finish();
  auto expected = reference::matmul(x, w.values, c.glu ? &w_up.values : nullptr, c.bias ? &bias : nullptr,
                                    nullptr, c.M, c.N, K, args.act);
  const int64_t n_end = c.n_end ? c.n_end : c.N;
  for (int64_t m = 0; m < c.M; ++m)
    for (int64_t n = 0; n < c.N; ++n)
      if (n < c.n_begin || n >= n_end) expected[m * c.N + n] = 0.0f;  // never written
  EXPECT_CLOSE(expected, y_dev.download(device), kAtol, kRtol)
      << block_format(type).name << " M=" << c.M << " N=" << c.N << " K=" << K;
}

// Every format with the device's own policy (GEMV and GEMM), plus one
// other variant each, rotating through GEMV storage/texel x subgroup/shared
// and GEMM storage, so that across the formats every shader variant runs;
// the policies that only change specialization constants (wider GEMV
// workgroups, GPU tiles) run on one format. Not the full product: lavapipe
// compiles a block-format pipeline for 2-5 s, and CI starts cold.
TEST(BlockWeights, MatmulEveryVariantAndFormat) {
  const auto policies = testing::all_policies(test_device().info());
  const ops::KernelPolicy device_policy = testing::test_policy();
  struct Variant {
    std::string name;
    ops::MatmulKind kind;
  };
  std::vector<std::pair<Variant, ops::KernelPolicy>> rotation;
  for (const auto& [name, policy] : policies) {
    const bool base = name.find("storage") == 0 || name.find("texel") == 0;
    if (base) rotation.push_back({{name, ops::MatmulKind::kVec}, policy});
    if (name == "storage_shared") rotation.push_back({{name, ops::MatmulKind::kTiled}, policy});
  }
  size_t next = 0;
  for (GgmlType type : kBlockTypes) {
    std::vector<std::pair<Variant, ops::KernelPolicy>> runs = {
        {{"device", ops::MatmulKind::kVec}, device_policy}, {{"device", ops::MatmulKind::kTiled}, device_policy}};
    if (!rotation.empty()) runs.push_back(rotation[next++ % rotation.size()]);
    if (type == GgmlType::kQ4_K)
      for (const auto& [name, policy] : policies)
        if (name.find("storage") != 0 && name.find("texel") != 0)
          runs.push_back({{name, ops::MatmulKind::kAuto}, policy});
    for (const auto& [variant, policy] : runs)
      for (ops::MatmulKind kind : {ops::MatmulKind::kVec, ops::MatmulKind::kTiled}) {
        if (variant.kind != ops::MatmulKind::kAuto && variant.kind != kind) continue;
        SCOPED_TRACE(variant.name + " " + block_format(type).name +
                     (kind == ops::MatmulKind::kVec ? " vec" : " tiled"));
        run_case(type, {kind == ops::MatmulKind::kVec ? 1 : 19, 37, 2}, policy, kind);
      }
  }
}

TEST(BlockWeights, MatmulShapesEpiloguesRangesAndChunks) {
  const ops::KernelPolicy policy = testing::test_policy();
  for (GgmlType type : {GgmlType::kQ4_0, GgmlType::kQ6_K}) {
    SCOPED_TRACE(block_format(type).name);
    const int64_t blocks = block_format(type).block_elements == 32 ? 9 : 2;
    run_case(type, {3, 29, blocks, /*glu=*/true, /*bias=*/true}, policy, ops::MatmulKind::kAuto);
    run_case(type, {40, 45, blocks, true, false}, policy, ops::MatmulKind::kAuto);
    // Rows 11..33 only, from weights chunked by 7 rows: the first chunk
    // computed starts mid-chunk (w_row0).
    run_case(type, {1, 45, blocks, false, false, 11, 34, 7}, policy, ops::MatmulKind::kAuto);
    run_case(type, {40, 45, blocks, false, false, 11, 34, 7}, policy, ops::MatmulKind::kAuto);
  }
}

// A stacked weight whose parts are in different formats (a Q4_K_M file's
// attn_q in Q4_K over attn_v in Q6_K) dispatches each chunk with its own
// kernel.
TEST(BlockWeights, MixedFormatStack) {
  vk::Device& device = test_device();
  const int64_t K = 512;
  BlockMatrix top = random_matrix(GgmlType::kQ4_K, 24, K, 1), middle = random_matrix(GgmlType::kQ6_K, 9, K, 2),
              bottom = random_matrix(GgmlType::kQ8_0, 5, K, 3);
  Weight w = create_weight(device, K,
                           {WeightPart{weight_format(top.type), top.rows, block_rows(top)},
                            WeightPart{weight_format(middle.type), middle.rows, block_rows(middle)},
                            WeightPart{weight_format(bottom.type), bottom.rows, block_rows(bottom)}},
                           16);
  ASSERT_TRUE(w.mixed());
  ASSERT_EQ(w.chunks.size(), 4u);  // 16 + 8 rows of Q4_K, 9 of Q6_K, 5 of Q8_0
  std::vector<float> values = top.values;
  values.insert(values.end(), middle.values.begin(), middle.values.end());
  values.insert(values.end(), bottom.values.begin(), bottom.values.end());
  EXPECT_EQ(gather_all(w), values);
  for (int64_t M : {1, 40}) {
    auto x = testing::random_vector(M * K, 5);
    Tensor x_dev = Tensor::create(device, M, K);
    x_dev.upload(device, x);
    Tensor y_dev = Tensor::create(device, M, w.rows);
    ops::MatmulArgs args;
    args.x = x_dev;
    args.M = M;
    args.weight = &w;
    args.y = y_dev;
    vk::CommandStream stream(device);
    ops::matmul(stream, args, testing::test_policy().matmul);
    stream.finish();
    EXPECT_CLOSE(reference::matmul(x, values, nullptr, nullptr, nullptr, M, w.rows, K, ops::Act::kNone),
                 y_dev.download(device), kAtol, kRtol)
        << "M=" << M;
  }
}

// Row-parallel slicing on block boundaries: each rank holds whole blocks of
// its K window, and the ranks' partial products add up to the whole.
TEST(BlockWeights, RowParallelSlicesOnBlockBoundaries) {
  vk::Device& device = test_device();
  for (GgmlType type : {GgmlType::kQ5_1, GgmlType::kQ4_K}) {
    const int64_t block = block_format(type).block_elements, N = 19, K = 4 * block, M = 1;
    BlockMatrix w = random_matrix(type, N, K, 9);
    auto x = testing::random_vector(M * K, 6);
    std::vector<float> total(M * N, 0.0f);
    for (int rank = 0; rank < 2; ++rank) {
      BlockMatrix half{type, N, K / 2};
      const uint64_t half_bytes = row_bytes(w) / 2;
      for (int64_t r = 0; r < N; ++r)
        half.bytes.insert(half.bytes.end(), w.bytes.begin() + r * row_bytes(w) + rank * half_bytes,
                          w.bytes.begin() + r * row_bytes(w) + (rank + 1) * half_bytes);
      Weight w_dev = upload(half);
      std::vector<float> x_half;
      for (int64_t m = 0; m < M; ++m)
        x_half.insert(x_half.end(), x.begin() + m * K + rank * K / 2, x.begin() + m * K + (rank + 1) * K / 2);
      Tensor x_dev = Tensor::create(device, M, K / 2);
      x_dev.upload(device, x_half);
      Tensor y_dev = Tensor::create(device, M, N);
      ops::MatmulArgs args;
      args.x = x_dev;
      args.M = M;
      args.weight = &w_dev;
      args.y = y_dev;
      vk::CommandStream stream(device);
      ops::matmul(stream, args, testing::test_policy().matmul);
      stream.finish();
      auto part = y_dev.download(device);
      for (size_t i = 0; i < part.size(); ++i) total[i] += part[i];
    }
    EXPECT_CLOSE(reference::matmul(x, w.values, nullptr, nullptr, nullptr, M, N, K, ops::Act::kNone), total,
                 kAtol, kRtol)
        << block_format(type).name;
  }
}

}  // namespace
}  // namespace vkinfer
