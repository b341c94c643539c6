// Saved perplexity logits: see saved_logits.h for the layout. The reader
// checks every header field against fixed limits before any size is
// computed from it, so no product below can overflow, and the file size
// must equal the size the header implies.
#include "engine/io/saved_logits.h"

#include <cstring>
#include <string>

#include "engine/core/error.h"
#include "engine/core/half.h"

namespace vkinfer {
namespace {

constexpr char kMagic[8] = {'V', 'K', 'L', 'O', 'G', 'P', '\0', '\1'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kHeaderBytes = 48;
constexpr int64_t kMaxDim = int64_t{1} << 31;  // vocab and ctx fit an i32 id / position
// Tokens and rows are bounded by the file size below; this only keeps the
// products of the checked fields inside 64 bits.
constexpr int64_t kMaxWindows = int64_t{1} << 24;

template <typename T>
T read_le(const uint8_t* at) {
  T value;
  std::memcpy(&value, at, sizeof(T));  // the supported hosts are little-endian
  return value;
}

template <typename T>
void write_le(std::ofstream& file, T value) {
  file.write(reinterpret_cast<const char*>(&value), sizeof(T));
}

uint64_t element_bytes(SavedLogitsDType dtype) { return dtype == SavedLogitsDType::kF16 ? 2 : 4; }

}  // namespace

void validate_saved_logits_header(const SavedLogitsHeader& h, const std::string& what) {
  if (h.dtype != SavedLogitsDType::kF32 && h.dtype != SavedLogitsDType::kF16)
    fail(ErrorCode::kBadFile, "{}: saved logits dtype {} is neither 0 (f32) nor 1 (f16)", what,
         static_cast<uint32_t>(h.dtype));
  if (h.vocab < 1 || h.vocab >= kMaxDim)
    fail(ErrorCode::kBadFile, "{}: saved logits vocab {} is outside [1, 2^31)", what, h.vocab);
  if (h.ctx < 2 || h.ctx >= kMaxDim)
    fail(ErrorCode::kBadFile, "{}: saved logits ctx {} is outside [2, 2^31)", what, h.ctx);
  if (h.first < 0 || h.first > h.ctx - 2)
    fail(ErrorCode::kBadFile, "{}: saved logits first scored position {} is outside [0, ctx - 2 = {}]", what,
         h.first, h.ctx - 2);
  if (h.windows < 1 || h.windows > kMaxWindows)
    fail(ErrorCode::kBadFile, "{}: saved logits window count {} is outside [1, 2^24]", what, h.windows);
}

SavedLogitsWriter::SavedLogitsWriter(const std::filesystem::path& path, SavedLogitsHeader header)
    : path_(path), header_(std::move(header)) {
  validate_saved_logits_header(header_, path_.string());
  if (static_cast<int64_t>(header_.tokens.size()) != header_.windows * header_.ctx)
    fail(ErrorCode::kInvalidArgument, "{}: {} token ids for {} windows of {}", path_.string(),
         header_.tokens.size(), header_.windows, header_.ctx);
  file_.open(path_, std::ios::binary | std::ios::trunc);
  if (!file_) fail(ErrorCode::kBadFile, "{}: cannot open the --save-logits file for writing", path_.string());
  file_.write(kMagic, sizeof(kMagic));
  write_le<uint32_t>(file_, kVersion);
  write_le<uint32_t>(file_, static_cast<uint32_t>(header_.dtype));
  write_le<uint64_t>(file_, header_.vocab);
  write_le<uint64_t>(file_, header_.ctx);
  write_le<uint64_t>(file_, header_.first);
  write_le<uint64_t>(file_, header_.windows);
  file_.write(reinterpret_cast<const char*>(header_.tokens.data()),
              static_cast<std::streamsize>(header_.tokens.size() * sizeof(int32_t)));
  if (header_.dtype == SavedLogitsDType::kF16) half_.resize(header_.vocab);
  if (!file_) fail(ErrorCode::kBadFile, "{}: writing the header failed (disk full?)", path_.string());
}

void SavedLogitsWriter::append(const float* log_probs) {
  if (written_ >= header_.rows())
    fail(ErrorCode::kInternal, "{}: more than the {} rows the header announced", path_.string(), header_.rows());
  if (header_.dtype == SavedLogitsDType::kF16) {
    for (int64_t v = 0; v < header_.vocab; ++v) half_[v] = f32_to_f16(log_probs[v]);
    file_.write(reinterpret_cast<const char*>(half_.data()), static_cast<std::streamsize>(header_.vocab * 2));
  } else {
    file_.write(reinterpret_cast<const char*>(log_probs), static_cast<std::streamsize>(header_.vocab * 4));
  }
  ++written_;
}

void SavedLogitsWriter::finish() {
  if (written_ != header_.rows())
    fail(ErrorCode::kInternal, "{}: {} rows written of the {} announced", path_.string(), written_, header_.rows());
  file_.flush();
  if (!file_) fail(ErrorCode::kBadFile, "{}: writing the saved logits failed (disk full?)", path_.string());
  file_.close();
}

SavedLogitsReader SavedLogitsReader::open(const std::filesystem::path& path) {
  const std::string what = path.string();
  SavedLogitsReader reader;
  reader.file_ = MappedFile::open(path, kHeaderBytes, "saved logits");
  const uint8_t* data = reader.file_.data();
  const uint64_t size = reader.file_.size();
  if (std::memcmp(data, kMagic, sizeof(kMagic)) != 0)
    fail(ErrorCode::kBadFile, "{}: not a vkinfer saved-logits file (bad magic). HINT: --kl-base takes what "
         "`vkinfer perplexity --save-logits` wrote", what);
  const uint32_t version = read_le<uint32_t>(data + 8);
  if (version != kVersion)
    fail(ErrorCode::kBadFile, "{}: saved logits version {} (this vkinfer reads {})", what, version, kVersion);
  SavedLogitsHeader& h = reader.header_;
  h.dtype = static_cast<SavedLogitsDType>(read_le<uint32_t>(data + 12));
  // Read as u64 and checked before narrowing, so a huge value cannot wrap
  // into range.
  const uint64_t fields[4] = {read_le<uint64_t>(data + 16), read_le<uint64_t>(data + 24),
                              read_le<uint64_t>(data + 32), read_le<uint64_t>(data + 40)};
  for (uint64_t field : fields)
    if (field >= (uint64_t{1} << 40))
      fail(ErrorCode::kBadFile, "{}: saved logits header field {} is out of range", what, field);
  h.vocab = static_cast<int64_t>(fields[0]);
  h.ctx = static_cast<int64_t>(fields[1]);
  h.first = static_cast<int64_t>(fields[2]);
  h.windows = static_cast<int64_t>(fields[3]);
  validate_saved_logits_header(h, what);
  // windows < 2^24 and ctx, vocab < 2^31: tokens < 2^55 and rows * vocab *
  // 4 < 2^88 could overflow, so sizes are compared by division first.
  const uint64_t token_bytes = static_cast<uint64_t>(h.windows * h.ctx) * 4;
  if (token_bytes > size - kHeaderBytes)
    fail(ErrorCode::kBadFile, "{}: {} windows of {} token ids need {} bytes but the file has {} after its header",
         what, h.windows, h.ctx, token_bytes, size - kHeaderBytes);
  const uint64_t left = size - kHeaderBytes - token_bytes;
  const uint64_t row_bytes = static_cast<uint64_t>(h.vocab) * element_bytes(h.dtype);
  const uint64_t rows = static_cast<uint64_t>(h.rows());
  if (left / row_bytes != rows || left % row_bytes != 0)
    fail(ErrorCode::kBadFile, "{}: the header announces {} rows of {} log-probs but {} bytes follow the token ids "
         "(truncated or padded file)", what, rows, h.vocab, left);
  h.tokens.resize(h.windows * h.ctx);
  std::memcpy(h.tokens.data(), data + kHeaderBytes, token_bytes);
  for (size_t i = 0; i < h.tokens.size(); ++i)
    if (h.tokens[i] < 0 || h.tokens[i] >= h.vocab)
      fail(ErrorCode::kBadFile, "{}: saved token {} (window {}, position {}) is outside the vocabulary [0, {})",
           what, h.tokens[i], i / h.ctx, i % h.ctx, h.vocab);
  reader.rows_ = data + kHeaderBytes + token_bytes;
  return reader;
}

void SavedLogitsReader::row(int64_t index, float* out) const {
  if (index < 0 || index >= header_.rows())
    fail(ErrorCode::kInternal, "saved logits row {} of {}", index, header_.rows());
  const uint64_t row_bytes = static_cast<uint64_t>(header_.vocab) * element_bytes(header_.dtype);
  const uint8_t* at = rows_ + static_cast<uint64_t>(index) * row_bytes;
  if (header_.dtype == SavedLogitsDType::kF16) {
    for (int64_t v = 0; v < header_.vocab; ++v) out[v] = f16_to_f32(read_le<uint16_t>(at + 2 * v));
  } else {
    std::memcpy(out, at, row_bytes);
  }
}

}  // namespace vkinfer
