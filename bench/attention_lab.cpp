// Kernel lab for attention: every fused-kernel variant (subgroup/shared x
// storage/texel K/V, lanes per row) and the two-GEMM path at several tile
// shapes (rows x keys/dims per lane) checked against the reference, then timed
// on GPU timestamps at decode and prefill shapes of GPT-2-124M and a GQA
// Llama. Reports GB/s of K/V read (each head's keys once per query row
// block) and GFLOPS (QK^T and PV).
#include <benchmark/benchmark.h>

#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/lab_support.h"
#include "engine/model/kv_cache.h"
#include "engine/ops/attention.h"
#include "engine/weights/tensor.h"
#include "tests/reference/attention_ref.h"
#include "tests/support/compare.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using lab::lab_device;

struct Variant {
  std::string name;
  ops::ReducePolicy policy;
};

std::vector<Variant> variants() {
  std::vector<Variant> out;
  auto same = [](const ops::ReducePolicy& a, const ops::ReducePolicy& b) {
    return a.subgroup == b.subgroup && a.workgroup == b.workgroup && a.texel_kv == b.texel_kv &&
           a.attention_gemm_min_rows == b.attention_gemm_min_rows &&
           a.attention_tile_m == b.attention_tile_m && a.attention_tile_n == b.attention_tile_n;
  };
  auto add = [&](const std::string& name, const ops::ReducePolicy& policy) {
    for (const Variant& v : out)
      if (same(v.policy, policy)) return;
    out.push_back({name, policy});
  };
  // The matmul sweep's policies differ here only in their reduction fields;
  // the fused kernel at every length.
  for (auto [name, policy] : testing::all_policies(lab_device().info())) {
    policy.reduce.attention_gemm_min_rows = 0;
    add(name, policy.reduce);
  }
  // Lanes per (query row, head) for the shared-memory variant.
  for (uint32_t lanes : {16u, 32u, 64u}) {
    ops::ReducePolicy policy = ops::choose_policy(lab_device().info()).reduce;
    policy.attention_gemm_min_rows = 0;
    policy.subgroup = false;
    policy.workgroup = lanes;
    add("shared_x" + std::to_string(lanes), policy);
  }
  // The GEMM path (prefill shapes; decode stays fused below its minimum rows).
  if (lab_device().info().enabled.texel_buffers)
    for (auto [tile_m, tile_n] : std::vector<std::pair<uint32_t, uint32_t>>{{8, 8}, {16, 8}, {8, 16}, {4, 16}}) {
      ops::ReducePolicy policy = ops::choose_policy(lab_device().info()).reduce;
      policy.attention_gemm_min_rows = std::max(policy.attention_gemm_min_rows, 1u);
      policy.attention_tile_m = tile_m;
      policy.attention_tile_n = tile_n;
      add("gemm_" + std::to_string(tile_m) + "x" + std::to_string(tile_n), policy);
    }
  return out;
}

struct Shape {
  const char* name;
  int64_t B, T, H, KVH, D, past;
};

// Runs one attention over a cache filled with random keys/values; returns
// the output, and the GPU time when `profile`.
struct Run {
  std::vector<float> out;
  double ns = 0;
};

class Fixture {
 public:
  // Paged: the cache is a KvCache's pool of 16-position pages, handed out to
  // the sequences in a scrambled order (as after requests came and went).
  Fixture(const Shape& s, uint32_t seed, bool paged = false)
      : s_(s), S_(s.past + s.T), ctx_(S_), paged_(paged) {
    vk::Device& device = lab_device();
    q_ = testing::random_vector(s.B * s.T * s.H * s.D, seed);
    // Cache layout [B][KVH][ctx][D] or [page][KVH][16][D]; reference layout [B][S][KVH*D].
    k_ = testing::random_vector(s.B * S_ * s.KVH * s.D, seed + 1);
    v_ = testing::random_vector(k_.size(), seed + 2);
    pages_per_seq_ = KvCache::pages_for(ctx_);
    const int64_t pages = s.B * pages_per_seq_;
    for (int64_t i = 0; i < pages; ++i) page_table_.push_back(static_cast<uint32_t>((i * 7919) % pages));
    if (paged && std::gcd(int64_t{7919}, pages) != 1) throw std::logic_error("page scramble is not a permutation");
    const int64_t cache_floats = paged ? pages * kPage * s.KVH * s.D : int64_t(k_.size());
    std::vector<float> k_cache(cache_floats), v_cache(cache_floats);
    for (int64_t b = 0; b < s.B; ++b)
      for (int64_t j = 0; j < S_; ++j)
        for (int64_t h = 0; h < s.KVH; ++h)
          for (int64_t d = 0; d < s.D; ++d) {
            const int64_t from = ((b * S_ + j) * s.KVH + h) * s.D + d;
            const int64_t page = page_table_[b * pages_per_seq_ + j / kPage];
            const int64_t to = paged ? ((page * s.KVH + h) * kPage + j % kPage) * s.D + d
                                     : ((b * s.KVH + h) * ctx_ + j) * s.D + d;
            k_cache[to] = k_[from];
            v_cache[to] = v_[from];
          }
    page_table_buf_ = vk::Buffer::create(device, page_table_.size() * 4, vk::MemoryKind::kDevice);
    device.upload(page_table_buf_, 0, page_table_.data(), page_table_.size() * 4);
    k_buf_ = vk::Buffer::create(device, k_cache.size() * 4, vk::MemoryKind::kDevice);
    v_buf_ = vk::Buffer::create(device, v_cache.size() * 4, vk::MemoryKind::kDevice);
    device.upload(k_buf_, 0, k_cache.data(), k_cache.size() * 4);
    device.upload(v_buf_, 0, v_cache.data(), v_cache.size() * 4);
    std::vector<uint32_t> bounds;
    for (int64_t b = 0; b < s.B; ++b) {
      start_.push_back(static_cast<uint32_t>(b % 3));  // a little left padding
      end_.push_back(0);
      bounds.push_back(start_.back());
      bounds.push_back(0);
    }
    seq_ = vk::Buffer::create(device, bounds.size() * 4, vk::MemoryKind::kDevice);
    device.upload(seq_, 0, bounds.data(), bounds.size() * 4);
    if (uint64_t bytes = ops::attention_scores_bytes(s.B, s.H, s.T, S_))
      scores_ = vk::Buffer::create(device, bytes, vk::MemoryKind::kDevice);
    q_dev_ = Tensor::create(device, s.B * s.T, s.H * s.D);
    q_dev_.upload(device, q_);
    out_ = Tensor::create(device, s.B * s.T, s.H * s.D);
  }

  ops::AttentionArgs args() const {
    ops::AttentionArgs a;
    a.q = q_dev_;
    a.out = out_;
    a.kv = ops::cache_layout(k_buf_, v_buf_, s_.KVH, ctx_, s_.D);
    if (paged_) {
      a.kv.head_stride = static_cast<uint32_t>(kPage * s_.D);
      a.kv.seq_stride = static_cast<uint32_t>(s_.KVH * kPage * s_.D);
      a.kv.page_table = &page_table_buf_;
      a.kv.page_shift = KvCache::kPageShift;
      a.kv.pages_per_seq = static_cast<uint32_t>(pages_per_seq_);
    }
    a.seq_bounds = &seq_;
    a.batch = s_.B; a.rows_per_seq = s_.T; a.num_heads = s_.H; a.num_kv_heads = s_.KVH;
    a.head_dim = s_.D; a.past = s_.past; a.causal = true;
    a.scale = 1.0f / std::sqrt(float(s_.D));
    if (scores_.valid()) a.scores = &scores_;
    return a;
  }

  bool matches_reference(const ops::ReducePolicy& policy) {
    vk::Device& device = lab_device();
    vk::CommandStream stream(device);
    ops::attention(stream, args(), policy);
    stream.finish();
    auto expected = reference::attention(q_, k_, v_, s_.B, s_.T, S_, s_.H, s_.KVH, s_.D, s_.past,
                                         true, start_, end_, 1.0 / std::sqrt(double(s_.D)));
    auto got = out_.download(device);
    // The tolerance of tests/attention_test.cpp.
    for (size_t i = 0; i < got.size(); ++i)
      if (std::fabs(got[i] - expected[i]) > 2e-5 + 1e-4 * std::fabs(expected[i])) return false;
    return true;
  }

 private:
  static constexpr int64_t kPage = KvCache::kPagePositions;
  Shape s_;
  int64_t S_, ctx_;
  bool paged_;
  int64_t pages_per_seq_ = 0;
  std::vector<float> q_, k_, v_;
  std::vector<uint32_t> start_, end_, page_table_;
  vk::Buffer k_buf_, v_buf_, seq_, scores_, page_table_buf_;
  Tensor q_dev_, out_;
};

void run(benchmark::State& state, Variant variant, Shape shape, bool paged) {
  // The variant is checked on a small GQA case with padding, then on the
  // timed shape itself.
  Fixture small({"check", 2, 19, 4, 2, 16, 5}, 31, paged);
  if (!small.matches_reference(variant.policy)) {
    state.SkipWithError("variant disagrees with the reference");
    return;
  }
  Fixture fixture(shape, 41, paged);
  if (!fixture.matches_reference(variant.policy)) {
    state.SkipWithError("variant disagrees with the reference at this shape");
    return;
  }
  vk::Device& device = lab_device();
  vk::CommandStream stream(device, {.profile = true});
  const ops::AttentionArgs args = fixture.args();
  const double total_ns =
      lab::time_on_gpu(state, stream, [&] { ops::attention(stream, args, variant.policy); });
  // Keys each query row sees on average (causal), and K/V bytes per pass.
  const double keys = shape.past + (shape.T + 1) / 2.0;
  const double kv_bytes = 2.0 * 4.0 * shape.B * shape.KVH * (shape.past + shape.T) * shape.D;
  const double flops = 4.0 * shape.B * shape.T * shape.H * keys * shape.D;
  const double iterations = static_cast<double>(state.iterations());
  state.counters["GB/s"] = kv_bytes * iterations / total_ns;
  state.counters["GFLOPS"] = flops * iterations / total_ns;
}

void register_all() {
  const Shape shapes[] = {
      // GPT-2-124M: decode at three depths, prefill of 128 and 512 tokens.
      {"gpt2_decode_128", 1, 1, 12, 12, 64, 127},
      {"gpt2_decode_512", 1, 1, 12, 12, 64, 511},
      {"gpt2_decode_1024", 1, 1, 12, 12, 64, 1023},
      {"gpt2_prefill_128", 1, 128, 12, 12, 64, 0},
      {"gpt2_prefill_512", 1, 512, 12, 12, 64, 0},
      // Llama-3.2-1B-shaped GQA (32 query heads on 8 KV heads) decode.
      {"llama1b_decode_512", 1, 1, 32, 8, 64, 511},
  };
  // Each variant on the unpaged layout and on the KV cache's paged one
  // (".../paged"), which pays a page-table read per key.
  for (const Variant& variant : variants())
    for (const Shape& s : shapes)
      for (bool paged : {false, true}) {
        const std::string name = std::string(s.name) + "/" + variant.name + (paged ? "/paged" : "");
        benchmark::RegisterBenchmark(name.c_str(), run, variant, s, paged)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond)
            ->MinTime(0.2);
      }
}

}  // namespace
}  // namespace vkinfer

int main(int argc, char** argv) {
  return vkinfer::lab::run_main(argc, argv, vkinfer::register_all);
}
