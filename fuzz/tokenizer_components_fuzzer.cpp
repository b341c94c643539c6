// libFuzzer target: the tokenizer.json pipeline components on their own.
// One input is "normalizer JSON" NUL "pre_tokenizer JSON" NUL "decoder JSON"
// NUL text; each JSON replaces that field of a fixed small byte-level BPE
// tokenizer.json (every byte symbol, a few merges, added tokens with
// lstrip/rstrip/single_word), so mutations go into Split regexes, Digits,
// Metaspace, Replace patterns, BertNormalizer flags and decoder chains rather
// than into the vocabulary. A part that is not JSON leaves the field null.
// The folder then goes through fuzz/tokenizer_harness.h's checks.
#include <nlohmann/json.hpp>
#include <string_view>

#include "engine/text/tokenizer_pretokenizer.h"
#include "fuzz/tokenizer_harness.h"

namespace {

using nlohmann::json;

const json& base_tokenizer() {
  static const json base = [] {
    json vocab = json::object();
    int32_t next = 0;
    for (int b = 0; b < 256; ++b) vocab[vkinfer::tokenizer_detail::byte_to_utf8()[b]] = next++;
    json merges = json::array();
    for (const char* m : {"h e", "l l", "he ll", "hell o", "\xC4\xA0 t", "\xC4\xA0t h", "\xC4\xA0th e", "1 2"}) {
      const std::string s = m;
      const size_t space = s.find(' ');
      const std::string joined = s.substr(0, space) + s.substr(space + 1);
      if (!vocab.contains(joined)) vocab[joined] = next++;
      merges.push_back(s);
    }
    vocab["<unk>"] = next++;
    json added = json::array();
    auto add = [&](const char* content, bool special, bool lstrip, bool rstrip, bool single_word, bool normalized) {
      added.push_back({{"id", next++}, {"content", content}, {"special", special}, {"lstrip", lstrip},
                       {"rstrip", rstrip}, {"single_word", single_word}, {"normalized", normalized}});
    };
    add("<s>", true, false, false, false, false);
    add("magic", false, true, true, false, true);
    add("word", false, false, false, true, false);
    return json{{"version", "1.0"},
                {"added_tokens", added},
                {"normalizer", nullptr},
                {"pre_tokenizer", nullptr},
                {"post_processor", {{"type", "TemplateProcessing"},
                                    {"single", {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
                                    {"pair", {{{"Sequence", {{"id", "A"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
                                    {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {next - 3}}, {"tokens", {"<s>"}}}}}}}},
                {"decoder", nullptr},
                {"model", {{"type", "BPE"}, {"unk_token", "<unk>"}, {"byte_fallback", false}, {"fuse_unk", true},
                           {"ignore_merges", true}, {"vocab", vocab}, {"merges", merges}}}};
  }();
  return base;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  json spec = base_tokenizer();
  size_t pos = 0;
  for (const char* field : {"normalizer", "pre_tokenizer", "decoder"}) {
    const size_t nul = input.find('\0', pos);
    const std::string_view part = input.substr(pos, nul == std::string_view::npos ? std::string_view::npos : nul - pos);
    json value = json::parse(part, nullptr, /*allow_exceptions=*/false);
    if (!value.is_discarded()) spec[field] = std::move(value);
    if (nul == std::string_view::npos) {
      pos = input.size();
      break;
    }
    pos = nul + 1;
  }
  const std::string text(input.substr(std::min(pos, input.size())));
  vkinfer::fuzz::run_tokenizer_folder({{"tokenizer.json", spec.dump()}}, pos < input.size() ? &text : nullptr);
  return 0;
}
