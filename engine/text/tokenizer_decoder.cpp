// The decoders of tokenizer_decoder.h, each a small class with a static
// make() registered under its "type"; semantics follow tokenizers 0.19's
// decoders/*.rs (checked against HF by tests/data/tokenizer goldens).
#include "engine/text/tokenizer_decoder.h"

#include <nlohmann/json.hpp>
#include <unordered_map>

#include "engine/core/error.h"
#include "engine/text/regex.h"
#include "engine/text/tokenizer_pipeline.h"
#include "engine/text/tokenizer_pretokenizer.h"
#include "engine/text/unicode.h"

namespace vkinfer::tokenizer_detail {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string string_field(const json& spec, const char* field, const char* type, const fs::path& file,
                         const char* fallback = nullptr) {
  if (!spec.contains(field) || spec[field].is_null()) {
    if (fallback != nullptr) return fallback;
    fail(ErrorCode::kBadFile, "{}: decoder {} needs a string field '{}'", file.string(), type, field);
  }
  if (!spec[field].is_string()) fail(ErrorCode::kBadFile, "{}: decoder {} field '{}' is not a string", file.string(), type, field);
  return spec[field].get<std::string>();
}

class ByteLevelDec final : public Decoder {
 public:
  static std::unique_ptr<Decoder> make(const json&, const fs::path&) { return std::make_unique<ByteLevelDec>(); }
  ByteLevelDec() {
    for (int b = 0; b < 256; ++b) char_to_byte_.emplace(byte_to_char()[b], static_cast<unsigned char>(b));
  }
  void decode_chain(std::vector<std::string>& tokens) const override {
    // A token whose every character is a byte stand-in becomes those bytes;
    // any other token (an added token with other characters) its own UTF-8.
    std::string bytes;
    for (const std::string& token : tokens) {
      const size_t mark = bytes.size();
      bool all_mapped = true;
      for (size_t i = 0; i < token.size();) {
        auto it = char_to_byte_.find(unicode::next_code_point(token, i));
        if (it == char_to_byte_.end()) {
          all_mapped = false;
          break;
        }
        bytes.push_back(static_cast<char>(it->second));
      }
      if (!all_mapped) bytes.resize(mark), bytes += token;
    }
    tokens.assign(1, unicode::decode_lossy(bytes));
  }

 private:
  std::unordered_map<char32_t, unsigned char> char_to_byte_;
};

class MetaspaceDec final : public Decoder {
 public:
  static std::unique_ptr<Decoder> make(const json& spec, const fs::path& file) {
    std::string replacement = "\xE2\x96\x81";
    for (const char* field : {"replacement", "str_rep"}) {
      if (spec.contains(field) && spec[field].is_string()) replacement = spec[field].get<std::string>();
    }
    if (unicode::to_code_points(replacement).size() != 1) {
      fail(ErrorCode::kBadFile, "{}: decoder Metaspace replacement '{}' is not one character", file.string(), replacement);
    }
    bool prepend = !spec.contains("add_prefix_space") || !spec["add_prefix_space"].is_boolean() ||
                   spec["add_prefix_space"].get<bool>();
    if (spec.contains("prepend_scheme") && spec["prepend_scheme"].is_string()) {
      prepend = spec["prepend_scheme"].get<std::string>() != "never";
    }
    return std::make_unique<MetaspaceDec>(replacement, prepend);
  }
  MetaspaceDec(std::string replacement, bool prepend) : replacement_(std::move(replacement)), prepend_(prepend) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    // Every replacement character becomes a space, except in the first
    // token, where a prepending Metaspace drops them all.
    for (size_t i = 0; i < tokens.size(); ++i) {
      const std::string& t = tokens[i];
      if (t.find(replacement_) == std::string::npos) continue;
      std::string out;
      out.reserve(t.size());
      for (size_t pos = 0;;) {
        const size_t hit = t.find(replacement_, pos);
        out.append(t, pos, hit == std::string::npos ? std::string::npos : hit - pos);
        if (hit == std::string::npos) break;
        if (!(i == 0 && prepend_)) out.push_back(' ');
        pos = hit + replacement_.size();
      }
      tokens[i] = std::move(out);
    }
  }

 private:
  std::string replacement_;
  bool prepend_;
};

class ByteFallbackDec final : public Decoder {
 public:
  static std::unique_ptr<Decoder> make(const json&, const fs::path&) { return std::make_unique<ByteFallbackDec>(); }
  bool joins_byte_runs() const override { return true; }
  void decode_chain(std::vector<std::string>& tokens) const override {
    // A run of byte tokens becomes one token of its UTF-8 text, or one U+FFFD
    // token per byte when the run is not valid UTF-8.
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string run;
    size_t run_tokens = 0;
    auto flush = [&] {
      if (run_tokens == 0) return;
      if (unicode::is_valid_utf8(run)) {
        out.push_back(run);
      } else {
        for (size_t k = 0; k < run_tokens; ++k) out.emplace_back("\xEF\xBF\xBD");
      }
      run.clear(), run_tokens = 0;
    };
    for (std::string& token : tokens) {
      const int byte = byte_token_value(token);
      if (byte >= 0) {
        run.push_back(static_cast<char>(byte)), ++run_tokens;
        continue;
      }
      flush();
      out.push_back(std::move(token));
    }
    flush();
    tokens = std::move(out);
  }
};

class FuseDec final : public Decoder {
 public:
  static std::unique_ptr<Decoder> make(const json&, const fs::path&) { return std::make_unique<FuseDec>(); }
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const std::string& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
};

class StripDec final : public Decoder {
 public:
  static std::unique_ptr<Decoder> make(const json& spec, const fs::path& file) {
    const std::u32string content = unicode::to_code_points(string_field(spec, "content", "Strip", file));
    if (content.size() != 1) fail(ErrorCode::kBadFile, "{}: decoder Strip content is not one character", file.string());
    auto count = [&](const char* field) {
      if (!spec.contains(field) || !spec[field].is_number_unsigned()) {
        fail(ErrorCode::kBadFile, "{}: decoder Strip needs a non-negative integer '{}'", file.string(), field);
      }
      return spec[field].get<size_t>();
    };
    return std::make_unique<StripDec>(content[0], count("start"), count("stop"));
  }
  StripDec(char32_t content, size_t start, size_t stop) : content_(content), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& token : tokens) {
      const std::u32string cps = unicode::to_code_points(token);
      size_t begin = 0, end = cps.size();
      while (begin < start_ && begin < cps.size() && cps[begin] == content_) ++begin;
      for (size_t k = 0; k < stop_ && end > 0 && cps[end - 1] == content_; ++k) --end;
      token = begin >= end ? std::string() : unicode::to_utf8(std::u32string_view(cps).substr(begin, end - begin));
    }
  }

 private:
  char32_t content_;
  size_t start_, stop_;
};

class ReplaceDec final : public Decoder {
 public:
  static std::unique_ptr<Decoder> make(const json& spec, const fs::path& file) {
    if (!spec.contains("pattern") || !spec["pattern"].is_object()) {
      fail(ErrorCode::kBadFile, "{}: decoder Replace needs an object 'pattern'", file.string());
    }
    const json& p = spec["pattern"];
    std::string pattern;
    if (p.contains("Regex") && p["Regex"].is_string()) {
      pattern = p["Regex"].get<std::string>();
    } else if (p.contains("String") && p["String"].is_string()) {
      pattern = Regex::escape(p["String"].get<std::string>());
    } else {
      fail(ErrorCode::kBadFile, "{}: decoder Replace pattern is neither {{\"Regex\": string}} nor {{\"String\": string}}", file.string());
    }
    return std::make_unique<ReplaceDec>(std::make_unique<Regex>(pattern, file.string() + ": decoder Replace"),
                                        string_field(spec, "content", "Replace", file));
  }
  ReplaceDec(std::unique_ptr<Regex> re, std::string content) : re_(std::move(re)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& token : tokens) token = re_->replace_all(token, content_);
  }

 private:
  std::unique_ptr<Regex> re_;
  std::string content_;
};

// tokenizers' decoders::wordpiece::cleanup (it also turns " do not" into
// " don't", unlike transformers' clean_up_tokenization).
std::string wordpiece_cleanup(std::string text) {
  static const ReplaceRule kRules[] = {
      {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
      {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  return replace_in_order(std::move(text), kRules);
}

class WordPieceDec final : public Decoder {
 public:
  static std::unique_ptr<Decoder> make(const json& spec, const fs::path& file) {
    const bool cleanup = !spec.contains("cleanup") || !spec["cleanup"].is_boolean() || spec["cleanup"].get<bool>();
    return std::make_unique<WordPieceDec>(string_field(spec, "prefix", "WordPiece", file, "##"), cleanup);
  }
  WordPieceDec(std::string prefix, bool cleanup) : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      if (i != 0) {
        // replacen(prefix, "", 1) on a token that starts with the prefix.
        if (t.compare(0, prefix_.size(), prefix_) == 0) {
          t.erase(0, prefix_.size());
        } else {
          t.insert(0, " ");
        }
      }
      if (cleanup_) t = wordpiece_cleanup(std::move(t));
    }
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

class BpeDec final : public Decoder {
 public:
  static std::unique_ptr<Decoder> make(const json& spec, const fs::path& file) {
    return std::make_unique<BpeDec>(string_field(spec, "suffix", "BPEDecoder", file, "</w>"));
  }
  explicit BpeDec(std::string suffix) : suffix_(std::move(suffix)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (suffix_.empty()) continue;
      const std::string_view with = i + 1 == tokens.size() ? "" : " ";
      std::string out;
      const std::string& t = tokens[i];
      size_t pos = 0;
      for (size_t hit; (hit = t.find(suffix_, pos)) != std::string::npos; pos = hit + suffix_.size()) {
        out.append(t, pos, hit - pos);
        out.append(with);
      }
      out.append(t, pos);
      tokens[i] = std::move(out);
    }
  }

 private:
  std::string suffix_;
};

class SequenceDec final : public Decoder {
 public:
  static std::unique_ptr<Decoder> make(const json& spec, const fs::path& file) {
    if (!spec.contains("decoders") || !spec["decoders"].is_array()) {
      fail(ErrorCode::kBadFile, "{}: decoder Sequence needs an array 'decoders'", file.string());
    }
    auto seq = std::make_unique<SequenceDec>();
    for (const json& part : spec["decoders"]) {
      if (part.is_null()) fail(ErrorCode::kBadFile, "{}: decoder Sequence holds a null entry", file.string());
      seq->parts_.push_back(make_decoder(part, file));
    }
    return seq;
  }
  bool joins_byte_runs() const override {
    for (const auto& p : parts_) {
      if (p->joins_byte_runs()) return true;
    }
    return false;
  }
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& p : parts_) p->decode_chain(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> parts_;
};

using Factory = std::unique_ptr<Decoder> (*)(const json&, const fs::path&);
const std::unordered_map<std::string, Factory>& registry() {
  static const std::unordered_map<std::string, Factory> kRegistry = {
      {"ByteLevel", &ByteLevelDec::make}, {"Metaspace", &MetaspaceDec::make}, {"ByteFallback", &ByteFallbackDec::make},
      {"Fuse", &FuseDec::make},           {"Strip", &StripDec::make},         {"Replace", &ReplaceDec::make},
      {"WordPiece", &WordPieceDec::make}, {"BPEDecoder", &BpeDec::make},      {"Sequence", &SequenceDec::make}};
  return kRegistry;
}

}  // namespace

std::unique_ptr<Decoder> make_decoder(const json& spec, const fs::path& file) {
  if (spec.is_null()) return nullptr;
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string()) {
    fail(ErrorCode::kBadFile, "{}: a decoder is not an object with a string 'type'", file.string());
  }
  const std::string type = spec["type"].get<std::string>();
  auto it = registry().find(type);
  if (it == registry().end()) {
    fail(ErrorCode::kUnsupported,
         "{}: decoder '{}' is not supported (supported: ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace, "
         "WordPiece, BPEDecoder, Sequence)", file.string(), type);
  }
  return it->second(spec, file);
}

std::string decode_tokens_with(const Decoder* decoder, const std::vector<std::string_view>& tokens) {
  std::string out;
  if (decoder == nullptr) {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) out += ' ';
      out += tokens[i];
    }
    return out;
  }
  std::vector<std::string> chain(tokens.begin(), tokens.end());
  decoder->decode_chain(chain);
  for (const std::string& t : chain) out += t;
  return out;
}

int byte_token_value(std::string_view token) {
  if (token.size() != 6 || token.substr(0, 3) != "<0x" || token[5] != '>') return -1;
  std::string_view digits = token.substr(3, 2);
  if (digits[0] == '+') digits.remove_prefix(1);  // Rust's from_str_radix takes a sign
  int value = 0;
  for (char c : digits) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return -1;
    value = value * 16 + d;
  }
  return value;
}

}  // namespace vkinfer::tokenizer_detail
