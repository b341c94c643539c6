// SentencePiece-style BPE as Llama's tokenizer.json describes it: spaces
// become "▁" and one "▁" is prepended (by the normalizer, or here for a
// Metaspace pre-tokenizer), the whole segment is one word merged by
// rank, and characters missing from the vocabulary fall back to <0xXX> byte
// tokens. Decoding reverses this and, like `tokenizers`' ByteFallback
// decoder, turns a run of byte tokens into its UTF-8 text, or into one U+FFFD
// per byte token when the run is not valid UTF-8.
#include <algorithm>
#include <array>
#include <cstdio>

#include "engine/core/error.h"
#include "engine/text/tokenizer_bpe_tables.h"
#include "engine/text/unicode.h"

namespace vkinfer::tokenizer_detail {
namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581 "▁"

// Parses "<0xXX>"; returns -1 for any other token.
int byte_token_value(std::string_view token) {
  if (token.size() != 6 || token.substr(0, 3) != "<0x" || token[5] != '>') return -1;
  int value = 0;
  for (char c : token.substr(3, 2)) {
    int digit;
    if (c >= '0' && c <= '9') digit = c - '0';
    else if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    else if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    else return -1;
    value = value * 16 + digit;
  }
  return value;
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

class SentencePieceBpe final : public TokenModel {
 public:
  SentencePieceBpe(BpeSource source, SentencePieceOptions options) : tables_(source), options_(std::move(options)) {
    if (!options_.unk_token.empty()) {
      unk_id_ = tables_.id(options_.unk_token);
      if (unk_id_ < 0) {
        fail(ErrorCode::kBadFile, "{}: unk_token '{}' is not in the vocabulary", source.vocab_source,
             options_.unk_token);
      }
    }
    byte_ids_.fill(-1);
    for (int b = 0; b < 256 && options_.byte_fallback; ++b) {
      char name[8];
      std::snprintf(name, sizeof(name), "<0x%02X>", b);
      byte_ids_[b] = tables_.id(name);
    }
  }

  void encode_segment(std::string_view text, std::vector<int32_t>& ids) const override {
    if (text.empty()) return;  // Prepend leaves an empty string empty
    std::string normalized(text);
    if (options_.metaspace) {
      normalized = (options_.prepend_space ? std::string(kSpaceMarker) : std::string()) +
                   replace_all(text, " ", kSpaceMarker);
    }
    if (options_.ignore_merges) {
      if (const int32_t whole = tables_.id(normalized); whole >= 0) {
        ids.push_back(whole);
        return;
      }
    }
    std::vector<int32_t> symbols;
    bool previous_unk = false;
    std::string ch;
    for (char32_t cp : unicode::to_code_points(normalized)) {
      ch.clear();
      unicode::append_utf8(ch, cp);
      if (const int32_t id = tables_.id(ch); id >= 0) {
        symbols.push_back(id), previous_unk = false;
        continue;
      }
      if (options_.byte_fallback && all_bytes_known(ch)) {
        for (char b : ch) symbols.push_back(byte_ids_[static_cast<unsigned char>(b)]);
        previous_unk = false;
        continue;
      }
      if (unk_id_ < 0) {
        fail(ErrorCode::kInvalidArgument,
             "cannot tokenize U+{:04X}: it is not in the vocabulary and the tokenizer has no unk_token",
             static_cast<uint32_t>(cp));
      }
      if (!(options_.fuse_unk && previous_unk)) symbols.push_back(unk_id_);
      previous_unk = true;
    }
    tables_.merge(symbols);
    tables_.replace_unknown(symbols, unk_id_);
    ids.insert(ids.end(), symbols.begin(), symbols.end());
  }

  std::string decode_tokens(const std::vector<std::string_view>& tokens) const override {
    std::string out, run;
    size_t run_tokens = 0;
    auto flush_run = [&] {
      if (run_tokens == 0) return;
      if (unicode::is_valid_utf8(run)) {
        out += run;
      } else {
        for (size_t i = 0; i < run_tokens; ++i) out += "\xEF\xBF\xBD";
      }
      run.clear(), run_tokens = 0;
    };
    for (std::string_view token : tokens) {
      const int byte = byte_token_value(token);
      if (byte >= 0) {
        run.push_back(static_cast<char>(byte)), ++run_tokens;
        continue;
      }
      flush_run();
      out += replace_all(token, kSpaceMarker, " ");
    }
    flush_run();
    size_t strip = 0;
    while (strip < static_cast<size_t>(std::max(options_.strip_leading_spaces, 0)) && strip < out.size() &&
           out[strip] == ' ') {
      ++strip;
    }
    out.erase(0, strip);
    return out;
  }

  const std::string* id_to_token(int32_t id) const override { return tables_.token(id); }
  int32_t token_to_id(std::string_view token) const override { return tables_.id(token); }
  int32_t size() const override { return tables_.size(); }

  // A run of byte tokens decodes as a whole, so its text is not final until
  // a non-byte token closes it.
  size_t stream_pending_ids(const std::vector<std::string_view>& tokens) const override {
    size_t pending = 0;
    while (pending < tokens.size() && byte_token_value(tokens[tokens.size() - 1 - pending]) >= 0) ++pending;
    return pending;
  }

 private:
  bool all_bytes_known(const std::string& ch) const {
    for (char b : ch) {
      if (byte_ids_[static_cast<unsigned char>(b)] < 0) return false;
    }
    return true;
  }

  BpeTables tables_;
  SentencePieceOptions options_;
  int32_t unk_id_ = -1;
  std::array<int32_t, 256> byte_ids_{};
};

}  // namespace

std::unique_ptr<TokenModel> make_sentencepiece_bpe(BpeSource source, SentencePieceOptions options) {
  return std::make_unique<SentencePieceBpe>(std::move(source), std::move(options));
}

}  // namespace vkinfer::tokenizer_detail
