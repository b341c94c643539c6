// StreamDecoder: incremental decode that returns only text later tokens can
// no longer change, so that the concatenated pieces equal one decode() of the
// whole sequence. It re-decodes a short window of recent ids on every push and
// holds back (1) SentencePiece byte-fallback runs that are still open, (2)
// trailing U+FFFD, which may be the start of a character whose remaining bytes
// are in the next token, and (3) when the tokenizer applies HF's
// clean_up_tokenization, everything from the earliest space or quote among
// the last kCleanUpReach bytes, since " ." / " ' " / " n't" rules may still
// delete (or give back) a space there.
#include "engine/core/error.h"
#include "engine/text/tokenizer.h"

namespace vkinfer {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
// The longest clean-up pattern (" n't", reached through " n ' t") spans 6
// bytes of raw text; 8 leaves margin.
constexpr size_t kCleanUpReach = 8;
// Window bookkeeping: rebase once the window holds this many ids, keeping at
// least kContextBytes of decoded text as context so that rules that look at
// neighbouring tokens (leading-space strip, clean-up, byte runs) see the same
// neighbourhood they would in the full sequence.
constexpr size_t kRebaseIds = 128;
constexpr size_t kContextBytes = 32;

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.size() >= prefix.size() && text.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(tokenizer), skip_special_tokens_(skip_special_tokens) {}

std::string StreamDecoder::push(int32_t id) {
  ids_.push_back(id);
  std::string out = emit_stable();
  if (ids_.size() >= kRebaseIds) rebase();
  return out;
}

std::string StreamDecoder::emit_stable() {
  const size_t pending = tokenizer_.stream_pending_ids(ids_);
  const std::vector<int32_t> settled(ids_.begin(), ids_.end() - static_cast<std::ptrdiff_t>(pending));
  const std::string text = tokenizer_.decode(settled, skip_special_tokens_);
  size_t end = text.size();
  while (end >= kReplacement.size() && text.compare(end - kReplacement.size(), kReplacement.size(), kReplacement) == 0) {
    end -= kReplacement.size();
  }
  if (tokenizer_.cleans_up_spaces()) {
    // Also hold back from a quote: " ' " -> "'" deletes the space before it,
    // and a later token can bring that space back (" ," is replaced first,
    // so "x ' ," cleans to "x '," while "x ' " cleaned to "x'").
    const size_t from = end > kCleanUpReach ? end - kCleanUpReach : 0;
    const size_t space = text.find_first_of(" '", from);
    if (space < end) end = space;
  }
  if (end <= emitted_.size()) return "";
  if (!starts_with(text, emitted_)) {
    fail(ErrorCode::kInternal, "StreamDecoder: text already returned changed after token {}; hold-back rules missed a case",
         ids_.back());
  }
  std::string out = text.substr(emitted_.size(), end - emitted_.size());
  emitted_ = text.substr(0, end);
  return out;
}

void StreamDecoder::rebase() {
  const std::string full = tokenizer_.decode(ids_, skip_special_tokens_);
  // Keep the shortest suffix of ids whose text is long enough and is exactly
  // the tail of the window's text (so offsets carry over unchanged).
  for (size_t keep = 4; keep < ids_.size(); ++keep) {
    const std::vector<int32_t> tail(ids_.end() - static_cast<std::ptrdiff_t>(keep), ids_.end());
    const std::string tail_text = tokenizer_.decode(tail, skip_special_tokens_);
    if (tail_text.size() < kContextBytes) continue;
    const size_t cut = full.size() - std::min(full.size(), tail_text.size());
    if (full.size() < tail_text.size() || full.compare(cut, std::string::npos, tail_text) != 0) continue;
    if (cut > emitted_.size()) return;  // held-back text reaches into the prefix; try again later
    emitted_.erase(0, cut);
    ids_ = tail;
    return;
  }
}

std::string StreamDecoder::flush() {
  const std::string text = tokenizer_.decode(ids_, skip_special_tokens_);
  if (!starts_with(text, emitted_)) {
    fail(ErrorCode::kInternal, "StreamDecoder: text already returned changed at flush; hold-back rules missed a case");
  }
  std::string out = text.substr(emitted_.size());
  ids_.clear();
  emitted_.clear();
  return out;
}

}  // namespace vkinfer
