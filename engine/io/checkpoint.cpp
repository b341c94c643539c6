// Opening picks the layout the way transformers does (single file first, then
// the sharded index), and the sharded index is checked against the shards so
// that a stale or hand-edited index fails at load time, not mid-upload.
#include "engine/io/checkpoint.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "engine/core/error.h"
#include "engine/core/half.h"
#include "engine/io/gguf_checkpoint.h"

namespace vkinfer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string json_quoted(const std::string& text) { return json(text).dump(); }

json read_index(const fs::path& index_path) {
  std::ifstream in(index_path, std::ios::binary);
  if (!in) fail(ErrorCode::kBadFile, "{}: cannot open", index_path.string());
  std::stringstream text;
  text << in.rdbuf();
  json index;
  try {
    index = json::parse(text.str());
  } catch (const json::exception& e) {
    fail(ErrorCode::kBadFile, "{}: not valid JSON ({})", index_path.string(), e.what());
  }
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    fail(ErrorCode::kBadFile, "{}: expected an object with a \"weight_map\" object",
         index_path.string());
  }
  return index;
}

// Converts one row of `count` elements. Source bytes come from the mmap with
// no alignment guarantee, hence memcpy loads.
void convert_row(DType src_dtype, const uint8_t* src, DType dst_dtype, uint8_t* dst,
                 int64_t count) {
  if (src_dtype == dst_dtype) {
    std::memcpy(dst, src, static_cast<size_t>(count) * dtype_size(src_dtype));
    return;
  }
  auto load = [&](int64_t i) -> float {
    if (src_dtype == DType::kF32) {
      float value;
      std::memcpy(&value, src + i * 4, 4);
      return value;
    }
    uint16_t half;
    std::memcpy(&half, src + i * 2, 2);
    return src_dtype == DType::kF16 ? f16_to_f32(half) : bf16_to_f32(half);
  };
  if (dst_dtype == DType::kF32) {
    float* out = reinterpret_cast<float*>(dst);
    for (int64_t i = 0; i < count; ++i) out[i] = load(i);
  } else {
    uint16_t* out = reinterpret_cast<uint16_t*>(dst);
    for (int64_t i = 0; i < count; ++i) out[i] = f32_to_f16(load(i));
  }
}

// Reads a window of a tensor viewed as [rows, cols]; the caller has already
// chosen the view and checked nothing else.
void read_window(const std::string& where, const TensorInfo& tensor, int64_t rows,
                 int64_t cols, DType dst_dtype, void* dst, int64_t row_begin,
                 int64_t row_count, int64_t col_begin, int64_t col_count,
                 int64_t dst_row_stride) {
  if (dst_dtype == DType::kBF16) {
    fail(ErrorCode::kInvalidArgument, "{}: read() converts to F32 or F16, not BF16", where);
  }
  auto outside = [](int64_t begin, int64_t count, int64_t size) {
    return begin < 0 || count < 0 || begin > size || count > size - begin;
  };
  if (outside(row_begin, row_count, rows) || outside(col_begin, col_count, cols)) {
    fail(ErrorCode::kInvalidArgument,
         "{}: window rows [{}, +{}) x cols [{}, +{}) is outside the tensor viewed as [{}, {}]",
         where, row_begin, row_count, col_begin, col_count, rows, cols);
  }
  if (row_count > 1 && dst_row_stride < col_count) {
    fail(ErrorCode::kInvalidArgument,
         "{}: dst_row_stride {} is smaller than the window width {}; rows would overlap", where,
         dst_row_stride, col_count);
  }
  if (row_count == 0 || col_count == 0) return;
  if (dst == nullptr) fail(ErrorCode::kInvalidArgument, "{}: dst is null", where);

  const size_t src_element = dtype_size(tensor.dtype);
  const size_t dst_element = dtype_size(dst_dtype);
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t r = 0; r < row_count; ++r) {
    const size_t src_offset =
        (static_cast<size_t>(row_begin + r) * static_cast<size_t>(cols) +
         static_cast<size_t>(col_begin)) * src_element;
    convert_row(tensor.dtype, tensor.data + src_offset, dst_dtype,
                out + static_cast<size_t>(r) * static_cast<size_t>(dst_row_stride) * dst_element,
                col_count);
  }
}

}  // namespace

void Checkpoint::add_file(std::unique_ptr<SafetensorsFile> file) {
  for (const auto& [name, tensor] : file->tensors()) {
    auto [it, inserted] = tensors_.emplace(name, Entry{&tensor, file.get()});
    if (!inserted) {
      fail(ErrorCode::kBadFile, "{}: tensor {} is also in {}; shards must not repeat tensors",
           file->path().string(), json_quoted(name), it->second.file->path().string());
    }
  }
  for (const auto& [name, dtype] : file->unreadable()) {
    unreadable_[name] = fmt::format("{} in {}", dtype, file->path().string());
  }
  files_.push_back(std::move(file));
}

Checkpoint Checkpoint::open(const fs::path& dir) {
  Checkpoint checkpoint;
  checkpoint.dir_ = dir;
  if (is_gguf_file(dir)) {
    checkpoint.gguf_ = GgufCheckpoint::open(dir);
    return checkpoint;
  }
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    fail(ErrorCode::kBadFile, "{}: not a directory (expected a Hugging Face model folder)",
         dir.string());
  }

  const fs::path single = dir / "model.safetensors";
  const fs::path index_path = dir / "model.safetensors.index.json";
  if (fs::exists(single, ec)) {
    checkpoint.add_file(SafetensorsFile::open(single));
    return checkpoint;
  }
  if (!fs::exists(index_path, ec)) {
    if (fs::exists(dir / "pytorch_model.bin", ec) ||
        fs::exists(dir / "pytorch_model.bin.index.json", ec)) {
      fail(ErrorCode::kUnsupported,
           "{}: has only pytorch_model.bin (a pickle, which vkinfer never loads); convert it "
           "once with: python3 tools/convert_to_safetensors.py {}",
           dir.string(), dir.string());
    }
    fail(ErrorCode::kBadFile, "{}: no model.safetensors or model.safetensors.index.json",
         dir.string());
  }

  const json index = read_index(index_path);
  const std::string index_name = index_path.string();
  std::map<std::string, std::set<std::string>> tensors_per_shard;
  for (const auto& [tensor, shard] : index["weight_map"].items()) {
    if (!shard.is_string()) {
      fail(ErrorCode::kBadFile, "{}: weight_map entry for {} is a JSON {}, expected a file name",
           index_name, json_quoted(tensor), shard.type_name());
    }
    const std::string shard_name = shard.get<std::string>();
    // The index must not reach outside the folder (e.g. "../../etc/passwd").
    if (shard_name.empty() || fs::path(shard_name).filename() != shard_name ||
        shard_name == "." || shard_name == "..") {
      fail(ErrorCode::kBadFile, "{}: weight_map sends {} to {}, which is not a file name in {}",
           index_name, json_quoted(tensor), json_quoted(shard_name), dir.string());
    }
    if (!fs::is_regular_file(dir / shard_name, ec)) {
      fail(ErrorCode::kBadFile, "{}: weight_map sends {} to {}, which does not exist in {}",
           index_name, json_quoted(tensor), json_quoted(shard_name), dir.string());
    }
    tensors_per_shard[shard_name].insert(tensor);
  }
  if (tensors_per_shard.empty()) {
    fail(ErrorCode::kBadFile, "{}: weight_map is empty", index_name);
  }
  for (const auto& [shard_name, expected] : tensors_per_shard) {
    auto file = SafetensorsFile::open(dir / shard_name);
    for (const std::string& tensor : expected) {
      if (!file->find(tensor) && !file->unreadable().count(tensor)) {
        fail(ErrorCode::kBadFile, "{}: weight_map sends {} to {}, which does not contain it",
             index_name, json_quoted(tensor), json_quoted(shard_name));
      }
    }
    checkpoint.add_file(std::move(file));
  }
  return checkpoint;
}

bool Checkpoint::has(const std::string& name) const {
  if (gguf_) return gguf_->has(name);
  return tensors_.count(name) != 0;
}

const Checkpoint::Entry& Checkpoint::entry(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it != tensors_.end()) return it->second;
  auto unreadable = unreadable_.find(name);
  if (unreadable != unreadable_.end()) {
    fail(ErrorCode::kUnsupported, "{}: tensor {} is stored as {}; vkinfer reads F32, F16 and BF16",
         dir_.string(), json_quoted(name), unreadable->second);
  }
  fail(ErrorCode::kMissingTensor, "{}: no tensor named {} in the checkpoint", dir_.string(),
       json_quoted(name));
}

const TensorInfo& Checkpoint::info(const std::string& name) const {
  if (gguf_) return gguf_->info(name);
  return *entry(name).tensor;
}

std::vector<std::string> Checkpoint::names() const {
  if (gguf_) return gguf_->names();
  std::vector<std::string> result;
  result.reserve(tensors_.size());
  for (const auto& [name, entry] : tensors_) result.push_back(name);
  std::sort(result.begin(), result.end());
  return result;
}

void Checkpoint::read(const std::string& name, DType dst_dtype, void* dst, int64_t row_begin,
                      int64_t row_count, int64_t col_begin, int64_t col_count,
                      int64_t dst_row_stride) const {
  if (gguf_) {
    gguf_->read(name, dst_dtype, dst, row_begin, row_count, col_begin, col_count, dst_row_stride);
    return;
  }
  const Entry& found = entry(name);
  const TensorInfo& tensor = *found.tensor;
  const std::string where =
      fmt::format("{}: tensor {}", found.file->path().string(), json_quoted(name));
  int64_t rows = 1;
  int64_t cols = 1;
  if (tensor.shape.size() == 1) {
    cols = tensor.shape[0];
  } else if (tensor.shape.size() == 2) {
    rows = tensor.shape[0];
    cols = tensor.shape[1];
  } else if (!tensor.shape.empty()) {
    fail(ErrorCode::kShapeMismatch, "{}: is {}-D; read() takes 1-D or 2-D tensors", where,
         tensor.shape.size());
  }
  read_window(where, tensor, rows, cols, dst_dtype, dst, row_begin, row_count, col_begin,
              col_count, dst_row_stride);
}

std::optional<GgmlType> Checkpoint::block_type(const std::string& name) const {
  if (gguf_) return gguf_->block_type(name);
  entry(name);  // same errors as info() for an absent tensor
  return std::nullopt;
}

void Checkpoint::read_blocks(const std::string& name, int64_t row_begin, int64_t row_count,
                             int64_t col_begin, int64_t col_count, uint8_t* dst,
                             size_t dst_row_bytes) const {
  if (gguf_) {
    gguf_->read_blocks(name, row_begin, row_count, col_begin, col_count, dst, dst_row_bytes);
    return;
  }
  entry(name);
  fail(ErrorCode::kInternal, "{}: tensor {} is not a block tensor; read_blocks() is for GGUF "
       "block types (check block_type() first)", dir_.string(), json_quoted(name));
}

std::vector<float> Checkpoint::read_f32(const std::string& name) const {
  if (gguf_) return gguf_->read_f32(name);
  const Entry& found = entry(name);
  const TensorInfo& tensor = *found.tensor;
  // Row-major storage makes any rank one row of all its elements; the count
  // fits because the file validated byte_size against the mapping.
  const auto count = static_cast<int64_t>(tensor.byte_size / dtype_size(tensor.dtype));
  std::vector<float> result(static_cast<size_t>(count));
  read_window(fmt::format("{}: tensor {}", found.file->path().string(), json_quoted(name)),
              tensor, 1, count, DType::kF32, result.data(), 0, 1, 0, count, count);
  return result;
}

}  // namespace vkinfer
