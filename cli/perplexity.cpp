// `vkinfer perplexity`: perplexity of a causal LM over a text file, windowed
// like llama.cpp's llama-perplexity (engine/runtime/perplexity.h), so a
// dtype or a quantization is measured by a number: PPL with its standard
// error, and against a run saved with --save-logits, the mean KL divergence,
// the top-1 agreement and the correct token's probability change
// (--kl-base). Each window is one prompt through the Generator, which hands
// back every position's logits (the path --logits-out uses); the window's
// scored half is read back to the host, where the statistics run.
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.h"
#include "cli/options.h"
#include "engine/core/error.h"
#include "engine/io/saved_logits.h"
#include "engine/model/config.h"
#include "engine/model/load_decoder.h"
#include "engine/runtime/engine.h"
#include "engine/runtime/generator.h"
#include "engine/runtime/model_files.h"
#include "engine/runtime/perplexity.h"
#include "engine/text/tokenizer.h"
#include "partition/ranks.h"

namespace vkinfer::cli {
namespace {

// Without --ctx: the model's positions, at most this many (llama-perplexity's
// customary -c 512, which published PPL tables use).
constexpr int64_t kDefaultCtxCap = 512;

struct PerplexityFlags {
  std::string model;
  std::string input;
  int64_t chunks = 0;  // 0: every whole window of the text
  std::string save_logits;
  std::string logits_dtype = "f32";
  std::string kl_base;
  bool json = false;
  RunFlags run;
};

std::string read_text(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) fail(ErrorCode::kBadFile, "{}: cannot open the --input file", path);
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    fail(ErrorCode::kInvalidArgument, "{}: the --input file holds no text", path);
  return text;
}

// The text's ids as llama-perplexity sees them: BOS in front when the
// tokenizer's post-processor adds one (the probe "a" tells), and nothing
// else special (an eos a post-processor appends would sit mid-text once the
// windows cut it).
std::vector<int32_t> tokenize_text(const Tokenizer& tokenizer, const std::string& text, int32_t& bos) {
  const std::vector<int32_t> probe = tokenizer.encode("a", true).ids;
  bos = (tokenizer.bos_id() >= 0 && !probe.empty() && probe.front() == tokenizer.bos_id()) ? tokenizer.bos_id() : -1;
  std::vector<int32_t> ids = tokenizer.encode(text, false).ids;
  if (bos >= 0) ids.insert(ids.begin(), bos);
  return ids;
}

// A base run is comparable only when it evaluated the same ids the same way.
void check_base(const SavedLogitsHeader& base, const std::string& path, int64_t vocab,
                const PerplexityWindows& windows, const std::vector<std::vector<int32_t>>& window_ids_list) {
  auto refuse = [&](const std::string& what) {
    fail(ErrorCode::kInvalidArgument, "--kl-base {} does not match this run: {}. HINT: compare runs of the same "
         "--input, tokenizer, --ctx and --chunks", path, what);
  };
  if (base.vocab != vocab) refuse(fmt::format("its vocabulary has {} tokens, this model's {}", base.vocab, vocab));
  if (base.ctx != windows.ctx) refuse(fmt::format("its --ctx is {}, this run's {}", base.ctx, windows.ctx));
  if (base.first != windows.first)
    refuse(fmt::format("it scores from position {}, this run from {}", base.first, windows.first));
  if (base.windows != windows.count)
    refuse(fmt::format("it has {} windows, this run {}", base.windows, windows.count));
  for (int64_t w = 0; w < windows.count; ++w)
    for (int64_t p = 0; p < windows.ctx; ++p)
      if (base.tokens[w * windows.ctx + p] != window_ids_list[w][p])
        refuse(fmt::format("window {} position {} holds token {} there and {} here (a different text or "
                           "tokenization)", w, p, base.tokens[w * windows.ctx + p], window_ids_list[w][p]));
}

int run_perplexity(const PerplexityFlags& flags) {
  if (flags.input.empty())
    fail(ErrorCode::kInvalidArgument, "perplexity needs a text. HINT: pass --input FILE.txt");
  if (!flags.run.buckets.empty())
    fail(ErrorCode::kInvalidArgument, "--buckets does not apply to perplexity: every window runs at --ctx");
  if (flags.logits_dtype != "f32" && flags.logits_dtype != "f16")
    fail(ErrorCode::kInvalidArgument, "--logits-dtype must be f32 or f16 (got '{}')", flags.logits_dtype);
  const std::string model = flags.model.empty() ? default_generate_model() : flags.model;
  const DecoderConfig config = ModelConfig::load(model).decoder();
  int64_t ctx = flags.run.ctx;
  if (ctx == 0) ctx = config.max_positions > 0 ? std::min(config.max_positions, kDefaultCtxCap) : kDefaultCtxCap;
  if (ctx < 2)
    fail(ErrorCode::kInvalidArgument, "--ctx must be >= 2 for perplexity: a window scores its second half "
         "(got {})", ctx);
  if (config.max_positions > 0 && ctx > config.max_positions)
    fail(ErrorCode::kInvalidArgument, "--ctx {} is larger than the model's {} positions. HINT: --ctx {} or less",
         ctx, config.max_positions, config.max_positions);
  const std::string text = read_text(flags.input);
  // A folder or a .gguf file, as generate loads them.
  const std::unique_ptr<Tokenizer> tokenizer = load_model_tokenizer(model);
  int32_t bos = -1;
  const std::vector<int32_t> ids = tokenize_text(*tokenizer, text, bos);
  if (flags.chunks < 0) fail(ErrorCode::kInvalidArgument, "--chunks must be >= 0 (got {})", flags.chunks);
  const PerplexityWindows windows = plan_windows(static_cast<int64_t>(ids.size()), ctx, flags.chunks);
  std::vector<std::vector<int32_t>> window_list;
  for (int64_t w = 0; w < windows.count; ++w) window_list.push_back(window_ids(ids, windows, w, bos));
  const int64_t V = config.vocab_size;

  std::optional<SavedLogitsReader> base;
  if (!flags.kl_base.empty()) {
    base = SavedLogitsReader::open(flags.kl_base);
    check_base(base->header(), flags.kl_base, V, windows, window_list);
  }

  run_ranks(flags.run.rank_options(), [&](RankContext& rank) {
    DecoderLimits limits;
    limits.batch = 1;
    limits.quant = flags.run.quant;
    limits.ctx = windows.ctx;
    limits.max_rows_per_seq = std::min(windows.ctx, flags.run.max_prefill_rows);
    limits.all_logits = true;
    const StageRange stage = flags.run.stages(config.num_layers).at(rank.coord.stage);
    auto decoder = load_decoder(model, rank.device, rank.comm, flags.run.dtype(), limits, stage);
    Engine engine(*decoder, {&rank.pp, flags.run.microbatches});
    Generator generator(engine, tokenizer.get());
    // The last stage's first rank holds the gathered logits and reports.
    const bool printer = rank.comm.rank() == 0 && stage.has_head && rank.coord.replica == 0;

    GenerateOptions options;
    options.max_new_tokens = 0;  // prefill only; its sampled token is dropped
    options.ignore_eos = true;
    options.want_prefill_logits = true;

    std::unique_ptr<SavedLogitsWriter> writer;
    if (printer && !flags.save_logits.empty()) {
      SavedLogitsHeader header;
      header.dtype = flags.logits_dtype == "f16" ? SavedLogitsDType::kF16 : SavedLogitsDType::kF32;
      header.vocab = V;
      header.ctx = windows.ctx;
      header.first = windows.first;
      header.windows = windows.count;
      for (const auto& window : window_list) header.tokens.insert(header.tokens.end(), window.begin(), window.end());
      writer = std::make_unique<SavedLogitsWriter>(flags.save_logits, std::move(header));
    }
    RunningMean nll;
    KlAccumulator kl;
    std::vector<float> log_probs(V), base_log_probs(V);
    double eval_seconds = 0;
    for (int64_t w = 0; w < windows.count; ++w) {
      const auto start = std::chrono::steady_clock::now();
      const GenerateResult result = generator.run({window_list[w]}, options);
      eval_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (!printer) continue;
      if (static_cast<int64_t>(result.prefill_logits.size()) != windows.ctx * V)
        fail(ErrorCode::kInternal, "window {}: {} logits, expected {} x {}", w, result.prefill_logits.size(),
             windows.ctx, V);
      for (int64_t p = windows.first; p < windows.ctx - 1; ++p) {
        const int32_t target = window_list[w][p + 1];
        log_softmax(result.prefill_logits.data() + p * V, V, log_probs.data());
        nll.add(-static_cast<double>(log_probs[target]));
        if (writer) writer->append(log_probs.data());
        if (base) {
          base->row(w * windows.scored_per_window() + (p - windows.first), base_log_probs.data());
          kl.add(base_log_probs.data(), log_probs.data(), V, target);
        }
      }
      if (!flags.json) {
        fmt::print(stderr, "[{}]{:.4f}{}", w + 1, summarize_nll(nll).ppl, w + 1 == windows.count ? "\n" : ",");
        std::fflush(stderr);
      }
    }
    if (!printer) return;
    if (writer) writer->finish();
    const PerplexityResult ppl = summarize_nll(nll);
    const double evaluated = static_cast<double>(windows.count * windows.ctx);
    const double tokens_per_s = eval_seconds > 0 ? evaluated / eval_seconds : 0.0;
    if (flags.json) {
      nlohmann::ordered_json out;
      out["model"] = model;
      out["input"] = flags.input;
      out["ctx"] = windows.ctx;
      out["windows"] = windows.count;
      out["first_scored_position"] = windows.first;
      out["bos"] = bos;
      out["text_tokens"] = ids.size();
      out["tokens_scored"] = ppl.tokens;
      out["tokens_evaluated"] = windows.count * windows.ctx;
      out["mean_nll"] = ppl.mean_nll;
      out["ppl"] = ppl.ppl;
      out["ppl_error"] = ppl.ppl_error;
      out["eval_seconds"] = eval_seconds;
      out["tokens_per_s"] = tokens_per_s;
      if (base) {
        const KlAccumulator::Summary s = kl.summary();
        out["kl"] = {{"base", flags.kl_base},
                     {"tokens", s.tokens},
                     {"mean", s.kl_mean},
                     {"error", s.kl_error},
                     {"max", s.kl_max},
                     {"same_top", s.same_top},
                     {"same_top_error", s.same_top_error},
                     {"delta_p_mean", s.delta_p_mean},
                     {"delta_p_error", s.delta_p_error},
                     {"abs_delta_p_mean", s.abs_delta_p_mean},
                     {"abs_delta_p_max", s.abs_delta_p_max},
                     {"ppl_ratio", s.ppl_ratio},
                     {"ppl_ratio_error", s.ppl_ratio_error}};
      }
      fmt::print("{}\n", out.dump());
      return;
    }
    fmt::print("perplexity: {:.4f} +/- {:.4f} (mean NLL {:.5f}) over {} tokens: {} windows of {}, each scoring "
               "its last {}; {:.1f} tokens/s\n",
               ppl.ppl, ppl.ppl_error, ppl.mean_nll, ppl.tokens, windows.count, windows.ctx,
               windows.scored_per_window(), tokens_per_s);
    if (base) {
      const KlAccumulator::Summary s = kl.summary();
      fmt::print("kl-divergence vs {}: mean KL {:.6g} +/- {:.3g} (max {:.6g}); same top token {:.3f} +/- {:.3f}%; "
                 "correct token delta p {:+.3g} +/- {:.3g}, mean |delta p| {:.3g}, max |delta p| {:.3g}; "
                 "PPL ratio {:.5f} +/- {:.5f}\n",
                 flags.kl_base, s.kl_mean, s.kl_error, s.kl_max, 100 * s.same_top, 100 * s.same_top_error,
                 s.delta_p_mean, s.delta_p_error, s.abs_delta_p_mean, s.abs_delta_p_max, s.ppl_ratio,
                 s.ppl_ratio_error);
    }
    std::fflush(stdout);
  });
  return 0;
}

}  // namespace

Command add_perplexity_command(CLI::App& app) {
  auto flags = std::make_shared<PerplexityFlags>();
  auto* command = app.add_subcommand(
      "perplexity",
      "Perplexity of a causal LM over a text, in non-overlapping windows of --ctx tokens scored on their "
      "second half (as llama.cpp's llama-perplexity); --save-logits keeps every scored position's "
      "log-probabilities and --kl-base compares a run against such a file (KL divergence, same top token).");
  command->add_option("--model", flags->model, "Hugging Face model folder (or whatever generate's --model takes)");
  command->add_option("--input", flags->input, "The text file to score (the whole file, tokenized once)");
  command->add_option("--chunks", flags->chunks, "Evaluate at most this many windows (default: all)");
  command->add_option("--save-logits", flags->save_logits,
                      "Write every scored position's log-softmax over the vocabulary, for a later --kl-base");
  command->add_option("--logits-dtype", flags->logits_dtype, "Element type of --save-logits: f32 (default) or f16");
  command->add_option("--kl-base", flags->kl_base,
                      "A --save-logits file of a reference run: report KL(base || this), same top token, "
                      "delta p and the PPL ratio");
  command->add_flag("--json", flags->json, "Print one JSON object with the results");
  add_run_flags(command, flags->run);
  add_pipeline_flags(command, flags->run);
  // --ctx means the window length here (each window is its own KV cache).
  command->get_option("--ctx")->description(
      "Window length in tokens (default: the model's positions, at most 512)");
  return {command, [flags] { return run_perplexity(*flags); }};
}

}  // namespace vkinfer::cli
