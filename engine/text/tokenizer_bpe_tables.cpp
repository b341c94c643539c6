// BpeTables: see tokenizer_bpe_tables.h.
#include "engine/text/tokenizer_bpe_tables.h"

#include <queue>

#include "engine/core/error.h"

namespace vkinfer::tokenizer_detail {
namespace {

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

}  // namespace

BpeTables::BpeTables(const BpeSource& source) {
  if (source.vocab.empty()) {
    fail(ErrorCode::kBadFile, "{}: the vocabulary is empty; the tokenizer files are incomplete", source.vocab_source);
  }
  int32_t max_id = -1;
  for (const auto& [token, id] : source.vocab) {
    if (id < 0) fail(ErrorCode::kBadFile, "{}: token '{}' has negative id {}", source.vocab_source, token, id);
    max_id = std::max(max_id, id);
  }
  // Real vocabularies are dense (ids 0..n-1). An id far past the entry count
  // means a corrupt file, and would size the id table (32 bytes an id) from
  // garbage: 2^31 would ask for 64 GiB. A million ids of slack is ~32 MiB.
  constexpr int64_t kMaxIdGap = int64_t{1} << 20;
  if (max_id >= static_cast<int64_t>(source.vocab.size()) + kMaxIdGap) {
    fail(ErrorCode::kBadFile, "{}: token id {} is far beyond the {} vocabulary entries; the file is corrupt",
         source.vocab_source, max_id, source.vocab.size());
  }
  tokens_.resize(static_cast<size_t>(max_id) + 1);
  present_.assign(tokens_.size(), false);
  vocab_.reserve(source.vocab.size());
  for (const auto& [token, id] : source.vocab) {
    vocab_[token] = id;
    tokens_[id] = token;
    present_[id] = true;
  }
  merges_.reserve(source.merges.size());
  int32_t rank = 0;
  auto lookup = [&](const std::string& token) {
    const int32_t known = id(token);
    if (known >= 0) return known;
    auto it = unknown_ids_.find(token);
    return it == unknown_ids_.end() ? -1 : it->second;
  };
  // With a continuing_subword_prefix ("##"), a merge joins "a" and "##b"
  // into "ab": tokenizers cuts the prefix's length off the right part.
  const size_t prefix_len = source.continuing_subword_prefix.size();
  for (const auto& [left, right] : source.merges) {
    const int32_t l = lookup(left), r = lookup(right);
    const std::string joined = left + right.substr(std::min(prefix_len, right.size()));
    int32_t result = lookup(joined);
    if (result < 0) {
      result = size() + static_cast<int32_t>(unknown_results_.size());
      unknown_results_.push_back(joined);
      unknown_ids_.emplace(joined, result);
    }
    if (l < 0 || r < 0) {
      const std::string& missing = l < 0 ? left : right;
      fail(ErrorCode::kBadFile,
           "{}: merge #{} '{} {}' names token '{}' which is not in {}; the merges and vocabulary do not belong "
           "together",
           source.merges_source, rank + 1, left, right, missing, source.vocab_source);
    }
    // The first occurrence of a pair keeps its rank, as in `tokenizers`.
    merges_.emplace(pair_key(l, r), Merge{rank, result});
    ++rank;
  }
}

int32_t BpeTables::id(std::string_view token) const {
  auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

const std::string* BpeTables::token(int32_t id) const {
  if (id < 0 || id >= size() || !present_[id]) return nullptr;
  return &tokens_[id];
}

void BpeTables::replace_unknown(std::vector<int32_t>& ids, int32_t unk_id) const {
  for (int32_t& id : ids) {
    if (id < size()) continue;
    if (unk_id < 0) {
      fail(ErrorCode::kInvalidArgument, "BPE merge produced '{}', which is not in the vocabulary, and there is no unk_token",
           unknown_results_[static_cast<size_t>(id - size())]);
    }
    id = unk_id;
  }
}

void BpeTables::merge(std::vector<int32_t>& symbols) const {
  if (symbols.size() < 2 || merges_.empty()) return;
  const int n = static_cast<int>(symbols.size());
  std::vector<int> prev(n), next(n);
  for (int i = 0; i < n; ++i) prev[i] = i - 1, next[i] = i + 1 < n ? i + 1 : -1;
  std::vector<bool> alive(n, true);

  struct Candidate {
    int32_t rank;
    int pos;
    int32_t result;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto push_pair = [&](int pos) {
    if (pos < 0 || next[pos] < 0) return;
    auto it = merges_.find(pair_key(symbols[pos], symbols[next[pos]]));
    if (it != merges_.end()) queue.push({it->second.rank, pos, it->second.result});
  };
  for (int i = 0; i + 1 < n; ++i) push_pair(i);

  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    const int right = alive[top.pos] ? next[top.pos] : -1;
    if (right < 0) continue;
    // Skip entries made stale by an earlier merge of either neighbour.
    auto it = merges_.find(pair_key(symbols[top.pos], symbols[right]));
    if (it == merges_.end() || it->second.rank != top.rank || it->second.result != top.result) continue;
    symbols[top.pos] = top.result;
    alive[right] = false;
    next[top.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = top.pos;
    push_pair(prev[top.pos]);
    push_pair(top.pos);
  }
  std::vector<int32_t> merged;
  for (int i = 0; i >= 0; i = next[i]) merged.push_back(symbols[i]);
  symbols = std::move(merged);
}

}  // namespace vkinfer::tokenizer_detail
