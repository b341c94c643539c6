// Attention and KV-cache store against the double reference: decoder
// (cache, causal, GQA, a first visible key > 0, past > 0), packed step
// batches (each sequence at its own slot and positions) and encoder (padding mask),
// through the fused kernel and through the two-GEMM path (scores scratch),
// whole and in blocks of query rows.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>

#include "engine/ops/attention.h"
#include "shaders/params/attention.h"
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

bool ran_gemm_path(const vk::CommandStream& stream) {
  for (const vk::OpTiming& timing : stream.timings())
    if (timing.label == "attention_scores") return true;
  return false;
}

// Scratch for `rows` query rows per block of the GEMM path (0: none).
std::optional<vk::Buffer> scores_scratch(vk::Device& device, int64_t rows, int64_t B, int64_t H, int64_t keys) {
  if (rows == 0) return std::nullopt;
  return vk::Buffer::create(device, rows * B * H * ((keys + 3) / 4 * 4) * 4, vk::MemoryKind::kDevice);
}

// `scratch_rows` > 0 gives the op scores scratch for that many query rows.
// `fresh`: the new rows' keys and values reach the cache through the
// attention op itself (as in decoding), not through kv_store; the cache is
// then checked too, around the new rows as well.
void run_decoder_case(const DecoderCase& c, const ops::ReducePolicy& policy, int64_t scratch_rows = 0,
                      bool fresh = false) {
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

  // Poison: positions no row may touch.
  std::vector<float> poison(c.B * c.KVH * c.ctx * c.D, 777.0f);
  device.upload(k_cache, 0, poison.data(), poison.size() * 4);
  device.upload(v_cache, 0, poison.data(), poison.size() * 4);
  std::optional<vk::Buffer> scores = scores_scratch(device, scratch_rows, c.B, c.H, S);
  vk::CommandStream stream(device, {.profile = true});
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
    store.cache = ops::cache_layout(k_cache, v_cache, c.KVH, c.ctx, c.D);
    store.batch = c.B; store.rows_per_seq = rows_per_seq; store.num_kv_heads = c.KVH;
    store.head_dim = c.D; store.past = first;
    if (step == 0 || !fresh) ops::kv_store(stream, store);
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
    if (scores) args.scores = &*scores;
    if (fresh) {
      args.fresh = store.k_src;
      args.fresh_v_delta = store.v_delta;
    }
    ops::attention(stream, args, policy);
    stream.finish();
    // The GEMM path must not silently fall back to the fused kernel.
    const bool gemm_expected = scores && c.D % 4 == 0 && c.T >= policy.attention_gemm_min_rows &&
                               policy.attention_gemm_min_rows > 0;
    EXPECT_EQ(gemm_expected, ran_gemm_path(stream)) << "scratch rows " << scratch_rows;

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
        << " past=" << c.past << " scratch rows " << scratch_rows;

    // The cache: every position of every sequence's rows so far, poison past them.
    std::vector<float> k_expected(c.B * c.KVH * c.ctx * c.D, 777.0f), v_expected(k_expected.size(), 777.0f);
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t h = 0; h < c.KVH; ++h)
        for (int64_t j = 0; j < S; ++j)
          for (int64_t d = 0; d < c.D; ++d) {
            const int64_t at = ((b * c.KVH + h) * c.ctx + j) * c.D + d;
            k_expected[at] = k[(b * S + j) * c.KVH * c.D + h * c.D + d];
            v_expected[at] = v[(b * S + j) * c.KVH * c.D + h * c.D + d];
          }
    std::vector<float> k_got(k_expected.size()), v_got(v_expected.size());
    device.download(k_cache, 0, k_got.data(), k_got.size() * 4);
    device.download(v_cache, 0, v_got.data(), v_got.size() * 4);
    EXPECT_EQ(k_expected, k_got) << "K cache, fresh " << fresh;
    EXPECT_EQ(v_expected, v_got) << "V cache, fresh " << fresh;
  }
}

TEST(Attention, DecoderCacheCausalGqa) {
  const DecoderCase cases[] = {{1, 5, 3, 3, 12, 0, 16},   {2, 1, 4, 2, 10, 9, 20},
                               {3, 7, 6, 1, 6, 4, 13},    {1, 1, 2, 2, 64, 37, 40},
                               {2, 33, 4, 4, 20, 0, 35}};
  for (const auto& [name, policy] : testing::all_policies(test_device().info())) {
    SCOPED_TRACE(name);
    for (const auto& c : cases) {
      run_decoder_case(c, policy.reduce);
      run_decoder_case(c, policy.reduce, 0, /*fresh=*/true);
    }
  }
}

// Tile shapes for the GEMM path: the device's, odd ones (rows and dims that
// divide nothing, dims not a power of two) and a GPU-shaped workgroup.
std::vector<ops::ReducePolicy> gemm_policies() {
  ops::ReducePolicy base = ops::choose_policy(test_device().info()).reduce;
  base.attention_gemm_min_rows = 1;
  std::vector<ops::ReducePolicy> out{base};
  ops::ReducePolicy odd = base;
  odd.attention_tile_m = 3; odd.attention_tile_n = 12;
  out.push_back(odd);
  ops::ReducePolicy wide = base;
  wide.workgroup = 32; wide.subgroup = false; wide.attention_tile_m = 4; wide.attention_tile_n = 4;
  out.push_back(wide);
  return out;
}

// Every device policy's reduce settings, then (with texel buffers, which the
// GEMM path reads through) the GEMM tile shapes, each named.
std::vector<std::pair<std::string, ops::ReducePolicy>> fused_and_gemm_policies() {
  std::vector<std::pair<std::string, ops::ReducePolicy>> policies;
  for (const auto& [name, policy] : testing::all_policies(test_device().info()))
    policies.emplace_back(name, policy.reduce);
  if (test_device().info().enabled.texel_buffers)
    for (const ops::ReducePolicy& policy : gemm_policies()) policies.emplace_back("gemm", policy);
  return policies;
}

TEST(Attention, DecoderPrefillAsGemms) {
  if (!test_device().info().enabled.texel_buffers) GTEST_SKIP() << "the GEMM path needs texel buffers";
  // Keys counts that are not multiples of 4, GQA, a first visible key > 0, past > 0;
  // D = 10 is not vec4-aligned and must take the fused kernel.
  const DecoderCase cases[] = {{2, 37, 4, 2, 16, 5, 48}, {1, 50, 2, 2, 64, 0, 64},
                               {3, 7, 6, 1, 8, 4, 13},   {2, 1, 4, 2, 12, 9, 20},
                               {1, 19, 2, 2, 10, 3, 24}};
  for (const ops::ReducePolicy& policy : gemm_policies()) {
    SCOPED_TRACE("tiles " + std::to_string(policy.attention_tile_m) + "x" + std::to_string(policy.attention_tile_n));
    for (const DecoderCase& c : cases) {
      run_decoder_case(c, policy, c.T);      // one block
      run_decoder_case(c, policy, 5);        // blocks of 5 query rows
      run_decoder_case(c, policy, 5, /*fresh=*/true);
    }
  }
  // The device policy's threshold: short prompts stay on the fused kernel.
  run_decoder_case({1, 5, 2, 2, 16, 0, 8}, ops::choose_policy(test_device().info()).reduce, 5);
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
  for (const auto& [name, policy] : fused_and_gemm_policies()) {
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
    std::optional<vk::Buffer> scores = scores_scratch(device, name == "gemm" ? 4 : 0, B, H, T);
    if (scores) args.scores = &*scores;
    vk::CommandStream stream(device, {.profile = true});
    ops::attention(stream, args, policy);
    stream.finish();
    EXPECT_EQ(name == "gemm", ran_gemm_path(stream));
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


// A packed step batch: sequences of different lengths back to back, each at
// its own cache slot and cached length (a decode row, a prefill from 0, a
// chunk after a cached prefix), with the row table the decoder builds. The
// earlier positions reach the cache through kv_store's packed mode; the new
// rows through the attention op (fresh). One sequence alone with scratch
// takes the GEMM path as the cache's first sequence. Paged, the cache is a
// pool of 4-position pages handed out to the slots in a scrambled order
// (with spare pages nobody owns), as a KvCache's page table maps them after
// requests of different lengths came and went.
struct PackedSequence {
  uint32_t slot;
  int64_t past, rows;
};

void run_packed_case(const std::vector<PackedSequence>& seqs, int64_t H, int64_t KVH, int64_t D,
                     const ops::ReducePolicy& policy, bool scratch, int64_t window = 0, bool paged = false) {
  vk::Device& device = test_device();
  const int64_t slots = 4, ctx = 40, width = (H + 2 * KVH) * D;
  constexpr uint32_t kPageShift = 2;
  constexpr int64_t kPage = 1 << kPageShift;
  const int64_t pages_per_seq = ctx / kPage, pages = slots * pages_per_seq + 3;
  std::vector<uint32_t> page_table(slots * pages_per_seq);
  for (size_t i = 0; i < page_table.size(); ++i)
    page_table[i] = static_cast<uint32_t>((i * 7 + 5) % pages);  // 7 is prime to 43 pages: a permutation
  // The element of (slot, kv head, position, dim) in either layout.
  auto cache_index = [&](int64_t slot, int64_t h, int64_t j, int64_t d) {
    if (!paged) return ((slot * KVH + h) * ctx + j) * D + d;
    const int64_t page = page_table[slot * pages_per_seq + j / kPage];
    return ((page * KVH + h) * kPage + j % kPage) * D + d;
  };
  const int64_t cache_floats = (paged ? pages * kPage : slots * ctx) * KVH * D;
  vk::Buffer k_cache = vk::Buffer::create(device, cache_floats * 4, vk::MemoryKind::kDevice);
  vk::Buffer v_cache = vk::Buffer::create(device, cache_floats * 4, vk::MemoryKind::kDevice);
  vk::Buffer page_table_buffer = vk::Buffer::create(device, page_table.size() * 4, vk::MemoryKind::kDevice);
  device.upload(page_table_buffer, 0, page_table.data(), page_table.size() * 4);
  ops::KvLayout layout = ops::cache_layout(k_cache, v_cache, KVH, ctx, D);
  if (paged) {
    layout.head_stride = static_cast<uint32_t>(kPage * D);
    layout.seq_stride = static_cast<uint32_t>(KVH * kPage * D);
    layout.page_table = &page_table_buffer;
    layout.page_shift = kPageShift;
    layout.pages_per_seq = static_cast<uint32_t>(pages_per_seq);
  }
  std::vector<float> poison(cache_floats, 777.0f);
  device.upload(k_cache, 0, poison.data(), poison.size() * 4);
  device.upload(v_cache, 0, poison.data(), poison.size() * 4);
  // Every position's q|k|v row of every sequence.
  std::vector<std::vector<float>> all;
  for (size_t i = 0; i < seqs.size(); ++i)
    all.push_back(testing::random_vector((seqs[i].past + seqs[i].rows) * width, 40 + i));
  auto table_for = [&](bool cached_part) {
    std::vector<uint32_t> table;
    std::vector<float> rows;
    for (size_t i = 0; i < seqs.size(); ++i) {
      const int64_t first = cached_part ? 0 : seqs[i].past;
      const int64_t end = cached_part ? seqs[i].past : seqs[i].past + seqs[i].rows;
      for (int64_t p = first; p < end; ++p) {
        // A sliding window's first key, as the decoder writes it.
        const uint32_t key_begin = window > 0 && p > window ? uint32_t(p - window) : 0u;
        uint32_t entry[ATTENTION_ROW_WORDS] = {key_begin, uint32_t(p + 1), seqs[i].slot, uint32_t(first), uint32_t(p), 0, 0, 0};
        table.insert(table.end(), entry, entry + ATTENTION_ROW_WORDS);
        rows.insert(rows.end(), all[i].begin() + p * width, all[i].begin() + (p + 1) * width);
      }
    }
    return std::make_pair(table, rows);
  };
  vk::CommandStream stream(device, {.profile = true});
  ops::KvStoreArgs store;
  store.v_delta = static_cast<uint32_t>(KVH * D);
  store.cache = layout;
  store.num_kv_heads = KVH; store.head_dim = D;
  auto [cached_table, cached_rows] = table_for(true);
  vk::Buffer cached_table_buffer = vk::Buffer::create(device, (cached_table.size() + 8) * 4, vk::MemoryKind::kDevice);
  std::optional<Tensor> cached_qkv;
  if (!cached_rows.empty()) {
    device.upload(cached_table_buffer, 0, cached_table.data(), cached_table.size() * 4);
    cached_qkv = Tensor::create(device, int64_t(cached_rows.size()) / width, width);
    cached_qkv->upload(device, cached_rows);
    store.k_src = ops::View(cached_qkv->buffer, static_cast<uint32_t>(H * D), static_cast<uint32_t>(width));
    store.rows_per_seq = cached_qkv->rows;
    store.row_table = &cached_table_buffer;
    ops::kv_store(stream, store);
    stream.finish();
  }
  auto [table, rows] = table_for(false);
  const int64_t R = int64_t(rows.size()) / width;
  vk::Buffer table_buffer = vk::Buffer::create(device, table.size() * 4, vk::MemoryKind::kDevice);
  device.upload(table_buffer, 0, table.data(), table.size() * 4);
  Tensor qkv = Tensor::create(device, R, width);
  qkv.upload(device, rows);
  Tensor out = Tensor::create(device, R, H * D);
  std::optional<vk::Buffer> scores = scratch ? scores_scratch(device, R, 1, H, ctx) : std::nullopt;
  ops::AttentionArgs args;
  args.q = ops::View(qkv.buffer, 0, static_cast<uint32_t>(width));
  args.out = out;
  args.kv = layout;
  args.row_table = &table_buffer;
  if (seqs.size() == 1) {
    args.single_slot = seqs[0].slot;
    args.single_past = seqs[0].past;
  }
  args.batch = 1; args.rows_per_seq = R; args.num_heads = H; args.num_kv_heads = KVH;
  args.head_dim = D; args.causal = true;
  args.window = window;
  args.scale = 1.0f / std::sqrt(float(D));
  if (scores) args.scores = &*scores;
  args.fresh = ops::View(qkv.buffer, static_cast<uint32_t>(H * D), static_cast<uint32_t>(width));
  args.fresh_v_delta = static_cast<uint32_t>(KVH * D);
  ops::attention(stream, args, policy);
  stream.finish();
  const std::vector<float> got = out.download(device);

  std::vector<float> k_expected = poison, v_expected = poison;
  int64_t row0 = 0;
  for (size_t i = 0; i < seqs.size(); ++i) {
    const PackedSequence& c = seqs[i];
    const int64_t S = c.past + c.rows;
    std::vector<float> q(c.rows * H * D), k(S * KVH * D), v(k.size());
    for (int64_t j = 0; j < S; ++j) {
      const float* row = &all[i][j * width];
      std::copy_n(row + H * D, KVH * D, k.begin() + j * KVH * D);
      std::copy_n(row + (H + KVH) * D, KVH * D, v.begin() + j * KVH * D);
      if (j >= c.past) std::copy_n(row, H * D, q.begin() + (j - c.past) * H * D);
      for (int64_t h = 0; h < KVH; ++h)
        for (int64_t d = 0; d < D; ++d) {
          const int64_t at = cache_index(c.slot, h, j, d);
          k_expected[at] = row[H * D + h * D + d];
          v_expected[at] = row[(H + KVH) * D + h * D + d];
        }
    }
    auto expected = reference::attention(q, k, v, 1, c.rows, S, H, KVH, D, c.past, true, {0}, {0},
                                         1.0 / std::sqrt(double(D)), window);
    std::vector<float> part(got.begin() + row0 * H * D, got.begin() + (row0 + c.rows) * H * D);
    EXPECT_CLOSE(expected, part, kAtol, kRtol) << "sequence " << i << " slot " << c.slot << " past " << c.past
                                               << " rows " << c.rows << " D=" << D << " window " << window
                                               << (paged ? " paged" : "");
    row0 += c.rows;
  }
  std::vector<float> k_got(poison.size()), v_got(poison.size());
  device.download(k_cache, 0, k_got.data(), k_got.size() * 4);
  device.download(v_cache, 0, v_got.data(), v_got.size() * 4);
  EXPECT_EQ(k_expected, k_got) << "K cache";
  EXPECT_EQ(v_expected, v_got) << "V cache";
}

TEST(Attention, PackedStepBatchOfSequencesAtTheirOwnSlots) {
  const std::vector<PackedSequence> mixed = {{2, 5, 1}, {0, 0, 6}, {3, 9, 3}, {1, 17, 1}};
  const std::vector<PackedSequence> one = {{1, 4, 21}};
  for (const auto& [name, policy] : testing::all_policies(test_device().info())) {
    SCOPED_TRACE(name);
    for (int64_t D : {12, 16}) {
      run_packed_case(mixed, 4, 2, D, policy.reduce, false);
      run_packed_case(one, 6, 3, D, policy.reduce, true);
    }
  }
}

// The same through a paged cache: every key and value goes to and comes from
// the page its slot's table row names, by the fused kernel, kv_store and the
// GEMM path (whose tiles of keys cross pages).
TEST(Attention, PackedStepBatchThroughAPagedCache) {
  const std::vector<PackedSequence> mixed = {{2, 5, 1}, {0, 0, 6}, {3, 9, 3}, {1, 17, 1}};
  const std::vector<PackedSequence> one = {{1, 4, 21}};
  for (const auto& [name, policy] : fused_and_gemm_policies()) {
    SCOPED_TRACE(name);
    for (int64_t D : {12, 16}) {
      run_packed_case(mixed, 4, 2, D, policy, false, 0, true);
      run_packed_case(one, 6, 3, D, policy, true, 0, true);
    }
    run_packed_case(one, 6, 3, 16, policy, true, 6, true);
  }
}

// Sliding-window attention (Mistral): each row sees its own position and the
// `window` before it. Rows before, at and past the window's reach, decode
// rows and chunks, through the fused kernel and (one sequence with scratch)
// the GEMM path, whose blocks then start past key 0.
TEST(Attention, SlidingWindowHidesKeysBeyondIt) {
  const std::vector<PackedSequence> mixed = {{2, 5, 1}, {0, 0, 9}, {3, 9, 3}, {1, 17, 1}};
  const std::vector<PackedSequence> one = {{1, 4, 21}};
  for (const auto& [name, policy] : fused_and_gemm_policies()) {
    SCOPED_TRACE(name);
    for (int64_t window : {1, 6, 7}) {
      run_packed_case(mixed, 4, 2, 16, policy, false, window);
      run_packed_case(one, 6, 3, 16, policy, true, window);
    }
  }
}

}  // namespace
}  // namespace vkinfer
