// Regex: see regex.h. Oniguruma is initialised once for UTF-8; a compiled
// regex is only read by searches, which Oniguruma allows from several
// threads, each search with its own region and match parameters.
#include "engine/text/regex.h"

#include <oniguruma.h>

#include <mutex>

#include "engine/core/error.h"

namespace vkinfer::tokenizer_detail {
namespace {

// Oniguruma's own default retry limit per match attempt (which is what
// `tokenizers` runs under), and a budget for one whole search across start
// positions so that a pattern failing slowly at every position is bounded
// too. Real pre-tokenizer patterns use a few retries per character.
constexpr unsigned long kRetryLimitInMatch = 10'000'000;
constexpr unsigned long kRetryLimitInSearch = 50'000'000;

std::string onig_message(int code, OnigErrorInfo* info) {
  OnigUChar buffer[ONIG_MAX_ERROR_MESSAGE_LEN];
  if (info != nullptr) {
    onig_error_code_to_str(buffer, code, info);
  } else {
    onig_error_code_to_str(buffer, code);
  }
  return reinterpret_cast<const char*>(buffer);
}

void initialise_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    OnigEncoding encodings[] = {ONIG_ENCODING_UTF8};
    onig_initialize(encodings, 1);
  });
}

}  // namespace

struct Regex::Impl {
  OnigRegex regex = nullptr;
};

Regex::Regex(std::string pattern, std::string where)
    : pattern_(std::move(pattern)), where_(std::move(where)), impl_(std::make_unique<Impl>()) {
  initialise_once();
  OnigErrorInfo info{};
  const auto* begin = reinterpret_cast<const OnigUChar*>(pattern_.data());
  const int rc = onig_new(&impl_->regex, begin, begin + pattern_.size(), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8,
                          ONIG_SYNTAX_DEFAULT, &info);
  if (rc != ONIG_NORMAL) {
    impl_->regex = nullptr;
    fail(ErrorCode::kBadFile, "{}: regex '{}' does not compile: {}", where_, pattern_, onig_message(rc, &info));
  }
}

Regex::~Regex() {
  if (impl_ && impl_->regex != nullptr) onig_free(impl_->regex);
}

std::vector<std::pair<size_t, size_t>> Regex::find_all(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> out;
  OnigRegion* region = onig_region_new();
  OnigMatchParam* param = onig_new_match_param();
  onig_initialize_match_param(param);
  onig_set_retry_limit_in_match_of_match_param(param, kRetryLimitInMatch);
  onig_set_retry_limit_in_search_of_match_param(param, kRetryLimitInSearch);
  struct Cleanup {
    OnigRegion* region;
    OnigMatchParam* param;
    ~Cleanup() {
      onig_region_free(region, 1);
      onig_free_match_param(param);
    }
  } cleanup{region, param};

  const auto* str = reinterpret_cast<const OnigUChar*>(text.data());
  const OnigUChar* end = str + text.size();
  size_t from = 0;
  bool have_last = false;
  size_t last_match_end = 0;
  while (from <= text.size()) {
    const int rc = onig_search_with_param(impl_->regex, str, end, str + from, end, region, ONIG_OPTION_NONE, param);
    if (rc == ONIG_MISMATCH) break;
    if (rc < 0) {
      fail(ErrorCode::kInvalidArgument,
           "{}: regex '{}' gave up on this input ({}; {} bytes): the pattern backtracks too much. HINT: "
           "simplify the pattern or split the input",
           where_, pattern_, onig_message(rc, nullptr), text.size());
    }
    const auto s = static_cast<size_t>(region->beg[0]), e = static_cast<size_t>(region->end[0]);
    if (s == e && have_last && last_match_end == e) {
      // The onig crate's find_iter: no empty match right where the last one
      // ended; step over one character and search again.
      if (from >= text.size()) break;
      size_t step = 1;
      while (from + step < text.size() && (static_cast<unsigned char>(text[from + step]) & 0xC0) == 0x80) ++step;
      from += step;
      continue;
    }
    out.emplace_back(s, e);
    have_last = true;
    last_match_end = e;
    from = e;
    if (s == e && from >= text.size()) break;
  }
  return out;
}

std::string Regex::replace_all(std::string_view text, std::string_view content) const {
  std::string out;
  out.reserve(text.size());
  size_t prev = 0;
  for (const auto& [s, e] : find_all(text)) {
    out.append(text.substr(prev, s - prev));
    out.append(content);
    prev = e;
  }
  out.append(text.substr(prev));
  return out;
}

std::string Regex::escape(std::string_view literal) {
  std::string out;
  out.reserve(literal.size() * 2);
  for (char c : literal) {
    // regex-syntax's is_meta_character set; whitespace stays literal.
    if (std::string_view("\\.+*?()|[]{}^$#&-~").find(c) != std::string_view::npos) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace vkinfer::tokenizer_detail
