// Decoders: the last step of a tokenizer.json pipeline, turning token strings
// back into text. One small class per `tokenizers` type (ByteLevel,
// Metaspace, ByteFallback, Fuse, Strip, Replace, WordPiece, BPEDecoder,
// Sequence), built from its JSON by a registry keyed on "type". Like
// tokenizers 0.19 each works on the whole list of tokens (decode_chain), so
// that per-token rules (Metaspace's first token, Strip) see the same
// boundaries as in HF; decode() joins the result.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace vkinfer::tokenizer_detail {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
  // True when trailing <0xXX> tokens decode as one run (ByteFallback): their
  // text is not final until another token closes the run.
  virtual bool joins_byte_runs() const { return false; }
};

// nullptr for a null "decoder". Error(kUnsupported) names the file and an
// unknown type; Error(kBadFile) a malformed field.
std::unique_ptr<Decoder> make_decoder(const nlohmann::json& spec, const std::filesystem::path& file);

// tokenizers' TokenizerImpl::decode: the decoder chain joined, or the tokens
// joined with spaces when there is no decoder.
std::string decode_tokens_with(const Decoder* decoder, const std::vector<std::string_view>& tokens);

// The byte of a "<0xXX>" token as ByteFallback reads it (Rust's
// u8::from_str_radix on the two characters), or -1.
int byte_token_value(std::string_view token);

}  // namespace vkinfer::tokenizer_detail
