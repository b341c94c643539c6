// Reads go a GGUF row at a time: a row is a whole run of blocks, the unit
// the dequantizer works in, and every layout change here moves whole rows
// (or, for 1-D biases, single elements), so a window never needs more than
// one dequantized row per destination row (Conv1D: one per column).
#include "engine/io/gguf_checkpoint.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <fstream>

#include "engine/core/error.h"
#include "engine/core/half.h"
#include "engine/io/ggml_dequantize.h"

namespace vkinfer {
namespace {

namespace fs = std::filesystem;

bool is_plain(GgmlType type) {
  return type == GgmlType::kF32 || type == GgmlType::kF16 || type == GgmlType::kBF16;
}

DType view_dtype(GgmlType type) {
  if (type == GgmlType::kF16) return DType::kF16;
  if (type == GgmlType::kBF16) return DType::kBF16;
  return DType::kF32;
}

bool outside(int64_t begin, int64_t count, int64_t size) {
  return begin < 0 || count < 0 || begin > size || count > size - begin;
}

void store(DType dst_dtype, void* dst, int64_t index, float value) {
  if (dst_dtype == DType::kF32) {
    static_cast<float*>(dst)[index] = value;
  } else {
    static_cast<uint16_t*>(dst)[index] = f32_to_f16(value);
  }
}

}  // namespace

bool is_gguf_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
}

std::shared_ptr<const GgufCheckpoint> GgufCheckpoint::open(const fs::path& path) {
  std::shared_ptr<GgufCheckpoint> result(new GgufCheckpoint());
  result->file_ = GgufFile::open(path);
  const GgufFile& file = *result->file_;
  const std::string arch_name = file.get_string("general.architecture");
  result->arch_ = find_gguf_architecture(arch_name);
  if (!result->arch_) {
    std::string known;
    for (const GgufArchitecture& a : gguf_architectures()) known += std::string(known.empty() ? "" : ", ") + a.gguf_arch;
    fail(ErrorCode::kUnsupported, "{}: general.architecture \"{}\" is not one vkinfer runs from GGUF ({})",
         path.string(), arch_name, known);
  }
  const std::string prefix = arch_name + ".";
  auto heads = [&](const char* key) -> int64_t {
    const GgufValue* v = file.find_value(prefix + key);
    if (!v || !v->is_integer() || (v->type == GgufValueType::kU64 && v->bits > INT64_MAX)) return int64_t{0};
    return v->as_int64();
  };
  const int64_t n_head = heads("attention.head_count");
  const int64_t n_head_kv = heads("attention.head_count_kv") > 0 ? heads("attention.head_count_kv") : n_head;

  for (const GgufTensor& tensor : file.tensors()) {
    const auto match = gguf_to_hf_name(*result->arch_, tensor.name);
    if (!match) continue;
    Entry e{&tensor, match->layout, {}, 1};
    e.info.name = match->name;
    e.info.dtype = view_dtype(tensor.type);
    e.info.shape = tensor.shape();
    const auto elements = static_cast<size_t>(tensor.elements());
    e.info.byte_size = elements * dtype_size(e.info.dtype);
    const bool plain_bytes = is_plain(tensor.type) && match->layout == GgufLayout::kSame;
    e.info.data = plain_bytes ? tensor.data : nullptr;
    const int64_t lead = e.info.shape.front();  // rows of a matrix, length of a vector
    if (match->layout == GgufLayout::kTransposed) {
      if (e.info.shape.size() != 2)
        fail(ErrorCode::kBadFile, "{}: tensor \"{}\" is {}-D; a Conv1D weight is 2-D", path.string(), tensor.name,
             e.info.shape.size());
      std::swap(e.info.shape[0], e.info.shape[1]);
    } else if (match->layout == GgufLayout::kPermuteQ || match->layout == GgufLayout::kPermuteK ||
               match->layout == GgufLayout::kNeoxQkv) {
      e.groups = match->layout == GgufLayout::kPermuteK ? n_head_kv : n_head;
      // Heads come from metadata: bound them by the rows before multiplying.
      const bool heads_fit = e.groups > 0 && e.groups <= lead;
      const int64_t per = !heads_fit ? 1 : match->layout == GgufLayout::kNeoxQkv ? 3 * e.groups : 2 * e.groups;
      if (e.info.shape.size() > 2 || !heads_fit || lead % per != 0)
        fail(ErrorCode::kBadFile, "{}: tensor \"{}\" of shape [{}] cannot be split into {} heads ({}.attention.head_count{})",
             path.string(), tensor.name, fmt::join(e.info.shape, ", "), e.groups, arch_name,
             match->layout == GgufLayout::kPermuteK ? "_kv" : "");
    }
    result->entries_.emplace(match->name, std::move(e));
  }
  return result;
}

const GgufCheckpoint::Entry& GgufCheckpoint::entry(const std::string& hf_name) const {
  auto it = entries_.find(hf_name);
  if (it != entries_.end()) return it->second;
  if (auto gguf = hf_to_gguf_name(*arch_, hf_name))
    fail(ErrorCode::kMissingTensor, "{}: no tensor \"{}\" (HF {}) in the GGUF file", file_->path().string(),
         gguf->name, hf_name);
  fail(ErrorCode::kMissingTensor, "{}: no tensor for HF name \"{}\"; GGUF architecture \"{}\" has no such tensor",
       file_->path().string(), hf_name, arch_->gguf_arch);
}

std::string GgufCheckpoint::where(const Entry& e) const {
  return fmt::format("{}: tensor \"{}\" (HF {}, {})", file_->path().string(), e.tensor->name, e.info.name,
                     e.tensor->format->name);
}

const TensorInfo& GgufCheckpoint::info(const std::string& hf_name) const { return entry(hf_name).info; }

std::vector<std::string> GgufCheckpoint::names() const {
  std::vector<std::string> result;
  for (const auto& [name, e] : entries_) result.push_back(name);
  std::sort(result.begin(), result.end());
  return result;
}

int64_t GgufCheckpoint::source_index(const Entry& e, int64_t r, int64_t count) const {
  return gguf_row_of(e.layout, r, count, e.groups);
}

void GgufCheckpoint::gguf_row(const Entry& e, int64_t row, float* out) const {
  const GgufTensor& t = *e.tensor;
  const size_t row_bytes = t.byte_size / static_cast<size_t>(t.rows());
  dequantize(t.type, {t.data + static_cast<size_t>(row) * row_bytes, row_bytes},
             {out, static_cast<size_t>(t.cols())});
}

void GgufCheckpoint::read(const std::string& hf_name, DType dst_dtype, void* dst, int64_t row_begin,
                          int64_t row_count, int64_t col_begin, int64_t col_count, int64_t dst_row_stride) const {
  const Entry& e = entry(hf_name);
  const std::string at = where(e);
  if (dst_dtype != DType::kF32 && dst_dtype != DType::kF16)
    fail(ErrorCode::kInvalidArgument, "{}: read() converts to F32 or F16, not {}", at, dtype_name(dst_dtype));
  const auto& shape = e.info.shape;
  if (shape.size() > 2)
    fail(ErrorCode::kShapeMismatch, "{}: is {}-D; read() takes 1-D or 2-D tensors", at, shape.size());
  const int64_t rows = shape.size() == 2 ? shape[0] : 1;
  const int64_t cols = shape.back();
  if (outside(row_begin, row_count, rows) || outside(col_begin, col_count, cols))
    fail(ErrorCode::kInvalidArgument,
         "{}: window rows [{}, +{}) x cols [{}, +{}) is outside the tensor viewed as [{}, {}]", at, row_begin,
         row_count, col_begin, col_count, rows, cols);
  if (row_count > 1 && dst_row_stride < col_count)
    fail(ErrorCode::kInvalidArgument, "{}: dst_row_stride {} is smaller than the window width {}; rows would overlap",
         at, dst_row_stride, col_count);
  if (row_count == 0 || col_count == 0) return;
  if (dst == nullptr) fail(ErrorCode::kInvalidArgument, "{}: dst is null", at);

  const float add = e.layout == GgufLayout::kNormPlusOne ? -1.0f : 0.0f;
  const GgufTensor& t = *e.tensor;
  std::vector<float> row(static_cast<size_t>(t.cols()));
  if (e.layout == GgufLayout::kTransposed) {
    // HF [in, out] element (i, o) is GGUF row o, column i.
    for (int64_t c = 0; c < col_count; ++c) {
      gguf_row(e, col_begin + c, row.data());
      for (int64_t r = 0; r < row_count; ++r) store(dst_dtype, dst, r * dst_row_stride + c, row[row_begin + r]);
    }
    return;
  }
  if (shape.size() == 1) {
    // One GGUF row; permutations move single elements.
    gguf_row(e, 0, row.data());
    for (int64_t c = 0; c < col_count; ++c)
      store(dst_dtype, dst, c, row[source_index(e, col_begin + c, cols)] + add);
    return;
  }
  for (int64_t r = 0; r < row_count; ++r) {
    gguf_row(e, source_index(e, row_begin + r, rows), row.data());
    for (int64_t c = 0; c < col_count; ++c) store(dst_dtype, dst, r * dst_row_stride + c, row[col_begin + c] + add);
  }
}

std::vector<float> GgufCheckpoint::read_f32(const std::string& hf_name) const {
  const Entry& e = entry(hf_name);
  const auto& shape = e.info.shape;
  if (shape.size() > 2) {
    // No layout changes apply to higher ranks: the row-major values as stored.
    return dequantize(e.tensor->type, {e.tensor->data, e.tensor->byte_size}, e.tensor->elements());
  }
  const int64_t rows = shape.size() == 2 ? shape[0] : 1, cols = shape.back();
  std::vector<float> out(static_cast<size_t>(rows * cols));
  read(hf_name, DType::kF32, out.data(), 0, rows, 0, cols, cols);
  return out;
}

std::optional<GgmlType> GgufCheckpoint::block_type(const std::string& hf_name) const {
  const Entry& e = entry(hf_name);
  if (is_plain(e.tensor->type)) return std::nullopt;
  return e.tensor->type;
}

void GgufCheckpoint::read_blocks(const std::string& hf_name, int64_t row_begin, int64_t row_count,
                                 int64_t col_begin, int64_t col_count, uint8_t* dst, size_t dst_row_bytes) const {
  const Entry& e = entry(hf_name);
  const std::string at = where(e);
  const GgufTensor& t = *e.tensor;
  if (is_plain(t.type))
    fail(ErrorCode::kInternal, "{}: not a block tensor; read_blocks() is for GGUF block types (check block_type())", at);
  if (e.layout == GgufLayout::kNormPlusOne)
    fail(ErrorCode::kUnsupported, "{}: a Gemma norm stored as blocks cannot be un-shifted block by block", at);
  if (e.info.shape.size() == 1 && e.layout != GgufLayout::kSame)
    fail(ErrorCode::kUnsupported, "{}: a vector permuted element by element cannot be handed out as blocks", at);
  // nn.Linear orientation is the GGUF orientation: rows are GGUF rows (for
  // Conv1D too), columns the fastest GGUF dim.
  const int64_t rows = t.rows(), cols = t.cols();
  const int64_t per_block = t.format->block_elements;
  if (col_begin % per_block != 0 || col_count % per_block != 0)
    fail(ErrorCode::kUnsupported,
         "{}: columns [{}, +{}) do not fall on {}-weight block boundaries; a {} tensor is sliced in whole blocks "
         "(choose a tensor-parallel degree that keeps them)", at, col_begin, col_count, per_block, t.format->name);
  if (outside(row_begin, row_count, rows) || outside(col_begin, col_count, cols))
    fail(ErrorCode::kInvalidArgument, "{}: block window rows [{}, +{}) x cols [{}, +{}) is outside [{}, {}]", at,
         row_begin, row_count, col_begin, col_count, rows, cols);
  const size_t bytes = static_cast<size_t>(col_count / per_block * t.format->block_bytes);
  if (row_count > 1 && dst_row_bytes < bytes)
    fail(ErrorCode::kInvalidArgument, "{}: dst_row_bytes {} is smaller than a window row's {} bytes", at,
         dst_row_bytes, bytes);
  if (row_count == 0 || col_count == 0) return;
  if (dst == nullptr) fail(ErrorCode::kInvalidArgument, "{}: dst is null", at);
  const size_t row_bytes = t.byte_size / static_cast<size_t>(rows);
  const size_t col_offset = static_cast<size_t>(col_begin / per_block * t.format->block_bytes);
  for (int64_t r = 0; r < row_count; ++r) {
    const int64_t src = source_index(e, row_begin + r, rows);
    std::memcpy(dst + static_cast<size_t>(r) * dst_row_bytes, t.data + static_cast<size_t>(src) * row_bytes + col_offset,
                bytes);
  }
}

}  // namespace vkinfer
