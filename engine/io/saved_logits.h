// The file `vkinfer perplexity --save-logits` writes and `--kl-base` reads:
// for every scored position of a perplexity run, the log-softmax over the
// whole vocabulary, behind a header that says what was evaluated (vocab,
// window length, scored start, every window's token ids as evaluated), so a
// base from another text, tokenizer, vocabulary or --ctx is refused instead
// of compared. Little-endian, no padding:
//
//   offset  field
//   0       char[8]  magic "VKLOGP\0\1"
//   8       u32      version (1)
//   12      u32      dtype of the rows: 0 f32, 1 f16
//   16      u64      vocab          V, in [1, 2^31)
//   24      u64      ctx            N, window length, in [2, 2^31)
//   32      u64      first          F, the first predicting position, in [0, N - 2]
//   40      u64      windows        W >= 1
//   48      i32      tokens[W * N]  every window's ids, each in [0, V)
//   ...     f32|f16  rows[W * (N - 1 - F)][V]: log p(. | ids[..p]) for p = F .. N - 2
//
// The file's size must be exactly what the header implies. fp16 rows halve
// the file (log-probs keep ~3 significant digits, enough for KL at 1e-3).
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <vector>

#include "engine/io/mapped_file.h"

namespace vkinfer {

enum class SavedLogitsDType : uint32_t { kF32 = 0, kF16 = 1 };

struct SavedLogitsHeader {
  SavedLogitsDType dtype = SavedLogitsDType::kF32;
  int64_t vocab = 0;
  int64_t ctx = 0;
  int64_t first = 0;
  int64_t windows = 0;
  std::vector<int32_t> tokens;  // [windows * ctx]

  int64_t scored_per_window() const { return ctx - 1 - first; }
  int64_t rows() const { return windows * scored_per_window(); }
};

// Writes the header at open, then one row per append(); finish() checks
// that every row came and flushes. kInvalidArgument for a header that
// breaks the limits above, kBadFile when the file cannot be written.
class SavedLogitsWriter {
 public:
  SavedLogitsWriter(const std::filesystem::path& path, SavedLogitsHeader header);
  void append(const float* log_probs);  // [vocab]
  void finish();

 private:
  std::filesystem::path path_;
  SavedLogitsHeader header_;
  std::ofstream file_;
  int64_t written_ = 0;
  std::vector<uint16_t> half_;  // one row in f16, reused
};

// mmaps and validates a saved file (never trusting the header); row(i, out)
// fills out[vocab] with row i as f32.
class SavedLogitsReader {
 public:
  static SavedLogitsReader open(const std::filesystem::path& path);

  const SavedLogitsHeader& header() const { return header_; }
  void row(int64_t index, float* out) const;

 private:
  MappedFile file_;
  SavedLogitsHeader header_;
  const uint8_t* rows_ = nullptr;
};

// The header's validation, shared by the writer and the reader: one line
// naming `what` (the file) and the field.
void validate_saved_logits_header(const SavedLogitsHeader& header, const std::string& what);

}  // namespace vkinfer
