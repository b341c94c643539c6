#include "engine/ops/sampling.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "engine/core/error.h"
#include "engine/vk/device.h"

namespace vkinfer::ops {
static_assert(kMaxTopLogprobs == int(SAMPLING_MAX_LOGPROBS));
namespace {

struct CandidatesSpec {
  uint32_t workgroup;
};
struct FinishSpec {
  uint32_t workgroup, capacity;
};

uint32_t next_pow2(uint32_t v) {
  uint32_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

// Lanes for a kernel whose lanes share `loop_iterations` iterations: the
// policy's width, widened (in powers of two) until each lane runs fewer than
// 50000. lavapipe (Mesa 22.3) stops a shader invocation after 65535 loop
// iterations in total and silently leaves its output half written.
uint32_t lanes_for(const vk::Device& device, uint32_t policy_lanes, uint64_t loop_iterations) {
  constexpr uint64_t kMaxIterationsPerLane = 50000;
  uint64_t lanes = std::max<uint64_t>(policy_lanes, 1);
  while (lanes < device.info().max_workgroup_invocations &&
         (loop_iterations + lanes - 1) / lanes >= kMaxIterationsPerLane)
    lanes *= 2;
  lanes = std::min<uint64_t>(lanes, device.info().max_workgroup_invocations);
  if ((loop_iterations + lanes - 1) / lanes >= kMaxIterationsPerLane)
    fail(ErrorCode::kUnsupported, "sampling: a row of {} loop iterations does not fit {} lanes "
         "of this device", loop_iterations, lanes);
  return static_cast<uint32_t>(lanes);
}

// Full-vocab sampling that the top-C list cannot hold goes through Gumbel-max.
bool use_gumbel(const SamplingParams& params, int64_t vocab_global) {
  return !is_greedy(params) && params.top_p >= 1.0f &&
         (params.top_k == 0 || params.top_k >= vocab_global) &&
         vocab_global > int64_t(candidate_count(params, vocab_global));
}

uint32_t sampling_flags(const SamplingParams& params, int64_t vocab_global) {
  uint32_t flags = 0;
  if (params.repetition_penalty != 1.0f) flags |= SAMPLING_FLAG_PENALTY;
  if (is_greedy(params)) flags |= SAMPLING_FLAG_GREEDY;
  if (use_gumbel(params, vocab_global)) flags |= SAMPLING_FLAG_GUMBEL;
  return flags;
}

// The candidates kernel, for sampling (processed logits into
// buffers.candidates/stats) and for the logprob pass (raw logits into
// buffers.logprob_*). Both record the same pipeline, so the warm-up's
// sampling step builds the one the logprob pass uses.
void dispatch_candidates(vk::CommandStream& stream, View logits, int64_t rows, int64_t vocab_valid,
                         const params::SampleCandidatesParams& p, SamplerBuffers& buffers,
                         const vk::Buffer& candidates, const vk::Buffer& stats,
                         const ReducePolicy& policy, const char* label) {
  vk::Device& device = stream.device();
  const bool subgroup = policy.subgroup && device.info().enabled.subgroup_arithmetic;
  vk::KernelDesc desc;
  desc.shader = subgroup ? ShaderId::sample_candidates_subgroup : ShaderId::sample_candidates_shared;
  desc.bindings.assign(5, vk::BindingKind::kStorage);
  desc.written_bindings = (1u << 2) | (1u << 3);
  desc.push_constant_bytes = sizeof(params::SampleCandidatesParams);
  // Up to 10 scans of the row: stats, 2 x 4 radix-select passes, compaction;
  // plus the bitonic sort of 256 entries (36 steps).
  CandidatesSpec spec{lanes_for(device, policy.workgroup,
                                10 * uint64_t(vocab_valid) + 36 * SAMPLING_MAX_CANDIDATES)};
  desc.spec = vk::spec_values(spec);
  desc.local_size = {spec.workgroup, 1, 1};
  const vk::Kernel& kernel = device.kernel(desc);
  vk::OpCost cost{4.0 * double(rows) * double(vocab_valid) * 6, 0};
  stream.dispatch(kernel, {*logits.buffer, buffers.seen, candidates, stats, buffers.out_ids}, p,
                  static_cast<uint32_t>(rows), 1, 1, label, cost);
}

void check_slice(int64_t rows, View logits, int64_t vocab_offset, int64_t vocab_valid,
                 const SamplerBuffers& buffers, const char* op) {
  // A rank whose slice is all padding (vocab 7 over 8 ranks) has no valid
  // columns and may start past the vocab.
  if (vocab_offset < 0 || vocab_valid < 0 ||
      (vocab_valid > 0 && vocab_offset + vocab_valid > buffers.vocab_global))
    fail(ErrorCode::kInternal, "{}: slice [{}, {}) lies outside the vocab of {}", op,
         vocab_offset, vocab_offset + vocab_valid, buffers.vocab_global);
  if (rows > 1 && logits.stride < vocab_valid)
    fail(ErrorCode::kInternal, "{}: row stride {} is shorter than {} columns", op,
         logits.stride, vocab_valid);
}

void check_rows(int64_t rows, const SamplerBuffers& buffers, const char* op) {
  if (!buffers.seen.valid())
    fail(ErrorCode::kInternal, "{}: SamplerBuffers were not created", op);
  if (rows < 0 || rows > buffers.rows)
    fail(ErrorCode::kInternal, "{}: {} rows, but the sampler buffers hold {}", op, rows,
         buffers.rows);
}

}  // namespace

SamplerBuffers SamplerBuffers::create(vk::Device& device, int64_t rows, int64_t vocab_global) {
  if (rows <= 0 || vocab_global <= 0 || vocab_global >= int64_t(SAMPLING_NO_ID))
    fail(ErrorCode::kInternal, "sampler buffers: {} rows of vocab {} is not a valid shape", rows,
         vocab_global);
  SamplerBuffers b;
  b.rows = rows;
  b.vocab_global = vocab_global;
  b.seen_words = static_cast<uint32_t>((vocab_global + 31) / 32);
  const uint64_t max_c = SAMPLING_MAX_CANDIDATES;
  const uint64_t seen_bytes = uint64_t(rows) * b.seen_words * 4;
  b.candidates = vk::Buffer::create(device, rows * max_c * sizeof(params::SampleCandidate),
                                    vk::MemoryKind::kDevice);
  b.stats = vk::Buffer::create(device, rows * sizeof(params::SampleStats), vk::MemoryKind::kDevice);
  b.seen = vk::Buffer::create(device, seen_bytes, vk::MemoryKind::kDevice);
  b.seen_staging = vk::Buffer::create(device, seen_bytes, vk::MemoryKind::kHostUpload);
  b.out_ids = vk::Buffer::create(device, rows * 4, vk::MemoryKind::kHostReadback);
  b.final_candidates = vk::Buffer::create(device, rows * max_c * sizeof(params::FinalCandidate),
                                          vk::MemoryKind::kHostReadback);
  b.logprob_candidates = vk::Buffer::create(
      device, rows * SAMPLING_MAX_LOGPROBS * sizeof(params::SampleCandidate), vk::MemoryKind::kHostReadback);
  b.logprob_stats =
      vk::Buffer::create(device, rows * sizeof(params::SampleStats), vk::MemoryKind::kHostReadback);
  return b;
}

void SamplerBuffers::seed_seen_bitmap(vk::CommandStream& stream,
                                      const std::vector<std::vector<int32_t>>& ids_per_row) {
  if (int64_t(ids_per_row.size()) > rows)
    fail(ErrorCode::kInternal, "seed_seen_bitmap: {} rows, but the sampler buffers hold {}",
         ids_per_row.size(), rows);
  auto* words = static_cast<uint32_t*>(seen_staging.mapped());
  std::memset(words, 0, seen_staging.size());
  for (size_t r = 0; r < ids_per_row.size(); ++r)
    for (int32_t id : ids_per_row[r]) {
      if (id < 0 || id >= vocab_global)
        fail(ErrorCode::kInvalidArgument,
             "sampling: prompt token id {} in sequence {} is outside the vocabulary [0, {})", id,
             r, vocab_global);
      words[r * seen_words + uint32_t(id) / 32] |= 1u << (uint32_t(id) % 32);
    }
  stream.copy(seen_staging, 0, seen, 0, seen_staging.size());
}

std::vector<uint32_t> SamplerBuffers::read_ids(int64_t count) const {
  if (count < 0 || count > rows)
    fail(ErrorCode::kInternal, "read_ids: {} rows, but the sampler buffers hold {}", count, rows);
  const auto* ids = static_cast<const uint32_t*>(out_ids.mapped());
  return std::vector<uint32_t>(ids, ids + count);
}

std::vector<params::FinalCandidate> SamplerBuffers::read_final(int64_t row,
                                                               uint32_t candidates) const {
  if (row < 0 || row >= rows || candidates == 0 || candidates > SAMPLING_MAX_CANDIDATES)
    fail(ErrorCode::kInternal, "read_final: row {} / {} candidates out of range", row, candidates);
  const auto* all = static_cast<const params::FinalCandidate*>(final_candidates.mapped());
  const auto* first = all + row * candidates;
  return std::vector<params::FinalCandidate>(first, first + candidates);
}

namespace {

// The candidates kernel's view of a logits slice: where its rows are and
// which global ids they hold.
params::SampleCandidatesParams candidates_params(View logits, int64_t vocab_offset, int64_t vocab_valid,
                                                 const SamplerBuffers& buffers) {
  params::SampleCandidatesParams p{};
  p.logits_offset = logits.offset;
  p.logits_stride = logits.stride;
  p.vocab_offset = static_cast<uint32_t>(vocab_offset);
  p.vocab_valid = static_cast<uint32_t>(vocab_valid);
  p.seen_words = buffers.seen_words;
  return p;
}

}  // namespace

void sample_candidates(vk::CommandStream& stream, View logits, int64_t rows,
                       int64_t vocab_offset, int64_t vocab_valid, const SamplingParams& params,
                       uint32_t step, SamplerBuffers& buffers, const ReducePolicy& policy) {
  validate(params);
  check_rows(rows, buffers, "sample_candidates");
  check_slice(rows, logits, vocab_offset, vocab_valid, buffers, "sample_candidates");
  if (rows == 0) return;
  const bool greedy = is_greedy(params);
  params::SampleCandidatesParams p = candidates_params(logits, vocab_offset, vocab_valid, buffers);
  p.candidates = candidate_count(params, buffers.vocab_global);
  p.flags = sampling_flags(params, buffers.vocab_global);
  p.penalty = params.repetition_penalty;
  // Greedy is the argmax after the penalty alone, as in HF's greedy search.
  p.temperature = greedy ? 1.0f : params.temperature;
  p.seed_lo = static_cast<uint32_t>(params.seed);
  p.seed_hi = static_cast<uint32_t>(params.seed >> 32);
  p.step = step;
  dispatch_candidates(stream, logits, rows, vocab_valid, p, buffers, buffers.candidates,
                      buffers.stats, policy, "sample_candidates");
}

void sample_finish(vk::CommandStream& stream, const vk::Buffer& all_candidates,
                   const vk::Buffer& all_stats, int ranks, int64_t rows,
                   const SamplingParams& params, uint32_t step, SamplerBuffers& buffers,
                   const ReducePolicy& policy) {
  validate(params);
  check_rows(rows, buffers, "sample_finish");
  const uint32_t c = candidate_count(params, buffers.vocab_global);
  if (ranks < 1 || uint64_t(ranks) * c > 8 * SAMPLING_MAX_CANDIDATES)
    fail(ErrorCode::kUnsupported, "sampling: {} ranks of {} candidates exceed the 2048 the "
         "finish kernel merges; use at most 8 tensor-parallel ranks", ranks, c);
  if (rows == 0) return;
  const uint64_t need_candidates = uint64_t(ranks) * rows * c * sizeof(params::SampleCandidate);
  const uint64_t need_stats = uint64_t(ranks) * rows * sizeof(params::SampleStats);
  if (all_candidates.size() < need_candidates || all_stats.size() < need_stats)
    fail(ErrorCode::kInternal, "sample_finish: gathered buffers hold {}/{} bytes, {}/{} needed",
         all_candidates.size(), all_stats.size(), need_candidates, need_stats);
  vk::Device& device = stream.device();
  // The sort's shared arrays hold every candidate any request may send
  // (the shader sorts only the next power of two above ranks * c), so the
  // pipeline depends on the rank count, never on top-k or greediness.
  const uint32_t capacity = next_pow2(uint32_t(ranks) * SAMPLING_MAX_CANDIDATES);
  uint32_t sort_steps = 0;
  for (uint32_t size = 2; size <= capacity; size *= 2)
    for (uint32_t stride = size / 2; stride > 0; stride /= 2) ++sort_steps;
  // The load and bitonic merge; lane 0's ~8 sequential passes over <= 256
  // entries fit the 15535 iterations lanes_for leaves spare.
  FinishSpec spec{lanes_for(device, policy.workgroup, uint64_t(sort_steps + 1) * capacity), capacity};
  const uint64_t shared_bytes = uint64_t(spec.capacity) * 8 + SAMPLING_MAX_CANDIDATES * 4;
  if (shared_bytes > device.info().max_shared_memory_bytes)
    fail(ErrorCode::kUnsupported, "sampling: merging {} candidates needs {} bytes of shared "
         "memory, the device has {}; use fewer tensor-parallel ranks", ranks * c, shared_bytes,
         device.info().max_shared_memory_bytes);

  vk::KernelDesc desc;
  desc.shader = ShaderId::sample_finish;
  desc.bindings.assign(5, vk::BindingKind::kStorage);
  desc.written_bindings = (1u << 2) | (1u << 3) | (1u << 4);
  desc.push_constant_bytes = sizeof(params::SampleFinishParams);
  desc.spec = vk::spec_values(spec);
  desc.local_size = {spec.workgroup, 1, 1};
  const vk::Kernel& kernel = device.kernel(desc);

  params::SampleFinishParams p{};
  p.ranks = static_cast<uint32_t>(ranks);
  p.candidates = c;
  p.rows = static_cast<uint32_t>(rows);
  p.seen_words = buffers.seen_words;
  // HF clamps top_k to the vocab, where it no longer filters anything.
  p.top_k = params.top_k >= buffers.vocab_global ? 0u : static_cast<uint32_t>(params.top_k);
  p.top_p = params.top_p;
  p.flags = sampling_flags(params, buffers.vocab_global);
  p.seed_lo = static_cast<uint32_t>(params.seed);
  p.seed_hi = static_cast<uint32_t>(params.seed >> 32);
  p.step = step;
  stream.dispatch(kernel,
                  {all_candidates, all_stats, buffers.seen, buffers.out_ids, buffers.final_candidates},
                  p, static_cast<uint32_t>(rows), 1, 1, "sample_finish",
                  vk::OpCost{double(need_candidates + need_stats), 0});
}

uint32_t logprob_slots(int top_n) {
  if (top_n < 0 || top_n > kMaxTopLogprobs)
    fail(ErrorCode::kInvalidArgument, "logprobs: {} alternatives asked, at most {} are reported",
         top_n, kMaxTopLogprobs);
  return static_cast<uint32_t>(std::max(top_n, 1));
}

void sample_logprobs(vk::CommandStream& stream, View logits, int64_t rows, int64_t vocab_offset,
                     int64_t vocab_valid, int top_n, SamplerBuffers& buffers,
                     const ReducePolicy& policy) {
  check_rows(rows, buffers, "sample_logprobs");
  check_slice(rows, logits, vocab_offset, vocab_valid, buffers, "sample_logprobs");
  const uint32_t slots = logprob_slots(top_n);
  if (rows == 0) return;
  // No penalty, temperature 1, no greedy shortcut: the kernel's "processed"
  // logits are then the raw ones and its stats the raw row's.
  params::SampleCandidatesParams p = candidates_params(logits, vocab_offset, vocab_valid, buffers);
  p.candidates = slots;
  p.flags = SAMPLING_FLAG_CHOSEN;
  p.penalty = 1.0f;
  p.temperature = 1.0f;
  dispatch_candidates(stream, logits, rows, vocab_valid, p, buffers, buffers.logprob_candidates,
                      buffers.logprob_stats, policy, "sample_logprobs");
}

TokenLogprobs merge_logprobs(const params::SampleCandidate* candidates,
                             const params::SampleStats* stats, int ranks, int top_n) {
  const uint32_t slots = logprob_slots(top_n);
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  // log-sum-exp of the whole row from each rank's (max, sum exp of x - max).
  double max_logit = -std::numeric_limits<double>::infinity();
  for (int r = 0; r < ranks; ++r) max_logit = std::max<double>(max_logit, stats[r].max);
  double sum = 0;
  for (int r = 0; r < ranks; ++r)
    if (stats[r].max != kNegInf) sum += double(stats[r].sum_exp) * std::exp(double(stats[r].max) - max_logit);
  // A row without a finite logit has no distribution: every token is -inf.
  const double lse = sum > 0 ? max_logit + std::log(sum) : std::numeric_limits<double>::infinity();
  auto logprob = [&](float logit) {
    return logit == kNegInf ? kNegInf : static_cast<float>(double(logit) - lse);
  };

  TokenLogprobs out;
  for (int r = 0; r < ranks; ++r)
    if (stats[r].gumbel_id != SAMPLING_NO_ID)
      out.chosen = {static_cast<int32_t>(stats[r].gumbel_id), logprob(stats[r].gumbel_key)};
  // The global top-N is the best N of the ranks' lists in the kernels'
  // order (logit descending, lower id first; ids are unique, so the order is
  // total): each pick is the best entry after the previous pick. At most
  // 20 x ranks x 20 comparisons, and no storage.
  auto before = [](const params::SampleCandidate& a, const params::SampleCandidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  };
  const params::SampleCandidate* previous = nullptr;
  for (int k = 0; k < top_n; ++k) {
    const params::SampleCandidate* best = nullptr;
    for (uint64_t i = 0; i < uint64_t(ranks) * slots; ++i) {
      const params::SampleCandidate& c = candidates[i];
      if (c.id == SAMPLING_NO_ID || (previous && !before(*previous, c))) continue;
      if (!best || before(c, *best)) best = &c;
    }
    if (!best) break;  // fewer valid tokens than top_n
    out.top[out.count++] = {static_cast<int32_t>(best->id), logprob(best->logit)};
    previous = best;
  }
  return out;
}

void sample(vk::CommandStream& stream, View logits, int64_t rows, const SamplingParams& params,
            uint32_t step, SamplerBuffers& buffers, const ReducePolicy& policy) {
  sample_candidates(stream, logits, rows, 0, buffers.vocab_global, params, step, buffers, policy);
  sample_finish(stream, buffers.candidates, buffers.stats, 1, rows, params, step, buffers, policy);
}

}  // namespace vkinfer::ops
