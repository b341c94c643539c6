// Vocabulary and ranked merges shared by both BPE flavours (byte-level and
// SentencePiece-style), with the merge loop of `tokenizers`' Word::merge_all.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/text/tokenizer_pipeline.h"

namespace vkinfer::tokenizer_detail {

class BpeTables {
 public:
  // Throws Error(kBadFile) naming the source file for an empty vocabulary or
  // a merge whose left or right part is neither in the vocabulary nor made by
  // an earlier merge. A merge whose *result* is missing from the vocabulary is
  // kept, as the slow tokenizers do (the real GPT-2 files have one, "ĠCla ude"):
  // its result gets an id >= size() and encodes as the unknown token.
  explicit BpeTables(const BpeSource& source);

  int32_t id(std::string_view token) const;         // -1 when absent
  const std::string* token(int32_t id) const;       // nullptr when absent
  int32_t size() const { return static_cast<int32_t>(tokens_.size()); }
  // Replaces ids of merge results that are not in the vocabulary with
  // `unk_id`; throws Error(kInvalidArgument) when there is no unknown token.
  void replace_unknown(std::vector<int32_t>& ids, int32_t unk_id) const;
  // Repeatedly merges the adjacent pair with the lowest rank (leftmost first
  // on ties) until no pair of `symbols` has a merge.
  void merge(std::vector<int32_t>& symbols) const;

 private:
  // Transparent hashing: lookups by string_view allocate nothing.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, int32_t, Hash, std::equal_to<>> vocab_;
  std::vector<std::string> tokens_;  // by id
  std::vector<bool> present_;        // ids may have gaps
  // Merge results missing from the vocabulary: id - size() indexes this.
  std::vector<std::string> unknown_results_;
  std::unordered_map<std::string, int32_t, Hash, std::equal_to<>> unknown_ids_;
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  std::unordered_map<uint64_t, Merge> merges_;  // key: left id << 32 | right id
};

}  // namespace vkinfer::tokenizer_detail
