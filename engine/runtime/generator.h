// Generation of a fixed list of prompts on one rank, on top of the Engine
// and a Scheduler: every prompt becomes a Sequence, admitted as KV slots
// free up (more prompts than slots run in waves that overlap: a retired
// sequence's slot goes to the next prompt while the others decode). Eos,
// --max-new-tokens and stop strings end a sequence; its text streams out
// UTF-8-safe through the callback. Every rank runs this same loop; rank 0
// reports.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/runtime/engine.h"
#include "engine/text/tokenizer.h"

namespace vkinfer {

struct GenerateOptions {
  ops::SamplingParams sampling;                   // for every prompt, unless...
  std::vector<ops::SamplingParams> per_prompt;    // ...one per prompt is given
  int64_t max_new_tokens = 64;
  bool ignore_eos = false;
  // The ids that end a sequence instead of the model's (config.json, or
  // generation_config.json's): a caller's eos_token_id, as transformers'
  // generate(eos_token_id=...) takes it.
  std::optional<std::vector<int>> eos_token_ids;
  // A sequence stops once its text contains one of these (needs a
  // tokenizer); its text ends with the stop string.
  std::vector<std::string> stop;
  bool want_prefill_logits = false;  // [T, vocab] of the one prompt (--logits-out)
  // Dynamic rope_scaling: give each prompt the rotary base transformers'
  // batched generate() over the same list would (it follows the longest
  // prompt). false: each prompt's own, as if run alone.
  bool batch_rope_like_transformers = true;
};

struct SequenceResult {
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> new_ids;
  std::string text;           // decoded new tokens (with a tokenizer), cut after a stop string
  std::string finish_reason;  // "eos", "length", "stop"
};

struct GenerateResult {
  std::vector<SequenceResult> sequences;
  double prefill_ms = 0;          // until every sequence of the first wave had its first token
  double decode_seconds = 0;      // the remaining steps
  int64_t decode_steps = 0;
  int64_t prefill_rows = 0;       // prompt tokens of the first wave
  std::vector<float> prefill_logits;  // [prompt_len, vocab] when asked (rank 0)
  double decode_tokens_per_s() const {
    return decode_seconds > 0 ? double(decode_steps) / decode_seconds : 0.0;
  }
};

// Called on every new token of every live sequence, with the text that
// became final with it (empty without a tokenizer, or when a UTF-8
// character is still incomplete); once more with token -1 when the sequence
// ends, with the text held back until then.
using TokenCallback = std::function<void(size_t sequence, int32_t token, const std::string& text)>;

class Generator {
 public:
  // `tokenizer` may be null: no text, no stop strings.
  explicit Generator(Engine& engine, const Tokenizer* tokenizer = nullptr);
  GenerateResult run(const std::vector<std::vector<int32_t>>& prompts,
                     const GenerateOptions& options, const TokenCallback& on_token = {});

 private:
  // Appends the last step's logits of its `rows` rows, all ranks' slices.
  void collect_prefill_logits(int64_t rows, std::vector<float>& out);
  Engine& engine_;
  const Tokenizer* tokenizer_;
};

// Checks prompt lengths, ids and sampling values against the model before
// anything runs; throws kInvalidArgument with what to change.
void validate_request(const DecoderConfig& config, int64_t ctx,
                      const std::vector<std::vector<int32_t>>& prompts,
                      const GenerateOptions& options);

// Stop-string matching on streamed text: the length of `text` to keep if it
// contains one of `stops` (up to and including the earliest match), or
// std::string::npos.
size_t stop_string_end(const std::string& text, const std::vector<std::string>& stops);

}  // namespace vkinfer
