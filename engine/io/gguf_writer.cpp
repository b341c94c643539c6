// GGUF v3 writer (gguf_writer.h). The header (fixed part, metadata, tensor
// infos) is built in memory, the tensor data streamed after it.
#include "engine/io/gguf_writer.h"

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <system_error>

#include "engine/core/error.h"

namespace vkinfer {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" as a little-endian u32
constexpr uint32_t kVersion = 3;
constexpr size_t kMaxNameBytes = 63;      // llama.cpp's GGML_MAX_NAME (64) less the NUL
constexpr uint32_t kMaxDims = 4;


// Checks a caller-made value: a known type, scalar bits that fit the
// width, bools 0/1, arrays whose elements all have the element type.
void check_value(const std::string& key, const GgufValue& value, int depth) {
  if (static_cast<uint32_t>(value.type) > static_cast<uint32_t>(GgufValueType::kF64)) {
    fail(ErrorCode::kInvalidArgument, "GGUF writer: key '{}' has value type {}, not a GGUF type", key,
         static_cast<uint32_t>(value.type));
  }
  if (value.type == GgufValueType::kArray) {
    if (depth >= kGgufMaxArrayDepth) {
      fail(ErrorCode::kInvalidArgument, "GGUF writer: key '{}' nests arrays more than {} deep", key,
           kGgufMaxArrayDepth);
    }
    for (const GgufValue& element : value.array) {
      if (element.type != value.element_type) {
        fail(ErrorCode::kInvalidArgument, "GGUF writer: key '{}' is an array of {} holding a {}", key,
             gguf_value_type_name(value.element_type), gguf_value_type_name(element.type));
      }
      check_value(key, element, depth + 1);
    }
    return;
  }
  if (value.type == GgufValueType::kString) return;
  const uint64_t width = gguf_scalar_size(value.type);
  if (width < 8 && (value.bits >> (8 * width)) != 0) {
    fail(ErrorCode::kInvalidArgument, "GGUF writer: key '{}' holds bits {:#x}, wider than a {}", key,
         value.bits, gguf_value_type_name(value.type));
  }
  if (value.type == GgufValueType::kBool && value.bits > 1) {
    fail(ErrorCode::kInvalidArgument, "GGUF writer: key '{}' is a bool holding {}", key, value.bits);
  }
}

// An integer's bits in `type` (zero-extended), or kInvalidArgument when
// it does not fit.
uint64_t integer_bits(const std::string& key, int64_t v, GgufValueType type) {
  auto need = [&](bool fits) {
    if (!fits) {
      fail(ErrorCode::kInvalidArgument, "GGUF writer: key '{}': {} does not fit in {}", key, v,
           gguf_value_type_name(type));
    }
  };
  switch (type) {
    case GgufValueType::kU8: need(v >= 0 && v <= 0xff); return static_cast<uint64_t>(v);
    case GgufValueType::kI8: need(v >= -128 && v <= 127); return static_cast<uint8_t>(v);
    case GgufValueType::kU16: need(v >= 0 && v <= 0xffff); return static_cast<uint64_t>(v);
    case GgufValueType::kI16: need(v >= -32768 && v <= 32767); return static_cast<uint16_t>(v);
    case GgufValueType::kU32: need(v >= 0 && v <= 0xffffffffLL); return static_cast<uint64_t>(v);
    case GgufValueType::kI32:
      need(v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max());
      return static_cast<uint32_t>(v);
    case GgufValueType::kU64: need(v >= 0); return static_cast<uint64_t>(v);
    case GgufValueType::kI64: return static_cast<uint64_t>(v);
    default:
      fail(ErrorCode::kInvalidArgument, "GGUF writer: key '{}': {} is not an integer type", key,
           gguf_value_type_name(type));
  }
}

GgufValue scalar(GgufValueType type, uint64_t bits) {
  GgufValue value;
  value.type = type;
  value.bits = bits;
  return value;
}

GgufValue string_value(const std::string& text) {
  GgufValue value;
  value.type = GgufValueType::kString;
  value.string = text;
  return value;
}

void put_uint(std::string& out, uint64_t value, uint64_t width) {
  for (uint64_t i = 0; i < width; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void put_string(std::string& out, const std::string& text) {
  put_uint(out, text.size(), 8);
  out += text;
}

void put_value(std::string& out, const GgufValue& value) {
  switch (value.type) {
    case GgufValueType::kString: put_string(out, value.string); return;
    case GgufValueType::kArray:
      put_uint(out, static_cast<uint32_t>(value.element_type), 4);
      put_uint(out, value.array.size(), 8);
      for (const GgufValue& element : value.array) put_value(out, element);
      return;
    default: put_uint(out, value.bits, gguf_scalar_size(value.type)); return;
  }
}

uint64_t align_up(uint64_t n, uint64_t alignment) { return (n + alignment - 1) / alignment * alignment; }

// One open temp file; removed unless commit() renamed it into place.
class TempFile {
 public:
  TempFile(const std::filesystem::path& path) : path_(path), temp_(path) {
    temp_ += ".tmp";
    file_ = std::fopen(temp_.c_str(), "wb");
    if (file_ == nullptr) {
      fail(ErrorCode::kBadFile, "{}: cannot create {}: {}", path_.string(), temp_.string(),
           std::strerror(errno));
    }
  }
  ~TempFile() {
    if (file_ != nullptr) std::fclose(file_);
    if (!committed_) {
      std::error_code ignored;
      std::filesystem::remove(temp_, ignored);
    }
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  void write(const void* data, size_t size) {
    if (size != 0 && std::fwrite(data, 1, size, file_) != size) {
      fail(ErrorCode::kBadFile, "{}: write failed: {}", path_.string(), std::strerror(errno));
    }
  }
  void zeros(uint64_t count) {
    static constexpr char kZeros[256] = {};
    while (count > 0) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(count, sizeof(kZeros)));
      write(kZeros, n);
      count -= n;
    }
  }
  void commit() {
    const bool flushed = std::fflush(file_) == 0;
    const int flush_errno = errno;
    const bool closed = std::fclose(file_) == 0;
    file_ = nullptr;
    if (!flushed || !closed) {
      fail(ErrorCode::kBadFile, "{}: write failed: {}", path_.string(),
           std::strerror(flushed ? errno : flush_errno));
    }
    std::error_code error;
    std::filesystem::rename(temp_, path_, error);
    if (error) {
      fail(ErrorCode::kBadFile, "{}: cannot rename {} into place: {}", path_.string(), temp_.string(),
           error.message());
    }
    committed_ = true;
  }

 private:
  std::filesystem::path path_;
  std::filesystem::path temp_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

}  // namespace

void GgufWriter::check_new_key(const std::string& key) const {
  if (key.empty()) fail(ErrorCode::kInvalidArgument, "GGUF writer: empty metadata key");
  if (keys_.count(key)) fail(ErrorCode::kInvalidArgument, "GGUF writer: metadata key '{}' added twice", key);
}

void GgufWriter::add_value(const std::string& key, GgufValue value) {
  check_new_key(key);
  check_value(key, value, 0);
  if (key == "general.alignment") {
    if (value.type != GgufValueType::kU32) {
      fail(ErrorCode::kInvalidArgument, "GGUF writer: general.alignment must be UINT32, not {}",
           gguf_value_type_name(value.type));
    }
    if (value.bits == 0 || !std::has_single_bit(value.bits)) {
      fail(ErrorCode::kInvalidArgument, "GGUF writer: general.alignment {} is not a power of two",
           value.bits);
    }
    alignment_ = value.bits;
  }
  keys_.emplace(key, metadata_.size());
  metadata_.emplace_back(key, std::move(value));
}

void GgufWriter::add_scalar(const std::string& key, GgufValueType type, uint64_t bits) {
  add_value(key, scalar(type, bits));
}

void GgufWriter::add_u8(const std::string& key, uint8_t v) { add_scalar(key, GgufValueType::kU8, v); }
void GgufWriter::add_i8(const std::string& key, int8_t v) {
  add_scalar(key, GgufValueType::kI8, static_cast<uint8_t>(v));
}
void GgufWriter::add_u16(const std::string& key, uint16_t v) { add_scalar(key, GgufValueType::kU16, v); }
void GgufWriter::add_i16(const std::string& key, int16_t v) {
  add_scalar(key, GgufValueType::kI16, static_cast<uint16_t>(v));
}
void GgufWriter::add_u32(const std::string& key, uint32_t v) { add_scalar(key, GgufValueType::kU32, v); }
void GgufWriter::add_i32(const std::string& key, int32_t v) {
  add_scalar(key, GgufValueType::kI32, static_cast<uint32_t>(v));
}
void GgufWriter::add_u64(const std::string& key, uint64_t v) { add_scalar(key, GgufValueType::kU64, v); }
void GgufWriter::add_i64(const std::string& key, int64_t v) {
  add_scalar(key, GgufValueType::kI64, static_cast<uint64_t>(v));
}
void GgufWriter::add_f32(const std::string& key, float v) {
  add_scalar(key, GgufValueType::kF32, std::bit_cast<uint32_t>(v));
}
void GgufWriter::add_f64(const std::string& key, double v) {
  add_scalar(key, GgufValueType::kF64, std::bit_cast<uint64_t>(v));
}
void GgufWriter::add_bool(const std::string& key, bool v) { add_scalar(key, GgufValueType::kBool, v ? 1 : 0); }
void GgufWriter::add_string(const std::string& key, const std::string& v) { add_value(key, string_value(v)); }

void GgufWriter::add_array_strings(const std::string& key, const std::vector<std::string>& values) {
  GgufValue array;
  array.type = GgufValueType::kArray;
  array.element_type = GgufValueType::kString;
  array.array.reserve(values.size());
  for (const std::string& v : values) array.array.push_back(string_value(v));
  add_value(key, std::move(array));
}

void GgufWriter::add_array_ints(const std::string& key, std::span<const int64_t> values,
                                GgufValueType element_type) {
  GgufValue array;
  array.type = GgufValueType::kArray;
  array.element_type = element_type;
  array.array.reserve(values.size());
  for (int64_t v : values) array.array.push_back(scalar(element_type, integer_bits(key, v, element_type)));
  add_value(key, std::move(array));
}

void GgufWriter::add_array_floats(const std::string& key, std::span<const float> values) {
  GgufValue array;
  array.type = GgufValueType::kArray;
  array.element_type = GgufValueType::kF32;
  array.array.reserve(values.size());
  for (float v : values) array.array.push_back(scalar(GgufValueType::kF32, std::bit_cast<uint32_t>(v)));
  add_value(key, std::move(array));
}

void GgufWriter::check_tensor(const std::string& name, const std::vector<int64_t>& dims, GgmlType type,
                              size_t byte_count) const {
  if (name.empty()) fail(ErrorCode::kInvalidArgument, "GGUF writer: empty tensor name");
  if (name.size() > kMaxNameBytes) {
    fail(ErrorCode::kInvalidArgument, "GGUF writer: tensor name '{}' has {} bytes; llama.cpp loads at most {}",
         name, name.size(), kMaxNameBytes);
  }
  if (names_.count(name)) fail(ErrorCode::kInvalidArgument, "GGUF writer: tensor '{}' added twice", name);
  const BlockFormat* format = find_block_format(static_cast<uint32_t>(type));
  if (format == nullptr) {
    fail(ErrorCode::kInvalidArgument, "GGUF writer: tensor '{}' has ggml type {} ({}), which vkinfer does not write",
         name, static_cast<uint32_t>(type), ggml_type_name(static_cast<uint32_t>(type)));
  }
  if (dims.empty() || dims.size() > kMaxDims) {
    fail(ErrorCode::kInvalidArgument, "GGUF writer: tensor '{}' has {} dims; GGUF tensors have 1 to {}", name,
         dims.size(), kMaxDims);
  }
  uint64_t elements = 1;
  for (int64_t d : dims) {
    if (d < 1) fail(ErrorCode::kInvalidArgument, "GGUF writer: tensor '{}' has a dimension of {}", name, d);
    if (__builtin_mul_overflow(elements, static_cast<uint64_t>(d), &elements) ||
        elements > static_cast<uint64_t>(INT64_MAX)) {
      fail(ErrorCode::kInvalidArgument, "GGUF writer: tensor '{}': its dimensions multiply past 64 bits", name);
    }
  }
  if (dims[0] % format->block_elements != 0) {
    fail(ErrorCode::kInvalidArgument,
         "GGUF writer: tensor '{}' has rows of {} weights, not whole {}-weight {} blocks", name, dims[0],
         format->block_elements, format->name);
  }
  const uint64_t expected = elements / static_cast<uint64_t>(format->block_elements) *
                            static_cast<uint64_t>(format->block_bytes);
  if (byte_count != expected) {
    fail(ErrorCode::kInvalidArgument, "GGUF writer: tensor '{}' ({} {} weights) needs {} bytes, got {}", name,
         elements, format->name, expected, byte_count);
  }
}

void GgufWriter::add_tensor(const std::string& name, std::vector<int64_t> dims, GgmlType type,
                            std::vector<uint8_t> bytes) {
  check_tensor(name, dims, type, bytes.size());
  names_.emplace(name, tensors_.size());
  tensors_.push_back(Tensor{name, std::move(dims), type, std::move(bytes), {}, true});
}

void GgufWriter::add_tensor_view(const std::string& name, std::vector<int64_t> dims, GgmlType type,
                                 std::span<const uint8_t> bytes) {
  check_tensor(name, dims, type, bytes.size());
  names_.emplace(name, tensors_.size());
  tensors_.push_back(Tensor{name, std::move(dims), type, {}, bytes, false});
}

void GgufWriter::write(const std::filesystem::path& path) const {
  std::string header;
  put_uint(header, kMagic, 4);
  put_uint(header, kVersion, 4);
  put_uint(header, tensors_.size(), 8);
  put_uint(header, metadata_.size(), 8);
  for (const auto& [key, value] : metadata_) {
    put_string(header, key);
    put_uint(header, static_cast<uint32_t>(value.type), 4);
    put_value(header, value);
  }
  uint64_t offset = 0;
  for (const Tensor& tensor : tensors_) {
    put_string(header, tensor.name);
    put_uint(header, tensor.dims.size(), 4);
    for (int64_t d : tensor.dims) put_uint(header, static_cast<uint64_t>(d), 8);
    put_uint(header, static_cast<uint32_t>(tensor.type), 4);
    put_uint(header, offset, 8);
    offset += align_up(tensor.bytes().size(), alignment_);
  }
  header.resize(align_up(header.size(), alignment_), '\0');

  TempFile file(path);
  file.write(header.data(), header.size());
  for (const Tensor& tensor : tensors_) {
    const std::span<const uint8_t> bytes = tensor.bytes();
    file.write(bytes.data(), bytes.size());
    file.zeros(align_up(bytes.size(), alignment_) - bytes.size());
  }
  file.commit();
}

}  // namespace vkinfer
