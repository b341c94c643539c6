// The normalizers of tokenizer_normalizer.h, following tokenizers 0.19's
// normalizers/*.rs. Each step sees the previous step's output, and a step's
// character tests use the same Unicode properties as Rust's char methods
// (White_Space for Strip and BertNormalizer, the mark categories for
// StripAccents). Sequence is flattened into the step list at load.
#include "engine/text/tokenizer_normalizer.h"

#include <nlohmann/json.hpp>
#include <unordered_map>

#include "engine/core/error.h"
#include "engine/text/regex.h"
#include "engine/text/unicode.h"

namespace vkinfer::tokenizer_detail {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using StepPtr = std::shared_ptr<const NormalizerStep>;

std::string string_field(const json& spec, const char* field, const fs::path& file) {
  if (!spec.contains(field) || !spec[field].is_string()) {
    fail(ErrorCode::kBadFile, "{}: normalizer '{}' needs a string field '{}'", file.string(),
         spec.value("type", std::string()), field);
  }
  return spec[field].get<std::string>();
}

bool bool_field(const json& spec, const char* field, bool fallback, const fs::path& file) {
  if (!spec.contains(field) || spec[field].is_null()) return fallback;
  if (!spec[field].is_boolean()) {
    fail(ErrorCode::kBadFile, "{}: normalizer '{}' field '{}' is not a boolean", file.string(),
         spec.value("type", std::string()), field);
  }
  return spec[field].get<bool>();
}

template <typename Fn>
class UnicodeForm final : public NormalizerStep {
 public:
  explicit UnicodeForm(Fn fn) : fn_(fn) {}
  void apply(std::string& text) const override {
    // ASCII is invariant under every normalization form.
    bool ascii = true;
    for (char c : text) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
    if (!ascii) text = unicode::to_utf8(fn_(unicode::to_code_points(text)));
  }

 private:
  Fn fn_;
};
template <typename Fn>
StepPtr form(Fn fn) {
  return std::make_shared<UnicodeForm<Fn>>(fn);
}

// Rust's char::to_lowercase per character (no final-sigma context).
class Lowercase final : public NormalizerStep {
 public:
  static StepPtr make(const json&, const fs::path&) { return std::make_shared<Lowercase>(); }
  void apply(std::string& text) const override {
    text = unicode::to_utf8(unicode::to_lower_each(unicode::to_code_points(text)));
  }
};

class StripAccents final : public NormalizerStep {
 public:
  static StepPtr make(const json&, const fs::path&) { return std::make_shared<StripAccents>(); }
  void apply(std::string& text) const override {
    std::u32string kept;
    for (char32_t cp : unicode::to_code_points(text)) {
      if (!unicode::is_mark(cp)) kept.push_back(cp);
    }
    text = unicode::to_utf8(kept);
  }
};

class Strip final : public NormalizerStep {
 public:
  static StepPtr make(const json& spec, const fs::path& file) {
    // tokenizers' serde defaults: both sides.
    return std::make_shared<Strip>(bool_field(spec, "strip_left", true, file), bool_field(spec, "strip_right", true, file));
  }
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void apply(std::string& text) const override {
    const std::u32string cps = unicode::to_code_points(text);
    size_t begin = 0, end = cps.size();
    while (left_ && begin < end && unicode::is_white_space(cps[begin])) ++begin;
    while (right_ && end > begin && unicode::is_white_space(cps[end - 1])) --end;
    text = unicode::to_utf8(std::u32string_view(cps).substr(begin, end - begin));
  }

 private:
  bool left_, right_;
};

class Replace final : public NormalizerStep {
 public:
  static StepPtr make(const json& spec, const fs::path& file) {
    if (!spec.contains("pattern") || !spec["pattern"].is_object()) {
      fail(ErrorCode::kBadFile, "{}: normalizer Replace needs an object 'pattern'", file.string());
    }
    const json& p = spec["pattern"];
    std::string pattern;
    if (p.contains("Regex") && p["Regex"].is_string()) {
      pattern = p["Regex"].get<std::string>();
    } else {
      // tokenizers turns a String pattern into the regex of its escaped text.
      pattern = Regex::escape(string_field(p, "String", file));
      if (pattern.empty()) fail(ErrorCode::kBadFile, "{}: normalizer Replace has an empty pattern", file.string());
    }
    std::string content = string_field(spec, "content", file);
    unicode::to_code_points(content);  // must be UTF-8
    return std::make_shared<Replace>(std::make_unique<Regex>(pattern, file.string() + ": normalizer Replace"),
                                     std::move(content));
  }
  Replace(std::unique_ptr<Regex> re, std::string content) : re_(std::move(re)), content_(std::move(content)) {}
  void apply(std::string& text) const override { text = re_->replace_all(text, content_); }

 private:
  std::unique_ptr<Regex> re_;
  std::string content_;
};

class Prepend final : public NormalizerStep {
 public:
  static StepPtr make(const json& spec, const fs::path& file) { return std::make_shared<Prepend>(string_field(spec, "prepend", file)); }
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  void apply(std::string& text) const override {
    if (!text.empty()) text.insert(0, prefix_);  // an empty piece stays empty
  }

 private:
  std::string prefix_;
};

// tokenizers' BertNormalizer: clean text, pad CJK ideographs with spaces,
// strip accents (NFD, drop Mn; defaults to `lowercase`), lowercase. Its
// character classes differ from the slow BertTokenizer's in places (Rust's
// White_Space, CJK Extension E starting at U+2B920), and these follow Rust.
class BertNormalizer final : public NormalizerStep {
 public:
  static StepPtr make(const json& spec, const fs::path& file) {
    const bool lowercase = bool_field(spec, "lowercase", true, file);
    return std::make_shared<BertNormalizer>(bool_field(spec, "clean_text", true, file),
                                            bool_field(spec, "handle_chinese_chars", true, file),
                                            bool_field(spec, "strip_accents", lowercase, file), lowercase);
  }
  BertNormalizer(bool clean, bool chinese, bool strip, bool lower)
      : clean_(clean), chinese_(chinese), strip_(strip), lower_(lower) {}
  void apply(std::string& text) const override {
    std::u32string cps;
    for (char32_t cp : unicode::to_code_points(text)) {
      if (clean_) {
        const bool tab_nl = cp == U'\t' || cp == U'\n' || cp == U'\r';
        if (cp == 0 || cp == 0xFFFD || (!tab_nl && unicode::is_control_category(cp))) continue;
        if (tab_nl || unicode::is_white_space(cp)) cp = U' ';
      }
      if (chinese_ && is_chinese_char(cp)) {
        cps += U' ', cps += cp, cps += U' ';
      } else {
        cps += cp;
      }
    }
    if (strip_) {
      std::u32string kept;
      for (char32_t cp : unicode::nfd(cps)) {
        if (!unicode::is_nonspacing_mark(cp)) kept.push_back(cp);
      }
      cps = std::move(kept);
    }
    if (lower_) cps = unicode::to_lower_each(cps);
    text = unicode::to_utf8(cps);
  }

 private:
  static bool is_chinese_char(char32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
  }
  bool clean_, chinese_, strip_, lower_;
};

using Factory = StepPtr (*)(const json&, const fs::path&);
const std::unordered_map<std::string, Factory>& registry() {
  static const std::unordered_map<std::string, Factory> kRegistry = {
      {"NFC", [](const json&, const fs::path&) { return form(unicode::nfc); }},
      {"NFD", [](const json&, const fs::path&) { return form(unicode::nfd); }},
      {"NFKC", [](const json&, const fs::path&) { return form(unicode::nfkc); }},
      {"NFKD", [](const json&, const fs::path&) { return form(unicode::nfkd); }},
      {"Lowercase", &Lowercase::make},
      {"StripAccents", &StripAccents::make},
      {"Strip", &Strip::make},
      {"Replace", &Replace::make},
      {"Prepend", &Prepend::make},
      {"BertNormalizer", &BertNormalizer::make}};
  return kRegistry;
}

}  // namespace

Normalizer Normalizer::from_json(const json& spec, const fs::path& file) {
  Normalizer n;
  if (!spec.is_null()) n.add(spec, file);
  return n;
}

void Normalizer::add(const json& spec, const fs::path& file) {
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string()) {
    fail(ErrorCode::kBadFile, "{}: a normalizer is not an object with a string 'type'", file.string());
  }
  const std::string type = spec["type"].get<std::string>();
  if (type == "Sequence") {
    if (!spec.contains("normalizers") || !spec["normalizers"].is_array()) {
      fail(ErrorCode::kBadFile, "{}: normalizer Sequence needs an array 'normalizers'", file.string());
    }
    for (const json& part : spec["normalizers"]) add(part, file);
    return;
  }
  auto it = registry().find(type);
  if (it == registry().end()) {
    fail(ErrorCode::kUnsupported,
         "{}: normalizer '{}' is not supported (supported: NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, "
         "Replace, Prepend, BertNormalizer, Sequence)", file.string(), type);
  }
  steps_.push_back(it->second(spec, file));
}

std::string Normalizer::apply(std::string_view text) const {
  std::string out(text);
  for (const auto& step : steps_) step->apply(out);
  return out;
}

}  // namespace vkinfer::tokenizer_detail
