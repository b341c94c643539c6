// Generator: a fixed list of prompts as Sequences through a Scheduler and the
// Engine, with the per-token bookkeeping (eos, length, stop strings, text)
// that belongs to a request rather than to the step loop.
#include "engine/runtime/generator.h"

#include <algorithm>
#include <chrono>
#include <string>

#include <fmt/format.h>

#include "engine/core/error.h"
#include "engine/runtime/scheduler.h"
#include "engine/vk/device.h"

namespace vkinfer {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
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
  for (const auto& params : options.per_prompt) ops::validate(params);
  if (!options.per_prompt.empty() && options.per_prompt.size() != prompts.size())
    fail(ErrorCode::kInvalidArgument, "{} sampling settings for {} prompts", options.per_prompt.size(),
         prompts.size());
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

size_t stop_string_end(const std::string& text, const std::vector<std::string>& stops) {
  size_t best = std::string::npos;
  for (const auto& stop : stops) {
    if (stop.empty()) continue;
    const size_t at = text.find(stop);
    if (at != std::string::npos) best = std::min(best, at + stop.size());
  }
  return best;
}

Generator::Generator(Engine& engine, const Tokenizer* tokenizer) : engine_(engine), tokenizer_(tokenizer) {}

GenerateResult Generator::run(const std::vector<std::vector<int32_t>>& prompts,
                              const GenerateOptions& options, const TokenCallback& on_token) {
  Decoder& decoder = engine_.decoder();
  const DecoderConfig& config = decoder.config();
  validate_request(config, decoder.limits().ctx, prompts, options);
  if (options.want_prefill_logits && prompts.size() != 1)
    fail(ErrorCode::kInvalidArgument, "--logits-out works with one prompt at a time");
  if (!options.stop.empty() && !tokenizer_)
    fail(ErrorCode::kInvalidArgument, "stop strings need the model's tokenizer");

  const size_t n = prompts.size();
  int64_t longest = 0;
  for (const auto& prompt : prompts) longest = std::max<int64_t>(longest, prompt.size());
  std::vector<Sequence> sequences(n);
  std::vector<StreamDecoder> streams;
  GenerateResult result;
  result.sequences.resize(n);
  Scheduler scheduler(engine_.cache(), engine_.max_rows(), engine_.max_chunk());
  for (size_t i = 0; i < n; ++i) {
    Sequence& s = sequences[i];
    s.prompt = prompts[i];
    s.sampling = options.per_prompt.empty() ? options.sampling : options.per_prompt[i];
    s.max_new_tokens = options.max_new_tokens;
    if (options.batch_rope_like_transformers) s.rope_extra = longest - s.prompt_length();
    result.sequences[i].prompt_ids = prompts[i];
    if (tokenizer_) streams.emplace_back(*tokenizer_);
    scheduler.submit(&s);
  }
  const size_t first_wave = std::min<size_t>(n, engine_.cache().slots());
  for (size_t i = 0; i < first_wave; ++i) result.prefill_rows += prompts[i].size();

  // Ends sequence i: its held-back text, its reason, its slot.
  auto finish = [&](size_t i, const std::string& reason) {
    Sequence& s = sequences[i];
    SequenceResult& out = result.sequences[i];
    s.finished = true;
    out.finish_reason = s.finish_reason = reason;
    if (tokenizer_ && reason != "stop") {
      std::string tail = streams[i].flush();
      const size_t end = stop_string_end(out.text + tail, options.stop);
      if (end != std::string::npos) tail.resize(end > out.text.size() ? end - out.text.size() : 0);
      out.text += tail;
      if (on_token) on_token(i, -1, tail);
    } else if (on_token) {
      on_token(i, -1, "");
    }
    scheduler.retire(&s);
  };
  // Takes sequence i's new token: text, eos, stop strings, length.
  auto accept = [&](size_t i, int32_t token) {
    Sequence& s = sequences[i];
    SequenceResult& out = result.sequences[i];
    if (options.max_new_tokens == 0) return finish(i, "length");
    s.generated.push_back(token);
    out.new_ids.push_back(token);
    std::string piece;
    bool stopped = false;
    if (tokenizer_) {
      piece = streams[i].push(token);
      const size_t end = stop_string_end(out.text + piece, options.stop);
      if (end != std::string::npos) {
        piece.resize(end > out.text.size() ? end - out.text.size() : 0);
        stopped = true;
      }
      out.text += piece;
    }
    if (on_token) on_token(i, token, piece);
    const std::vector<int>& eos_ids = options.eos_token_ids ? *options.eos_token_ids : config.eos_token_ids;
    const bool eos = std::find(eos_ids.begin(), eos_ids.end(), token) != eos_ids.end();
    if (eos && !options.ignore_eos) finish(i, "eos");
    else if (stopped) finish(i, "stop");
    else if (static_cast<int64_t>(s.generated.size()) >= s.max_new_tokens) finish(i, "length");
  };

  vk::CommandStream stream(decoder.device());
  const auto start = Clock::now();
  auto decode_start = start;
  size_t first_tokens = 0;  // sequences of the first wave with their first token
  while (true) {
    std::vector<ScheduledRows> plan = scheduler.plan();
    if (plan.empty()) break;
    // --logits-out: every prompt row's logits (the one sequence's chunks).
    const bool all_logits = options.want_prefill_logits && plan[0].sequence->prefilling();
    const std::vector<int32_t> tokens = engine_.step(stream, plan, all_logits);
    if (all_logits) collect_prefill_logits(plan[0].rows, result.prefill_logits);
    const bool in_prefill = first_tokens < first_wave;
    for (size_t k = 0; k < plan.size(); ++k) {
      if (tokens[k] < 0) continue;
      const size_t i = static_cast<size_t>(plan[k].sequence - sequences.data());
      if (in_prefill && plan[k].sequence->generated.empty() && i < first_wave) ++first_tokens;
      accept(i, tokens[k]);
    }
    if (in_prefill && first_tokens == first_wave) {
      result.prefill_ms = seconds_since(start) * 1e3;
      decode_start = Clock::now();
    } else if (!in_prefill) {
      ++result.decode_steps;
    }
  }
  if (first_tokens < first_wave) result.prefill_ms = seconds_since(start) * 1e3;
  else result.decode_seconds = seconds_since(decode_start);
  return result;
}

void Generator::collect_prefill_logits(int64_t rows, std::vector<float>& out) {
  // Every row's logits of the one sequence, gathered across ranks' vocab
  // slices into [rows, vocab].
  Decoder& decoder = engine_.decoder();
  if (!decoder.stage().has_head) return;  // the logits live on the last pipeline stage
  const int64_t vocab_local = decoder.shape().vocab_local, V = decoder.config().vocab_size;
  std::vector<float> local = decoder.logits().download(decoder.device());
  local.resize(rows * vocab_local);
  std::vector<float> full(local.size() * decoder.comm().world());
  decoder.comm().all_gather(local.data(), local.size() * sizeof(float), full.data());
  for (int64_t t = 0; t < rows; ++t)
    for (int r = 0; r < decoder.comm().world(); ++r)
      for (int64_t v = 0; v < vocab_local; ++v)
        if (r * vocab_local + v < V) out.push_back(full[(r * rows + t) * vocab_local + v]);
}

}  // namespace vkinfer
