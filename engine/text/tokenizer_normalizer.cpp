// tokenizer_normalizer.h, following tokenizers 0.19's normalizers/*.rs. Each
// step sees the previous step's output, and a step's character tests use the
// same Unicode properties as Rust's char methods (White_Space for Strip, the
// mark categories for StripAccents).
#include "engine/text/tokenizer_normalizer.h"

#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/text/unicode.h"

namespace vkinfer::tokenizer_detail {
namespace {

using nlohmann::json;

std::string string_field(const json& spec, const char* field, const std::filesystem::path& file) {
  if (!spec.contains(field) || !spec[field].is_string()) {
    fail(ErrorCode::kBadFile, "{}: normalizer '{}' needs a string field '{}'", file.string(),
         spec.value("type", std::string()), field);
  }
  return spec[field].get<std::string>();
}

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  for (size_t hit; (hit = text.find(from, pos)) != std::string_view::npos; pos = hit + from.size()) {
    out.append(text.substr(pos, hit - pos));
    out.append(to);
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace

Normalizer Normalizer::from_json(const json& spec, const std::filesystem::path& file) {
  Normalizer n;
  if (!spec.is_null()) n.add(spec, file);
  return n;
}

void Normalizer::add(const json& spec, const std::filesystem::path& file) {
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string()) {
    fail(ErrorCode::kBadFile, "{}: a normalizer is not an object with a string 'type'", file.string());
  }
  const std::string type = spec["type"].get<std::string>();
  if (type == "Sequence") {
    if (!spec.contains("normalizers") || !spec["normalizers"].is_array()) {
      fail(ErrorCode::kBadFile, "{}: normalizer Sequence needs an array 'normalizers'", file.string());
    }
    for (const json& part : spec["normalizers"]) add(part, file);
  } else if (type == "NFC") {
    steps_.emplace_back(Kind::kNfc);
  } else if (type == "NFD") {
    steps_.emplace_back(Kind::kNfd);
  } else if (type == "NFKC") {
    steps_.emplace_back(Kind::kNfkc);
  } else if (type == "NFKD") {
    steps_.emplace_back(Kind::kNfkd);
  } else if (type == "Lowercase") {
    steps_.emplace_back(Kind::kLowercase);
  } else if (type == "StripAccents") {
    steps_.emplace_back(Kind::kStripAccents);
  } else if (type == "Strip") {
    Step step(Kind::kStrip);
    // tokenizers' serde defaults: both sides.
    step.strip_left = spec.value("strip_left", true);
    step.strip_right = spec.value("strip_right", true);
    steps_.push_back(step);
  } else if (type == "Replace") {
    if (!spec.contains("pattern") || !spec["pattern"].is_object()) {
      fail(ErrorCode::kBadFile, "{}: normalizer Replace needs an object 'pattern'", file.string());
    }
    if (spec["pattern"].contains("Regex")) {
      fail(ErrorCode::kUnsupported, "{}: normalizer Replace with a Regex pattern is not supported (only String patterns)",
           file.string());
    }
    Step step(Kind::kReplace);
    step.pattern = string_field(spec["pattern"], "String", file);
    step.content = string_field(spec, "content", file);
    unicode::to_code_points(step.pattern), unicode::to_code_points(step.content);  // must be UTF-8
    if (step.pattern.empty()) fail(ErrorCode::kBadFile, "{}: normalizer Replace has an empty pattern", file.string());
    steps_.push_back(std::move(step));
  } else if (type == "Prepend") {
    Step step(Kind::kPrepend);
    step.content = string_field(spec, "prepend", file);
    steps_.push_back(std::move(step));
  } else {
    fail(ErrorCode::kUnsupported,
         "{}: normalizer '{}' is not supported here (supported: NFC, NFD, NFKC, NFKD, Lowercase, Strip, "
         "StripAccents, Replace, Prepend, Sequence; BertNormalizer only with WordPiece)",
         file.string(), type);
  }
}

std::string Normalizer::apply(std::string_view text) const {
  std::string out(text);
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Kind::kNfc: out = unicode::to_utf8(unicode::nfc(unicode::to_code_points(out))); break;
      case Kind::kNfd: out = unicode::to_utf8(unicode::nfd(unicode::to_code_points(out))); break;
      case Kind::kNfkc: out = unicode::to_utf8(unicode::nfkc(unicode::to_code_points(out))); break;
      case Kind::kNfkd: out = unicode::to_utf8(unicode::nfkd(unicode::to_code_points(out))); break;
      case Kind::kLowercase: out = unicode::to_utf8(unicode::to_lower_each(unicode::to_code_points(out))); break;
      case Kind::kStripAccents: {
        std::u32string kept;
        for (char32_t cp : unicode::to_code_points(out)) {
          if (!unicode::is_mark(cp)) kept.push_back(cp);
        }
        out = unicode::to_utf8(kept);
        break;
      }
      case Kind::kStrip: {
        const std::u32string cps = unicode::to_code_points(out);
        size_t begin = 0, end = cps.size();
        while (step.strip_left && begin < end && unicode::is_white_space(cps[begin])) ++begin;
        while (step.strip_right && end > begin && unicode::is_white_space(cps[end - 1])) --end;
        out = unicode::to_utf8(std::u32string_view(cps).substr(begin, end - begin));
        break;
      }
      case Kind::kReplace: out = replace_all(out, step.pattern, step.content); break;
      case Kind::kPrepend:
        if (!out.empty()) out.insert(0, step.content);  // an empty piece stays empty
        break;
    }
  }
  return out;
}

}  // namespace vkinfer::tokenizer_detail
