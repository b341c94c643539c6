// `vkinfer generate`: text generation with a causal LM, streamed to stdout.
#include <unistd.h>

#include <fmt/format.h>

#include <fstream>
#include <chrono>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "engine/core/error.h"
#include "engine/runtime/engine.h"
#include "engine/runtime/generator.h"
#include "engine/runtime/speculative.h"
#include "engine/model/load_decoder.h"
#include "engine/io/npy.h"
#include "engine/text/chat_template.h"
#include "engine/runtime/model_files.h"
#include "engine/text/tokenizer.h"
#include "partition/ranks.h"

namespace vkinfer::cli {
namespace {

struct GenerateFlags {
  std::string model;
  std::string prompt;
  std::string prompt_ids;
  std::string input;
  bool chat = false;            // render the model's chat template around the conversation
  std::string system;           // --chat: a system message before the --prompt user turn
  std::string messages_file;    // --chat: the whole conversation, a JSON list of {role, content}
  int64_t max_new_tokens = 64;
  // Unset unless given: any float is a value a user can type, so no sentinel.
  std::optional<float> temperature;
  std::optional<int> top_k;
  std::optional<float> top_p;
  float repetition_penalty = 1.0f;
  uint64_t seed = 0;
  bool greedy = false;
  bool ignore_eos = false;
  std::vector<std::string> stop;
  int64_t max_running = 0;  // KV slots; 0: one per prompt
  bool json = false;
  std::string logits_out;
  std::string draft_model;   // speculative decoding: the draft's folder
  int64_t draft_tokens = 4;  // tokens the draft proposes per target forward
  RunFlags run;
};

constexpr const char* kDefaultPrompt = "And God said";

std::vector<std::string> read_prompt_file(const std::string& path) {
  std::ifstream file(path);
  if (!file) fail(ErrorCode::kBadFile, "{}: cannot open the --input file", path);
  std::vector<std::string> prompts;
  std::string line;
  int number = 0;
  while (std::getline(file, line)) {
    ++number;
    if (line.empty()) continue;
    if (line.front() == '{') {
      nlohmann::json object;
      try {
        object = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {
        fail(ErrorCode::kBadFile, "{}:{}: malformed JSON line ({})", path, number, e.what());
      }
      if (!object.contains("prompt") || !object["prompt"].is_string())
        fail(ErrorCode::kBadFile, "{}:{}: a JSON line needs a string field \"prompt\"", path, number);
      prompts.push_back(object["prompt"].get<std::string>());
    } else {
      prompts.push_back(line);
    }
  }
  if (prompts.empty()) fail(ErrorCode::kBadFile, "{}: the --input file holds no prompt", path);
  return prompts;
}

// --chat: the conversation (--messages FILE, or --system and --prompt as
// its turns) rendered by the model's chat template as transformers'
// apply_chat_template(add_generation_prompt=True) renders it, then
// tokenized without adding special tokens again (apply_chat_template's
// encode(add_special_tokens=False): the template writes its own bos).
std::vector<int32_t> chat_prompt(const GenerateFlags& flags, const std::string& model, const Tokenizer* tokenizer) {
  if (!flags.prompt_ids.empty() || !flags.input.empty())
    fail(ErrorCode::kInvalidArgument, "--chat takes its conversation from --prompt (and --system) or --messages, "
         "not from --prompt-ids or --input");
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  if (!flags.messages_file.empty()) {
    if (!flags.prompt.empty() || !flags.system.empty())
      fail(ErrorCode::kInvalidArgument, "--messages holds the whole conversation: drop --prompt and --system");
    std::ifstream file(flags.messages_file, std::ios::binary);
    if (!file) fail(ErrorCode::kBadFile, "{}: cannot open the --messages file", flags.messages_file);
    try {
      messages = nlohmann::ordered_json::parse(file);
    } catch (const nlohmann::json::exception& e) {
      fail(ErrorCode::kBadFile, "{}: malformed JSON ({})", flags.messages_file, e.what());
    }
    validate_messages(messages, flags.messages_file);
  } else {
    if (flags.prompt.empty())
      fail(ErrorCode::kInvalidArgument, "--chat needs the user's turn. HINT: pass --prompt \"...\" (and --system "
           "\"...\"), or the conversation as --messages FILE.json");
    if (!flags.system.empty()) messages.push_back({{"role", "system"}, {"content", flags.system}});
    messages.push_back({{"role", "user"}, {"content", flags.prompt}});
  }
  const std::optional<ChatTemplate> chat_template = load_model_chat_template(model);
  if (!chat_template)
    fail(ErrorCode::kInvalidArgument, "{}: the model has no chat template (no \"chat_template\" in "
         "tokenizer_config.json, no chat_template.jinja or chat_template.json). HINT: drop --chat and pass the "
         "prompt text as the model expects it", model);
  if (!tokenizer) fail(ErrorCode::kInvalidArgument, "{}: --chat needs the model's tokenizer files", model);
  return tokenizer->encode(chat_template->render(messages, /*add_generation_prompt=*/true), false).ids;
}

ops::SamplingParams sampling_from(const GenerateFlags& flags) {
  ops::SamplingParams params;
  const bool asked_to_sample = flags.temperature || flags.top_k || flags.top_p;
  if (flags.temperature && !(*flags.temperature >= 0))
    fail(ErrorCode::kInvalidArgument, "--temperature must be >= 0 (got {})", *flags.temperature);
  params.greedy = flags.greedy || !asked_to_sample || flags.temperature == 0.0f;
  params.temperature = flags.temperature.value_or(1.0f);
  // transformers' GenerationConfig defaults: top_k 50, top_p 1.0.
  params.top_k = flags.top_k.value_or(50);
  params.top_p = flags.top_p.value_or(1.0f);
  params.repetition_penalty = flags.repetition_penalty;
  params.seed = flags.seed;
  ops::validate(params);
  return params;
}

// One --json line: the sequence and the run's timings (and `extra`).
std::string result_json(const SequenceResult& sequence, const GenerateResult& result,
                        nlohmann::json extra = nlohmann::json::object()) {
  nlohmann::json out = std::move(extra);
  out["prompt_ids"] = sequence.prompt_ids;
  out["new_ids"] = sequence.new_ids;
  out["text"] = sequence.text;
  out["finish_reason"] = sequence.finish_reason;
  out["prefill_ms"] = result.prefill_ms;
  out["decode_tokens_per_s"] = result.decode_tokens_per_s();
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// --draft-model: the target (any --tp) verifies what a draft proposes; one
// prompt. The draft runs whole on every rank (it is small), so each rank
// makes the same decisions from the same gathered logits.
int run_speculative(const GenerateFlags& flags, const std::string& model, const Tokenizer* tokenizer,
                    const std::vector<std::vector<int32_t>>& prompts,
                    const std::vector<std::string>& prompt_texts, const GenerateOptions& options) {
  if (flags.draft_tokens < 1)
    fail(ErrorCode::kInvalidArgument, "--draft-tokens must be >= 1 (got {})", flags.draft_tokens);
  if (prompts.size() != 1)
    fail(ErrorCode::kInvalidArgument, "--draft-model runs one prompt at a time (batch 1); got {}",
         prompts.size());
  if (flags.run.pp != 1 || !flags.run.pipeline_cuts.empty() || !flags.logits_out.empty() || flags.max_running)
    fail(ErrorCode::kInvalidArgument, "--draft-model does not combine with --pp, --pipeline-cuts, "
         "--logits-out or --max-running");
  const DecoderConfig target_config = ModelConfig::load(model).decoder();
  const DecoderConfig draft_config = ModelConfig::load(flags.draft_model).decoder();
  if (draft_config.vocab_size != target_config.vocab_size)
    fail(ErrorCode::kInvalidArgument, "the draft model's vocabulary has {} tokens but the target's has "
         "{}: a draft must share the target's tokenizer", draft_config.vocab_size, target_config.vocab_size);
  // Same size is not enough: every id must name the same token.
  std::unique_ptr<Tokenizer> draft_tokenizer;
  try {
    draft_tokenizer = load_model_tokenizer(flags.draft_model);
  } catch (const Error&) {  // a draft folder without tokenizer files: ids only
  }
  if (draft_tokenizer && tokenizer) {
    if (draft_tokenizer->vocab_size() != tokenizer->vocab_size())
      fail(ErrorCode::kInvalidArgument, "the draft's tokenizer has {} tokens, the target's {}",
           draft_tokenizer->vocab_size(), tokenizer->vocab_size());
    for (int32_t id = 0; id < tokenizer->vocab_size(); ++id)
      if (draft_tokenizer->id_to_token(id) != tokenizer->id_to_token(id))
        fail(ErrorCode::kInvalidArgument, "the draft's tokenizer differs from the target's: id {} is "
             "'{}' there and '{}' here", id, draft_tokenizer->id_to_token(id), tokenizer->id_to_token(id));
  }
  const bool stream_text = !flags.json;
  run_ranks(flags.run.rank_options(), [&](RankContext& rank) {
    DecoderLimits limits;
    limits.batch = 1;
    limits.quant = flags.run.quant;
    limits.ctx = flags.run.ctx;
    // The target keeps every row's logits (it verifies K + 1 rows at once),
    // so its prefill chunks stay small enough for that buffer.
    limits.max_rows_per_seq = std::max<int64_t>(flags.draft_tokens + 1, std::min<int64_t>(flags.run.max_prefill_rows, 64));
    limits.all_logits = true;
    const auto load_start = std::chrono::steady_clock::now();
    auto target = load_decoder(model, rank.device, rank.comm, flags.run.dtype(), limits);
    Engine target_engine(*target);
    auto single = make_single_communicator();
    DecoderLimits draft_limits;
    draft_limits.batch = 1;
    draft_limits.quant = flags.run.quant;
    draft_limits.ctx = target->limits().ctx;
    draft_limits.max_rows_per_seq = flags.run.max_prefill_rows;
    auto draft = load_decoder(flags.draft_model, rank.device, *single, flags.run.dtype(), draft_limits);
    Engine draft_engine(*draft);
    const double load_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
    SpeculativeGenerator generator(target_engine, draft_engine, flags.draft_tokens, tokenizer);
    const bool printer = rank.comm.rank() == 0 && rank.coord.replica == 0;
    if (printer && stream_text) {
      fmt::print("{}", prompt_texts[0]);
      std::fflush(stdout);
    }
    auto on_token = [&](size_t, int32_t token, const std::string& piece) {
      if (!printer || !stream_text) return;
      // Without a tokenizer, the ids themselves.
      const std::string shown = tokenizer || token < 0 ? piece : fmt::format(" {}", token);
      fmt::print("{}{}", shown, token < 0 ? "\n" : "");
      std::fflush(stdout);
    };
    SpeculativeStats stats;
    const GenerateResult result = generator.run(prompts[0], options, on_token, &stats);
    if (!printer) return;
    const SequenceResult& sequence = result.sequences[0];
    if (flags.json) {
      fmt::print("{}\n", result_json(sequence, result,
                                      {{"acceptance_rate", stats.acceptance_rate()},
                                       {"tokens_per_target_forward", stats.tokens_per_target_forward()},
                                       {"target_forwards", stats.target_forwards}}));
      return;
    }
    std::fflush(stdout);
    fmt::print(stderr, "vkinfer: load {:.2f} s, prefill {:.1f} ms ({} tokens), decode {:.1f} tokens/s, "
               "draft acceptance {:.1f}% ({:.2f} tokens per target forward, K = {})\n",
               load_seconds, result.prefill_ms, result.prefill_rows, result.decode_tokens_per_s(),
               100 * stats.acceptance_rate(), stats.tokens_per_target_forward(), flags.draft_tokens);
  });
  return 0;
}

int run_generate(const GenerateFlags& flags) {
  // Sequences run at their exact lengths now (no left padding), so buckets
  // would change nothing: refused rather than silently ignored.
  if (!flags.run.buckets.empty())
    fail(ErrorCode::kInvalidArgument,
         "--buckets does not apply to generate: each prompt runs at its exact length in its own KV "
         "slot. HINT: drop --buckets; --max-prefill-rows caps a prefill chunk");
  const std::string model = flags.model.empty() ? default_generate_model() : flags.model;
  // Token ids need no tokenizer: a folder without tokenizer files runs from
  // --prompt-ids and prints ids, as transformers runs such a folder.
  std::unique_ptr<Tokenizer> tokenizer;
  if (flags.prompt_ids.empty() || model_tokenizer_present(model)) tokenizer = load_model_tokenizer(model);
  std::vector<std::vector<int32_t>> prompts;
  std::vector<std::string> prompt_texts;
  if (!flags.chat && (!flags.system.empty() || !flags.messages_file.empty()))
    fail(ErrorCode::kInvalidArgument, "--system and --messages need --chat (the model's chat template renders them)");
  if (flags.chat) {
    prompts.push_back(chat_prompt(flags, model, tokenizer.get()));
    prompt_texts.emplace_back();  // the reply streams alone, without the templated prompt
  } else if (!flags.prompt_ids.empty()) {
    prompts.push_back(parse_int_list(flags.prompt_ids, "--prompt-ids"));
    prompt_texts.push_back(tokenizer ? tokenizer->decode(prompts.back()) : flags.prompt_ids + " ->");
  } else {
    std::vector<std::string> texts;
    if (!flags.input.empty()) texts = read_prompt_file(flags.input);
    else texts.push_back(flags.prompt.empty() && flags.model.empty() ? kDefaultPrompt : flags.prompt);
    for (const auto& text : texts) {
      if (text.empty())
        fail(ErrorCode::kInvalidArgument, "the prompt is empty. HINT: pass --prompt \"...\"");
      prompts.push_back(tokenizer->encode(text).ids);
      prompt_texts.push_back(text);
    }
  }

  GenerateOptions options;
  options.sampling = sampling_from(flags);
  options.max_new_tokens = flags.max_new_tokens;
  options.ignore_eos = flags.ignore_eos;
  options.want_prefill_logits = !flags.logits_out.empty();
  options.stop = flags.stop;

  const bool stream_text = !flags.json && prompts.size() == 1;
  if (!flags.draft_model.empty()) return run_speculative(flags, model, tokenizer.get(), prompts, prompt_texts, options);
  std::mutex print_mutex;
  run_ranks(flags.run.rank_options(), [&](RankContext& rank) {
    DecoderLimits limits;
    // One KV slot per prompt unless --max-running caps them: then the
    // prompts run in overlapping waves (a finished one's slot goes to the next).
    const int64_t count = static_cast<int64_t>(prompts.size());
    limits.batch = flags.max_running > 0 ? std::min(count, flags.max_running) : count;
    limits.quant = flags.run.quant;
    limits.ctx = flags.run.ctx;
    limits.max_rows_per_seq = flags.run.max_prefill_rows;
    limits.all_logits = options.want_prefill_logits;
    const auto load_start = std::chrono::steady_clock::now();
    const StageRange stage =
        flags.run.stages(ModelConfig::load(model).decoder().num_layers).at(rank.coord.stage);
    auto decoder = load_decoder(model, rank.device, rank.comm, flags.run.dtype(), limits, stage);
    // The Engine builds and warms every pipeline (forward row classes and
    // sampling) at load, then seals the device: counted apart from loading.
    const auto engine_start = std::chrono::steady_clock::now();
    Engine engine(*decoder, {&rank.pp, flags.run.microbatches});
    const auto load_end = std::chrono::steady_clock::now();
    const double pipeline_seconds = std::chrono::duration<double>(load_end - engine_start).count();
    const double load_seconds =
        std::chrono::duration<double>(engine_start - load_start).count();
    const uint64_t pipelines = rank.device.pipelines_created();
    Generator generator(engine, tokenizer.get());
    // The last stage's first rank prints: it holds the logits and samples.
    const bool printer = rank.comm.rank() == 0 && stage.has_head && rank.coord.replica == 0;
    // The prompt is echoed once the request has passed validation and the
    // first token exists, so a run that fails prints nothing to stdout.
    bool echoed = false;
    auto echo_prompt = [&] {
      if (!printer || !stream_text || echoed) return;
      fmt::print("{}", prompt_texts[0]);
      std::fflush(stdout);
      echoed = true;
    };
    auto on_token = [&](size_t, int32_t token, const std::string& piece) {
      echo_prompt();
      if (!printer || !stream_text) return;
      // Without a tokenizer, the ids themselves.
      const std::string shown = tokenizer || token < 0 ? piece : fmt::format(" {}", token);
      fmt::print("{}{}", shown, token < 0 ? "\n" : "");
      std::fflush(stdout);
    };
    GenerateResult local = generator.run(prompts, options, on_token);
    echo_prompt();  // --max-new-tokens 0 generates no token
    if (!printer) return;
    std::lock_guard<std::mutex> lock(print_mutex);
    if (!flags.logits_out.empty()) {
      const int64_t T = static_cast<int64_t>(prompts[0].size());
      write_npy_f32(flags.logits_out, {T, decoder->config().vocab_size}, local.prefill_logits.data());
    }
    for (size_t i = 0; i < prompts.size(); ++i) {
      const SequenceResult& sequence = local.sequences[i];
      if (flags.json) {
        fmt::print("{}\n", result_json(sequence, local));
      } else if (!stream_text) {
        fmt::print("[{}] {}{}\n", i + 1, prompt_texts[i], sequence.text);
      }
    }
    std::fflush(stdout);  // the statistics line comes after the text
    if (!flags.json)
      fmt::print(stderr,
                 "vkinfer: load {:.2f} s, pipelines {:.2f} s ({} built), prefill {:.1f} ms ({} "
                 "tokens), decode {:.1f} tokens/s\n",
                 load_seconds, pipeline_seconds, pipelines, local.prefill_ms, local.prefill_rows,
                 local.decode_tokens_per_s());
  });
  return 0;
}

}  // namespace

Command add_generate_command(CLI::App& app) {
  auto flags = std::make_shared<GenerateFlags>();
  auto* command = app.add_subcommand(
      "generate",
      "Generate text with a causal LM (GPT-2, Llama, Mistral, Qwen2, Gemma, Phi-3, OPT, GPT-J, "
      "GPT-NeoX) from a Hugging Face folder or a GGUF file. Greedy by default; --temperature/--top-k/--top-p sample like transformers' "
      "generate(do_sample=True). Without --model, runs the bundled KJV GPT-2 on a default prompt.");
  command->add_option("--model", flags->model,
                      "Hugging Face model folder, a `vkinfer shard` output, or a llama.cpp .gguf file");
  command->add_option("--prompt", flags->prompt, "Prompt text");
  command->add_option("--prompt-ids", flags->prompt_ids, "Exact prompt token ids, e.g. 1,2,3");
  command->add_flag("--chat", flags->chat,
                    "Chat: render the model's chat template around --prompt (the user's turn) or --messages, "
                    "as transformers' apply_chat_template(add_generation_prompt=True) does; stops at the "
                    "eos ids of generation_config.json");
  command->add_option("--system", flags->system, "With --chat: a system message before the --prompt turn");
  command->add_option("--messages", flags->messages_file,
                      "With --chat: the conversation, a JSON file holding a list of {\"role\": ..., \"content\": ...}");
  command->add_option("--input", flags->input,
                      "File of prompts: one per line, or JSON lines {\"prompt\": ...}; each is an "
                      "independent sequence, up to --batch of them running at once");
  command->add_option("--max-new-tokens", flags->max_new_tokens, "Tokens to generate (default 64)");
  command->add_option("--temperature", flags->temperature, "Sampling temperature (0 = greedy)");
  command->add_option("--top-k", flags->top_k, "Keep the k most likely tokens (default 50 when sampling; 0 = off)");
  command->add_option("--top-p", flags->top_p, "Nucleus sampling mass in (0, 1]");
  command->add_option("--repetition-penalty", flags->repetition_penalty, "HF repetition penalty (1 = off)");
  command->add_option("--seed", flags->seed, "Seed: the same seed gives the same sampled text");
  command->add_flag("--greedy", flags->greedy, "Always pick the most likely token");
  command->add_flag("--ignore-eos", flags->ignore_eos, "Keep generating after the end-of-sequence token");
  command->add_option("--max-running", flags->max_running,
                      "Sequences running at once (KV-cache slots); default: every prompt")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
  command->add_option("--stop", flags->stop, "Stop a sequence once its text contains this string (repeatable)");
  command->add_flag("--json", flags->json,
                    "Print one JSON object per prompt: prompt_ids, new_ids, text, prefill_ms, "
                    "decode_tokens_per_s");
  command->add_option("--logits-out", flags->logits_out, "Write the prefill logits [T, V] as float32 .npy");
  command->add_option("--draft-model", flags->draft_model,
                      "Speculative decoding: a small model with the target's tokenizer proposes tokens "
                      "that the target verifies, several per forward (one prompt)");
  command->add_option("--draft-tokens", flags->draft_tokens, "Tokens the draft proposes per target forward (default 4)");
  add_run_flags(command, flags->run);
  add_pipeline_flags(command, flags->run);
  return {command, [flags] { return run_generate(*flags); }};
}

}  // namespace vkinfer::cli
