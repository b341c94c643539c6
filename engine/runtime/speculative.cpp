// Speculative decoding: the host-side rule and the draft/verify loop.
#include "engine/runtime/speculative.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <optional>

#include "engine/core/error.h"
#include "engine/vk/device.h"

namespace vkinfer {
namespace {

using Clock = std::chrono::steady_clock;

double uniform(std::mt19937_64& rng) { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); }

}  // namespace

std::vector<float> token_distribution(const float* logits, int64_t vocab, const ops::SamplingParams& params) {
  std::vector<float> probs(vocab, 0.0f);
  if (ops::is_greedy(params)) {
    probs[std::max_element(logits, logits + vocab) - logits] = 1.0f;
    return probs;
  }
  std::vector<double> z(logits, logits + vocab);
  for (double& v : z) v /= params.temperature;
  std::vector<bool> kept(vocab, true);
  if (params.top_k > 0 && params.top_k < vocab) {
    // transformers keeps every token scoring at least the k-th largest.
    std::vector<double> sorted = z;
    std::nth_element(sorted.begin(), sorted.begin() + (params.top_k - 1), sorted.end(), std::greater<>());
    const double kth = sorted[params.top_k - 1];
    for (int64_t v = 0; v < vocab; ++v) kept[v] = z[v] >= kth;
  }
  double top = -INFINITY;
  for (int64_t v = 0; v < vocab; ++v)
    if (kept[v]) top = std::max(top, z[v]);
  std::vector<double> p(vocab, 0.0);
  double sum = 0;
  for (int64_t v = 0; v < vocab; ++v)
    if (kept[v]) sum += p[v] = std::exp(z[v] - top);
  for (double& v : p) v /= sum;
  if (params.top_p < 1.0f) {
    // transformers drops the least likely tokens while their cumulative
    // mass stays at or under 1 - top_p, and always keeps the most likely.
    std::vector<int64_t> order(vocab);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p[a] < p[b]; });
    double cumulative = 0;
    for (int64_t i = 0; i + 1 < vocab; ++i) {
      cumulative += p[order[i]];
      if (cumulative > 1.0 - params.top_p) break;
      p[order[i]] = 0;
    }
    sum = std::accumulate(p.begin(), p.end(), 0.0);
    for (double& v : p) v /= sum;
  }
  for (int64_t v = 0; v < vocab; ++v) probs[v] = static_cast<float>(p[v]);
  return probs;
}

int32_t draw(const std::vector<float>& probs, std::mt19937_64& rng) {
  const double total = std::accumulate(probs.begin(), probs.end(), 0.0);
  double u = uniform(rng) * total;
  int32_t last = 0;
  for (size_t v = 0; v < probs.size(); ++v) {
    if (probs[v] <= 0) continue;
    last = static_cast<int32_t>(v);
    if (u < probs[v]) return last;
    u -= probs[v];
  }
  return last;  // rounding left u at the very end
}

Verdict verify_drafts(const std::vector<std::vector<float>>& target, const std::vector<int32_t>& drafts,
                      const std::vector<std::vector<float>>& draft, bool greedy, std::mt19937_64& rng) {
  const size_t K = drafts.size();
  if (target.size() != K + 1 || draft.size() != K)
    fail(ErrorCode::kInternal, "speculative: {} drafts with {} target and {} draft distributions", K,
         target.size(), draft.size());
  for (size_t i = 0; i < K; ++i) {
    const int32_t d = drafts[i];
    const double p = target[i][d], q = draft[i][d];
    if (greedy) {
      if (p > 0.5) continue;  // one-hot: the target's own argmax
      return {static_cast<int64_t>(i), draw(target[i], rng)};
    }
    if (q > 0 && uniform(rng) < std::min(1.0, p / q)) continue;
    // Rejected: the residual max(0, p - q), renormalized.
    std::vector<float> residual(target[i].size());
    double mass = 0;
    for (size_t v = 0; v < residual.size(); ++v) mass += residual[v] = std::max(0.0f, target[i][v] - draft[i][v]);
    return {static_cast<int64_t>(i), draw(mass > 0 ? residual : target[i], rng)};
  }
  return {static_cast<int64_t>(K), draw(target[K], rng)};
}

SpeculativeGenerator::SpeculativeGenerator(Engine& target, Engine& draft, int64_t draft_tokens,
                                           const Tokenizer* tokenizer)
    : target_(target), draft_(draft), draft_tokens_(draft_tokens), tokenizer_(tokenizer) {
  if (draft_tokens < 1)
    fail(ErrorCode::kInvalidArgument, "--draft-tokens must be >= 1 (got {})", draft_tokens);
  const DecoderConfig& t = target.decoder().config();
  const DecoderConfig& d = draft.decoder().config();
  if (t.vocab_size != d.vocab_size)
    fail(ErrorCode::kInvalidArgument, "the draft model's vocabulary has {} tokens but the target's has {}: "
         "a draft must share the target's tokenizer", d.vocab_size, t.vocab_size);
  if (!target.decoder().limits().all_logits || target.decoder().limits().max_rows_per_seq < draft_tokens + 1)
    fail(ErrorCode::kInternal, "speculative: the target must keep every row's logits for {} rows",
         draft_tokens + 1);
  if (target.cache().slots() != 1 || draft.cache().slots() != 1)
    fail(ErrorCode::kInternal, "speculative decoding runs one sequence (batch 1)");
}

std::vector<std::vector<float>> SpeculativeGenerator::forward(Engine& engine, vk::CommandStream& stream, int slot,
                                                              const std::vector<int32_t>& ids,
                                                              int64_t rows_wanted) {
  Decoder& decoder = engine.decoder();
  const int64_t chunk = decoder.limits().max_rows_per_seq;
  const int64_t total = static_cast<int64_t>(ids.size());
  StepBatch batch;
  int64_t last_rows = 0;
  for (int64_t begin = 0; begin < total; begin += chunk) {
    last_rows = std::min(chunk, total - begin);
    batch.ids.assign(ids.begin() + begin, ids.begin() + begin + last_rows);
    batch.sequences = {{slot, last_rows, 0}};
    batch.all_logits = decoder.limits().all_logits;
    decoder.forward(stream, engine.cache(), batch);
    stream.finish();
  }
  if (rows_wanted > last_rows)
    fail(ErrorCode::kInternal, "speculative: {} logit rows wanted of a {}-row step", rows_wanted, last_rows);
  // Rows of this rank's vocabulary slice, then every rank's, into full rows.
  const RankShape& shape = decoder.shape();
  const int64_t V = decoder.config().vocab_size, local = shape.vocab_local;
  const int64_t first = batch.all_logits ? last_rows - rows_wanted : 0;
  std::vector<float> mine(rows_wanted * local);
  decoder.device().download(decoder.logits().buffer, uint64_t(first) * local * 4, mine.data(), mine.size() * 4);
  Communicator& comm = decoder.comm();
  std::vector<float> all(mine.size() * comm.world());
  if (comm.world() > 1) comm.all_gather(mine.data(), mine.size() * 4, all.data());
  else all = mine;
  std::vector<std::vector<float>> rows(rows_wanted, std::vector<float>(V));
  for (int r = 0; r < comm.world(); ++r)
    for (int64_t row = 0; row < rows_wanted; ++row)
      for (int64_t v = 0; v < local && r * local + v < V; ++v)
        rows[row][r * local + v] = all[(r * rows_wanted + row) * local + v];
  return rows;
}

GenerateResult SpeculativeGenerator::run(const std::vector<int32_t>& prompt, const GenerateOptions& options,
                                         const TokenCallback& on_token, SpeculativeStats* stats) {
  Decoder& target = target_.decoder();
  const DecoderConfig& config = target.config();
  validate_request(config, std::min(target.limits().ctx, draft_.decoder().limits().ctx), {prompt}, options);
  if (options.sampling.repetition_penalty != 1.0f)
    fail(ErrorCode::kUnsupported, "--repetition-penalty is not supported with --draft-model (the "
         "draft-and-verify rule here covers temperature, top-k and top-p)");
  if (!options.stop.empty() && !tokenizer_)
    fail(ErrorCode::kInvalidArgument, "stop strings need the model's tokenizer");
  const ops::SamplingParams& sampling = options.sampling;
  const bool greedy = ops::is_greedy(sampling);
  std::mt19937_64 rng(sampling.seed);
  SpeculativeStats local_stats;
  SpeculativeStats& st = stats ? *stats : local_stats;
  st = {};

  GenerateResult result;
  result.sequences.resize(1);
  SequenceResult& out = result.sequences[0];
  out.prompt_ids = prompt;
  result.prefill_rows = static_cast<int64_t>(prompt.size());
  std::optional<StreamDecoder> text;
  if (tokenizer_) text.emplace(*tokenizer_);
  bool finished = false;
  auto finish = [&](const std::string& reason) {
    finished = true;
    out.finish_reason = reason;
    std::string tail;
    if (text && reason != "stop") {
      tail = text->flush();
      const size_t end = stop_string_end(out.text + tail, options.stop);
      if (end != std::string::npos) tail.resize(end > out.text.size() ? end - out.text.size() : 0);
      out.text += tail;
    }
    if (on_token) on_token(0, -1, tail);
  };
  auto emit = [&](int32_t token) {
    out.new_ids.push_back(token);
    std::string piece;
    bool stopped = false;
    if (text) {
      piece = text->push(token);
      const size_t end = stop_string_end(out.text + piece, options.stop);
      if (end != std::string::npos) {
        piece.resize(end > out.text.size() ? end - out.text.size() : 0);
        stopped = true;
      }
      out.text += piece;
    }
    if (on_token) on_token(0, token, piece);
    const bool eos = std::find(config.eos_token_ids.begin(), config.eos_token_ids.end(), token) !=
                     config.eos_token_ids.end();
    if (eos && !options.ignore_eos) finish("eos");
    else if (stopped) finish("stop");
    else if (static_cast<int64_t>(out.new_ids.size()) >= options.max_new_tokens) finish("length");
  };

  KvCache& target_cache = target_.cache();
  KvCache& draft_cache = draft_.cache();
  struct Slots {  // given back however the request ends
    KvCache &t, &d;
    int ts = -1, ds = -1;
    ~Slots() {
      if (ts >= 0) t.release(ts);
      if (ds >= 0) d.release(ds);
    }
  } slots{target_cache, draft_cache};
  slots.ts = target_cache.acquire();
  slots.ds = draft_cache.acquire();
  if (slots.ts < 0 || slots.ds < 0)
    fail(ErrorCode::kInternal, "speculative: the {} model's KV slot is held by another sequence",
         slots.ts < 0 ? "target" : "draft");
  vk::CommandStream target_stream(target.device()), draft_stream(draft_.decoder().device());
  const auto start = Clock::now();
  if (options.max_new_tokens == 0) {
    finish("length");
    return result;
  }

  // The prompt through both models; the target's last row gives token 1.
  const std::vector<float> first = forward(target_, target_stream, slots.ts, prompt, 1)[0];
  forward(draft_, draft_stream, slots.ds, prompt, 1);
  int32_t last = draw(token_distribution(first.data(), config.vocab_size, sampling), rng);
  result.prefill_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  const auto decode_start = Clock::now();
  emit(last);
  // Committed tokens the draft has not seen yet (besides `last`).
  std::vector<int32_t> draft_behind;

  while (!finished) {
    const int64_t remaining = options.max_new_tokens - static_cast<int64_t>(out.new_ids.size());
    const int64_t K = std::min(draft_tokens_, remaining - 1);
    const int64_t target_before = target_cache.length(slots.ts);
    const int64_t draft_before = draft_cache.length(slots.ds);
    // Draft K tokens, one forward each.
    std::vector<int32_t> drafts;
    std::vector<std::vector<float>> draft_probs;
    std::vector<int32_t> feed = draft_behind;
    feed.push_back(last);
    for (int64_t i = 0; i < K; ++i) {
      const std::vector<float> logits = forward(draft_, draft_stream, slots.ds, feed, 1)[0];
      draft_probs.push_back(token_distribution(logits.data(), config.vocab_size, sampling));
      drafts.push_back(draw(draft_probs.back(), rng));
      feed = {drafts.back()};
    }
    // Verify them in one target forward of K + 1 rows.
    std::vector<int32_t> verify_ids{last};
    verify_ids.insert(verify_ids.end(), drafts.begin(), drafts.end());
    const std::vector<std::vector<float>> logits = forward(target_, target_stream, slots.ts, verify_ids, K + 1);
    std::vector<std::vector<float>> target_probs;
    for (const auto& row : logits) target_probs.push_back(token_distribution(row.data(), config.vocab_size, sampling));
    const Verdict verdict = verify_drafts(target_probs, drafts, draft_probs, greedy, rng);
    ++st.target_forwards;
    st.draft_forwards += K;
    st.proposed += K;
    st.accepted += verdict.accepted;
    st.emitted += verdict.accepted + 1;
    // Roll both caches back to what was kept: the target holds `last` and
    // the kept drafts; the draft the same, or all but its last draft.
    target_cache.truncate(slots.ts, target_before + 1 + verdict.accepted);
    if (K == 0) {
      draft_behind.push_back(last);
    } else if (verdict.accepted < K) {
      draft_cache.truncate(slots.ds, draft_before + static_cast<int64_t>(draft_behind.size()) + 1 + verdict.accepted);
      draft_behind.clear();
    } else {
      draft_behind = {drafts.back()};
    }
    for (int64_t i = 0; i < verdict.accepted && !finished; ++i) emit(drafts[i]);
    if (!finished) emit(verdict.next);
    last = verdict.next;
  }
  result.decode_steps = static_cast<int64_t>(out.new_ids.size()) - 1;
  result.decode_seconds = std::chrono::duration<double>(Clock::now() - decode_start).count();
  return result;
}

}  // namespace vkinfer
