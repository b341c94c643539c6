// Fused attention and KV-cache store against the double reference: decoder
// (cache, causal, GQA, left padding, past > 0) and encoder (padding mask).
#include <gtest/gtest.h>

#include <cmath>

#include "engine/ops/attention.h"
#include "tests/reference/attention_ref.h"
#include "tests/support/compare.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using testing::test_device;

// Softmax-weighted averages of O(1) values in fp32: errors ~1e-6; 2e-5
// absolute / 1e-4 relative gives margin while a wrong key range or a missing
// rescale shows up as errors of order 0.1.
constexpr double kAtol = 2e-5, kRtol = 1e-4;

struct DecoderCase {
  int64_t B, T, H, KVH, D, past, ctx;
};

void run_decoder_case(const DecoderCase& c, const ops::ReducePolicy& policy) {
  vk::Device& device = test_device();
  const int64_t S = c.past + c.T;  // keys after this step
  const int64_t qkv_width = (c.H + 2 * c.KVH) * c.D;
  // Keys/values of earlier steps are written through kv_store too, so the
  // whole cache content comes from the op under test.
  auto all_rows = testing::random_vector(c.B * S * qkv_width, 7);
  std::vector<uint32_t> start(c.B), end(c.B, 0);
  for (int64_t b = 0; b < c.B; ++b) start[b] = static_cast<uint32_t>((b * 3) % std::max<int64_t>(S - 1, 1));
  std::vector<uint32_t> bounds;
  for (int64_t b = 0; b < c.B; ++b) { bounds.push_back(start[b]); bounds.push_back(end[b]); }

  vk::Buffer k_cache = vk::Buffer::create(device, c.B * c.KVH * c.ctx * c.D * 4, vk::MemoryKind::kDevice);
  vk::Buffer v_cache = vk::Buffer::create(device, c.B * c.KVH * c.ctx * c.D * 4, vk::MemoryKind::kDevice);
  vk::Buffer seq = vk::Buffer::create(device, bounds.size() * 4, vk::MemoryKind::kDevice);
  device.upload(seq, 0, bounds.data(), bounds.size() * 4);

  vk::CommandStream stream(device);
  // Step 1: the past tokens; step 2: the T new ones.
  for (int step = 0; step < 2; ++step) {
    const int64_t rows_per_seq = step == 0 ? c.past : c.T;
    const int64_t first = step == 0 ? 0 : c.past;
    if (rows_per_seq == 0) continue;
    std::vector<float> rows(c.B * rows_per_seq * qkv_width);
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t t = 0; t < rows_per_seq; ++t)
        std::copy_n(all_rows.begin() + ((b * S) + first + t) * qkv_width, qkv_width,
                    rows.begin() + (b * rows_per_seq + t) * qkv_width);
    Tensor qkv = Tensor::create(device, c.B * rows_per_seq, qkv_width);
    qkv.upload(device, rows);
    ops::KvStoreArgs store;
    store.k_src = ops::View(qkv.buffer, static_cast<uint32_t>(c.H * c.D), static_cast<uint32_t>(qkv_width));
    store.v_delta = static_cast<uint32_t>(c.KVH * c.D);
    store.k_cache = &k_cache;
    store.v_cache = &v_cache;
    store.batch = c.B; store.rows_per_seq = rows_per_seq; store.num_kv_heads = c.KVH;
    store.head_dim = c.D; store.ctx = c.ctx; store.past = first;
    ops::kv_store(stream, store);
    if (step == 0) { stream.finish(); continue; }

    Tensor out = Tensor::create(device, c.B * c.T, c.H * c.D);
    ops::AttentionArgs args;
    args.q = ops::View(qkv.buffer, 0, static_cast<uint32_t>(qkv_width));
    args.out = out;
    args.kv = ops::cache_layout(k_cache, v_cache, c.KVH, c.ctx, c.D);
    args.seq_bounds = &seq;
    args.batch = c.B; args.rows_per_seq = c.T; args.num_heads = c.H; args.num_kv_heads = c.KVH;
    args.head_dim = c.D; args.past = c.past; args.causal = true;
    args.scale = 1.0f / std::sqrt(float(c.D));
    ops::attention(stream, args, policy);
    stream.finish();

    std::vector<float> q(c.B * c.T * c.H * c.D), k(c.B * S * c.KVH * c.D), v(k.size());
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t j = 0; j < S; ++j) {
        const float* row = &all_rows[(b * S + j) * qkv_width];
        std::copy_n(row + c.H * c.D, c.KVH * c.D, k.begin() + (b * S + j) * c.KVH * c.D);
        std::copy_n(row + (c.H + c.KVH) * c.D, c.KVH * c.D, v.begin() + (b * S + j) * c.KVH * c.D);
        if (j >= c.past) std::copy_n(row, c.H * c.D, q.begin() + (b * c.T + j - c.past) * c.H * c.D);
      }
    auto expected = reference::attention(q, k, v, c.B, c.T, S, c.H, c.KVH, c.D, c.past, true, start,
                                         end, 1.0 / std::sqrt(double(c.D)));
    EXPECT_CLOSE(expected, out.download(device), kAtol, kRtol)
        << "B=" << c.B << " T=" << c.T << " H=" << c.H << " KVH=" << c.KVH << " D=" << c.D
        << " past=" << c.past;
  }
}

TEST(Attention, DecoderCacheCausalGqa) {
  const DecoderCase cases[] = {{1, 5, 3, 3, 12, 0, 16},   {2, 1, 4, 2, 10, 9, 20},
                               {3, 7, 6, 1, 6, 4, 13},    {1, 1, 2, 2, 64, 37, 40},
                               {2, 33, 4, 4, 20, 0, 35}};
  for (const auto& [name, policy] : testing::all_policies(test_device().info())) {
    SCOPED_TRACE(name);
    for (const auto& c : cases) run_decoder_case(c, policy.reduce);
  }
}

TEST(Attention, EncoderPaddingMask) {
  vk::Device& device = test_device();
  const int64_t B = 3, T = 11, H = 3, D = 12, width = 3 * H * D;
  auto rows = testing::random_vector(B * T * width, 9);
  std::vector<uint32_t> start = {0, 0, 0}, end = {11, 4, 1};
  std::vector<uint32_t> bounds = {0, 11, 0, 4, 0, 1};
  Tensor qkv = Tensor::create(device, B * T, width);
  qkv.upload(device, rows);
  vk::Buffer seq = vk::Buffer::create(device, bounds.size() * 4, vk::MemoryKind::kDevice);
  device.upload(seq, 0, bounds.data(), bounds.size() * 4);
  Tensor out = Tensor::create(device, B * T, H * D);
  for (const auto& [name, policy] : testing::all_policies(device.info())) {
    ops::AttentionArgs args;
    args.q = ops::View(qkv.buffer, 0, static_cast<uint32_t>(width));
    args.out = out;
    args.kv.k = &qkv.buffer;
    args.kv.v = &qkv.buffer;
    args.kv.k_offset = static_cast<uint32_t>(H * D);
    args.kv.v_offset = static_cast<uint32_t>(2 * H * D);
    args.kv.seq_stride = static_cast<uint32_t>(T * width);
    args.kv.head_stride = static_cast<uint32_t>(D);
    args.kv.pos_stride = static_cast<uint32_t>(width);
    args.seq_bounds = &seq;
    args.batch = B; args.rows_per_seq = T; args.num_heads = H; args.num_kv_heads = H;
    args.head_dim = D; args.causal = false; args.scale = 0.25f;
    vk::CommandStream stream(device);
    ops::attention(stream, args, policy.reduce);
    stream.finish();
    std::vector<float> q(B * T * H * D), k(q.size()), v(q.size());
    for (int64_t r = 0; r < B * T; ++r) {
      std::copy_n(&rows[r * width], H * D, &q[r * H * D]);
      std::copy_n(&rows[r * width + H * D], H * D, &k[r * H * D]);
      std::copy_n(&rows[r * width + 2 * H * D], H * D, &v[r * H * D]);
    }
    auto expected = reference::attention(q, k, v, B, T, T, H, H, D, 0, false, start, end, 0.25);
    EXPECT_CLOSE(expected, out.download(device), kAtol, kRtol) << name;
  }
}

}  // namespace
}  // namespace vkinfer
