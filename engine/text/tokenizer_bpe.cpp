// Byte-level BPE from the classic files (vocab.json + merges.txt, as
// transformers' slow GPT2Tokenizer reads them): the text is split with
// GPT-2's pre-tokenizer regex, each piece's UTF-8 bytes are spelled with the
// printable stand-ins of bytes_to_unicode(), and the ranked merges join them.
// tokenizer.json files go through the component pipeline instead.
#include <array>
#include <mutex>

#include "engine/core/error.h"
#include "engine/text/tokenizer_bpe_tables.h"
#include "engine/text/tokenizer_pretokenizer.h"
#include "engine/text/unicode.h"

namespace vkinfer::tokenizer_detail {
namespace {

class ByteLevelBpe final : public TokenModel {
 public:
  ByteLevelBpe(BpeSource source, ByteLevelOptions options) : tables_(source), options_(std::move(options)) {
    unk_id_ = options_.unk_token.empty() ? -1 : tables_.id(options_.unk_token);
    byte_to_char_ = byte_to_char();
    for (int b = 0; b < 256; ++b) {
      std::string ch;
      unicode::append_utf8(ch, byte_to_char_[b]);
      byte_ids_[b] = tables_.id(ch);
      if (byte_ids_[b] < 0) {
        fail(ErrorCode::kBadFile,
             "{}: byte-level BPE vocabulary lacks the symbol for byte 0x{:02X} ('{}'); this is not a GPT-2 style "
             "byte-level vocabulary",
             source.vocab_source, b, ch);
      }
      char_to_byte_.emplace(byte_to_char_[b], static_cast<unsigned char>(b));
    }
  }

  void encode_segment(std::string_view text, bool /*at_start*/, std::vector<int32_t>& ids) const override {
    std::u32string cps = unicode::to_code_points(text);
    if (options_.add_prefix_space && (cps.empty() || cps.front() != U' ')) cps.insert(cps.begin(), U' ');
    for (const auto& [begin, end] : gpt2_split(cps)) {
      const std::string piece = unicode::to_utf8(std::u32string_view(cps).substr(begin, end - begin));
      encode_piece(piece, ids);
    }
  }

  std::string decode_tokens(const std::vector<std::string_view>& tokens) const override {
    std::string bytes;
    for (std::string_view token : tokens) {
      // Added tokens may hold characters outside the byte map; `tokenizers`
      // passes those through as UTF-8.
      for (char32_t cp : unicode::to_code_points(token)) {
        auto it = char_to_byte_.find(cp);
        if (it != char_to_byte_.end()) {
          bytes.push_back(static_cast<char>(it->second));
        } else {
          unicode::append_utf8(bytes, cp);
        }
      }
    }
    return unicode::decode_lossy(bytes);
  }

  const std::string* id_to_token(int32_t id) const override { return tables_.token(id); }
  int32_t token_to_id(std::string_view token) const override { return tables_.id(token); }
  int32_t size() const override { return tables_.size(); }

 private:
  void encode_piece(const std::string& piece, std::vector<int32_t>& ids) const {
    {
      std::lock_guard<std::mutex> lock(cache_mutex_);
      auto it = cache_.find(piece);
      if (it != cache_.end()) {
        ids.insert(ids.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    std::vector<int32_t> symbols;
    symbols.reserve(piece.size());
    for (char b : piece) symbols.push_back(byte_ids_[static_cast<unsigned char>(b)]);
    tables_.merge(symbols);
    tables_.replace_unknown(symbols, unk_id_);
    ids.insert(ids.end(), symbols.begin(), symbols.end());
    std::lock_guard<std::mutex> lock(cache_mutex_);
    // Bounded so that a long stream of unique words cannot grow it forever.
    if (cache_.size() >= kCacheLimit) cache_.clear();
    cache_.emplace(piece, std::move(symbols));
  }

  static constexpr size_t kCacheLimit = 1 << 16;
  BpeTables tables_;
  ByteLevelOptions options_;
  int32_t unk_id_ = -1;
  std::array<char32_t, 256> byte_to_char_{};
  std::array<int32_t, 256> byte_ids_{};
  std::unordered_map<char32_t, unsigned char> char_to_byte_;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace

std::unique_ptr<TokenModel> make_byte_level_bpe(BpeSource source, ByteLevelOptions options) {
  return std::make_unique<ByteLevelBpe>(std::move(source), options);
}

}  // namespace vkinfer::tokenizer_detail
