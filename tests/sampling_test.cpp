// sampling op: sample_candidates and sample_finish against the reference of
// transformers' processor chain, on odd vocab sizes with ties, -inf and NaN,
// over both reduction variants, and split across fake tensor-parallel ranks;
// and the logprob pass against a host log-softmax of the raw logits.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>

#include "engine/core/error.h"
#include "engine/ops/sampling.h"
#include "tests/reference/sampling_ref.h"
#include "tests/support/compare.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using ops::SamplingParams;
using params::FinalCandidate;
using testing::test_device;
constexpr float kInf = std::numeric_limits<float>::infinity();

// Row 0: N(0, scale); row 1: the same rounded to multiples of 0.5 (many
// ties, also at the top-C boundary); row 2: like row 0 with ~10% -inf and a
// NaN; further rows repeat the pattern with other draws.
std::vector<float> make_logits(int64_t rows, int64_t vocab, uint32_t seed, float scale,
                               bool ties = true) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::vector<float> out(rows * vocab);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t v = 0; v < vocab; ++v) {
      float x = normal(rng);
      if (ties && r % 3 == 1) x = std::round(x * 2.0f) / 2.0f;
      if (r % 3 == 2 && unit(rng) < 0.1f) x = -kInf;
      out[r * vocab + v] = x;
    }
  if (rows > 2 && vocab > 3) out[2 * vocab + 3] = std::nanf("");
  return out;
}

// Equal, or within 1 ulp (the driver's division need not round exactly).
::testing::AssertionResult same_logit(float got, float want) {
  if (got == want || std::abs(got - want) <= std::abs(want) * 1.2e-7f)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got " << got << ", want " << want;
}

std::vector<float> row_of(const std::vector<float>& logits, int64_t row, int64_t vocab) {
  return std::vector<float>(logits.begin() + row * vocab, logits.begin() + (row + 1) * vocab);
}

// The reduction variants: subgroup and shared memory at several widths
// (1 lane, one subgroup, several subgroups).
std::vector<std::pair<std::string, ops::ReducePolicy>> reduce_policies() {
  const vk::DeviceInfo& info = test_device().info();
  std::vector<std::pair<std::string, ops::ReducePolicy>> out;
  out.push_back({"shared_1", {false, 1}});
  out.push_back({"shared_32", {false, 32}});
  if (info.enabled.subgroup_arithmetic) {
    out.push_back({"subgroup_1x", {true, info.subgroup_size}});
    out.push_back({"subgroup_4x", {true, 4 * info.subgroup_size}});
  }
  return out;
}

// Runs `steps` decode steps over `ranks` fake ranks: rank r holds columns
// [r*slice, r*slice + valid_r) plus padding columns that hold `pad_value`.
// Each rank samples its slice, the candidates and stats are gathered
// rank-major, and every rank runs the finish; they must all agree.
struct RunResult {
  std::vector<uint32_t> ids;              // [steps, rows]
  std::vector<std::vector<FinalCandidate>> finals;  // last step, per row
  std::vector<uint32_t> seen;             // rank 0's bitmap after the last step
};

RunResult run_sampler(const std::vector<float>& logits, int64_t rows, int64_t vocab,
                      const SamplingParams& params,
                      const std::vector<std::vector<int32_t>>& prompt, int ranks, int steps,
                      const ops::ReducePolicy& policy, uint32_t first_step = 0,
                      float pad_value = 1e30f) {
  vk::Device& device = test_device();
  const int64_t slice = (vocab + ranks - 1) / ranks;
  const int64_t cols = slice + 3;
  const uint32_t c = ops::candidate_count(params, vocab);
  std::vector<Tensor> local;
  std::vector<ops::SamplerBuffers> buffers;
  std::vector<int64_t> valid;
  auto all_candidates = vk::Buffer::create(device, ranks * rows * c * sizeof(params::SampleCandidate),
                                           vk::MemoryKind::kDevice);
  auto all_stats = vk::Buffer::create(device, ranks * rows * sizeof(params::SampleStats),
                                      vk::MemoryKind::kDevice);
  // Declared after every buffer it uses: its destructor submits what is recorded.
  vk::CommandStream stream(device);
  for (int r = 0; r < ranks; ++r) {
    valid.push_back(std::clamp<int64_t>(vocab - r * slice, 0, slice));
    std::vector<float> host(rows * cols, pad_value);
    for (int64_t b = 0; b < rows; ++b)
      for (int64_t j = 0; j < valid[r]; ++j) host[b * cols + j] = logits[b * vocab + r * slice + j];
    local.push_back(Tensor::create(device, rows, cols));
    local.back().upload(device, host);
    buffers.push_back(ops::SamplerBuffers::create(device, rows, vocab));
    buffers.back().seed_seen_bitmap(stream, prompt);
  }
  RunResult result;
  for (int s = 0; s < steps; ++s) {
    const uint32_t step = first_step + s;
    if (ranks == 1) {
      ops::sample(stream, ops::View(local[0].buffer, 0, cols), rows, params, step, buffers[0],
                  policy);
    } else {
      for (int r = 0; r < ranks; ++r) {
        ops::sample_candidates(stream, ops::View(local[r].buffer, 0, cols), rows, r * slice,
                               valid[r], params, step, buffers[r], policy);
        stream.copy(buffers[r].candidates, 0, all_candidates,
                    r * rows * c * sizeof(params::SampleCandidate),
                    rows * c * sizeof(params::SampleCandidate));
        stream.copy(buffers[r].stats, 0, all_stats, r * rows * sizeof(params::SampleStats),
                    rows * sizeof(params::SampleStats));
      }
      for (int r = 0; r < ranks; ++r)
        ops::sample_finish(stream, all_candidates, all_stats, ranks, rows, params, step,
                           buffers[r], policy);
    }
    stream.finish();
    auto ids = buffers[0].read_ids(rows);
    for (int r = 1; r < ranks; ++r) EXPECT_EQ(buffers[r].read_ids(rows), ids) << "rank " << r;
    result.ids.insert(result.ids.end(), ids.begin(), ids.end());
  }
  for (int64_t b = 0; b < rows; ++b) result.finals.push_back(buffers[0].read_final(b, c));
  result.seen.resize(rows * buffers[0].seen_words);
  device.download(buffers[0].seen, 0, result.seen.data(), result.seen.size() * 4);
  return result;
}

SamplingParams sampling(float temperature, int top_k, float top_p, float penalty = 1.0f,
                        uint64_t seed = 1234) {
  return {false, temperature, top_k, top_p, penalty, seed};
}
SamplingParams greedy(float penalty = 1.0f) { return {true, 1.0f, 0, 1.0f, penalty, 0}; }

TEST(Sampling, RejectsBadParameters) {
  const float nan = std::nanf("");
  for (const SamplingParams& bad :
       {sampling(-0.5f, 0, 1.0f), sampling(nan, 0, 1.0f), sampling(1.0f, -1, 1.0f),
        sampling(1.0f, 0, 0.0f), sampling(1.0f, 0, 1.5f), sampling(1.0f, 0, nan),
        sampling(1.0f, 0, 1.0f, 0.0f), sampling(1.0f, 0, 1.0f, -1.2f)}) {
    try {
      ops::validate(bad);
      ADD_FAILURE() << "accepted T=" << bad.temperature << " k=" << bad.top_k
                    << " p=" << bad.top_p << " rp=" << bad.repetition_penalty;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
    }
  }
  EXPECT_NO_THROW(ops::validate(sampling(0.0f, 0, 1.0f)));
  EXPECT_TRUE(ops::is_greedy(sampling(0.0f, 50, 0.9f)));
}

TEST(Sampling, PromptIdOutsideVocabIsRejected) {
  vk::CommandStream stream(test_device());
  auto buffers = ops::SamplerBuffers::create(test_device(), 2, 10);
  EXPECT_THROW(buffers.seed_seen_bitmap(stream, {{1, 2}, {10}}), Error);
}

// The candidate stage: top-C ids exactly, logits and (max, sum exp) stats
// against the reference, with the penalty and temperature applied.
TEST(Sampling, CandidatesMatchReference) {
  vk::Device& device = test_device();
  const std::vector<std::vector<int32_t>> prompt = {{0, 0, 5}, {3, 1, 4, 1}, {6, 2}, {}};
  const SamplingParams params = sampling(0.7f, 0, 1.0f, 1.3f);
  for (const auto& [name, policy] : reduce_policies())
    for (int64_t vocab : {1, 7, 301, 50257}) {
      SCOPED_TRACE(name + " V=" + std::to_string(vocab));
      const int64_t rows = 4;
      auto logits = make_logits(rows, vocab, uint32_t(vocab), 2.0f);
      std::vector<std::vector<int32_t>> seen;
      for (const auto& ids : prompt) {
        seen.emplace_back();
        for (int32_t id : ids)
          if (id < vocab) seen.back().push_back(id);
      }
      Tensor t = Tensor::create(device, rows, vocab);
      t.upload(device, logits);
      auto buffers = ops::SamplerBuffers::create(device, rows, vocab);
      vk::CommandStream stream(device);
      buffers.seed_seen_bitmap(stream, seen);
      ops::sample_candidates(stream, t, rows, 0, vocab, params, 0, buffers, policy);
      stream.finish();
      const uint32_t c = ops::candidate_count(params, vocab);
      std::vector<params::SampleCandidate> cands(rows * c);
      std::vector<params::SampleStats> stats(rows);
      device.download(buffers.candidates, 0, cands.data(), cands.size() * sizeof(cands[0]));
      device.download(buffers.stats, 0, stats.data(), stats.size() * sizeof(stats[0]));
      for (int64_t b = 0; b < rows; ++b) {
        auto processed = reference::process_logits(row_of(logits, b, vocab), seen[b], 1.3f, 0.7f);
        auto want = reference::top_candidates(processed, c);
        for (uint32_t i = 0; i < c; ++i) {
          const auto& got = cands[b * c + i];
          if (i >= want.size()) {
            EXPECT_EQ(got.id, SAMPLING_NO_ID);
            continue;
          }
          ASSERT_EQ(got.id, uint32_t(want[i].first)) << "row " << b << " slot " << i;
          EXPECT_TRUE(same_logit(got.logit, want[i].second)) << "row " << b << " slot " << i;
        }
        double m = -INFINITY, sum = 0;
        for (float x : processed) m = std::max(m, double(x));
        for (float x : processed)
          if (x != -kInf) sum += std::exp(double(x) - m);
        EXPECT_EQ(stats[b].max, float(m)) << "row " << b;
        // fp32 exp and a 50k-term fp32 sum: ~1e-6 relative, 1e-5 leaves margin.
        EXPECT_NEAR(stats[b].sum_exp, sum, 1e-5 * sum) << "row " << b;
      }
    }
}

TEST(Sampling, GreedyIsArgmaxAfterPenalty) {
  for (const auto& [name, policy] : reduce_policies())
    for (int64_t vocab : {1, 7, 301, 50257})
      for (float penalty : {1.0f, 1.5f, 0.6f})
        for (int ranks : {1, 2, 3}) {
          SCOPED_TRACE(name + " V=" + std::to_string(vocab) + " rp=" + std::to_string(penalty) +
                       " R=" + std::to_string(ranks));
          const int64_t rows = 4;
          auto logits = make_logits(rows, vocab, uint32_t(vocab + 7), 1.0f);
          std::vector<std::vector<int32_t>> prompt(rows);
          for (int64_t b = 0; b < rows; ++b)  // the row's own argmax is in its prompt
            prompt[b] = {int32_t(reference::argmax(row_of(logits, b, vocab))), 0};
          auto result = run_sampler(logits, rows, vocab, greedy(penalty), prompt, ranks, 1, policy);
          for (int64_t b = 0; b < rows; ++b) {
            auto processed = reference::process_logits(row_of(logits, b, vocab), prompt[b],
                                                       penalty, 1.0f);
            EXPECT_EQ(result.ids[b], uint32_t(reference::argmax(processed))) << "row " << b;
          }
        }
}

// The finish kernel's reported distribution equals the reference's, so its
// kept set (nonzero probabilities) is HF's; and many draws all land in it.
TEST(Sampling, KeptSetAndDrawsMatchReference) {
  struct Case {
    int64_t vocab;
    float scale, temperature;
    int top_k;
    float top_p;
  };
  // Scale 6 makes the 50257-token rows peaky, so their top-p nucleus fits
  // the 256 candidates (the documented exact range).
  const Case cases[] = {{7, 1.0f, 1.0f, 3, 1.0f},     {7, 1.0f, 0.5f, 0, 0.7f},
                        {301, 1.0f, 1.3f, 20, 0.9f},  {301, 3.0f, 0.8f, 0, 0.8f},
                        {301, 1.0f, 1.0f, 200, 0.5f}, {50257, 6.0f, 1.0f, 0, 0.9f},
                        {50257, 1.0f, 0.9f, 40, 1.0f}, {50257, 1.0f, 1.1f, 50, 0.95f}};
  const ops::ReducePolicy policy = testing::test_policy().reduce;
  for (const Case& k : cases) {
    SCOPED_TRACE("V=" + std::to_string(k.vocab) + " T=" + std::to_string(k.temperature) +
                 " k=" + std::to_string(k.top_k) + " p=" + std::to_string(k.top_p));
    const int64_t rows = 6;
    auto logits = make_logits(rows, k.vocab, uint32_t(k.vocab * 3 + k.top_k), k.scale);
    const std::vector<std::vector<int32_t>> prompt(rows, {1, 2});
    const SamplingParams params = sampling(k.temperature, k.top_k, k.top_p, 1.2f);
    auto one = run_sampler(logits, rows, k.vocab, params, prompt, 1, 1, policy);
    for (int64_t b = 0; b < rows; ++b) {
      auto processed = reference::process_logits(row_of(logits, b, k.vocab), prompt[b], 1.2f,
                                                 k.temperature);
      auto want = reference::sampling_distribution(processed, k.top_k, k.top_p);
      std::set<int64_t> want_kept, got_kept;
      for (int64_t v = 0; v < k.vocab; ++v)
        if (want[v] > 0) want_kept.insert(v);
      for (const FinalCandidate& f : one.finals[b]) {
        if (f.id == SAMPLING_NO_ID) continue;
        // fp32 exp and sums over <= 256 terms of O(1): ~1e-6 absolute error.
        EXPECT_NEAR(f.prob, want[f.id], 1e-5) << "row " << b << " id " << f.id;
        if (f.prob > 0) got_kept.insert(f.id);
      }
      EXPECT_EQ(got_kept, want_kept) << "row " << b;
      EXPECT_TRUE(want_kept.count(one.ids[b])) << "row " << b << " drew " << one.ids[b];
    }
  }
}

TEST(Sampling, DrawsStayInKeptSetOverManySeeds) {
  const int64_t vocab = 301, rows = 32;
  auto base = make_logits(1, vocab, 99, 2.0f);
  std::vector<float> logits;
  for (int64_t b = 0; b < rows; ++b) logits.insert(logits.end(), base.begin(), base.end());
  for (auto [top_k, top_p] : {std::pair{10, 1.0f}, {0, 0.6f}, {30, 0.8f}}) {
    auto want = reference::sampling_distribution(
        reference::process_logits(base, {}, 1.0f, 1.0f), top_k, top_p);
    std::set<uint32_t> drawn;
    for (uint64_t seed = 0; seed < 8; ++seed) {
      SamplingParams params = sampling(1.0f, top_k, top_p, 1.0f, seed);
      auto result = run_sampler(logits, rows, vocab, params, {}, 1, 4, testing::test_policy().reduce);
      for (uint32_t id : result.ids) {
        ASSERT_LT(id, uint32_t(vocab));
        EXPECT_GT(want[id], 0.0) << "k=" << top_k << " p=" << top_p << " drew filtered " << id;
        drawn.insert(id);
      }
    }
    // 1024 draws hit every kept token of probability > 1% (miss chance < 1e-4).
    for (int64_t v = 0; v < vocab; ++v)
      if (want[v] > 0.01) EXPECT_TRUE(drawn.count(uint32_t(v))) << "never drew " << v;
  }
}

TEST(Sampling, TopK1AndTinyTopPAreGreedy) {
  for (int64_t vocab : {7, 301, 50257}) {
    const int64_t rows = 6;
    // No ties: HF's top_k=1 keeps every token tied with the maximum.
    auto logits = make_logits(rows, vocab, uint32_t(vocab + 1), 1.0f, false);
    const ops::ReducePolicy policy = testing::test_policy().reduce;
    auto want = run_sampler(logits, rows, vocab, greedy(1.3f), {{1}, {2}}, 1, 1, policy).ids;
    for (const SamplingParams& params :
         {sampling(0.8f, 1, 1.0f, 1.3f, 5), sampling(1.5f, 0, 1e-6f, 1.3f, 6),
          sampling(0.0f, 40, 0.9f, 1.3f, 7)})
      EXPECT_EQ(run_sampler(logits, rows, vocab, params, {{1}, {2}}, 1, 1, policy).ids, want)
          << "V=" << vocab << " k=" << params.top_k << " p=" << params.top_p;
  }
}

TEST(Sampling, SeededRunsReplayAndSeedsDiffer) {
  const int64_t vocab = 50257, rows = 8;
  auto logits = make_logits(rows, vocab, 3, 1.0f);
  const ops::ReducePolicy policy = testing::test_policy().reduce;
  for (const SamplingParams& params :
       {sampling(1.0f, 50, 0.95f, 1.1f, 42), sampling(1.0f, 0, 1.0f, 1.1f, 42)}) {
    auto a = run_sampler(logits, rows, vocab, params, {}, 1, 5, policy).ids;
    auto b = run_sampler(logits, rows, vocab, params, {}, 1, 5, policy).ids;
    EXPECT_EQ(a, b);
    SamplingParams other = params;
    other.seed = 43;
    auto c = run_sampler(logits, rows, vocab, other, {}, 1, 5, policy).ids;
    // 40 draws from distributions with max probability < 0.5 all agreeing
    // by chance is below 1e-12.
    EXPECT_NE(a, c);
    // Different rows and steps get different streams, too.
    EXPECT_GT(std::set<uint32_t>(a.begin(), a.end()).size(), 10u);
  }
}

// Pearson's chi-square over the bins (each with expected count >= 5) must stay
// under the 99.9% quantile for its degrees of freedom. The RNG is counter
// based, so the outcome is deterministic: a pass is not a flaky pass.
void expect_distribution(const std::vector<uint32_t>& ids, const std::vector<double>& probs,
                         const std::string& what) {
  std::map<uint32_t, int> counts;
  for (uint32_t id : ids) counts[id]++;
  const double n = double(ids.size());
  double chi2 = 0, rest_expected = 0;
  int rest_count = 0, bins = 0;
  for (size_t v = 0; v < probs.size(); ++v) {
    if (probs[v] == 0) {
      EXPECT_EQ(counts[uint32_t(v)], 0) << what << ": drew filtered id " << v;
      continue;
    }
    if (probs[v] * n < 5) {  // small bins pooled into one
      rest_expected += probs[v] * n;
      rest_count += counts[uint32_t(v)];
      continue;
    }
    const double e = probs[v] * n;
    chi2 += (counts[uint32_t(v)] - e) * (counts[uint32_t(v)] - e) / e;
    ++bins;
  }
  if (rest_expected > 0) {
    chi2 += (rest_count - rest_expected) * (rest_count - rest_expected) / rest_expected;
    ++bins;
  }
  // 99.9% quantile of chi-square with bins-1 degrees of freedom by the
  // Wilson-Hilferty approximation (z = 3.09), within 3% of the exact value.
  ASSERT_GE(bins, 2) << what;
  const double dof = bins - 1, h = 2.0 / (9.0 * dof);
  const double q999 = dof * std::pow(1.0 - h + 3.09 * std::sqrt(h), 3.0);
  EXPECT_LT(chi2, q999) << what << ": chi2 " << chi2 << " over " << bins << " bins";
}

TEST(Sampling, EmpiricalDistributionMatchesReference) {
  const int64_t rows = 64;
  const int steps = 32;  // 2048 draws
  const ops::ReducePolicy policy = testing::test_policy().reduce;
  struct Case {
    int64_t vocab;
    float scale, temperature;
    int top_k;
    float top_p;
  };
  // V=301 with top_k 0 and top_p 1 runs the Gumbel-max path; the others the
  // candidate path.
  for (const Case& k : {Case{7, 1.0f, 0.8f, 0, 1.0f}, Case{40, 1.0f, 1.2f, 8, 0.9f},
                        Case{301, 3.0f, 1.0f, 0, 1.0f}}) {
    auto base = make_logits(1, k.vocab, 11, k.scale);
    std::vector<float> logits;
    for (int64_t b = 0; b < rows; ++b) logits.insert(logits.end(), base.begin(), base.end());
    SamplingParams params = sampling(k.temperature, k.top_k, k.top_p, 1.0f, 2024);
    auto result = run_sampler(logits, rows, k.vocab, params, {}, 1, steps, policy);
    auto want = reference::sampling_distribution(
        reference::process_logits(base, {}, 1.0f, k.temperature), k.top_k, k.top_p);
    expect_distribution(result.ids, want, "V=" + std::to_string(k.vocab));
  }
}

// The penalty touches exactly the seen ids, each once however often it was
// seen, and tokens the finish chose count as seen from the next step on.
TEST(Sampling, RepetitionPenaltyTouchesSeenTokensOnce) {
  vk::Device& device = test_device();
  const int64_t vocab = 200, rows = 2;  // vocab <= 256: every token is a candidate
  auto logits = make_logits(rows, vocab, 17, 1.0f);
  logits[0 * vocab + 9] = 50.0f;   // row 0 greedily picks 9, which its prompt holds
  logits[1 * vocab + 12] = 50.0f;  // row 1 picks 12, which its prompt lacks
  const std::vector<std::vector<int32_t>> prompt = {{5, 5, 5, 9, 9, 150}, {7, 199}};
  const float penalty = 1.7f;
  Tensor t = Tensor::create(device, rows, vocab);
  t.upload(device, logits);
  auto buffers = ops::SamplerBuffers::create(device, rows, vocab);
  vk::CommandStream stream(device);
  buffers.seed_seen_bitmap(stream, prompt);
  SamplingParams params = sampling(1.0f, 0, 1.0f, penalty);
  auto candidates_now = [&](uint32_t step) {
    ops::sample_candidates(stream, t, rows, 0, vocab, params, step, buffers,
                           testing::test_policy().reduce);
    stream.finish();
    std::vector<params::SampleCandidate> c(rows * vocab);
    device.download(buffers.candidates, 0, c.data(), c.size() * sizeof(c[0]));
    std::vector<std::map<uint32_t, float>> by_id(rows);
    for (int64_t b = 0; b < rows; ++b)
      for (int64_t i = 0; i < vocab; ++i) by_id[b][c[b * vocab + i].id] = c[b * vocab + i].logit;
    return by_id;
  };
  auto check = [&](const std::vector<std::map<uint32_t, float>>& got,
                   const std::vector<std::set<int32_t>>& seen) {
    for (int64_t b = 0; b < rows; ++b)
      for (int64_t v = 0; v < vocab; ++v) {
        float x = logits[b * vocab + v];
        float want = seen[b].count(int32_t(v)) ? (x < 0 ? x * penalty : x / penalty) : x;
        ASSERT_TRUE(same_logit(got[b].at(uint32_t(v)), want)) << "row " << b << " id " << v;
      }
  };
  check(candidates_now(0), {{5, 9, 150}, {7, 199}});
  // top_k = 1 draws the argmax (no ties at these maxima) from these candidates.
  ops::sample_finish(stream, buffers.candidates, buffers.stats, 1, rows,
                     sampling(1.0f, 1, 1.0f, penalty), 0, buffers, testing::test_policy().reduce);
  stream.finish();
  ASSERT_EQ(buffers.read_ids(rows), (std::vector<uint32_t>{9, 12}));
  check(candidates_now(1), {{5, 9, 150}, {7, 12, 199}});
}

// Splitting the vocab over ranks (with padding columns full of huge logits
// that must never win) gives the token one device gives, for the same seed.
TEST(Sampling, TensorParallelSplitsAgreeWithOneDevice) {
  struct Case {
    int64_t vocab;
    float scale;
    SamplingParams params;
  };
  const Case cases[] = {
      {7, 1.0f, greedy(1.2f)},
      {7, 1.0f, sampling(0.9f, 0, 1.0f, 1.2f, 3)},
      {301, 1.0f, greedy(1.2f)},
      {301, 1.0f, sampling(1.0f, 20, 1.0f, 1.2f, 4)},
      {301, 2.0f, sampling(0.8f, 0, 0.9f, 1.2f, 5)},
      {301, 1.0f, sampling(1.0f, 0, 1.0f, 1.2f, 6)},  // Gumbel-max path
      {50257, 1.0f, sampling(1.0f, 50, 0.95f, 1.3f, 7)},
      {50257, 1.0f, sampling(0.7f, 0, 1.0f, 1.0f, 8)},  // Gumbel-max path
  };
  for (const auto& [name, policy] : reduce_policies())
    for (const Case& k : cases) {
      SCOPED_TRACE(name + " V=" + std::to_string(k.vocab) + " greedy=" +
                   std::to_string(k.params.greedy) + " k=" + std::to_string(k.params.top_k));
      const int64_t rows = 5;
      auto logits = make_logits(rows, k.vocab, uint32_t(k.vocab + 5), k.scale);
      const std::vector<std::vector<int32_t>> prompt = {{0, 1}, {2}, {}, {5, 5}, {6}};
      auto one = run_sampler(logits, rows, k.vocab, k.params, prompt, 1, 3, policy);
      for (uint32_t id : one.ids) ASSERT_LT(id, uint32_t(k.vocab));
      for (int ranks : {2, 3}) {
        auto split = run_sampler(logits, rows, k.vocab, k.params, prompt, ranks, 3, policy);
        EXPECT_EQ(split.ids, one.ids) << "R=" << ranks;
        EXPECT_EQ(split.seen, one.seen) << "R=" << ranks;
      }
    }
}

// The logprob pass after a sampling step (greedy with a penalty, sampling
// with penalty, temperature, top-k and top-p: the reported values must
// ignore all of them), on one device and split over fake ranks with padding
// columns: the chosen id is the sampled one with its raw log-probability,
// and the top-N are the host reference's, in its order, with its values.
TEST(Sampling, LogprobsAreTheRawLogSoftmax) {
  struct Case {
    int64_t vocab;
    float scale;
    SamplingParams params;
  };
  const Case cases[] = {
      {7, 1.0f, greedy(1.3f)},
      {301, 2.0f, sampling(0.7f, 20, 0.9f, 1.3f, 11)},
      {301, 1.0f, sampling(1.5f, 0, 1.0f, 1.0f, 12)},  // Gumbel-max path
      {50257, 3.0f, greedy(1.3f)},
      {50257, 1.0f, sampling(0.8f, 0, 0.95f, 1.2f, 13)},
  };
  vk::Device& device = test_device();
  for (const auto& [name, policy] : reduce_policies())
    for (const Case& k : cases)
      for (int ranks : {1, 3})
        for (int top_n : {0, 5, 20}) {
          SCOPED_TRACE(name + " V=" + std::to_string(k.vocab) + " R=" + std::to_string(ranks) +
                       " N=" + std::to_string(top_n) + " greedy=" + std::to_string(k.params.greedy));
          const int64_t rows = 3;
          const auto logits = make_logits(rows, k.vocab, uint32_t(k.vocab + top_n), k.scale);
          const std::vector<std::vector<int32_t>> prompt = {{0, 1}, {2, 4}, {3}};
          const int64_t slice = (k.vocab + ranks - 1) / ranks, cols = slice + 3;
          const uint32_t c = ops::candidate_count(k.params, k.vocab), slots = ops::logprob_slots(top_n);
          auto all_candidates = vk::Buffer::create(
              device, ranks * rows * c * sizeof(params::SampleCandidate), vk::MemoryKind::kDevice);
          auto all_stats = vk::Buffer::create(device, ranks * rows * sizeof(params::SampleStats),
                                              vk::MemoryKind::kDevice);
          std::vector<Tensor> local;
          std::vector<ops::SamplerBuffers> buffers;
          vk::CommandStream stream(device);
          for (int r = 0; r < ranks; ++r) {
            const int64_t valid = std::clamp<int64_t>(k.vocab - r * slice, 0, slice);
            std::vector<float> host(rows * cols, 1e30f);  // padding must never show up
            for (int64_t b = 0; b < rows; ++b)
              for (int64_t j = 0; j < valid; ++j) host[b * cols + j] = logits[b * k.vocab + r * slice + j];
            local.push_back(Tensor::create(device, rows, cols));
            local.back().upload(device, host);
            buffers.push_back(ops::SamplerBuffers::create(device, rows, k.vocab));
            buffers.back().seed_seen_bitmap(stream, prompt);
          }
          for (int r = 0; r < ranks; ++r) {
            const int64_t valid = std::clamp<int64_t>(k.vocab - r * slice, 0, slice);
            ops::sample_candidates(stream, ops::View(local[r].buffer, 0, cols), rows, r * slice, valid,
                                   k.params, 0, buffers[r], policy);
            stream.copy(buffers[r].candidates, 0, all_candidates,
                        r * rows * c * sizeof(params::SampleCandidate), rows * c * sizeof(params::SampleCandidate));
            stream.copy(buffers[r].stats, 0, all_stats, r * rows * sizeof(params::SampleStats),
                        rows * sizeof(params::SampleStats));
          }
          for (int r = 0; r < ranks; ++r) {
            const int64_t valid = std::clamp<int64_t>(k.vocab - r * slice, 0, slice);
            ops::sample_finish(stream, all_candidates, all_stats, ranks, rows, k.params, 0, buffers[r], policy);
            ops::sample_logprobs(stream, ops::View(local[r].buffer, 0, cols), rows, r * slice, valid, top_n,
                                 buffers[r], policy);
          }
          stream.finish();
          const std::vector<uint32_t> ids = buffers[0].read_ids(rows);
          for (int64_t b = 0; b < rows; ++b) {
            // Gather row b of every rank, rank-major, as the engine's exchange does.
            std::vector<params::SampleCandidate> cands;
            std::vector<params::SampleStats> stats;
            for (int r = 0; r < ranks; ++r) {
              const auto* rc = static_cast<const params::SampleCandidate*>(buffers[r].logprob_candidates.mapped());
              cands.insert(cands.end(), rc + b * slots, rc + (b + 1) * slots);
              stats.push_back(static_cast<const params::SampleStats*>(buffers[r].logprob_stats.mapped())[b]);
            }
            const ops::TokenLogprobs got = ops::merge_logprobs(cands.data(), stats.data(), ranks, top_n);
            const std::vector<float> row = row_of(logits, b, k.vocab);
            const std::vector<double> ref = reference::log_softmax(row);
            const auto top = reference::top_candidates(reference::process_logits(row, {}, 1.0f, 1.0f), top_n);
            ASSERT_EQ(got.chosen.id, int32_t(ids[b])) << "row " << b;
            ASSERT_EQ(got.count, int32_t(top.size())) << "row " << b;
            std::vector<float> want{float(ref[ids[b]])}, have{got.chosen.logprob};
            for (int i = 0; i < got.count; ++i) {
              EXPECT_EQ(got.top[i].id, top[i].first) << "row " << b << " rank " << i;
              if (std::isinf(ref[top[i].first])) {  // -inf and NaN logits: exactly -inf
                EXPECT_EQ(got.top[i].logprob, -kInf) << "row " << b << " rank " << i;
                continue;
              }
              want.push_back(float(ref[top[i].first]));
              have.push_back(got.top[i].logprob);
            }
            // The device sums exp(x - max) in float, each lane over at most
            // 50000 / 10 columns (lanes_for), and its exp() may be off by a
            // few ulp: |relative error of the sum| <= 5000 * 2^-24 ~ 3e-4 in
            // the worst case, which log() turns into that absolute error
            // (observed errors are ~1e-6). The logits themselves are exact.
            EXPECT_CLOSE(want, have, 3e-4, 0.0) << "row " << b;
          }
        }
}

}  // namespace
}  // namespace vkinfer
