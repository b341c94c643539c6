// `vkinfer tokenize`: the ids and token strings a model's tokenizer gives a
// text (or text pair), with special tokens, exactly as Hugging Face does.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.h"
#include "engine/core/error.h"
#include "engine/runtime/classifier.h"
#include "engine/runtime/model_files.h"
#include "engine/text/tokenizer.h"

namespace vkinfer::cli {
namespace {

struct TokenizeFlags {
  std::string model;
  std::string text;
  std::optional<std::string> pair;
  bool json = false;
  bool no_special = false;
  int max_length = 0;
};

}  // namespace

Command add_tokenize_command(CLI::App& app) {
  auto flags = std::make_shared<TokenizeFlags>();
  auto* command = app.add_subcommand(
      "tokenize", "Show the token ids and token strings a model's tokenizer gives a text (and an "
                  "optional second text), with special tokens such as [CLS]/[SEP], as Hugging Face "
                  "tokenizers do");
  command->add_option("--model", flags->model, "Hugging Face model folder with tokenizer files")
      ->required();
  command->add_option("--text", flags->text, "The text to tokenize")->required();
  command->add_option("--pair", flags->pair, "A second text (BERT sentence pair: token type ids 1)");
  command->add_flag("--json", flags->json,
                    "Print one JSON object {\"ids\", \"tokens\", \"type_ids\"} instead of text");
  command->add_flag("--no-special", flags->no_special, "Do not add special tokens");
  command->add_option("--max-length", flags->max_length,
                      "Truncate to this many tokens, special tokens included, as HF "
                      "truncation=True (0 = no truncation)")
      ->check(CLI::NonNegativeNumber);
  return {command, [flags] {
            const auto tokenizer = load_model_tokenizer(flags->model);
            const Encoding encoding =
                flags->no_special
                    ? (flags->pair ? tokenizer->encode_pair(flags->text, *flags->pair, false, flags->max_length)
                                   : tokenizer->encode(flags->text, false))
                    : encode_truncated(*tokenizer, flags->text, flags->pair, flags->max_length);
            if (flags->json) {
              nlohmann::json out = {{"ids", encoding.ids}, {"tokens", encoding.tokens},
                                    {"type_ids", encoding.type_ids}};
              fmt::print("{}\n", out.dump());
            } else {
              fmt::print("ids:      {}\n", fmt::join(encoding.ids, " "));
              fmt::print("tokens:   {}\n", fmt::join(encoding.tokens, " "));
              fmt::print("type ids: {}\n", fmt::join(encoding.type_ids, " "));
            }
            return 0;
          }};
}

}  // namespace vkinfer::cli
