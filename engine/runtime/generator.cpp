#include "engine/runtime/generator.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "engine/core/error.h"
#include "engine/vk/device.h"

namespace vkinfer {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Smallest bucket that holds `length` and leaves room for the new tokens;
// the exact length when none does.
int64_t pick_padded_length(int64_t length, int64_t max_new, int64_t ctx,
                           const std::vector<int64_t>& buckets) {
  for (int64_t bucket : buckets)
    if (bucket >= length && bucket + max_new <= ctx) return bucket;
  return length;
}

}  // namespace

// How far --ctx may go: learned positions end at max_positions; rotary
// models run past it (dynamic rope_scaling is made for that).
std::string context_hint(const DecoderConfig& config) {
  if (config.learned_positions) return fmt::format("the model allows {}", config.max_positions);
  return fmt::format("the model was trained on {} positions; its rotary embedding runs past that{}",
                     config.max_positions,
                     config.rope_scaling == RopeScaling::kDynamic ? ", rescaled by its dynamic rope_scaling"
                                                                   : "");
}

void validate_request(const DecoderConfig& config, int64_t ctx,
                      const std::vector<std::vector<int32_t>>& prompts,
                      const GenerateOptions& options) {
  ops::validate(options.sampling);
  if (prompts.empty())
    fail(ErrorCode::kInvalidArgument, "no prompt given. HINT: pass --prompt, --prompt-ids or --input");
  if (options.max_new_tokens < 0)
    fail(ErrorCode::kInvalidArgument, "--max-new-tokens must be >= 0 (got {})", options.max_new_tokens);
  for (size_t i = 0; i < prompts.size(); ++i) {
    const auto& prompt = prompts[i];
    if (prompt.empty())
      fail(ErrorCode::kInvalidArgument,
           "prompt {} is empty after tokenization. HINT: give some text, or --prompt-ids", i + 1);
    for (int32_t id : prompt)
      if (id < 0 || id >= config.vocab_size)
        fail(ErrorCode::kInvalidArgument, "prompt {}: token id {} is outside the vocabulary [0, {})",
             i + 1, id, config.vocab_size);
    const int64_t length = static_cast<int64_t>(prompt.size());
    if (length > ctx)
      fail(ErrorCode::kInvalidArgument,
           "prompt {} has {} tokens but the context holds {}. HINT: shorten the prompt or "
           "raise --ctx ({})", i + 1, length, ctx, context_hint(config));
    if (length + options.max_new_tokens > ctx)
      fail(ErrorCode::kInvalidArgument,
           "prompt {} ({} tokens) + --max-new-tokens {} exceeds the context of {}. HINT: "
           "lower --max-new-tokens or raise --ctx ({})", i + 1, length,
           options.max_new_tokens, ctx, context_hint(config));
  }
}

Generator::Generator(Decoder& decoder) : decoder_(decoder) {
  vk::Device& device = decoder.device();
  const int64_t batch = decoder.limits().batch;
  sampler_ = ops::SamplerBuffers::create(device, batch, decoder.config().vocab_size);
  const int world = decoder.comm().world();
  if (world > 1) {
    const uint64_t candidates = SAMPLING_MAX_CANDIDATES;
    gathered_candidates_ = vk::Buffer::create(
        device, world * batch * candidates * sizeof(params::SampleCandidate), vk::MemoryKind::kDevice);
    gathered_stats_ = vk::Buffer::create(device, world * batch * sizeof(params::SampleStats),
                                         vk::MemoryKind::kDevice);
  }
  warm_up();
}

void Generator::warm_up() {
  // The decoder built (and ran once) every forward pipeline when it loaded,
  // then sealed the device; the sampling kernels are still load-time work.
  // Their pipelines do not depend on the sampling parameters, so one greedy
  // sample prepares them for any request. The sampled id is thrown away.
  vk::Device::LoadScope loading(decoder_.device());
  vk::CommandStream stream(decoder_.device());
  GenerateOptions options;
  sample_step(stream, options, 0, decoder_.limits().batch, decoder_.logits());
}

std::vector<int32_t> Generator::sample_step(vk::CommandStream& stream, const GenerateOptions& options,
                                            uint32_t step, int64_t rows, ops::View logits) {
  const RankShape& shape = decoder_.shape();
  const ops::ReducePolicy& policy = decoder_.policy().reduce;
  Communicator& comm = decoder_.comm();
  if (comm.world() == 1) {
    ops::sample(stream, logits, rows, options.sampling, step, sampler_, policy);
  } else {
    // Each rank reduces its vocabulary slice to C candidates; only those
    // (and per-row max/sum-exp) are exchanged, never the logits.
    ops::sample_candidates(stream, logits, rows, shape.vocab_begin, shape.vocab_valid,
                           options.sampling, step, sampler_, policy);
    stream.finish();
    const uint32_t C = ops::candidate_count(options.sampling, decoder_.config().vocab_size);
    const size_t candidate_bytes = rows * C * sizeof(params::SampleCandidate);
    const size_t stats_bytes = rows * sizeof(params::SampleStats);
    std::vector<uint8_t> local(candidate_bytes + stats_bytes);
    vk::Device& device = decoder_.device();
    // Candidates are stored with row stride C.
    device.download(sampler_.candidates, 0, local.data(), candidate_bytes);
    device.download(sampler_.stats, 0, local.data() + candidate_bytes, stats_bytes);
    std::vector<uint8_t> all(local.size() * comm.world());
    comm.all_gather(local.data(), local.size(), all.data());
    for (int r = 0; r < comm.world(); ++r) {
      const uint8_t* part = all.data() + r * local.size();
      device.upload(gathered_candidates_, r * candidate_bytes, part, candidate_bytes);
      device.upload(gathered_stats_, r * stats_bytes, part + candidate_bytes, stats_bytes);
    }
    ops::sample_finish(stream, gathered_candidates_, gathered_stats_, comm.world(), rows,
                       options.sampling, step, sampler_, policy);
  }
  stream.finish();
  std::vector<uint32_t> ids = sampler_.read_ids(rows);
  return std::vector<int32_t>(ids.begin(), ids.end());
}

GenerateResult Generator::run(const std::vector<std::vector<int32_t>>& prompts,
                              const GenerateOptions& options, const TokenCallback& on_token) {
  const DecoderConfig& config = decoder_.config();
  const DecoderLimits& limits = decoder_.limits();
  validate_request(config, limits.ctx, prompts, options);
  const int64_t B = limits.batch;
  if (static_cast<int64_t>(prompts.size()) != B)
    fail(ErrorCode::kInternal, "generator built for {} sequences got {}", B, prompts.size());
  if (options.want_prefill_logits && B != 1)
    fail(ErrorCode::kInvalidArgument, "--logits-out works with one prompt at a time");

  std::vector<int64_t> buckets = options.prefill_buckets;
  if (buckets.empty())
    for (int64_t b = 16; b <= limits.max_rows_per_seq; b *= 2) buckets.push_back(b);
  int64_t longest = 0;
  for (const auto& prompt : prompts) longest = std::max<int64_t>(longest, prompt.size());
  const int64_t padded = pick_padded_length(longest, options.max_new_tokens, limits.ctx, buckets);

  GenerateResult result;
  result.prefill_rows = padded;
  result.sequences.resize(B);
  std::vector<uint32_t> first_key(B);
  std::vector<std::vector<int32_t>> seen(B);
  for (int64_t b = 0; b < B; ++b) {
    result.sequences[b].prompt_ids = prompts[b];
    first_key[b] = static_cast<uint32_t>(padded - prompts[b].size());
    seen[b] = prompts[b];
  }

  vk::CommandStream stream(decoder_.device());
  const auto prefill_start = Clock::now();
  sampler_.seed_seen_bitmap(stream, seen);
  // Prefill in chunks of at most max_rows_per_seq positions.
  const int64_t chunk = limits.max_rows_per_seq;
  const int64_t vocab_local = decoder_.shape().vocab_local;
  for (int64_t begin = 0; begin < padded; begin += chunk) {
    const int64_t T = std::min(chunk, padded - begin);
    std::vector<int32_t> ids(B * T), positions(B * T);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t) {
        const int64_t p = begin + t, logical = p - first_key[b];
        ids[b * T + t] = logical >= 0 ? prompts[b][logical] : 0;
        positions[b * T + t] = static_cast<int32_t>(std::max<int64_t>(logical, 0));
      }
    // Every chunk uses the rotary base of transformers' one-forward prefill.
    decoder_.set_inputs(ids, positions, first_key, T, longest);
    decoder_.forward(stream, begin, options.want_prefill_logits);
    // set_inputs writes host-visible buffers at once, so the recorded chunk
    // must run before the next chunk's inputs overwrite them.
    if (begin + T < padded) stream.finish();
    if (options.want_prefill_logits) {
      stream.finish();
      std::vector<float> rows = decoder_.logits().download(decoder_.device());
      std::vector<float> full(T * vocab_local * decoder_.comm().world());
      rows.resize(T * vocab_local);
      decoder_.comm().all_gather(rows.data(), rows.size() * sizeof(float), full.data());
      const int64_t V = config.vocab_size;
      for (int64_t t = 0; t < T; ++t) {
        if (begin + t < first_key[0]) continue;
        for (int r = 0; r < decoder_.comm().world(); ++r)
          for (int64_t v = 0; v < vocab_local; ++v) {
            const int64_t global = r * vocab_local + v;
            if (global < V)
              result.prefill_logits.push_back(full[(r * T + t) * vocab_local + v]);
          }
      }
    }
  }

  std::vector<bool> done(B, false);
  std::vector<int32_t> last(B);
  auto accept = [&](const std::vector<int32_t>& tokens) {
    for (int64_t b = 0; b < B; ++b) {
      if (done[b]) continue;
      SequenceResult& sequence = result.sequences[b];
      const int32_t token = tokens[b];
      const bool eos = std::find(config.eos_token_ids.begin(), config.eos_token_ids.end(), token) !=
                       config.eos_token_ids.end();
      sequence.new_ids.push_back(token);
      last[b] = token;
      bool stop = on_token ? on_token(b, token) : false;
      if (eos && !options.ignore_eos) {
        done[b] = true;
        sequence.finish_reason = "eos";
      } else if (stop) {
        done[b] = true;
        sequence.finish_reason = "stop";
      } else if (static_cast<int64_t>(sequence.new_ids.size()) >= options.max_new_tokens) {
        done[b] = true;
        sequence.finish_reason = "length";
      }
    }
  };

  if (options.max_new_tokens == 0) {
    stream.finish();
    for (auto& sequence : result.sequences) sequence.finish_reason = "length";
    result.prefill_ms = seconds_since(prefill_start) * 1e3;
    return result;
  }
  // With every row's logits kept (B == 1), the last prompt row is sampled.
  const int64_t last_chunk_rows = padded - (padded - 1) / chunk * chunk;
  const ops::View first_logits = options.want_prefill_logits
                                     ? ops::View(decoder_.logits()).at_row(last_chunk_rows - 1)
                                     : ops::View(decoder_.logits());
  accept(sample_step(stream, options, 0, B, first_logits));
  result.prefill_ms = seconds_since(prefill_start) * 1e3;

  const auto decode_start = Clock::now();
  for (int64_t step = 1; step < options.max_new_tokens; ++step) {
    if (std::all_of(done.begin(), done.end(), [](bool d) { return d; })) break;
    std::vector<int32_t> positions(B);
    for (int64_t b = 0; b < B; ++b)
      positions[b] = static_cast<int32_t>(prompts[b].size() + step - 1);
    decoder_.set_inputs(last, positions, first_key, 1);
    decoder_.forward(stream, padded + step - 1);
    accept(sample_step(stream, options, static_cast<uint32_t>(step), B, decoder_.logits()));
    ++result.decode_steps;
  }
  result.decode_seconds = seconds_since(decode_start);
  return result;
}

}  // namespace vkinfer
