// `vkinfer classify`: BERT sequence classification of one text (pair), a file
// of texts (TSV or JSON lines) or exact ids, with sequence-length buckets,
// batching and data-parallel replicas. Prints the label and probabilities,
// or one JSON object per input.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.h"
#include "cli/encoder_grid.h"
#include "cli/options.h"
#include "engine/core/error.h"
#include "engine/model/encoder_load.h"
#include "engine/runtime/classifier.h"
#include "engine/text/tokenizer.h"
#include "partition/mpi.h"
#include "partition/ranks.h"
#include "engine/vk/instance.h"

namespace vkinfer::cli {
namespace {

struct ClassifyFlags {
  std::string model;
  std::optional<std::string> text, pair, input, input_ids, token_type_ids;
  std::string dtype = "f32";
  std::string buckets;
  int64_t batch = 1;
  bool truncate = false;
  int dp = 0;
  int tp = 1;
  std::string devices;
  bool json = false;
  bool skip_bad_lines = false;
  std::string pipeline_cache;  // "" = default under the user cache dir; "none" = off
};

// Inputs from a file or below this count finish too fast to need a bar.
constexpr size_t kProgressMinInputs = 64;

struct TextInput {
  std::string text;
  std::optional<std::string> pair;
  size_t line = 0;  // 1-based line in --input; 0 for --text
};

// One line of --input: `{"text": ..., "pair": ...}` when it starts with '{',
// else `text<TAB>pair` (pair optional). Throws a message without location.
TextInput parse_line(const std::string& line) {
  const size_t first = line.find_first_not_of(" \t");
  if (first != std::string::npos && line[first] == '{') {
    nlohmann::json object;
    try {
      object = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error(fmt::format("not valid JSON ({})", e.what()));
    }
    if (!object.is_object() || !object.contains("text") || !object["text"].is_string())
      throw std::runtime_error("a JSON line needs a string field \"text\"");
    for (const auto& [key, value] : object.items())
      if (key != "text" && key != "pair" && key != "label")
        throw std::runtime_error(fmt::format("unknown field \"{}\" (expected \"text\" and \"pair\")", key));
    TextInput input{object["text"].get<std::string>(), std::nullopt, 0};
    if (object.contains("pair") && !object["pair"].is_null()) {
      if (!object["pair"].is_string()) throw std::runtime_error("\"pair\" must be a string or null");
      input.pair = object["pair"].get<std::string>();
    }
    return input;
  }
  const size_t tab = line.find('\t');
  if (tab == std::string::npos) return {line, std::nullopt, 0};
  if (line.find('\t', tab + 1) != std::string::npos)
    throw std::runtime_error("more than two tab-separated fields (expected text<TAB>pair)");
  if (tab == 0) throw std::runtime_error("the text before the tab is empty");
  return {line.substr(0, tab), line.substr(tab + 1), 0};
}

std::vector<TextInput> read_input_file(const std::string& path, bool skip_bad_lines) {
  std::ifstream file(path);
  if (!file) fail(ErrorCode::kBadFile, "--input {}: cannot open the file", path);
  std::vector<TextInput> inputs;
  std::string line;
  size_t number = 0, skipped = 0;
  while (std::getline(file, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank line
    try {
      TextInput input = parse_line(line);
      input.line = number;
      inputs.push_back(std::move(input));
    } catch (const std::runtime_error& e) {
      if (!skip_bad_lines)
        fail(ErrorCode::kBadFile, "--input {}:{}: {}. HINT: fix the line or pass --skip-bad-lines",
             path, number, e.what());
      std::fprintf(stderr, "vkinfer: warning: skipping %s:%zu: %s\n", path.c_str(), number, e.what());
      ++skipped;
    }
  }
  if (inputs.empty())
    fail(ErrorCode::kInvalidArgument, "--input {}: {}", path,
         skipped ? "every line was malformed" : "the file has no inputs (it is empty)");
  return inputs;
}

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}
  void update(size_t done, size_t total) {
    if (!enabled_) return;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(kWidth * done / std::max<size_t>(total, 1));
    std::fprintf(stderr, "\r[%s%s] %zu/%zu", std::string(filled, '#').c_str(),
                 std::string(kWidth - filled, '.').c_str(), done, total);
    if (done == total) std::fputc('\n', stderr);
    std::fflush(stderr);
  }

 private:
  bool enabled_;
};

void print_result(const Classification& r, const BertConfig& config, bool json,
                  const std::string& where) {
  if (json) {
    nlohmann::json out = {{"label", r.label_name}, {"probs", r.probs}, {"logits", r.logits},
                          {"bucket", r.bucket}, {"tokens", r.tokens}};
    fmt::print("{}\n", out.dump());
    return;
  }
  std::string probs;
  for (int64_t i = 0; i < config.num_labels; ++i)
    probs += fmt::format("{}{} {:.4f}", i ? ", " : "", config.id2label[i], r.probs[i]);
  fmt::print("{}{} ({:.4f})  [{}]  {} tokens, bucket {}\n", where, r.label_name, r.probs[r.label],
             probs, r.tokens, r.bucket);
}

// The bundled model's default pair (Psalm 23:1 and the verse that follows).
constexpr const char* kDefaultText = "The LORD is my shepherd; I shall not want.";
constexpr const char* kDefaultPair =
    "He maketh me to lie down in green pastures: he leadeth me beside the still waters.";

// The request's inputs: --input-ids as given, texts through `tokenize`
// (a bad --input line is skipped with a warning under --skip-bad-lines).
// `lines` gets each input's line in --input (0 otherwise).
std::vector<EncoderInput> encoder_inputs(const ClassifyFlags& flags, const std::vector<TextInput>& texts,
                                         std::vector<size_t>& lines,
                                         const std::function<EncoderInput(const TextInput&)>& tokenize) {
  std::vector<EncoderInput> inputs;
  if (flags.input_ids) {
    EncoderInput input{parse_int_list(*flags.input_ids, "--input-ids"), {}};
    if (flags.token_type_ids) input.type_ids = parse_int_list(*flags.token_type_ids, "--token-type-ids");
    if (input.ids.empty()) fail(ErrorCode::kInvalidArgument, "--input-ids is empty");
    if (!input.type_ids.empty() && input.type_ids.size() != input.ids.size())
      fail(ErrorCode::kInvalidArgument, "--token-type-ids has {} ids but --input-ids has {}",
           input.type_ids.size(), input.ids.size());
    inputs.push_back(std::move(input));
    lines.push_back(0);
  }
  for (const TextInput& text : texts) {
    try {
      inputs.push_back(tokenize(text));
      lines.push_back(text.line);
    } catch (const Error& e) {
      if (!text.line) throw;
      if (!flags.skip_bad_lines)
        fail(e.code(), "--input {}:{}: {}", *flags.input, text.line, e.what());
      std::fprintf(stderr, "vkinfer: warning: skipping %s:%zu: %s\n", flags.input->c_str(),
                   text.line, e.what());
    }
  }
  if (inputs.empty()) fail(ErrorCode::kInvalidArgument, "--input {}: no line could be classified", *flags.input);
  return inputs;
}

// dp replicas x tp ranks (threads, or this process's rank under mpirun):
// each rank holds its tensor-parallel slice, replicas share the forwards,
// and global rank 0 prints.
int run_classify_grid(const ClassifyFlags& flags, const ClassifierOptions& options,
                      const std::string& model, const std::vector<TextInput>& texts, bool default_pair) {
  const BertConfig config = ModelConfig::load(model).bert();
  const std::vector<int64_t> buckets =
      options.buckets.empty() ? default_buckets(config.max_position_embeddings)
                              : check_buckets(options.buckets, config.max_position_embeddings);
  std::unique_ptr<Tokenizer> tokenizer;
  if (!texts.empty()) tokenizer = Tokenizer::load(model);
  std::vector<size_t> lines;
  const std::vector<EncoderInput> inputs = encoder_inputs(flags, texts, lines, [&](const TextInput& text) {
    return tokenize_for_encoder(*tokenizer, text.text, text.pair, buckets.back(), options.truncate);
  });
  EncoderGrid grid;
  grid.model = model;
  grid.tp = flags.tp;
  grid.devices = options.devices;
  grid.device_options = options.device_options;
  grid.dtype = options.dtype;
  grid.limits = {options.batch, buckets};
  run_encoder_grid(grid, [&](RankContext& rank, Encoder& encoder, vk::CommandStream& stream) {
    const std::vector<Classification> results =
        classify_on_rank(encoder, stream, rank.dp, rank.coord.replica, inputs, options.batch);
    if (rank.world.rank() != 0) return;
    if (default_pair) fmt::print("A: {}\nB: {}\n", kDefaultText, kDefaultPair);
    for (size_t i = 0; i < results.size(); ++i) {
      const std::string where = flags.input ? fmt::format("line {}: ", lines[i]) : "";
      print_result(results[i], encoder.config(), flags.json, where);
    }
  });
  return 0;
}

int run_classify(ClassifyFlags flags) {
  const bool default_pair = flags.model.empty() && !flags.text && !flags.input && !flags.input_ids;
  if (default_pair) {
    // No model and no input: show the bundled classifier on its default pair.
    flags.text = kDefaultText;
    flags.pair = kDefaultPair;
  }
  if (flags.pair && !flags.text) fail(ErrorCode::kInvalidArgument, "--pair needs --text");
  if (flags.token_type_ids && !flags.input_ids)
    fail(ErrorCode::kInvalidArgument, "--token-type-ids needs --input-ids");
  const int sources = int(flags.text.has_value()) + int(flags.input.has_value()) +
                      int(flags.input_ids.has_value());
  if (sources != 1)
    fail(ErrorCode::kInvalidArgument, "give exactly one of --text, --input or --input-ids");

  ClassifierOptions options;
  if (flags.dtype == "f32") options.dtype = DType::kF32;
  else if (flags.dtype == "f16") options.dtype = DType::kF16;
  else fail(ErrorCode::kInvalidArgument, "--dtype must be f32 or f16 (got '{}')", flags.dtype);
  if (!flags.buckets.empty())
    for (int length : parse_int_list(flags.buckets, "--buckets")) options.buckets.push_back(length);
  if (flags.batch < 1) fail(ErrorCode::kInvalidArgument, "--batch {} must be at least 1", flags.batch);
  options.batch = flags.batch;
  options.truncate = flags.truncate;
  options.device_options = device_options(flags.pipeline_cache);
  // A dp x tp grid (tp > 1, or under mpirun) runs as ranks; tp = 1 in one
  // process keeps the replicas' shared work queue.
  const bool grid = flags.tp > 1 || launched_by_mpi();
  options.devices = encoder_grid_devices(flags.dp, flags.tp, grid ? static_cast<size_t>(flags.tp) : 1,
                                         flags.devices);

  // Read the inputs before the model load so a bad file fails fast.
  std::vector<TextInput> texts;
  if (flags.text) texts.push_back({*flags.text, flags.pair, 0});
  if (flags.input) texts = read_input_file(*flags.input, flags.skip_bad_lines);

  const std::string model = flags.model.empty() ? default_classify_model() : flags.model;
  if (grid) return run_classify_grid(flags, options, model, texts, default_pair);
  auto instance = vk::Instance::create();
  auto classifier = Classifier::load(*instance, model, options);
  if (default_pair) fmt::print("A: {}\nB: {}\n", kDefaultText, kDefaultPair);

  std::vector<size_t> lines;
  const std::vector<EncoderInput> inputs = encoder_inputs(
      flags, texts, lines, [&](const TextInput& text) { return classifier->tokenize(text.text, text.pair); });

  ProgressBar bar(flags.input && inputs.size() >= kProgressMinInputs && isatty(STDERR_FILENO));
  const auto results = classifier->classify(inputs, [&](size_t done, size_t total) { bar.update(done, total); });
  for (size_t i = 0; i < results.size(); ++i) {
    const std::string where = flags.input ? fmt::format("line {}: ", lines[i]) : "";
    print_result(results[i], classifier->config(), flags.json, where);
  }
  return 0;
}

}  // namespace

Command add_classify_command(CLI::App& app) {
  auto flags = std::make_shared<ClassifyFlags>();
  auto* command = app.add_subcommand(
      "classify",
      "Classify texts or text pairs with a BERT sequence-classification model (e.g. paraphrase "
      "detection): prints the label from id2label and the class probabilities. Inputs are padded "
      "to the smallest sequence-length bucket that holds them.");
  command->add_option("--model", flags->model,
                      "Hugging Face BertForSequenceClassification folder (default: the bundled "
                      "assets/bert-kjv-nsp)");
  command->add_option("--text", flags->text, "The text to classify");
  command->add_option("--pair", flags->pair, "A second text for sentence-pair models (needs --text)");
  command->add_option("--input", flags->input,
                      "A file with one input per line: `text<TAB>pair` (TSV, pair optional) or a "
                      "JSON object {\"text\": ..., \"pair\": ...}; the format is detected per line");
  command->add_option("--input-ids", flags->input_ids,
                      "Exact token ids, comma-separated, special tokens included (e.g. 2,15,3)");
  command->add_option("--token-type-ids", flags->token_type_ids,
                      "Token type ids for --input-ids (default all 0)");
  command->add_option("--dtype", flags->dtype, "Weight dtype on the device: f32 or f16 (default f32)");
  command->add_option("--buckets", flags->buckets,
                      "Padded sequence lengths, e.g. 128,512 (default: powers of two from 128 up "
                      "to max_position_embeddings, and that maximum)");
  command->add_option("--batch", flags->batch,
                      "Inputs of similar length run together, up to this many per forward (default 1)");
  command->add_flag("--truncate", flags->truncate,
                    "Cut texts longer than the largest bucket as Hugging Face truncation=True does "
                    "(default: such an input is an error)");
  command->add_option("--dp", flags->dp,
                      "Data-parallel replicas, one thread and logical device each (default 1)");
  command->add_option("--tp", flags->tp,
                      "Tensor-parallel ranks per replica (threads, or mpirun -np dp x tp processes)");
  command->add_option("--devices", flags->devices,
                      "Vulkan device of each rank (replica by replica, tp ranks each), e.g. 0,1 or "
                      "0,0 (default: device 0 for every rank)");
  command->add_flag("--json", flags->json,
                    "One JSON object per input: {\"label\", \"probs\", \"logits\", \"bucket\", "
                    "\"tokens\"} (tokens = length with special tokens)");
  command->add_flag("--skip-bad-lines", flags->skip_bad_lines,
                    "Report malformed --input lines on stderr and go on instead of stopping");
  add_pipeline_cache_flag(command, flags->pipeline_cache);
  return {command, [flags] { return run_classify(*flags); }};
}

}  // namespace vkinfer::cli
