// `vkinfer embed`: sentence embeddings from a BERT encoder, equal to
// sentence-transformers' encode() on the same folder (its modules.json,
// Pooling config, Normalize and max_seq_length). Texts come from --text
// (repeatable) or --input (one per line); each vector is printed on one line,
// or all of them in one JSON object. Runs as a dp x tp grid like classify.
#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <optional>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/encoder_grid.h"
#include "cli/options.h"
#include "engine/core/error.h"
#include "engine/model/sentence_config.h"
#include "engine/runtime/embedder.h"
#include "engine/text/tokenizer.h"
#include "partition/mpi.h"

namespace vkinfer::cli {
namespace {

struct EmbedFlags {
  std::string model;
  std::vector<std::string> texts;
  std::optional<std::string> input;
  std::string dtype = "f32";
  std::string buckets;
  int64_t batch = 1;
  int dp = 0;
  int tp = 1;
  std::string devices;
  bool json = false;
  std::string pipeline_cache;
};

struct TextLine {
  std::string text;
  size_t line = 0;  // 1-based line in --input; 0 for --text
};

// One text per line; blank lines are skipped (a separator, not an input).
std::vector<TextLine> read_lines(const std::string& path) {
  std::ifstream file(path);
  if (!file) fail(ErrorCode::kBadFile, "--input {}: cannot open the file", path);
  std::vector<TextLine> out;
  std::string line;
  for (size_t number = 1; std::getline(file, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    out.push_back({line, number});
  }
  if (out.empty()) fail(ErrorCode::kInvalidArgument, "--input {}: the file has no texts", path);
  return out;
}

void print_embeddings(const std::vector<Embedding>& results, const SentenceConfig& config, bool json) {
  if (json) {
    nlohmann::json out = {{"embeddings", nlohmann::json::array()},
                          {"dim", config.dim()},
                          {"pooling", pooling_mode_name(config.pooling)},
                          {"normalized", config.normalize},
                          {"tokens", nlohmann::json::array()}};
    for (const Embedding& e : results) {
      // Each float as the double of its shortest decimal, so the JSON holds
      // 0.08613984, not the float's exact binary value 0.086139835417270660.
      nlohmann::json row = nlohmann::json::array();
      for (float v : e.values) row.push_back(std::isfinite(v) ? std::stod(fmt::format("{}", v)) : double(v));
      out["embeddings"].push_back(std::move(row));
      out["tokens"].push_back(e.tokens);
    }
    fmt::print("{}\n", out.dump());
    return;
  }
  // Shortest round-trip decimal of each float, space-separated.
  for (const Embedding& e : results) fmt::print("{}\n", fmt::join(e.values, " "));
}

int run_embed(const EmbedFlags& flags) {
  if (flags.texts.empty() == !flags.input.has_value())
    fail(ErrorCode::kInvalidArgument, "give --text (one or more) or --input, not both");
  DType dtype = DType::kF32;
  if (flags.dtype == "f16") dtype = DType::kF16;
  else if (flags.dtype != "f32") fail(ErrorCode::kInvalidArgument, "--dtype must be f32 or f16 (got '{}')", flags.dtype);
  if (flags.batch < 1) fail(ErrorCode::kInvalidArgument, "--batch {} must be at least 1", flags.batch);
  // Always ranks (threads or MPI processes): tp of them per replica.
  const std::vector<int> devices =
      encoder_grid_devices(flags.dp, flags.tp, static_cast<size_t>(flags.tp), flags.devices);
  std::vector<int64_t> requested;
  if (!flags.buckets.empty())
    for (int length : parse_int_list(flags.buckets, "--buckets")) requested.push_back(length);

  // Inputs before the model, so a bad file fails fast.
  std::vector<TextLine> texts;
  for (const std::string& text : flags.texts) texts.push_back({text, 0});
  if (flags.input) texts = read_lines(*flags.input);

  const SentenceConfig config = load_sentence_config(flags.model);
  const std::vector<int64_t> buckets = embedding_buckets(config, requested);
  const std::unique_ptr<Tokenizer> tokenizer = Tokenizer::load(config.model_dir);
  std::vector<EncoderInput> inputs;
  for (const TextLine& text : texts) {
    try {
      inputs.push_back(tokenize_for_embedding(*tokenizer, config, text.text));
    } catch (const Error& e) {
      if (!text.line) throw;
      fail(e.code(), "--input {}:{}: {}", *flags.input, text.line, e.what());
    }
  }

  EncoderGrid grid;
  grid.model = config.model_dir;
  grid.tp = flags.tp;
  grid.devices = devices;
  grid.device_options = device_options(flags.pipeline_cache);
  grid.dtype = dtype;
  grid.limits = {flags.batch, buckets};
  grid.head = embedding_head(config);
  run_encoder_grid(grid, [&](RankContext& rank, Encoder& encoder, vk::CommandStream& stream) {
    const std::vector<Embedding> results =
        embed_on_rank(encoder, stream, rank.dp, rank.coord.replica, inputs, flags.batch);
    if (rank.world.rank() == 0) print_embeddings(results, config, flags.json);
  });
  return 0;
}

}  // namespace

Command add_embed_command(CLI::App& app) {
  auto flags = std::make_shared<EmbedFlags>();
  auto* command = app.add_subcommand(
      "embed",
      "Sentence embeddings from a BERT encoder, as sentence-transformers computes them: the folder's "
      "modules.json (Transformer, Pooling, optional Normalize), its Pooling config (cls, max, mean, "
      "mean_sqrt_len_tokens; several are concatenated in that order) and sentence_bert_config.json "
      "(max_seq_length, do_lower_case). A plain Hugging Face BertModel folder gets mean pooling, no "
      "normalization and max_seq_length = min(max_position_embeddings, the tokenizer's "
      "model_max_length), as sentence-transformers builds for one. Texts are stripped and cut to "
      "max_seq_length tokens, [CLS] and [SEP] included, as sentence-transformers does. Prints one "
      "line per text: the vector, space-separated.");
  command->add_option("--model", flags->model,
                      "A sentence-transformers folder, or a Hugging Face BERT folder (BertModel keys, "
                      "or BertForSequenceClassification's `bert.`-prefixed ones)")
      ->required();
  // One value per --text, so that a second word is never taken for a text.
  command->add_option("--text", flags->texts, "A text to embed (repeat --text for several)")
      ->allow_extra_args(false);
  command->add_option("--input", flags->input, "A file with one text per line (blank lines are skipped)");
  command->add_option("--dtype", flags->dtype, "Weight dtype on the device: f32 or f16 (default f32)");
  command->add_option("--buckets", flags->buckets,
                      "Padded sequence lengths, e.g. 32,128 (default: powers of two from 128 below "
                      "max_seq_length, and max_seq_length, which is always added)");
  command->add_option("--batch", flags->batch,
                      "Texts of similar length run together, up to this many per forward (default 1)");
  command->add_option("--dp", flags->dp,
                      "Data-parallel replicas, each taking its share of the forwards (default 1)");
  command->add_option("--tp", flags->tp,
                      "Tensor-parallel ranks per replica (threads, or mpirun -np dp x tp processes)");
  command->add_option("--devices", flags->devices,
                      "Vulkan device of each rank (replica by replica, tp ranks each), e.g. 0,1 "
                      "(default: device 0 for every rank)");
  command->add_flag("--json", flags->json,
                    "One JSON object: {\"embeddings\": [[...]], \"dim\", \"pooling\" (sentence-"
                    "transformers' mode name), \"normalized\", \"tokens\" (per text, with [CLS]/[SEP])}");
  add_pipeline_cache_flag(command, flags->pipeline_cache);
  return {command, [flags] { return run_embed(*flags); }};
}

}  // namespace vkinfer::cli
