// Text <-> token ids, matching Hugging Face token for token.
//
// Tokenizer::load() reads a Hugging Face folder: tokenizer.json when present
// (any pipeline of the `tokenizers` components engine/text implements: GPT-2,
// Llama 2 and 3, SmolLM, BERT, ... see tokenizer_load.cpp), else the classic
// files (vocab.json + merges.txt, or vocab.txt), plus tokenizer_config.json,
// special_tokens_map.json and config.json for special tokens and options.
// The reference is transformers 4.40: slow GPT2Tokenizer/BertTokenizer for the
// classic files, the `tokenizers` 0.19 pipeline (with the fast classes'
// tokenizer_config flags) for tokenizer.json.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace vkinfer {

struct Encoding {
  std::vector<int32_t> ids;
  std::vector<int32_t> type_ids;    // 0 for the first text, 1 for the pair
  std::vector<std::string> tokens;  // vocabulary strings, as id_to_token
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Throws vkinfer::Error naming the file on missing/malformed input.
  static std::unique_ptr<Tokenizer> load(const std::filesystem::path& dir);
  // Builds from the objects a folder's tokenizer.json, tokenizer_config.json
  // and config.json hold (a GGUF file's metadata turned into them, see
  // engine/io/gguf_tokenizer.h); `source` names them in errors.
  static std::unique_ptr<Tokenizer> from_json(const nlohmann::json& tokenizer, const nlohmann::json& tokenizer_config,
                                              const nlohmann::json& model_config,
                                              const std::filesystem::path& source);
  // True when `dir` holds any tokenizer file load() looks for (a model run
  // from token ids needs none).
  static bool present(const std::filesystem::path& dir);

  // add_special_tokens adds what the model's post-processor adds ([CLS]/[SEP]
  // for BERT, <s> for Llama, nothing for GPT-2). Special tokens written inside
  // the text (e.g. "<|endoftext|>") become their ids, as in HF.
  virtual Encoding encode(std::string_view text, bool add_special_tokens = true) const = 0;
  // BERT: [CLS] a [SEP] b [SEP] with type ids 0/1; others follow their
  // template or concatenate. max_length > 0 truncates like HF slow
  // truncation=True (longest_first), counting the special tokens.
  virtual Encoding encode_pair(std::string_view text, std::string_view pair,
                               bool add_special_tokens = true, int max_length = 0) const = 0;
  // As HF tokenizer.decode(ids, skip_special_tokens), including
  // clean_up_tokenization_spaces when the folder asks for it.
  virtual std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const = 0;
  virtual std::string id_to_token(int32_t id) const = 0;
  virtual int32_t token_to_id(std::string_view token) const = 0;  // -1 when absent
  // Number of ids the tokenizer can produce (vocabulary + added tokens), as
  // len(hf_tokenizer).
  virtual int32_t vocab_size() const = 0;
  virtual bool is_special(int32_t id) const = 0;

  // -1 when the tokenizer has no such token.
  int32_t bos_id() const { return bos_id_; }
  int32_t eos_id() const { return eos_id_; }
  int32_t pad_id() const { return pad_id_; }
  int32_t cls_id() const { return cls_id_; }
  int32_t sep_id() const { return sep_id_; }
  int32_t unk_id() const { return unk_id_; }

 protected:
  friend class StreamDecoder;
  // How many trailing ids' text may still change when more ids follow
  // (SentencePiece byte-fallback runs are decoded as a whole).
  virtual size_t stream_pending_ids(const std::vector<int32_t>& ids) const = 0;
  // True when decode() applies HF's clean_up_tokenization, which can delete a
  // space that was already decoded once the next token arrives.
  virtual bool cleans_up_spaces() const = 0;

  int32_t bos_id_ = -1, eos_id_ = -1, pad_id_ = -1, cls_id_ = -1, sep_id_ = -1, unk_id_ = -1;
};

// Streaming decode for generation: push one id at a time and get back the text
// that can no longer change. A UTF-8 character split across tokens, a
// SentencePiece <0xE2><0x82><0xAC> run and a space that clean-up may still
// delete are held back. The concatenation of every push() and the final
// flush() equals tokenizer.decode(all ids, skip_special_tokens).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = false);
  std::string push(int32_t id);
  // Returns what is still held back and starts a new stream.
  std::string flush();

 private:
  std::string emit_stable();
  void rebase();

  const Tokenizer& tokenizer_;
  bool skip_special_tokens_;
  std::vector<int32_t> ids_;  // a window of the stream, starting with context ids
  std::string emitted_;       // decode of the window's prefix already returned
};

}  // namespace vkinfer
