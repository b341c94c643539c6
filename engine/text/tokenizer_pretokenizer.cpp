// The pre-tokenizers of tokenizer_pretokenizer.h. Each class reads its own
// JSON fields in a static make() registered under its "type"; a piece is cut
// by computing tokenizers' (range, is_match) runs for it and applying the
// delimiter behaviour, exactly as NormalizedString::split does.
#include "engine/text/tokenizer_pretokenizer.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "engine/core/error.h"
#include "engine/text/regex.h"
#include "engine/text/unicode.h"

namespace vkinfer::tokenizer_detail {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Rust's char::is_ascii_punctuation() || unicode_categories' is_punctuation().
bool is_punctuation_char(char32_t cp) {
  if (cp < 0x80) return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
  return unicode::is_punctuation(cp);
}

// tokenizers' `impl Pattern for Fn(char) -> bool`: every matching character
// is a run of its own, the text between them a non-matching run.
template <typename Pred>
std::vector<MatchRun> char_runs(std::string_view text, Pred pred) {
  std::vector<MatchRun> runs;
  size_t last = 0;
  for (size_t i = 0; i < text.size();) {
    const size_t begin = i;
    const char32_t cp = unicode::next_code_point(text, i);
    if (!pred(cp)) continue;
    if (last < begin) runs.push_back({last, begin, false});
    runs.push_back({begin, i, true});
    last = i;
  }
  if (last < text.size()) runs.push_back({last, text.size(), false});
  return runs;
}

std::vector<MatchRun> regex_runs(const Regex& re, std::string_view text) {
  std::vector<MatchRun> runs;
  size_t prev = 0;
  for (const auto& [s, e] : re.find_all(text)) {
    if (prev != s) runs.push_back({prev, s, false});
    runs.push_back({s, e, true});
    prev = e;
  }
  if (prev != text.size()) runs.push_back({prev, text.size(), false});
  return runs;
}

void invert(std::vector<MatchRun>& runs) {
  for (MatchRun& r : runs) r.is_match = !r.is_match;
}

// Cuts every piece with `cut(text)` -> kept [begin, end) ranges.
template <typename Cut>
void split_pieces(std::vector<PreToken>& pieces, Cut&& cut) {
  std::vector<PreToken> out;
  out.reserve(pieces.size());
  for (PreToken& piece : pieces) {
    for (const auto& [b, e] : cut(std::string_view(piece.text))) {
      if (e > b) out.push_back({piece.text.substr(b, e - b), piece.at_start && b == 0});
    }
  }
  pieces = std::move(out);
}

SplitBehavior parse_behavior(const json& spec, const char* type, const fs::path& file, SplitBehavior fallback) {
  if (!spec.contains("behavior")) return fallback;
  static const std::unordered_map<std::string, SplitBehavior> kNames = {
      {"Removed", SplitBehavior::kRemoved},
      {"Isolated", SplitBehavior::kIsolated},
      {"MergedWithPrevious", SplitBehavior::kMergedWithPrevious},
      {"MergedWithNext", SplitBehavior::kMergedWithNext},
      {"Contiguous", SplitBehavior::kContiguous}};
  const json& b = spec["behavior"];
  auto it = b.is_string() ? kNames.find(b.get<std::string>()) : kNames.end();
  if (it == kNames.end()) {
    fail(ErrorCode::kBadFile, "{}: pre_tokenizer {} has behavior {} (expected Removed, Isolated, MergedWithPrevious, "
         "MergedWithNext or Contiguous)", file.string(), type, b.dump());
  }
  return it->second;
}

bool bool_field(const json& spec, const char* field, bool fallback, const char* type, const fs::path& file) {
  if (!spec.contains(field) || spec[field].is_null()) return fallback;
  if (!spec[field].is_boolean()) fail(ErrorCode::kBadFile, "{}: pre_tokenizer {} field '{}' is not a boolean", file.string(), type, field);
  return spec[field].get<bool>();
}

class SplitPre final : public PreTokenizer {
 public:
  static std::unique_ptr<PreTokenizer> make(const json& spec, const fs::path& file) {
    if (!spec.contains("pattern") || !spec["pattern"].is_object()) {
      fail(ErrorCode::kBadFile, "{}: pre_tokenizer Split needs an object 'pattern' ({{\"Regex\": ...}} or {{\"String\": ...}})", file.string());
    }
    const json& p = spec["pattern"];
    std::string pattern;
    if (p.contains("Regex") && p["Regex"].is_string()) {
      pattern = p["Regex"].get<std::string>();
    } else if (p.contains("String") && p["String"].is_string()) {
      pattern = Regex::escape(p["String"].get<std::string>());  // as tokenizers does
    } else {
      fail(ErrorCode::kBadFile, "{}: pre_tokenizer Split pattern is neither {{\"Regex\": string}} nor {{\"String\": string}}", file.string());
    }
    if (!spec.contains("behavior")) fail(ErrorCode::kBadFile, "{}: pre_tokenizer Split needs a 'behavior'", file.string());
    return std::make_unique<SplitPre>(std::make_unique<Regex>(pattern, file.string() + ": pre_tokenizer Split"),
                                      parse_behavior(spec, "Split", file, SplitBehavior::kIsolated),
                                      bool_field(spec, "invert", false, "Split", file));
  }
  SplitPre(std::unique_ptr<Regex> re, SplitBehavior behavior, bool invert)
      : re_(std::move(re)), behavior_(behavior), invert_(invert) {}
  void split(std::vector<PreToken>& pieces) const override {
    split_pieces(pieces, [&](std::string_view text) {
      std::vector<MatchRun> runs = regex_runs(*re_, text);
      if (invert_) invert(runs);
      return apply_behavior(runs, behavior_);
    });
  }

 private:
  std::unique_ptr<Regex> re_;
  SplitBehavior behavior_;
  bool invert_;
};

class DigitsPre final : public PreTokenizer {
 public:
  static std::unique_ptr<PreTokenizer> make(const json& spec, const fs::path& file) {
    return std::make_unique<DigitsPre>(bool_field(spec, "individual_digits", false, "Digits", file));
  }
  explicit DigitsPre(bool individual) : individual_(individual) {}
  void split(std::vector<PreToken>& pieces) const override {
    // Rust's char::is_numeric is the N* categories.
    split_pieces(pieces, [&](std::string_view text) {
      return apply_behavior(char_runs(text, unicode::is_number),
                            individual_ ? SplitBehavior::kIsolated : SplitBehavior::kContiguous);
    });
  }

 private:
  bool individual_;
};

class ByteLevelPre final : public PreTokenizer {
 public:
  static std::unique_ptr<PreTokenizer> make(const json& spec, const fs::path& file) {
    return std::make_unique<ByteLevelPre>(bool_field(spec, "add_prefix_space", true, "ByteLevel", file),
                                          bool_field(spec, "use_regex", true, "ByteLevel", file));
  }
  ByteLevelPre(bool add_prefix_space, bool use_regex) : add_prefix_space_(add_prefix_space), use_regex_(use_regex) {}
  void split(std::vector<PreToken>& pieces) const override {
    for (PreToken& piece : pieces) {
      if (add_prefix_space_ && (piece.text.empty() || piece.text[0] != ' ')) piece.text.insert(0, " ");
    }
    if (use_regex_) {
      split_pieces(pieces, [](std::string_view text) {
        const std::u32string cps = unicode::to_code_points(text);
        // gpt2_split works on code points; convert its ranges to bytes.
        std::vector<size_t> byte_at(cps.size() + 1, 0);
        for (size_t k = 0; k < cps.size(); ++k) {
          const char32_t c = cps[k];
          byte_at[k + 1] = byte_at[k] + (c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4);
        }
        std::vector<std::pair<size_t, size_t>> ranges;
        for (const auto& [b, e] : gpt2_split(cps)) ranges.emplace_back(byte_at[b], byte_at[e]);
        return ranges;
      });
    }
    const auto& table = byte_to_utf8();
    for (PreToken& piece : pieces) {
      std::string mapped;
      mapped.reserve(piece.text.size() * 2);
      for (char b : piece.text) mapped += table[static_cast<unsigned char>(b)];
      piece.text = std::move(mapped);
    }
  }

 private:
  bool add_prefix_space_, use_regex_;
};

class MetaspacePre final : public PreTokenizer {
 public:
  enum class Prepend { kAlways, kFirst, kNever };
  static std::unique_ptr<PreTokenizer> make(const json& spec, const fs::path& file) {
    std::string replacement = "\xE2\x96\x81";
    for (const char* field : {"replacement", "str_rep"}) {
      if (spec.contains(field) && spec[field].is_string()) replacement = spec[field].get<std::string>();
    }
    if (unicode::to_code_points(replacement).size() != 1) {
      fail(ErrorCode::kBadFile, "{}: pre_tokenizer Metaspace replacement '{}' is not one character", file.string(), replacement);
    }
    Prepend scheme = bool_field(spec, "add_prefix_space", true, "Metaspace", file) ? Prepend::kAlways : Prepend::kNever;
    if (spec.contains("prepend_scheme") && !spec["prepend_scheme"].is_null()) {
      const std::string s = spec["prepend_scheme"].is_string() ? spec["prepend_scheme"].get<std::string>() : "";
      if (s == "always") scheme = Prepend::kAlways;
      else if (s == "first") scheme = Prepend::kFirst;
      else if (s == "never") scheme = Prepend::kNever;
      else fail(ErrorCode::kBadFile, "{}: pre_tokenizer Metaspace prepend_scheme {} is not always/first/never", file.string(), spec["prepend_scheme"].dump());
    }
    return std::make_unique<MetaspacePre>(replacement, scheme, bool_field(spec, "split", true, "Metaspace", file));
  }
  MetaspacePre(std::string replacement, Prepend scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}
  void split(std::vector<PreToken>& pieces) const override {
    for (PreToken& piece : pieces) {
      std::string out;
      out.reserve(piece.text.size() + 8);
      for (char c : piece.text) {
        if (c == ' ') out += replacement_; else out.push_back(c);
      }
      const bool starts = out.compare(0, replacement_.size(), replacement_) == 0;
      if (!starts && (scheme_ == Prepend::kAlways || (scheme_ == Prepend::kFirst && piece.at_start))) {
        out.insert(0, replacement_);
      }
      piece.text = std::move(out);
    }
    if (!split_) return;
    const char32_t rep = unicode::to_code_points(replacement_).front();
    split_pieces(pieces, [&](std::string_view text) {
      return apply_behavior(char_runs(text, [rep](char32_t c) { return c == rep; }), SplitBehavior::kMergedWithNext);
    });
  }

 private:
  std::string replacement_;
  Prepend scheme_;
  bool split_;
};

class WhitespacePre final : public PreTokenizer {
 public:
  static std::unique_ptr<PreTokenizer> make(const json&, const fs::path& file) {
    return std::make_unique<WhitespacePre>(file);
  }
  explicit WhitespacePre(const fs::path& file) : re_(R"(\w+|[^\w\s]+)", file.string() + ": pre_tokenizer Whitespace") {}
  void split(std::vector<PreToken>& pieces) const override {
    // tokenizers: split(Invert(re), Removed), i.e. keep what the regex matches.
    split_pieces(pieces, [&](std::string_view text) {
      std::vector<MatchRun> runs = regex_runs(re_, text);
      invert(runs);
      return apply_behavior(runs, SplitBehavior::kRemoved);
    });
  }

 private:
  Regex re_;
};

class WhitespaceSplitPre final : public PreTokenizer {
 public:
  static std::unique_ptr<PreTokenizer> make(const json&, const fs::path&) { return std::make_unique<WhitespaceSplitPre>(); }
  void split(std::vector<PreToken>& pieces) const override {
    split_pieces(pieces, [](std::string_view text) {
      return apply_behavior(char_runs(text, unicode::is_white_space), SplitBehavior::kRemoved);
    });
  }
};

class CharDelimiterSplitPre final : public PreTokenizer {
 public:
  static std::unique_ptr<PreTokenizer> make(const json& spec, const fs::path& file) {
    const std::u32string d = spec.contains("delimiter") && spec["delimiter"].is_string()
                                 ? unicode::to_code_points(spec["delimiter"].get<std::string>()) : std::u32string();
    if (d.size() != 1) fail(ErrorCode::kBadFile, "{}: pre_tokenizer CharDelimiterSplit needs a one-character 'delimiter'", file.string());
    return std::make_unique<CharDelimiterSplitPre>(d[0]);
  }
  explicit CharDelimiterSplitPre(char32_t delimiter) : delimiter_(delimiter) {}
  void split(std::vector<PreToken>& pieces) const override {
    split_pieces(pieces, [&](std::string_view text) {
      return apply_behavior(char_runs(text, [&](char32_t c) { return c == delimiter_; }), SplitBehavior::kRemoved);
    });
  }

 private:
  char32_t delimiter_;
};

class PunctuationPre final : public PreTokenizer {
 public:
  static std::unique_ptr<PreTokenizer> make(const json& spec, const fs::path& file) {
    return std::make_unique<PunctuationPre>(parse_behavior(spec, "Punctuation", file, SplitBehavior::kIsolated));
  }
  explicit PunctuationPre(SplitBehavior behavior) : behavior_(behavior) {}
  void split(std::vector<PreToken>& pieces) const override {
    split_pieces(pieces, [&](std::string_view text) { return apply_behavior(char_runs(text, is_punctuation_char), behavior_); });
  }

 private:
  SplitBehavior behavior_;
};

class BertPre final : public PreTokenizer {
 public:
  static std::unique_ptr<PreTokenizer> make(const json&, const fs::path&) { return std::make_unique<BertPre>(); }
  void split(std::vector<PreToken>& pieces) const override {
    split_pieces(pieces, [](std::string_view text) {
      return apply_behavior(char_runs(text, unicode::is_white_space), SplitBehavior::kRemoved);
    });
    split_pieces(pieces, [](std::string_view text) {
      return apply_behavior(char_runs(text, is_punctuation_char), SplitBehavior::kIsolated);
    });
  }
};

class SequencePre final : public PreTokenizer {
 public:
  static std::unique_ptr<PreTokenizer> make(const json& spec, const fs::path& file) {
    if (!spec.contains("pretokenizers") || !spec["pretokenizers"].is_array()) {
      fail(ErrorCode::kBadFile, "{}: pre_tokenizer Sequence needs an array 'pretokenizers'", file.string());
    }
    auto seq = std::make_unique<SequencePre>();
    for (const json& part : spec["pretokenizers"]) {
      if (part.is_null()) fail(ErrorCode::kBadFile, "{}: pre_tokenizer Sequence holds a null entry", file.string());
      seq->parts_.push_back(make_pre_tokenizer(part, file));
    }
    return seq;
  }
  void split(std::vector<PreToken>& pieces) const override {
    for (const auto& part : parts_) part->split(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

using Factory = std::unique_ptr<PreTokenizer> (*)(const json&, const fs::path&);
const std::unordered_map<std::string, Factory>& registry() {
  static const std::unordered_map<std::string, Factory> kRegistry = {
      {"Split", &SplitPre::make},
      {"Digits", &DigitsPre::make},
      {"ByteLevel", &ByteLevelPre::make},
      {"Metaspace", &MetaspacePre::make},
      {"Whitespace", &WhitespacePre::make},
      {"WhitespaceSplit", &WhitespaceSplitPre::make},
      {"CharDelimiterSplit", &CharDelimiterSplitPre::make},
      {"Punctuation", &PunctuationPre::make},
      {"BertPreTokenizer", &BertPre::make},
      {"Sequence", &SequencePre::make}};
  return kRegistry;
}

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& spec, const fs::path& file) {
  if (spec.is_null()) return nullptr;
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string()) {
    fail(ErrorCode::kBadFile, "{}: a pre_tokenizer is not an object with a string 'type'", file.string());
  }
  const std::string type = spec["type"].get<std::string>();
  auto it = registry().find(type);
  if (it == registry().end()) {
    fail(ErrorCode::kUnsupported,
         "{}: pre_tokenizer '{}' is not supported (supported: Split, Digits, ByteLevel, Metaspace, Whitespace, "
         "WhitespaceSplit, CharDelimiterSplit, Punctuation, BertPreTokenizer, Sequence)", file.string(), type);
  }
  return it->second(spec, file);
}

std::vector<std::pair<size_t, size_t>> apply_behavior(const std::vector<MatchRun>& runs, SplitBehavior behavior) {
  // NormalizedString::split: (range, remove) pairs per behaviour.
  std::vector<std::pair<size_t, size_t>> out;
  out.reserve(runs.size());
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kRemoved:
      for (const MatchRun& r : runs) {
        if (!r.is_match) out.emplace_back(r.begin, r.end);
      }
      return out;
    case SplitBehavior::kIsolated:
      for (const MatchRun& r : runs) out.emplace_back(r.begin, r.end);
      return out;
    case SplitBehavior::kContiguous:
      for (const MatchRun& r : runs) {
        if (r.is_match == previous_match && !out.empty()) {
          out.back().second = r.end;
        } else {
          out.emplace_back(r.begin, r.end);
        }
        previous_match = r.is_match;
      }
      return out;
    case SplitBehavior::kMergedWithPrevious:
      for (const MatchRun& r : runs) {
        if (r.is_match && !previous_match && !out.empty()) {
          out.back().second = r.end;
        } else {
          out.emplace_back(r.begin, r.end);
        }
        previous_match = r.is_match;
      }
      return out;
    case SplitBehavior::kMergedWithNext:
      for (auto it = runs.rbegin(); it != runs.rend(); ++it) {
        if (it->is_match && !previous_match && !out.empty()) {
          out.back().first = it->begin;
        } else {
          out.emplace_back(it->begin, it->end);
        }
        previous_match = it->is_match;
      }
      std::reverse(out.begin(), out.end());
      return out;
  }
  return out;
}

const std::array<char32_t, 256>& byte_to_char() {
  // Printable Latin-1 bytes stand for themselves; the other 68 bytes move to
  // U+0100.. so that no token holds whitespace or control characters.
  static const std::array<char32_t, 256> kTable = [] {
    std::array<char32_t, 256> table{};
    std::array<bool, 256> printable{};
    for (int b = '!'; b <= '~'; ++b) printable[b] = true;
    for (int b = 0xA1; b <= 0xAC; ++b) printable[b] = true;
    for (int b = 0xAE; b <= 0xFF; ++b) printable[b] = true;
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) table[b] = printable[b] ? static_cast<char32_t>(b) : next++;
    return table;
  }();
  return kTable;
}

const std::array<std::string, 256>& byte_to_utf8() {
  static const std::array<std::string, 256> kTable = [] {
    std::array<std::string, 256> table;
    for (int b = 0; b < 256; ++b) unicode::append_utf8(table[b], byte_to_char()[b]);
    return table;
  }();
  return kTable;
}

std::vector<std::pair<size_t, size_t>> gpt2_split(const std::u32string& t) {
  std::vector<std::pair<size_t, size_t>> out;
  const size_t n = t.size();
  auto run = [&](size_t j, auto pred) {
    while (j < n && pred(t[j])) ++j;
    return j;
  };
  size_t i = 0;
  while (i < n) {
    const char32_t c = t[i];
    if (c == U'\'' && i + 1 < n) {
      const char32_t c1 = t[i + 1];
      if (c1 == U's' || c1 == U't' || c1 == U'm' || c1 == U'd') {
        out.emplace_back(i, i + 2), i += 2;
        continue;
      }
      if (i + 2 < n) {
        const char32_t c2 = t[i + 2];
        if ((c1 == U'r' && c2 == U'e') || (c1 == U'v' && c2 == U'e') || (c1 == U'l' && c2 == U'l')) {
          out.emplace_back(i, i + 3), i += 3;
          continue;
        }
      }
    }
    // Alternatives are tried in order at each position, as the regex engine does.
    const bool space_then = c == U' ' && i + 1 < n;
    bool matched = false;
    for (auto pred : {+[](char32_t x) { return unicode::is_letter(x); },
                      +[](char32_t x) { return unicode::is_number(x); }, +[](char32_t x) {
                        return !unicode::is_white_space(x) && !unicode::is_letter(x) && !unicode::is_number(x);
                      }}) {
      if (pred(c) || (space_then && pred(t[i + 1]))) {
        const size_t end = run(pred(c) ? i : i + 1, pred);
        out.emplace_back(i, end), i = end;
        matched = true;
        break;
      }
    }
    if (matched) continue;
    // c is whitespace: \s+(?!\S) backs off one character so that a following
    // word keeps its leading space; a lone space before a word is \s+.
    const size_t end = run(i, [](char32_t x) { return unicode::is_white_space(x); });
    const size_t stop = (end == n || end - i == 1) ? end : end - 1;
    out.emplace_back(i, stop), i = stop;
  }
  return out;
}

}  // namespace vkinfer::tokenizer_detail
